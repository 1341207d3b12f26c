/* Pre-keyed contexts (crypto_keyed.h): AES-256-CMAC against the NIST SP 800-38B AES-256
 * examples and against OpenSSL's own CMAC on every length across the short/long boundary and
 * every split into parts. */
#include <stdlib.h>

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
