/* Pre-keyed contexts (crypto_keyed.h): AES-256-CMAC against the NIST SP 800-38B AES-256
 * examples and against OpenSSL's own CMAC on every length across the short/long boundary and
 * every split into parts. */
#include <stdlib.h>

#include <enclos/crypto.h>
#include <enclos/crypto_keyed.h>

#include "vec.h"

/* SP 800-38B appendix D.3 (CMAC-AES256): key and the 64-byte example message. */
#define CMAC_KEY "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
#define CMAC_MSG                                                                             \
  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a" \
  "0a52eff69f2445df4f9b17ad2b417be66c3710"

static void cmac1(enclos_cmac_key *k, const uint8_t *m, size_t n, uint8_t out[16]) {
  const void *parts[1] = {m};
  size_t sizes[1] = {n};
  CHECK_OK(enclos_cmac_key_mac(k, parts, sizes, 1, out));
}

TEST(cmac_sp800_38b_aes256_examples) {
  enclos_buf key = hexbuf(CMAC_KEY), msg = hexbuf(CMAC_MSG);
  uint8_t t[16];
  for (int w = 0; w < 2; w++) {
    enclos_cmac_key *k = NULL;
    CHECK_OK(enclos_cmac_key_new(key.data, &k));
    if (w) enclos_cmac_key_force_openssl(k);
    cmac1(k, msg.data, 0, t);
    CHECK_HEX(t, 16, "028962f61b7bf89efc6b551f4667d983");
    cmac1(k, msg.data, 16, t);
    CHECK_HEX(t, 16, "28a7023f452e8f82bd4bf28d8c37c35c");
    cmac1(k, msg.data, 40, t);
    CHECK_HEX(t, 16, "aaf3d8f1de5640c232f5b169b9c911e6");
    cmac1(k, msg.data, 64, t);
    CHECK_HEX(t, 16, "e1992190549f6ed5696a2c056c315410");
    enclos_cmac_key_free(k);
  }
  enclos_buf_free(&key);
  enclos_buf_free(&msg);
}

TEST(cmac_short_path_matches_openssl) {
  uint8_t key[32], msg[200], a[16], b[16];
  srand(7);
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < sizeof(key); i++) key[i] = (uint8_t)rand();
    for (size_t i = 0; i < sizeof(msg); i++) msg[i] = (uint8_t)rand();
    enclos_cmac_key *ours = NULL, *ossl = NULL;
    CHECK_OK(enclos_cmac_key_new(key, &ours));
    CHECK_OK(enclos_cmac_key_new(key, &ossl));
    enclos_cmac_key_force_openssl(ossl);
    for (size_t n = 0; n <= sizeof(msg); n++) {
      cmac1(ossl, msg, n, b);
      for (size_t cut = 0; cut <= n; cut += (n > 40 ? 13 : 1)) {
        const void *parts[3] = {msg, msg + cut, msg + n};
        size_t sizes[3] = {cut, n - cut, 0};
        CHECK_OK(enclos_cmac_key_mac(ours, parts, sizes, 3, a));
        CHECK_MSG(memcmp(a, b, 16) == 0, "length %zu split at %zu", n, cut);
      }
      /* Reuse must not carry state from one message to the next. */
      cmac1(ours, msg, n, a);
      CHECK_MSG(memcmp(a, b, 16) == 0, "length %zu repeated", n);
    }
    enclos_cmac_key_free(ours);
    enclos_cmac_key_free(ossl);
  }
}

TEST(cmac_differs_by_message_and_key) {
  uint8_t key[32] = {1}, msg[24] = {0}, a[16], b[16];
  enclos_cmac_key *k = NULL, *k2 = NULL;
  CHECK_OK(enclos_cmac_key_new(key, &k));
  key[31] ^= 1;
  CHECK_OK(enclos_cmac_key_new(key, &k2));
  cmac1(k, msg, sizeof(msg), a);
  msg[23] ^= 0x80;
  cmac1(k, msg, sizeof(msg), b);
  CHECK(memcmp(a, b, 16) != 0);
  cmac1(k2, msg, sizeof(msg), a);
  CHECK(memcmp(a, b, 16) != 0);
  /* A message and the same message padded by hand (10*) are different inputs. */
  uint8_t p[16] = {0x80};
  cmac1(k, p, 0, a);
  cmac1(k, p, 1, b);
  CHECK(memcmp(a, b, 16) != 0);
  CHECK_ERR(enclos_cmac_key_mac(NULL, NULL, NULL, 0, a), ENCLOS_E_INVAL);
  enclos_cmac_key_free(k);
  enclos_cmac_key_free(k2);
}

