/* encoding.c: hex and base64 (RFC 4648). Decoders are strict and canonical: one text per
 * byte string (RFC 4648 §3.5, non-zero pad bits are rejected). */
#include <string.h>

#include <enclos/encoding.h>

static const char hexdig[] = "0123456789abcdef";

void enclos_hex_encode_to(char *out, const void *data, size_t size) {
  const uint8_t *p = data;
  for (size_t i = 0; i < size; i++) {
    out[2 * i] = hexdig[p[i] >> 4];
    out[2 * i + 1] = hexdig[p[i] & 15];
  }
  out[2 * size] = '\0';
}

enclos_err enclos_hex_encode(enclos_buf *out, const void *data, size_t size) {
  ENCLOS_ENSURE(size <= ENCLOS_BUF_MAX / 2, ENCLOS_E_LIMIT);
  ENCLOS_TRY(enclos_buf_reserve(out, 2 * size + 1));
  enclos_hex_encode_to((char *)out->data + out->len, data, size);
  out->len += 2 * size;
  return ENCLOS_OK;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static enclos_err hex_decode_into(uint8_t *dst, const char *text, size_t len) {
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
    ENCLOS_ENSUREF(hi >= 0 && lo >= 0, ENCLOS_E_MALFORMED, "invalid hex digit at position %zu",
                   hi < 0 ? 2 * i : 2 * i + 1);
    dst[i] = (uint8_t)(hi << 4 | lo);
  }
  return ENCLOS_OK;
}

enclos_err enclos_hex_decode(enclos_buf *out, const char *text, size_t len) {
  ENCLOS_ENSUREF(len % 2 == 0, ENCLOS_E_MALFORMED, "hex string has odd length %zu", len);
  size_t old = out->len;
  uint8_t *dst;
  ENCLOS_TRY(enclos_buf_append_zeros(out, len / 2, &dst));
  enclos_err rc = hex_decode_into(dst, text, len);
  if (rc != ENCLOS_OK) out->len = old;
  return rc;
}

enclos_err enclos_hex_decode_to(void *out, size_t size, const char *text, size_t len) {
  ENCLOS_ENSUREF(len == 2 * size, ENCLOS_E_MALFORMED, "expected %zu hex digits, got %zu",
                 2 * size, len);
  return hex_decode_into(out, text, len);
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enclos_err enclos_b64_encode(enclos_buf *out, const void *data, size_t size, enclos_b64_variant v) {
  ENCLOS_ENSURE(size <= ENCLOS_BUF_MAX / 2, ENCLOS_E_LIMIT);
  const char *alpha = v == ENCLOS_B64_URL ? b64url : b64std;
  const bool pad = v == ENCLOS_B64_STD;
  if (size == 0) return ENCLOS_OK;
  ENCLOS_TRY(enclos_buf_reserve(out, (size + 2) / 3 * 4));
  const uint8_t *p = data;
  char *o = (char *)out->data + out->len;
  size_t i = 0, n = 0;
  for (; i + 3 <= size; i += 3) {
    uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    o[n++] = alpha[w >> 18];
    o[n++] = alpha[(w >> 12) & 63];
    o[n++] = alpha[(w >> 6) & 63];
    o[n++] = alpha[w & 63];
  }
  if (size - i == 1) {
    uint32_t w = (uint32_t)p[i] << 16;
    o[n++] = alpha[w >> 18];
    o[n++] = alpha[(w >> 12) & 63];
    if (pad) { o[n++] = '='; o[n++] = '='; }
  } else if (size - i == 2) {
    uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    o[n++] = alpha[w >> 18];
    o[n++] = alpha[(w >> 12) & 63];
    o[n++] = alpha[(w >> 6) & 63];
    if (pad) o[n++] = '=';
  }
  out->len += n;
  return ENCLOS_OK;
}

static int b64val(char c, enclos_b64_variant v) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (v == ENCLOS_B64_STD) {
    if (c == '+') return 62;
    if (c == '/') return 63;
  } else {
    if (c == '-') return 62;
    if (c == '_') return 63;
  }
  return -1;
}

/* Decodes a run of alphabet characters (no whitespace) with optional padding rules. */
static enclos_err b64_decode_core(enclos_buf *out, const char *text, size_t len,
                                  enclos_b64_variant v) {
  size_t pads = 0;
  while (pads < 2 && len > pads && text[len - 1 - pads] == '=') pads++;
  size_t body = len - pads;
  if (v == ENCLOS_B64_STD) {
    ENCLOS_ENSUREF(len % 4 == 0, ENCLOS_E_MALFORMED, "base64 length %zu is not a multiple of 4",
                   len);
  } else if (pads) {
    ENCLOS_ENSUREF(len % 4 == 0, ENCLOS_E_MALFORMED, "base64url padding is incorrect");
  }
  ENCLOS_ENSUREF(body % 4 != 1, ENCLOS_E_MALFORMED, "base64 length %zu is impossible", body);
  size_t old = out->len;
  uint8_t *dst;
  size_t nbytes = body / 4 * 3 + (body % 4 ? body % 4 - 1 : 0);
  ENCLOS_TRY(enclos_buf_append_zeros(out, nbytes, &dst));
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < body; i++) {
    int d = b64val(text[i], v);
    if (d < 0) {
      out->len = old;
      ENCLOS_FAILF(ENCLOS_E_MALFORMED, "invalid base64 character at position %zu", i);
    }
    acc = acc << 6 | (uint32_t)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      dst[n++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1u;
    }
  }
  if (acc != 0) {
    out->len = old;
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "base64 has non-zero trailing bits");
  }
  return ENCLOS_OK;
}

enclos_err enclos_b64_decode(enclos_buf *out, const char *text, size_t len, enclos_b64_variant v) {
  return b64_decode_core(out, text, len, v);
}

enclos_err enclos_b64_decode_relaxed(enclos_buf *out, const char *text, size_t len) {
  enclos_buf tmp = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    ENCLOS_GUARD(enclos_buf_append_u8(&tmp, (uint8_t)c));
  }
  ENCLOS_GUARD(b64_decode_core(out, (const char *)tmp.data, tmp.len, ENCLOS_B64_STD));
cleanup:
  enclos_buf_free(&tmp);
  return rc;
}
