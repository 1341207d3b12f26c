/**
 * \file crypto.h
 * \brief Hashes, MACs, KDF, AEAD, randomness and ECDSA/RSA keys.
 *
 * The crypto module is the only one that includes OpenSSL headers (docs/architecture.md);
 * everything else sees these opaque handles. Secrets handed in are never retained unless
 * a function says so; secret outputs are the caller's to wipe (enclos_wipe).
 */
#ifndef ENCLOS_CRYPTO_H
#define ENCLOS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Hashes (FIPS 180-4) ------------------------------------------------------------ */

typedef enum enclos_hash_alg {
  ENCLOS_SHA256 = 1,
  ENCLOS_SHA384 = 2,
  ENCLOS_SHA512 = 3,
} enclos_hash_alg;

#define ENCLOS_HASH_MAX_SIZE 64

/** Digest size in bytes (0 for an unknown algorithm). */
size_t enclos_hash_size(enclos_hash_alg alg);
/** Name as used in claims and policies: "sha-256", "sha-384", "sha-512". */
const char *enclos_hash_name(enclos_hash_alg alg);

/** One-shot digest into \p out (enclos_hash_size(alg) bytes). */
ENCLOS_MUST_USE enclos_err enclos_hash(enclos_hash_alg alg, const void *data, size_t size,
                                       uint8_t *out);

/** Incremental hashing. The context is heap-allocated; free it with enclos_hash_free. */
typedef struct enclos_hash_ctx enclos_hash_ctx;
ENCLOS_MUST_USE enclos_err enclos_hash_new(enclos_hash_alg alg, enclos_hash_ctx **out);
ENCLOS_MUST_USE enclos_err enclos_hash_update(enclos_hash_ctx *ctx, const void *data, size_t size);
/** Writes the digest; the context can then only be freed. */
ENCLOS_MUST_USE enclos_err enclos_hash_final(enclos_hash_ctx *ctx, uint8_t *out);
void enclos_hash_free(enclos_hash_ctx *ctx);

/* ---- HMAC (RFC 2104) and HKDF (RFC 5869) -------------------------------------------- */

ENCLOS_MUST_USE enclos_err enclos_hmac(enclos_hash_alg alg, const void *key, size_t key_size,
                                       const void *data, size_t size, uint8_t *out);
/** HKDF-Extract: PRK (enclos_hash_size(alg) bytes) from salt and input keying material. */
ENCLOS_MUST_USE enclos_err enclos_hkdf_extract(enclos_hash_alg alg, const void *salt,
                                               size_t salt_size, const void *ikm, size_t ikm_size,
                                               uint8_t *prk);
/** HKDF-Expand: \p out_size bytes (at most 255 * hash size) from a PRK and info. */
ENCLOS_MUST_USE enclos_err enclos_hkdf_expand(enclos_hash_alg alg, const void *prk,
                                              size_t prk_size, const void *info, size_t info_size,
                                              uint8_t *out, size_t out_size);
/** HKDF = Extract then Expand. */
ENCLOS_MUST_USE enclos_err enclos_hkdf(enclos_hash_alg alg, const void *salt, size_t salt_size,
                                       const void *ikm, size_t ikm_size, const void *info,
                                       size_t info_size, uint8_t *out, size_t out_size);

/* ---- AES-256-GCM (NIST SP 800-38D) --------------------------------------------------- */

#define ENCLOS_AEAD_KEY_SIZE 32
#define ENCLOS_AEAD_IV_SIZE 12
#define ENCLOS_AEAD_TAG_SIZE 16

/** Encrypts \p size bytes into \p ct (same size) and writes the 16-byte tag. */
ENCLOS_MUST_USE enclos_err enclos_aead_seal(const uint8_t key[ENCLOS_AEAD_KEY_SIZE],
                                            const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                            const void *aad, size_t aad_size, const void *pt,
                                            size_t size, uint8_t *ct,
                                            uint8_t tag[ENCLOS_AEAD_TAG_SIZE]);
