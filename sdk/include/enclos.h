/* enclos.h: the guest SDK for enclos apps (wasm32-wasi, C).
 *
 * Build an app with Debian's clang and wasi-libc:
 *   clang --target=wasm32-wasi -mbulk-memory -O2 -Wl,--strip-debug -I sdk/include app.c -o app.wasm
 *
 * What an app can use:
 *  - WASI preview 1 through wasi-libc as usual (stdio, files under preopens, clocks, random).
 *  - The `enclos` host module declared below (logging, crypto, storage; keystore, egress and
 *    attestation follow). ABI and error codes: docs/apps.md, "Host API".
 *  - The function-call ABI: export functions with ENCLOS_EXPORT("name") and export
 *    `cabi_realloc` (ENCLOS_DEFINE_CABI_REALLOC below) so the host can copy strings and bytes in.
 *
 * Conventions of every `enclos` import: pointers and lengths are i32 into the app's memory 0;
 * a result >= 0 is success (usually a byte count), a negative result is -ENCLOS_E* below.
 */
#ifndef ENCLOS_SDK_H
#define ENCLOS_SDK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_IMPORT(name) __attribute__((import_module("enclos"), import_name(name)))
#define ENCLOS_EXPORT(name) __attribute__((export_name(name)))

/* Negative results of `enclos` imports. */
#define ENCLOS_EINVAL 1      /* bad argument (unknown algorithm, wrong key or nonce size) */
#define ENCLOS_ESPACE 2      /* the output buffer is too small */
#define ENCLOS_EVERIFY 3     /* authentication or signature verification failed */
#define ENCLOS_EUNSUPPORTED 4 /* not available in this host (or not permitted by the manifest) */
#define ENCLOS_EFAULT 5      /* a pointer/length lies outside the app's memory */
#define ENCLOS_EINTERNAL 6   /* the host failed */
#define ENCLOS_ENOTFOUND 7   /* kv: no such key */

/* Log levels (match the host's: error, warn, info, debug). */
#define ENCLOS_LOG_ERROR 0
#define ENCLOS_LOG_WARN 1
#define ENCLOS_LOG_INFO 2
#define ENCLOS_LOG_DEBUG 3

/* Digest / HMAC algorithms. */
#define ENCLOS_SHA256 1
#define ENCLOS_SHA384 2
#define ENCLOS_SHA512 3

/* Sizes. */
#define ENCLOS_AEAD_KEY_SIZE 32   /* AES-256-GCM */
#define ENCLOS_AEAD_NONCE_SIZE 12
#define ENCLOS_AEAD_TAG_SIZE 16
#define ENCLOS_P256_PRIVATE_SIZE 32  /* big-endian scalar */
#define ENCLOS_P256_PUBLIC_SIZE 65   /* SEC1 uncompressed point 04||X||Y */
#define ENCLOS_P256_SIGNATURE_SIZE 64 /* r||s, big-endian, over SHA-256 of the message */

/* One log line attributed to the app. */
ENCLOS_IMPORT("log") void enclos_log(int32_t level, const char *msg, size_t msg_len);

/* Digest of data into out (cap bytes); returns the digest size. */
ENCLOS_IMPORT("digest")
int32_t enclos_digest(int32_t alg, const void *data, size_t data_len, void *out, size_t cap);

/* HMAC(key, data) into out; returns the MAC size. */
ENCLOS_IMPORT("hmac")
int32_t enclos_hmac(int32_t alg, const void *key, size_t key_len, const void *data,
                    size_t data_len, void *out, size_t cap);

/* AES-256-GCM: out = ciphertext || 16-byte tag; returns pt_len + 16. */
ENCLOS_IMPORT("aead_seal")
int32_t enclos_aead_seal(const void *key, size_t key_len, const void *nonce, size_t nonce_len,
                         const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                         void *out, size_t cap);

/* Opens ct || tag; returns the plaintext size, or -ENCLOS_EVERIFY if the tag is wrong. */
ENCLOS_IMPORT("aead_open")
int32_t enclos_aead_open(const void *key, size_t key_len, const void *nonce, size_t nonce_len,
                         const void *aad, size_t aad_len, const void *ct, size_t ct_len,
                         void *out, size_t cap);

