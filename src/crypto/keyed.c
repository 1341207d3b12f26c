/* keyed.c: pre-keyed HMAC-SHA256, AES-256-CMAC and AES-256-GCM contexts (crypto_keyed.h).
 *
 * HMAC (RFC 2104): the SHA-256 states after absorbing K^ipad and K^opad are computed once;
 * each MAC copies them (plain structs) and hashes only the message, so it neither allocates
 * nor goes through the provider layer. That needs OpenSSL's low-level SHA256_* functions,
 * deprecated as an API in 3.0 but still shipped (and SHA-NI accelerated); EVP_MAC re-init
 * duplicates digest contexts on the heap and cost about twice as much per store lookup.
 * AES-GCM: the cipher context keeps the key schedule; EVP_*Init_ex with only an IV re-arms it.
 * Opens of up to 1 KiB (a store get of a small value) use OpenSSL's GCM mode API instead
 * (open_small). Every AES block, GHASH and the tag comparison are OpenSSL's in both paths. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/modes.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <enclos/crypto_keyed.h>
#include <enclos/mem.h>

#include "crypto_int.h"

struct enclos_hmac_key {
  SHA256_CTX inner, outer; /* states after the ipad / opad block */
};

/* Opens up to this size take OpenSSL's GCM mode API directly (open_small). */
#define GCM_SMALL_MAX 1024

struct enclos_aead_key {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
  /* Small opens: OpenSSL's GCM mode (CRYPTO_gcm128, modes.h) over AES-256-ECB blocks. */
  EVP_CIPHER_CTX *ecb;
  GCM128_CONTEXT *gcm;
  bool block_failed; /* an AES call inside CRYPTO_gcm128 failed (it cannot report it) */
  bool evp_only;     /* tests: every open through EVP */
};

enclos_err enclos_hmac_key_new(const void *key, size_t key_size, enclos_hmac_key **out) {
  uint8_t block[64], pad[64];
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(key != NULL || key_size == 0, ENCLOS_E_INVAL, "HMAC key is NULL");
  *out = NULL;
  enclos_hmac_key *k = enclos_calloc(1, sizeof(*k));
  ENCLOS_ENSUREF(k != NULL, ENCLOS_E_NOMEM, "hmac key context");
  memset(block, 0, sizeof(block));
  if (key_size > sizeof(block))
    (void)SHA256(key, key_size, block); /* RFC 2104: longer keys are hashed first */
  else if (key_size)
    memcpy(block, key, key_size);
  for (size_t i = 0; i < 64; i++) pad[i] = (uint8_t)(block[i] ^ 0x36);
  int ok = SHA256_Init(&k->inner) == 1 && SHA256_Update(&k->inner, pad, 64) == 1;
  for (size_t i = 0; i < 64; i++) pad[i] = (uint8_t)(block[i] ^ 0x5c);
  ok = ok && SHA256_Init(&k->outer) == 1 && SHA256_Update(&k->outer, pad, 64) == 1;
  enclos_wipe(block, sizeof(block));
  enclos_wipe(pad, sizeof(pad));
  if (!ok) {
    enclos_hmac_key_free(k);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "HMAC key setup");
  }
  *out = k;
  return ENCLOS_OK;
}

enclos_err enclos_hmac_key_mac(enclos_hmac_key *k, const void *const *parts, const size_t *sizes,
                               size_t count, uint8_t out[32]) {
  ENCLOS_ENSURE_REF(k);
  SHA256_CTX c = k->inner;
  uint8_t ih[32];
  int ok = 1;
  for (size_t i = 0; i < count; i++)
    if (sizes[i]) ok &= SHA256_Update(&c, parts[i], sizes[i]) == 1;
  ok &= SHA256_Final(ih, &c) == 1;
  c = k->outer;
  ok &= SHA256_Update(&c, ih, sizeof(ih)) == 1;
  ok &= SHA256_Final(out, &c) == 1;
  enclos_wipe(&c, sizeof(c));
  enclos_wipe(ih, sizeof(ih));
  ENCLOS_ENSUREF(ok, ENCLOS_E_CRYPTO, "HMAC-SHA256");
  return ENCLOS_OK;
}

