/* mac.c: HMAC (RFC 2104) and HKDF (RFC 5869) through OpenSSL 3's EVP_MAC / EVP_KDF. */
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto_int.h"

static const char *md_name(enclos_hash_alg alg) {
  switch (alg) {
    case ENCLOS_SHA256: return "SHA256";
    case ENCLOS_SHA384: return "SHA384";
    case ENCLOS_SHA512: return "SHA512";
  }
  return NULL;
}

enclos_err enclos_hmac(enclos_hash_alg alg, const void *key, size_t key_size, const void *data,
                       size_t size, uint8_t *out) {
  const char *name = md_name(alg);
  ENCLOS_ENSUREF(name != NULL, ENCLOS_E_INVAL, "unknown hash algorithm %d", (int)alg);
  size_t out_size = 0;
  CRYPTO_ENSURE(EVP_Q_mac(NULL, "HMAC", NULL, name, NULL, key, key_size, data, size, out,
                          enclos_hash_size(alg), &out_size) != NULL,
                ENCLOS_E_CRYPTO, "HMAC");
  return ENCLOS_OK;
}

/* mode: EVP_KDF_HKDF_MODE_{EXTRACT_ONLY, EXPAND_ONLY, EXTRACT_AND_EXPAND} */
static enclos_err hkdf_run(enclos_hash_alg alg, int mode, const void *salt, size_t salt_size,
                           const void *key, size_t key_size, const void *info, size_t info_size,
                           uint8_t *out, size_t out_size) {
  const char *name = md_name(alg);
  ENCLOS_ENSUREF(name != NULL, ENCLOS_E_INVAL, "unknown hash algorithm %d", (int)alg);
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
  EVP_KDF_free(kdf);
  CRYPTO_ENSURE(ctx != NULL, ENCLOS_E_CRYPTO, "EVP_KDF HKDF");
  OSSL_PARAM params[6];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)name, 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)key, key_size);
  if (salt_size)
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
                                                    salt_size);
  if (info_size)
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
                                                    info_size);
  params[n] = OSSL_PARAM_construct_end();
  int ok = EVP_KDF_derive(ctx, out, out_size, params);
  EVP_KDF_CTX_free(ctx);
  CRYPTO_ENSURE(ok == 1, ENCLOS_E_CRYPTO, "HKDF derive");
  return ENCLOS_OK;
}

enclos_err enclos_hkdf_extract(enclos_hash_alg alg, const void *salt, size_t salt_size,
                               const void *ikm, size_t ikm_size, uint8_t *prk) {
  return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, salt_size, ikm, ikm_size, NULL, 0,
                  prk, enclos_hash_size(alg));
}

enclos_err enclos_hkdf_expand(enclos_hash_alg alg, const void *prk, size_t prk_size,
                              const void *info, size_t info_size, uint8_t *out, size_t out_size) {
  ENCLOS_ENSUREF(out_size > 0 && out_size <= 255 * enclos_hash_size(alg), ENCLOS_E_RANGE,
                 "HKDF output of %zu bytes is outside 1..255*HashLen (RFC 5869 §2.3)", out_size);
  return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, prk, prk_size, info, info_size,
                  out, out_size);
}

enclos_err enclos_hkdf(enclos_hash_alg alg, const void *salt, size_t salt_size, const void *ikm,
                       size_t ikm_size, const void *info, size_t info_size, uint8_t *out,
                       size_t out_size) {
  ENCLOS_ENSUREF(out_size > 0 && out_size <= 255 * enclos_hash_size(alg), ENCLOS_E_RANGE,
                 "HKDF output of %zu bytes is outside 1..255*HashLen (RFC 5869 §2.3)", out_size);
  return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, salt, salt_size, ikm, ikm_size, info,
                  info_size, out, out_size);
}