/* ECDSA P-256 over SHA-256(msg) with a raw private scalar; returns 64 (r||s). */
ENCLOS_IMPORT("sign")
int32_t enclos_sign(const void *priv, size_t priv_len, const void *msg, size_t msg_len,
                    void *sig, size_t cap);

/* Verifies r||s over SHA-256(msg) with an uncompressed public point; 0 or -ENCLOS_EVERIFY. */
ENCLOS_IMPORT("verify")
int32_t enclos_verify(const void *pub, size_t pub_len, const void *msg, size_t msg_len,
                      const void *sig, size_t sig_len);

/* Fills out with cryptographically secure random bytes; returns len. */
ENCLOS_IMPORT("random") int32_t enclos_random(void *out, size_t len);

/* Storage: the app's own table in the sealed store (docs/apps.md, "Storage"). Keys are
 * 1..1024 bytes; values up to 16 MiB. -ENCLOS_EUNSUPPORTED when the host gives the app no store. */

/* Copies the value of key into out when it fits (size <= cap); returns the value's size either
 * way (call again with a larger buffer when it is > cap), or -ENCLOS_ENOTFOUND. */
ENCLOS_IMPORT("kv_get")
int32_t enclos_kv_get(const void *key, size_t key_len, void *out, size_t cap);

/* Creates or replaces key; 0, or -ENCLOS_ESPACE when the value is too large or the app's quota
 * is exhausted. */
ENCLOS_IMPORT("kv_put")
int32_t enclos_kv_put(const void *key, size_t key_len, const void *val, size_t val_len);

/* Deletes key; 0 or -ENCLOS_ENOTFOUND. */
ENCLOS_IMPORT("kv_delete") int32_t enclos_kv_delete(const void *key, size_t key_len);

/* Lists the keys that start with prefix, in bytewise order, as records (u32 little-endian key
 * length, key bytes); copies them into out when they fit and returns their total size. */
ENCLOS_IMPORT("kv_list")
int32_t enclos_kv_list(const void *prefix, size_t prefix_len, void *out, size_t cap);

/* Small helpers. */
static inline void enclos_log_str(int32_t level, const char *msg) {
  enclos_log(level, msg, strlen(msg));
}

/* The Component Model's allocator export, which the host uses to copy arguments in:
 * cabi_realloc(old_ptr, old_size, align, new_size) -> new_ptr (old_ptr 0 = allocate). */
#define ENCLOS_DEFINE_CABI_REALLOC()                                                       \
  ENCLOS_EXPORT("cabi_realloc")                                                            \
  void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {          \
    (void)old_size;                                                                        \
    (void)align; /* malloc's 16-byte alignment covers every Component Model type */        \
    if (new_size == 0) return (void *)align;                                               \
    void *p = realloc(ptr, new_size);                                                      \
    if (!p) __builtin_trap();                                                              \
    return p;                                                                              \
  }

/* Declares that export `name` returns a string (or bytes): its i32 result points to an
 * enclos_result. Without the declaration an i32 result is returned as a JSON number. Put it at
 * file scope, once per export, e.g. ENCLOS_RETURNS_STRING("echo"). It exports a marker
 * function "enclos.returns.string.<name>" that the host reads when it loads the app. */
#define ENCLOS__CAT2(a, b) a##b
#define ENCLOS__CAT(a, b) ENCLOS__CAT2(a, b)
#define ENCLOS__MARKER(kind, name, id)                                                     \
  void ENCLOS__CAT(enclos__returns_, id)(void);                                            \
  ENCLOS_EXPORT("enclos.returns." kind "." name) void ENCLOS__CAT(enclos__returns_, id)(void) {}
#define ENCLOS_RETURNS_STRING(name) ENCLOS__MARKER("string", name, __COUNTER__)
#define ENCLOS_RETURNS_BYTES(name) ENCLOS__MARKER("bytes", name, __COUNTER__)

/* A string or bytes result of the function-call ABI: the export returns a pointer to this
 * (pointer, length) pair, which must stay valid until the call returns to the host. */
typedef struct enclos_result {
  const void *ptr;
  size_t len;
} enclos_result;

#ifdef __cplusplus
}
#endif
#endif