void enclos_hmac_key_free(enclos_hmac_key *k) {
  if (!k) return;
  enclos_free_secret(k, sizeof(*k));
}

/* The AES-256 block cipher CIPH_K as OpenSSL's ECB mode under \p key without padding: what the
 * GCM small-open path and CMAC below build on. NULL on failure. */
static EVP_CIPHER_CTX *ecb_new(const uint8_t key[32]) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (c && (EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, key, NULL) != 1 ||
            EVP_CIPHER_CTX_set_padding(c, 0) != 1)) {
    EVP_CIPHER_CTX_free(c);
    c = NULL;
  }
  return c;
}

/* \p n bytes (whole blocks) through CIPH_K; \p in and \p out may be the same. */
static bool ecb_blocks(EVP_CIPHER_CTX *ecb, const uint8_t *in, uint8_t *out, size_t n) {
  return EVP_Cipher(ecb, out, in, (unsigned)n) == (int)n;
}

/* GCM's block cipher CIPH_K (SP 800-38D §6.3): the hash key H, E(K, J0) and a last partial
 * counter block. */
static void gcm_block(const unsigned char in[16], unsigned char out[16], const void *key) {
  enclos_aead_key *k = (enclos_aead_key *)(uintptr_t)key;
  if (!ecb_blocks(k->ecb, in, out, 16)) k->block_failed = true;
}

/* GCTR's keystream for \p blocks whole blocks from the counter block \p ivec, whose last 32 bits
 * count (inc32, SP 800-38D §6.2, as CRYPTO_gcm128's ctr32 interface expects): the counter blocks
 * go through AES-256-ECB in one EVP_Cipher call per 16 and are XORed into \p in. */
static void gcm_ctr32(const unsigned char *in, unsigned char *out, size_t blocks, const void *key,
                      const unsigned char ivec[16]) {
  enclos_aead_key *k = (enclos_aead_key *)(uintptr_t)key;
  uint8_t ks[16 * 16];
  uint32_t ctr = (uint32_t)ivec[12] << 24 | (uint32_t)ivec[13] << 16 | (uint32_t)ivec[14] << 8 |
                 (uint32_t)ivec[15];
  while (blocks) {
    size_t n = blocks < 16 ? blocks : 16;
    for (size_t b = 0; b < n; b++, ctr++) {
      memcpy(ks + 16 * b, ivec, 12);
      ks[16 * b + 12] = (uint8_t)(ctr >> 24);
      ks[16 * b + 13] = (uint8_t)(ctr >> 16);
      ks[16 * b + 14] = (uint8_t)(ctr >> 8);
      ks[16 * b + 15] = (uint8_t)ctr;
    }
    if (!ecb_blocks(k->ecb, ks, ks, 16 * n)) k->block_failed = true;
    for (size_t i = 0; i < 16 * n; i++) out[i] = (uint8_t)(in[i] ^ ks[i]);
    in += 16 * n;
    out += 16 * n;
    blocks -= n;
  }
  enclos_wipe(ks, sizeof(ks));
}

enclos_err enclos_aead_key_new(const uint8_t key[ENCLOS_AEAD_KEY_SIZE], enclos_aead_key **out) {
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  enclos_aead_key *k = enclos_calloc(1, sizeof(*k));
  ENCLOS_ENSUREF(k != NULL, ENCLOS_E_NOMEM, "aead key context");
  k->enc = EVP_CIPHER_CTX_new();
  k->dec = EVP_CIPHER_CTX_new();
  k->ecb = ecb_new(key);
  bool ok = k->enc && k->dec && k->ecb &&
            EVP_EncryptInit_ex(k->enc, EVP_aes_256_gcm(), NULL, key, NULL) == 1 &&
            EVP_DecryptInit_ex(k->dec, EVP_aes_256_gcm(), NULL, key, NULL) == 1;
  if (ok) k->gcm = CRYPTO_gcm128_new(k, gcm_block); /* computes H = CIPH_K(0^128) */
  if (!ok || !k->gcm || k->block_failed) {
    enclos_aead_key_free(k);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "AES-GCM key setup");
  }
  *out = k;
  return ENCLOS_OK;
}

