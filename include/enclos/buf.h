/**
 * \file buf.h
 * \brief Growable byte buffer (ptr, len, cap) with checked growth.
 *
 * Growth never overflows: sizes are checked against ENCLOS_BUF_MAX before arithmetic.
 * On failure the buffer is left unchanged. A buffer marked secret is wiped whenever
 * its storage is released or moved.
 */
#ifndef ENCLOS_BUF_H
#define ENCLOS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest size a buffer may grow to (1 GiB): a sanity limit, not a tuning knob. */
#define ENCLOS_BUF_MAX ((size_t)1 << 30)

typedef struct enclos_buf {
  uint8_t *data; /* read-only outside buf.c except for writes within [0, len) */
  size_t len;    /* bytes in use */
  size_t cap;    /* bytes allocated */
  bool secret;   /* wipe on free/realloc */
} enclos_buf;

#define ENCLOS_BUF_INIT {NULL, 0, 0, false}

/** Ensures room for \p extra more bytes. */
ENCLOS_MUST_USE enclos_err enclos_buf_reserve(enclos_buf *b, size_t extra);
ENCLOS_MUST_USE enclos_err enclos_buf_append(enclos_buf *b, const void *data, size_t size);
ENCLOS_MUST_USE enclos_err enclos_buf_append_u8(enclos_buf *b, uint8_t v);
ENCLOS_MUST_USE enclos_err enclos_buf_append_u16le(enclos_buf *b, uint16_t v);
ENCLOS_MUST_USE enclos_err enclos_buf_append_u32le(enclos_buf *b, uint32_t v);
ENCLOS_MUST_USE enclos_err enclos_buf_append_u64le(enclos_buf *b, uint64_t v);
ENCLOS_MUST_USE enclos_err enclos_buf_append_u32be(enclos_buf *b, uint32_t v);
ENCLOS_MUST_USE enclos_err enclos_buf_append_str(enclos_buf *b, const char *s);
ENCLOS_MUST_USE enclos_err enclos_buf_printf(enclos_buf *b, const char *fmt, ...)
    ENCLOS_PRINTF(2, 3);
ENCLOS_MUST_USE enclos_err enclos_buf_vprintf(enclos_buf *b, const char *fmt, va_list ap)
    ENCLOS_PRINTF(2, 0);
/** Appends \p size zero bytes and returns a pointer to them in \p out (may be NULL). */
ENCLOS_MUST_USE enclos_err enclos_buf_append_zeros(enclos_buf *b, size_t size, uint8_t **out);
/** Makes data NUL-terminated without counting the NUL in len; returns data as a C string. */
ENCLOS_MUST_USE enclos_err enclos_buf_cstr(enclos_buf *b, const char **out);
/** Sets len to 0, keeping the storage (wiped if secret). */
void enclos_buf_reset(enclos_buf *b);
/** Releases storage (wiped if secret) and resets to ENCLOS_BUF_INIT (keeps `secret`). */
void enclos_buf_free(enclos_buf *b);
/** Hands the storage to the caller (who frees it with enclos_free) and empties \p b. */
uint8_t *enclos_buf_steal(enclos_buf *b, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
