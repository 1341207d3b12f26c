/* aead.c: AES-256-GCM (NIST SP 800-38D) with 96-bit IVs and 128-bit tags. */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>

#include <enclos/mem.h>

#include "crypto_int.h"

/* SP 800-38D §5.2.1.1: plaintext at most 2^39-256 bits; we cap at INT_MAX for EVP's int. */
#define AEAD_MAX_SIZE ((size_t)INT_MAX)

enclos_err enclos_aead_seal(const uint8_t key[ENCLOS_AEAD_KEY_SIZE],
                            const uint8_t iv[ENCLOS_AEAD_IV_SIZE], const void *aad,
                            size_t aad_size, const void *pt, size_t size, uint8_t *ct,
                            uint8_t tag[ENCLOS_AEAD_TAG_SIZE]) {
  ENCLOS_ENSURE(size <= AEAD_MAX_SIZE && aad_size <= AEAD_MAX_SIZE, ENCLOS_E_LIMIT);
  enclos_err rc = ENCLOS_OK;
  int n = 0;
  uint8_t none[ENCLOS_AEAD_TAG_SIZE]; /* GCM's final step writes no bytes */
  uint8_t *fin = size ? ct + size : none;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
      (aad_size && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_size) != 1) ||
      (size && EVP_EncryptUpdate(c, ct, &n, pt, (int)size) != 1) ||
      EVP_EncryptFinal_ex(c, fin, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, ENCLOS_AEAD_TAG_SIZE, tag) != 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "AES-256-GCM seal");
  }
  EVP_CIPHER_CTX_free(c);
  return rc;
}

enclos_err enclos_aead_open(const uint8_t key[ENCLOS_AEAD_KEY_SIZE],
                            const uint8_t iv[ENCLOS_AEAD_IV_SIZE], const void *aad,
                            size_t aad_size, const void *ct, size_t size,
                            const uint8_t tag[ENCLOS_AEAD_TAG_SIZE], uint8_t *pt) {
  ENCLOS_ENSURE(size <= AEAD_MAX_SIZE && aad_size <= AEAD_MAX_SIZE, ENCLOS_E_LIMIT);
  enclos_err rc = ENCLOS_OK;
  int n = 0;
  uint8_t none[ENCLOS_AEAD_TAG_SIZE]; /* GCM's final step writes no bytes */
  uint8_t *fin = size ? pt + size : none;
  uint8_t tagcopy[ENCLOS_AEAD_TAG_SIZE];
  memcpy(tagcopy, tag, sizeof(tagcopy));
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
      (aad_size && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_size) != 1) ||
      (size && EVP_DecryptUpdate(c, pt, &n, ct, (int)size) != 1) ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, ENCLOS_AEAD_TAG_SIZE, tagcopy) != 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "AES-256-GCM open");
  } else if (EVP_DecryptFinal_ex(c, fin, &n) != 1) {
    ERR_clear_error();
    rc = enclos_err_set(ENCLOS_E_TAMPERED, __FILE__, __LINE__,
                        "AES-256-GCM authentication tag mismatch");
  }
  if (rc != ENCLOS_OK && size) enclos_wipe(pt, size);
  EVP_CIPHER_CTX_free(c);
  return rc;
}
