/**
 * \file encoding.h
 * \brief Hex and base64 (RFC 4648 §4 standard and §5 URL-safe) encoders and strict decoders.
 *
 * Decoders are strict: they reject characters outside the alphabet, bad padding, and
 * non-zero trailing bits (RFC 4648 §3.5), so every encoding has exactly one decoding.
 * Whitespace is rejected unless the _relaxed variant is used (for PEM bodies and files).
 */
#ifndef ENCLOS_ENCODING_H
#define ENCLOS_ENCODING_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <enclos/buf.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Appends lowercase hex of \p size bytes. */
ENCLOS_MUST_USE enclos_err enclos_hex_encode(enclos_buf *out, const void *data, size_t size);
/** Writes lowercase hex into \p out (capacity >= 2*size+1), NUL-terminated. */
void enclos_hex_encode_to(char *out, const void *data, size_t size);
/** Decodes \p len hex characters (either case; len must be even) and appends the bytes. */
ENCLOS_MUST_USE enclos_err enclos_hex_decode(enclos_buf *out, const char *text, size_t len);
/** Decodes hex into a fixed-size array: exactly 2*size characters. */
ENCLOS_MUST_USE enclos_err enclos_hex_decode_to(void *out, size_t size, const char *text, size_t len);

typedef enum enclos_b64_variant {
  ENCLOS_B64_STD,    /* RFC 4648 §4, with '=' padding */
  ENCLOS_B64_URL,    /* RFC 4648 §5, no padding (JWT, RFC 7515 §2) */
} enclos_b64_variant;

ENCLOS_MUST_USE enclos_err enclos_b64_encode(enclos_buf *out, const void *data, size_t size,
                                             enclos_b64_variant v);
/** Strict decode. URL variant: padding is optional but must be correct when present. */
ENCLOS_MUST_USE enclos_err enclos_b64_decode(enclos_buf *out, const char *text, size_t len,
                                             enclos_b64_variant v);
/** Standard alphabet, ignoring ASCII whitespace (PEM bodies). */
ENCLOS_MUST_USE enclos_err enclos_b64_decode_relaxed(enclos_buf *out, const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
