/* buf.c: growable byte buffers. Growth is checked against ENCLOS_BUF_MAX before any
 * arithmetic; secret buffers are wiped whenever storage is released or moved. */
#include <stdio.h>
#include <string.h>

#include <enclos/buf.h>
#include <enclos/mem.h>

enclos_err enclos_buf_reserve(enclos_buf *b, size_t extra) {
  ENCLOS_ENSUREF(extra <= ENCLOS_BUF_MAX && b->len <= ENCLOS_BUF_MAX - extra, ENCLOS_E_LIMIT,
                 "buffer would exceed %zu bytes", ENCLOS_BUF_MAX);
  size_t need = b->len + extra;
  if (need <= b->cap) return ENCLOS_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > ENCLOS_BUF_MAX / 2 ? ENCLOS_BUF_MAX : cap * 2;
  uint8_t *p;
  if (b->secret) {
    /* realloc could leave a copy of the secret behind: allocate, copy, wipe, free. */
    p = enclos_malloc(cap);
    ENCLOS_ENSURE(p != NULL, ENCLOS_E_NOMEM);
    if (b->len) memcpy(p, b->data, b->len);
    enclos_free_secret(b->data, b->cap);
  } else {
    p = enclos_realloc(b->data, cap);
    ENCLOS_ENSURE(p != NULL, ENCLOS_E_NOMEM);
  }
  b->data = p;
  b->cap = cap;
  return ENCLOS_OK;
}

enclos_err enclos_buf_append(enclos_buf *b, const void *data, size_t size) {
  if (size == 0) return ENCLOS_OK;
  ENCLOS_TRY(enclos_buf_reserve(b, size));
  memcpy(b->data + b->len, data, size);
  b->len += size;
  return ENCLOS_OK;
}

enclos_err enclos_buf_append_u8(enclos_buf *b, uint8_t v) { return enclos_buf_append(b, &v, 1); }

static enclos_err append_int(enclos_buf *b, uint64_t v, unsigned n, bool big) {
  uint8_t tmp[8];
  for (unsigned i = 0; i < n; i++) {
    unsigned shift = 8 * (big ? n - 1 - i : i);
    tmp[i] = (uint8_t)(v >> shift);
  }
  return enclos_buf_append(b, tmp, n);
}

enclos_err enclos_buf_append_u16le(enclos_buf *b, uint16_t v) { return append_int(b, v, 2, false); }
enclos_err enclos_buf_append_u32le(enclos_buf *b, uint32_t v) { return append_int(b, v, 4, false); }
enclos_err enclos_buf_append_u64le(enclos_buf *b, uint64_t v) { return append_int(b, v, 8, false); }
enclos_err enclos_buf_append_u32be(enclos_buf *b, uint32_t v) { return append_int(b, v, 4, true); }

enclos_err enclos_buf_append_str(enclos_buf *b, const char *s) {
  return enclos_buf_append(b, s, strlen(s));
}

enclos_err enclos_buf_vprintf(enclos_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  ENCLOS_ENSUREF(n >= 0, ENCLOS_E_INVAL, "bad format string");
  ENCLOS_TRY(enclos_buf_reserve(b, (size_t)n + 1));
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return ENCLOS_OK;
}

enclos_err enclos_buf_printf(enclos_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  enclos_err rc = enclos_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

enclos_err enclos_buf_append_zeros(enclos_buf *b, size_t size, uint8_t **out) {
  ENCLOS_TRY(enclos_buf_reserve(b, size ? size : 1)); /* data is never NULL afterwards */
  uint8_t *p = b->data + b->len;
  if (size) memset(p, 0, size);
  b->len += size;
  if (out) *out = p;
  return ENCLOS_OK;
}

enclos_err enclos_buf_cstr(enclos_buf *b, const char **out) {
  ENCLOS_TRY(enclos_buf_reserve(b, 1));
  b->data[b->len] = '\0';
  *out = (const char *)b->data;
  return ENCLOS_OK;
}

void enclos_buf_reset(enclos_buf *b) {
  if (b->secret) enclos_wipe(b->data, b->cap);
  b->len = 0;
}

void enclos_buf_free(enclos_buf *b) {
  if (b->secret) enclos_free_secret(b->data, b->cap);
  else enclos_free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

uint8_t *enclos_buf_steal(enclos_buf *b, size_t *size) {
  uint8_t *p = b->data;
  if (size) *size = b->len;
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}
