/**
 * \file crypto_keyed.h
 * \brief Pre-keyed HMAC-SHA256 and AES-256-GCM contexts for hot paths.
 *
 * enclos_hmac()/enclos_aead_seal() set up a fresh OpenSSL context on every call, which costs
 * more than the operation itself on small inputs. These objects expand the key once (HMAC
 * ipad/opad state, AES key schedule) and then run each operation without allocating
 * (STYLE.md §12). A context is used by one thread at a time.
 */
#ifndef ENCLOS_CRYPTO_KEYED_H
#define ENCLOS_CRYPTO_KEYED_H

#include <stddef.h>
#include <stdint.h>

#include <enclos/crypto.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** HMAC-SHA256 with a fixed key. */
typedef struct enclos_hmac_key enclos_hmac_key;

/** Creates a context for \p key (any size). Free with enclos_hmac_key_free. */
ENCLOS_MUST_USE enclos_err enclos_hmac_key_new(const void *key, size_t key_size,
                                               enclos_hmac_key **out);
/** HMAC-SHA256 over the concatenation of \p count parts (\p parts[i], \p sizes[i]) into \p out (32 bytes). */
ENCLOS_MUST_USE enclos_err enclos_hmac_key_mac(enclos_hmac_key *k, const void *const *parts,
                                               const size_t *sizes, size_t count, uint8_t out[32]);
void enclos_hmac_key_free(enclos_hmac_key *k);

/** AES-256-CMAC (NIST SP 800-38B) with a fixed key: a 128-bit PRF, cheaper than HMAC-SHA256
 * on short inputs. */
typedef struct enclos_cmac_key enclos_cmac_key;

ENCLOS_MUST_USE enclos_err enclos_cmac_key_new(const uint8_t key[32], enclos_cmac_key **out);
/** CMAC over the concatenation of \p count parts into \p out (16 bytes). */
ENCLOS_MUST_USE enclos_err enclos_cmac_key_mac(enclos_cmac_key *k, const void *const *parts,
                                               const size_t *sizes, size_t count,
                                               uint8_t out[16]);
/** For tests: every input through OpenSSL's CMAC instead of only the long ones. */
void enclos_cmac_key_force_openssl(enclos_cmac_key *k);
void enclos_cmac_key_free(enclos_cmac_key *k);

/** AES-256-GCM with a fixed key (the IV is given per operation). */
typedef struct enclos_aead_key enclos_aead_key;

ENCLOS_MUST_USE enclos_err enclos_aead_key_new(const uint8_t key[ENCLOS_AEAD_KEY_SIZE],
                                               enclos_aead_key **out);
/** As enclos_aead_seal, with the context's key. */
ENCLOS_MUST_USE enclos_err enclos_aead_key_seal(enclos_aead_key *k,
                                                const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                                const void *aad, size_t aad_size, const void *pt,
                                                size_t size, uint8_t *ct,
                                                uint8_t tag[ENCLOS_AEAD_TAG_SIZE]);
/** As enclos_aead_open (ENCLOS_E_TAMPERED and \p pt wiped on a bad tag), with the context's key. */
ENCLOS_MUST_USE enclos_err enclos_aead_key_open(enclos_aead_key *k,
                                                const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                                const void *aad, size_t aad_size, const void *ct,
                                                size_t size,
                                                const uint8_t tag[ENCLOS_AEAD_TAG_SIZE],
                                                uint8_t *pt);
/**
 * As enclos_aead_key_open, with the plaintext scattered: the first \p sizes[0] bytes go to
 * \p outs[0], the next \p sizes[1] to \p outs[1], and so on (the sizes must add up to \p size).
 * Lets a caller decrypt a framed record's header into a stack buffer and its payload straight
 * into the destination, without a second copy. On a bad tag every part is wiped.
 */
ENCLOS_MUST_USE enclos_err enclos_aead_key_open_parts(enclos_aead_key *k,
                                                      const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                                      const void *aad, size_t aad_size,
                                                      const void *ct, size_t size,
                                                      const uint8_t tag[ENCLOS_AEAD_TAG_SIZE],
                                                      uint8_t *const *outs, const size_t *sizes,
                                                      size_t count);
void enclos_aead_key_free(enclos_aead_key *k);

#ifdef __cplusplus
}
#endif
#endif