void enclos_aead_key_force_evp(enclos_aead_key *k) {
  if (k) k->evp_only = true;
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

static void wipe_parts(uint8_t *const *outs, const size_t *sizes, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (sizes[i]) enclos_wipe(outs[i], sizes[i]);
}

/* Opens of up to GCM_SMALL_MAX bytes: the same computation as EVP's through OpenSSL's GCM mode
 * API directly, which skips the provider layer's per-call parameter handling (re-arming the IV
 * looks the IV length up through the provider's parameter tables every time): about 140 instead
 * of 260 ns for a store record of 122 bytes. Larger ones take EVP's stitched AES-NI/GHASH code,
 * which is faster per byte. */
static enclos_err open_small(enclos_aead_key *k, const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                             const void *aad, size_t aad_size, const uint8_t *ct,
                             const uint8_t tag[ENCLOS_AEAD_TAG_SIZE], uint8_t *const *outs,
                             const size_t *sizes, size_t count) {
  bool ok = true;
  k->block_failed = false;
  CRYPTO_gcm128_setiv(k->gcm, iv, ENCLOS_AEAD_IV_SIZE);
  if (aad_size) ok = CRYPTO_gcm128_aad(k->gcm, aad, aad_size) == 0;
  for (size_t i = 0; ok && i < count; i++) {
    if (sizes[i]) ok = CRYPTO_gcm128_decrypt_ctr32(k->gcm, ct, outs[i], sizes[i], gcm_ctr32) == 0;
    ct += sizes[i];
  }
  if (!ok || k->block_failed) {
    wipe_parts(outs, sizes, count);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "AES-GCM open");
  }
  if (CRYPTO_gcm128_finish(k->gcm, tag, ENCLOS_AEAD_TAG_SIZE) != 0) { /* constant-time compare */
    wipe_parts(outs, sizes, count);
    ENCLOS_FAILF(ENCLOS_E_TAMPERED, "AES-GCM tag mismatch");
  }
  return ENCLOS_OK;
}

enclos_err enclos_aead_key_open_parts(enclos_aead_key *k, const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                      const void *aad, size_t aad_size, const void *ct, size_t size,
                                      const uint8_t tag[ENCLOS_AEAD_TAG_SIZE], uint8_t *const *outs,
                                      const size_t *sizes, size_t count) {
  ENCLOS_ENSURE_REF(k);
  ENCLOS_ENSUREF(size <= INT_MAX && aad_size <= INT_MAX, ENCLOS_E_LIMIT, "AEAD input of %zu bytes", size);
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    ENCLOS_ENSUREF(sizes[i] <= size - total, ENCLOS_E_INVAL,
                   "AEAD output parts exceed the %zu-byte ciphertext", size);
    total += sizes[i];
  }
  ENCLOS_ENSUREF(total == size, ENCLOS_E_INVAL, "AEAD output parts hold %zu of %zu bytes", total,
                 size);
  if (size <= GCM_SMALL_MAX && !k->evp_only)
    return open_small(k, iv, aad, aad_size, ct, tag, outs, sizes, count);
  int n = 0, ok = 1;
  uint8_t fin[16], tagcopy[ENCLOS_AEAD_TAG_SIZE];
  memcpy(tagcopy, tag, sizeof(tagcopy));
  const uint8_t *in = ct;
  EVP_CIPHER_CTX *c = k->dec;
  /* Re-arming with only an IV keeps the key schedule (and the GHASH key table). */
  ok = EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) == 1 &&
       (!aad_size || EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_size) == 1);
  for (size_t i = 0; ok && i < count; i++) {
    if (sizes[i]) ok = EVP_DecryptUpdate(c, outs[i], &n, in, (int)sizes[i]) == 1;
    in += sizes[i];
  }
  /* The tag straight as a provider parameter: EVP_CIPHER_CTX_ctrl would translate to this. */
  OSSL_PARAM tp[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tagcopy,
                                                        ENCLOS_AEAD_TAG_SIZE),
                      OSSL_PARAM_construct_end()};
  CRYPTO_ENSURE(ok && EVP_CIPHER_CTX_set_params(c, tp) == 1, ENCLOS_E_CRYPTO, "AES-GCM open");
  if (EVP_DecryptFinal_ex(c, fin, &n) != 1) {
    wipe_parts(outs, sizes, count);
    ERR_clear_error();
    ENCLOS_FAILF(ENCLOS_E_TAMPERED, "AES-GCM tag mismatch");
  }
  return ENCLOS_OK;
}