/** Decrypts and authenticates; ENCLOS_E_TAMPERED (and \p pt wiped) when the tag is wrong. */
ENCLOS_MUST_USE enclos_err enclos_aead_open(const uint8_t key[ENCLOS_AEAD_KEY_SIZE],
                                            const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                            const void *aad, size_t aad_size, const void *ct,
                                            size_t size, const uint8_t tag[ENCLOS_AEAD_TAG_SIZE],
                                            uint8_t *pt);

/* ---- Randomness --------------------------------------------------------------------- */

/** Fills \p out with \p size bytes from the OS CSPRNG (via OpenSSL's DRBG). */
ENCLOS_MUST_USE enclos_err enclos_random(void *out, size_t size);

/* ---- Public-key operations ---------------------------------------------------------- */

typedef enum enclos_key_type {
  ENCLOS_KEY_EC_P256 = 1,
  ENCLOS_KEY_EC_P384 = 2,
  ENCLOS_KEY_RSA = 3,
  ENCLOS_KEY_OTHER = 4,
} enclos_key_type;

/** Signature encodings: DER (X9.62 Ecdsa-Sig-Value) or raw fixed-width r‖s (as in quotes). */
typedef enum enclos_sig_form {
  ENCLOS_SIG_DER = 1,
  ENCLOS_SIG_RAW = 2,
} enclos_sig_form;

/** An asymmetric key (public, or private with its public half). Opaque. */
typedef struct enclos_pkey enclos_pkey;

ENCLOS_MUST_USE enclos_err enclos_pkey_generate(enclos_key_type type, enclos_pkey **out);
/** Private key from its raw big-endian scalar (EC only). */
ENCLOS_MUST_USE enclos_err enclos_pkey_from_private_raw(enclos_key_type type, const void *d,
                                                        size_t size, enclos_pkey **out);
/** Public key from raw x‖y coordinates (64 bytes for P-256, 96 for P-384) or an
 *  uncompressed point (0x04 ‖ x ‖ y). The point is checked to be on the curve. */
ENCLOS_MUST_USE enclos_err enclos_pkey_from_public_raw(enclos_key_type type, const void *point,
                                                       size_t size, enclos_pkey **out);
/** Public key from SubjectPublicKeyInfo DER. */
ENCLOS_MUST_USE enclos_err enclos_pkey_from_spki(const void *der, size_t size, enclos_pkey **out);
/** Private key from PEM or DER (PKCS#8 or SEC1). */
ENCLOS_MUST_USE enclos_err enclos_pkey_from_private(const void *data, size_t size,
                                                    enclos_pkey **out);
/** Appends the SubjectPublicKeyInfo DER. */
ENCLOS_MUST_USE enclos_err enclos_pkey_spki(const enclos_pkey *key, enclos_buf *out);
/** Appends the raw public point x‖y (EC only). */
ENCLOS_MUST_USE enclos_err enclos_pkey_public_raw(const enclos_pkey *key, enclos_buf *out);
/** Appends the private key as PKCS#8 DER (the buffer is marked secret). */
ENCLOS_MUST_USE enclos_err enclos_pkey_private_der(const enclos_pkey *key, enclos_buf *out);
/** Appends the private key as PKCS#8 PEM (the buffer is marked secret). */
ENCLOS_MUST_USE enclos_err enclos_pkey_private_pem(const enclos_pkey *key, enclos_buf *out);
enclos_key_type enclos_pkey_type(const enclos_pkey *key);
bool enclos_pkey_has_private(const enclos_pkey *key);
/** Adds a reference: the key is freed when the last holder calls enclos_pkey_free. */
enclos_pkey *enclos_pkey_ref(enclos_pkey *key);
void enclos_pkey_free(enclos_pkey *key);

/** ECDSA signature over SHA-x(msg); appends the signature in \p form. */
ENCLOS_MUST_USE enclos_err enclos_pkey_sign(const enclos_pkey *key, enclos_hash_alg alg,
                                            const void *msg, size_t size, enclos_sig_form form,
                                            enclos_buf *sig);
