/* keyed.c: pre-keyed HMAC-SHA256 and AES-256-GCM contexts (crypto_keyed.h).
 *
 * HMAC: EVP_MAC_init with a NULL key restarts from the stored key state (OpenSSL 3
 * EVP_MAC-HMAC), so each MAC costs only the two compression chains. AES-GCM: the cipher
 * context keeps the key schedule; EVP_*Init_ex with only an IV re-arms it. Neither path
 * allocates after creation. */
#include <limits.h>

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include <enclos/crypto_keyed.h>
#include <enclos/mem.h>

#include "crypto_int.h"

struct enclos_hmac_key {
  EVP_MAC_CTX *ctx;
};

struct enclos_aead_key {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
};

enclos_err enclos_hmac_key_new(const void *key, size_t key_size, enclos_hmac_key **out) {
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  enclos_hmac_key *k = enclos_calloc(1, sizeof(*k));
  ENCLOS_ENSUREF(k != NULL, ENCLOS_E_NOMEM, "hmac key context");
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  k->ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  EVP_MAC_free(mac);
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_end();
  if (!k->ctx || EVP_MAC_init(k->ctx, key, key_size, params) != 1) {
    enclos_hmac_key_free(k);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "HMAC key setup");
  }
  *out = k;
  return ENCLOS_OK;
}

enclos_err enclos_hmac_key_mac(enclos_hmac_key *k, const void *const *parts, const size_t *sizes,
                               size_t count, uint8_t out[32]) {
  ENCLOS_ENSURE_REF(k);
  size_t n = 0;
  CRYPTO_ENSURE(EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1, ENCLOS_E_CRYPTO, "HMAC init");
  for (size_t i = 0; i < count; i++)
    if (sizes[i]) CRYPTO_ENSURE(EVP_MAC_update(k->ctx, parts[i], sizes[i]) == 1, ENCLOS_E_CRYPTO, "HMAC update");
  CRYPTO_ENSURE(EVP_MAC_final(k->ctx, out, &n, 32) == 1 && n == 32, ENCLOS_E_CRYPTO, "HMAC final");
  return ENCLOS_OK;
}

void enclos_hmac_key_free(enclos_hmac_key *k) {
  if (!k) return;
  EVP_MAC_CTX_free(k->ctx);
  enclos_free(k);
}

enclos_err enclos_aead_key_new(const uint8_t key[ENCLOS_AEAD_KEY_SIZE], enclos_aead_key **out) {
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  enclos_aead_key *k = enclos_calloc(1, sizeof(*k));
  ENCLOS_ENSUREF(k != NULL, ENCLOS_E_NOMEM, "aead key context");
  k->enc = EVP_CIPHER_CTX_new();
  k->dec = EVP_CIPHER_CTX_new();
  if (!k->enc || !k->dec ||
      EVP_EncryptInit_ex(k->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(k->dec, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
    enclos_aead_key_free(k);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "AES-GCM key setup");
  }
  *out = k;
  return ENCLOS_OK;
}

enclos_err enclos_aead_key_seal(enclos_aead_key *k, const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                const void *aad, size_t aad_size, const void *pt, size_t size,
                                uint8_t *ct, uint8_t tag[ENCLOS_AEAD_TAG_SIZE]) {
  ENCLOS_ENSURE_REF(k);
  ENCLOS_ENSUREF(size <= INT_MAX && aad_size <= INT_MAX, ENCLOS_E_LIMIT, "AEAD input of %zu bytes", size);
  int n = 0;
  uint8_t fin[16];
  EVP_CIPHER_CTX *c = k->enc;
  CRYPTO_ENSURE(EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) == 1 &&
                    (!aad_size || EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_size) == 1) &&
                    (!size || EVP_EncryptUpdate(c, ct, &n, pt, (int)size) == 1) &&
                    EVP_EncryptFinal_ex(c, fin, &n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, ENCLOS_AEAD_TAG_SIZE, tag) == 1,
                ENCLOS_E_CRYPTO, "AES-GCM seal");
  return ENCLOS_OK;
}

enclos_err enclos_aead_key_open(enclos_aead_key *k, const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                const void *aad, size_t aad_size, const void *ct, size_t size,
                                const uint8_t tag[ENCLOS_AEAD_TAG_SIZE], uint8_t *pt) {
  ENCLOS_ENSURE_REF(k);
  ENCLOS_ENSUREF(size <= INT_MAX && aad_size <= INT_MAX, ENCLOS_E_LIMIT, "AEAD input of %zu bytes", size);
  int n = 0;
  uint8_t fin[16], tagcopy[ENCLOS_AEAD_TAG_SIZE];
  memcpy(tagcopy, tag, sizeof(tagcopy));
  EVP_CIPHER_CTX *c = k->dec;
  CRYPTO_ENSURE(EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) == 1 &&
                    (!aad_size || EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_size) == 1) &&
                    (!size || EVP_DecryptUpdate(c, pt, &n, ct, (int)size) == 1) &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, ENCLOS_AEAD_TAG_SIZE, tagcopy) == 1,
                ENCLOS_E_CRYPTO, "AES-GCM open");
  if (EVP_DecryptFinal_ex(c, fin, &n) != 1) {
    if (size) enclos_wipe(pt, size);
    ERR_clear_error();
    ENCLOS_FAILF(ENCLOS_E_TAMPERED, "AES-GCM tag mismatch");
  }
  return ENCLOS_OK;
}

void enclos_aead_key_free(enclos_aead_key *k) {
  if (!k) return;
  EVP_CIPHER_CTX_free(k->enc); /* frees (and OpenSSL cleanses) the key schedule */
  EVP_CIPHER_CTX_free(k->dec);
  enclos_free(k);
}