enclos_err enclos_aead_key_open(enclos_aead_key *k, const uint8_t iv[ENCLOS_AEAD_IV_SIZE],
                                const void *aad, size_t aad_size, const void *ct, size_t size,
                                const uint8_t tag[ENCLOS_AEAD_TAG_SIZE], uint8_t *pt) {
  uint8_t *outs[1] = {pt};
  size_t sizes[1] = {size};
  return enclos_aead_key_open_parts(k, iv, aad, aad_size, ct, size, tag, outs, sizes, 1);
}

void enclos_aead_key_free(enclos_aead_key *k) {
  if (!k) return;
  EVP_CIPHER_CTX_free(k->enc); /* frees (and OpenSSL cleanses) the key schedule */
  EVP_CIPHER_CTX_free(k->dec);
  EVP_CIPHER_CTX_free(k->ecb);
  CRYPTO_gcm128_release(k->gcm); /* cleanses H and its tables */
  enclos_free(k);
}

/* ---- AES-256-CMAC (NIST SP 800-38B) ------------------------------------------------------
 * A 128-bit PRF for the store's key index. OpenSSL computes every AES block: short inputs (up to
 * CMAC_SHORT_MAX bytes, which covers the keys apps use) run the SP 800-38B §6.2 chaining here,
 * one EVP_Cipher call on a pre-keyed AES-256-ECB context per block, about 70 ns for 22 bytes.
 * OpenSSL's own CMAC (EVP_MAC) restarts its CBC context on every message (EVP_EncryptInit_ex
 * with a zero IV through the provider layer), about 190 ns for the same input and 120 ns more
 * than HMAC-SHA256 above; it computes the longer inputs, where that fixed cost no longer
 * matters, and tests hold the two paths to the same result on every length and split. */

#define CMAC_SHORT_MAX 64 /* four blocks */

struct enclos_cmac_key {
  EVP_CIPHER_CTX *ecb;    /* AES-256-ECB under the key, no padding: the block cipher CIPH_K */
  EVP_MAC_CTX *ossl;      /* OpenSSL's CMAC under the same key, for long inputs */
  bool ossl_only;         /* tests: every input through OpenSSL's CMAC */
  uint8_t k1[16], k2[16]; /* SP 800-38B §6.1 subkeys (secret) */
};

/* SP 800-38B §6.1: K1 = L·x, K2 = L·x² in GF(2^128), R128 = 0^120 ‖ 10000111. */
static void cmac_dbl(const uint8_t in[16], uint8_t out[16]) {
  uint8_t carry = (uint8_t)(in[0] >> 7);
  for (int i = 0; i < 15; i++) out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
  out[15] = (uint8_t)(in[15] << 1);
  out[15] ^= (uint8_t)(0x87 & (0 - carry)); /* no branch on the secret bit */
}