/** ECDSA verification over SHA-x(msg). ENCLOS_E_VERIFY when the signature does not verify. */
ENCLOS_MUST_USE enclos_err enclos_pkey_verify(const enclos_pkey *key, enclos_hash_alg alg,
                                              const void *msg, size_t size, const void *sig,
                                              size_t sig_size, enclos_sig_form form);
/** RSASSA-PSS verification (RFC 8017 §8.1) with MGF1 over the same hash and the given salt. */
ENCLOS_MUST_USE enclos_err enclos_pkey_verify_rsa_pss(const enclos_pkey *key, enclos_hash_alg alg,
                                                      size_t salt_size, const void *msg,
                                                      size_t size, const void *sig,
                                                      size_t sig_size);

/** Converts a DER ECDSA signature to raw r‖s of 2*\p coord_size bytes, and back. */
ENCLOS_MUST_USE enclos_err enclos_sig_der_to_raw(const void *der, size_t size, size_t coord_size,
                                                 enclos_buf *out);
ENCLOS_MUST_USE enclos_err enclos_sig_raw_to_der(const void *raw, size_t size, enclos_buf *out);

/* ---- RSA PKCS#1 v1.5 and JWK key import (src/crypto/rsa.c; added for JWT, issue 8) ---- */

/** Smallest RSA modulus accepted for verification and generation (NIST SP 800-131A). */
#define ENCLOS_RSA_MIN_BITS 2048
/** Largest RSA modulus accepted from untrusted input (bounds verification cost). */
#define ENCLOS_RSA_MAX_BITS 8192

/** RSA public key from the big-endian modulus \p n and exponent \p e (JWK "n"/"e",
 *  RFC 7518 §6.3.1): no leading zero octets, odd e > 1, at most ENCLOS_RSA_MAX_BITS.
 *  The minimum size is a policy of the caller (see enclos_pkey_bits). */
ENCLOS_MUST_USE enclos_err enclos_pkey_from_rsa_ne(const void *n, size_t n_size, const void *e,
                                                   size_t e_size, enclos_pkey **out);
/** EC public key from JWK "x"/"y" (RFC 7518 §6.2.1): each exactly the coordinate size. */
ENCLOS_MUST_USE enclos_err enclos_pkey_from_jwk_ec(enclos_key_type type, const void *x,
                                                   size_t x_size, const void *y, size_t y_size,
                                                   enclos_pkey **out);
/** New RSA key pair of \p bits bits (tests and tooling; slow). */
ENCLOS_MUST_USE enclos_err enclos_pkey_generate_rsa(unsigned bits, enclos_pkey **out);
/** Appends the RSA modulus and exponent, big-endian without leading zeros. */
ENCLOS_MUST_USE enclos_err enclos_pkey_rsa_ne(const enclos_pkey *key, enclos_buf *n,
                                              enclos_buf *e);
/** RSASSA-PKCS1-v1_5 signature (RFC 8017 §8.2.1) over SHA-x(msg); appends k octets. */
ENCLOS_MUST_USE enclos_err enclos_pkey_sign_rsa_pkcs1(const enclos_pkey *key, enclos_hash_alg alg,
                                                      const void *msg, size_t size,
                                                      enclos_buf *sig);
/** RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2). ENCLOS_E_VERIFY when it does not verify. */
ENCLOS_MUST_USE enclos_err enclos_pkey_verify_rsa_pkcs1(const enclos_pkey *key,
                                                        enclos_hash_alg alg, const void *msg,
                                                        size_t size, const void *sig,
                                                        size_t sig_size);
/** Key size in bits (modulus for RSA, field for EC); 0 for NULL. */
size_t enclos_pkey_bits(const enclos_pkey *key);

/* ---- end of RSA PKCS#1 v1.5 / JWK block ---- */

#ifdef __cplusplus
}
#endif
#endif