/* Opens of up to 1 KiB run OpenSSL's GCM mode API over AES-256-ECB blocks, larger ones EVP
 * (crypto/keyed.c): both must agree with the EVP seal on every size around the block and path
 * boundaries, for whole and split outputs, and both must refuse (and wipe) a flipped
 * ciphertext, tag or AAD. */
TEST(gcm_small_and_evp_opens_agree) {
  static uint8_t pt[1200], ct[1200], a[1200], b[1200];
  uint8_t key[32], iv[12], tag[16], aad[80];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i * 13 + 1);
  for (int i = 0; i < 80; i++) aad[i] = (uint8_t)(i ^ 0x3c);
  for (size_t i = 0; i < sizeof(pt); i++) pt[i] = (uint8_t)(i * 31 + 7);
  enclos_aead_key *small = NULL, *evp = NULL;
  CHECK_OK(enclos_aead_key_new(key, &small));
  CHECK_OK(enclos_aead_key_new(key, &evp));
  enclos_aead_key_force_evp(evp);
  static const size_t sizes[] = {0,   1,   15,  16,  17,  31,   32,   63,   64,  65,
                                 122, 255, 256, 257, 511, 1023, 1024, 1025, 1200};
  for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
    size_t n = sizes[si], an = (si * 7) % 81;
    memset(iv, (int)si, sizeof(iv));
    CHECK_OK(enclos_aead_key_seal(evp, iv, aad, an, pt, n, ct, tag));
    /* One-shot AES-GCM as a third opinion. */
    CHECK_OK(enclos_aead_open(key, iv, aad, an, ct, n, tag, a));
    CHECK_MSG(memcmp(a, pt, n) == 0, "one-shot size %zu", n);
    for (int w = 0; w < 2; w++) {
      enclos_aead_key *k = w ? evp : small;
      memset(a, 0, sizeof(a));
      CHECK_OK(enclos_aead_key_open(k, iv, aad, an, ct, n, tag, a));
      CHECK_MSG(memcmp(a, pt, n) == 0, "size %zu path %d", n, w);
      for (size_t cut = 0; cut <= n; cut += n / 3 + 1) {
        uint8_t *outs[2] = {a, b};
        size_t parts[2] = {cut, n - cut};
        CHECK_OK(enclos_aead_key_open_parts(k, iv, aad, an, ct, n, tag, outs, parts, 2));
        CHECK_MSG(memcmp(a, pt, cut) == 0 && memcmp(b, pt + cut, n - cut) == 0,
                  "size %zu split at %zu path %d", n, cut, w);
      }
      tag[15] ^= 1;
      CHECK_ERR(enclos_aead_key_open(k, iv, aad, an, ct, n, tag, a), ENCLOS_E_TAMPERED);
      tag[15] ^= 1;
      if (an) {
        aad[an - 1] ^= 0x40;
        CHECK_ERR(enclos_aead_key_open(k, iv, aad, an, ct, n, tag, a), ENCLOS_E_TAMPERED);
        aad[an - 1] ^= 0x40;
      }
      if (n) {
        ct[n - 1] ^= 0x01;
        memset(a, 0x77, n);
        CHECK_ERR(enclos_aead_key_open(k, iv, aad, an, ct, n, tag, a), ENCLOS_E_TAMPERED);
        ct[n - 1] ^= 0x01;
        for (size_t i = 0; i < n; i++) CHECK_MSG(a[i] == 0, "not wiped at %zu of %zu", i, n);
      }
    }
  }
  /* The GCM spec's test case 16 (AES-256, 60-byte plaintext, 20-byte AAD) through the small
   * path. */
  enclos_buf k16 = hexbuf("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
             iv16 = hexbuf("cafebabefacedbaddecaf888"),
             p16 = hexbuf("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95"
                          "956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"),
             a16 = hexbuf("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
             c16 = hexbuf("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48"
                          "590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"),
             t16 = hexbuf("76fc6ece0f4e1768cddf8853bb2d551b");
  enclos_aead_key *kk = NULL;
  CHECK_OK(enclos_aead_key_new(k16.data, &kk));
  CHECK_OK(enclos_aead_key_open(kk, iv16.data, a16.data, a16.len, c16.data, c16.len, t16.data, a));
  CHECK_MEM(a, p16.data, p16.len);
  enclos_aead_key_free(kk);
  enclos_buf *bufs[] = {&k16, &iv16, &p16, &a16, &c16, &t16};
  for (size_t i = 0; i < 6; i++) enclos_buf_free(bufs[i]);
  enclos_aead_key_free(small);
  enclos_aead_key_free(evp);
}