/* SP 800-38B §6.2 for a message of at most CMAC_SHORT_MAX bytes in \p count parts. */
static bool cmac_short(enclos_cmac_key *k, const void *const *parts, const size_t *sizes,
                       size_t count, size_t total, uint8_t out[16]) {
  uint8_t m[CMAC_SHORT_MAX + 16], x[16];
  size_t off = 0;
  for (size_t i = 0; i < count; i++) {
    if (sizes[i]) memcpy(m + off, parts[i], sizes[i]);
    off += sizes[i];
  }
  /* n blocks, the last complete (XOR K1) or padded with 10* (XOR K2); an empty message is one
   * padded block. */
  size_t n = total ? (total + 15) / 16 : 1;
  const uint8_t *sub = k->k1;
  if (total == 0 || total % 16) {
    m[total] = 0x80;
    memset(m + total + 1, 0, n * 16 - total - 1);
    sub = k->k2;
  }
  bool ok = true;
  memset(x, 0, sizeof(x));
  for (size_t b = 0; b < n; b++) {
    const uint8_t *blk = m + 16 * b;
    for (int i = 0; i < 16; i++) x[i] ^= (uint8_t)(blk[i] ^ (b + 1 == n ? sub[i] : 0));
    ok = ok && ecb_blocks(k->ecb, x, x, 16);
  }
  memcpy(out, x, 16);
  enclos_wipe(m, sizeof(m));
  enclos_wipe(x, sizeof(x));
  return ok;
}

enclos_err enclos_cmac_key_new(const uint8_t key[32], enclos_cmac_key **out) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE_REF(key);
  *out = NULL;
  enclos_cmac_key *k = enclos_calloc(1, sizeof(*k));
  ENCLOS_ENSUREF(k != NULL, ENCLOS_E_NOMEM, "cmac key context");
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
  k->ossl = mac ? EVP_MAC_CTX_new(mac) : NULL;
  EVP_MAC_free(mac);
  k->ecb = ecb_new(key);
  OSSL_PARAM params[2] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)(uintptr_t) "AES-256-CBC", 0),
      OSSL_PARAM_construct_end()};
  uint8_t l[16] = {0};
  bool ok = k->ossl && k->ecb && EVP_MAC_init(k->ossl, key, 32, params) == 1 &&
            ecb_blocks(k->ecb, l, l, 16); /* L = CIPH_K(0^128) */
  cmac_dbl(l, k->k1);
  cmac_dbl(k->k1, k->k2);
  enclos_wipe(l, sizeof(l));
  if (!ok) {
    enclos_cmac_key_free(k);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "AES-CMAC key setup");
  }
  *out = k;
  return ENCLOS_OK;
}

enclos_err enclos_cmac_key_mac(enclos_cmac_key *k, const void *const *parts, const size_t *sizes,
                               size_t count, uint8_t out[16]) {
  ENCLOS_ENSURE_REF(k);
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    ENCLOS_ENSUREF(sizes[i] <= SIZE_MAX - total, ENCLOS_E_LIMIT, "CMAC input size overflows");
    total += sizes[i];
  }
  if (total <= CMAC_SHORT_MAX && !k->ossl_only) {
    CRYPTO_ENSURE(cmac_short(k, parts, sizes, count, total, out), ENCLOS_E_CRYPTO, "AES-CMAC");
    return ENCLOS_OK;
  }
  size_t n = 0;
  int ok = EVP_MAC_init(k->ossl, NULL, 0, NULL) == 1; /* restarts under the same key */
  for (size_t i = 0; ok && i < count; i++)
    if (sizes[i]) ok = EVP_MAC_update(k->ossl, parts[i], sizes[i]) == 1;
  ok = ok && EVP_MAC_final(k->ossl, out, &n, 16) == 1 && n == 16;
  CRYPTO_ENSURE(ok, ENCLOS_E_CRYPTO, "AES-CMAC");
  return ENCLOS_OK;
}

void enclos_cmac_key_force_openssl(enclos_cmac_key *k) {
  if (k) k->ossl_only = true;
}

void enclos_cmac_key_free(enclos_cmac_key *k) {
  if (!k) return;
  EVP_MAC_CTX_free(k->ossl);     /* OpenSSL cleanses the key schedules it frees */
  EVP_CIPHER_CTX_free(k->ecb);
  enclos_free_secret(k, sizeof(*k)); /* the subkeys */
}
