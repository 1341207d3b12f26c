/* SHA-2 (FIPS 180-4 / NIST CAVP short messages), HMAC (RFC 4231), HKDF (RFC 5869). */
#include <enclos/crypto.h>

#include "vec.h"

TEST(sha2_fips180_abc) {
  uint8_t d[64];
  CHECK_OK(enclos_hash(ENCLOS_SHA256, "abc", 3, d));
  CHECK_HEX(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK_OK(enclos_hash(ENCLOS_SHA384, "abc", 3, d));
  CHECK_HEX(d, 48, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                   "8086072ba1e7cc2358baeca134c825a7");
  CHECK_OK(enclos_hash(ENCLOS_SHA512, "abc", 3, d));
  CHECK_HEX(d, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  CHECK_OK(enclos_hash(ENCLOS_SHA256, "", 0, d));
  CHECK_HEX(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(sha2_incremental_matches_oneshot) {
  const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  enclos_hash_ctx *c;
  CHECK_OK(enclos_hash_new(ENCLOS_SHA256, &c));
  for (const char *p = msg; *p; p++) CHECK_OK(enclos_hash_update(c, p, 1));
  uint8_t d[32];
  CHECK_OK(enclos_hash_final(c, d));
  enclos_hash_free(c);
  CHECK_HEX(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK_EQ_INT(enclos_hash_size(ENCLOS_SHA384), 48);
  CHECK_ERR(enclos_hash((enclos_hash_alg)9, "", 0, d), ENCLOS_E_INVAL);
}

/* RFC 4231 §4.2 (test case 1) and §4.3 (test case 2). */
TEST(hmac_rfc4231) {
  uint8_t key[20], d[64];
  memset(key, 0x0b, sizeof(key));
  CHECK_OK(enclos_hmac(ENCLOS_SHA256, key, 20, "Hi There", 8, d));
  CHECK_HEX(d, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK_OK(enclos_hmac(ENCLOS_SHA384, key, 20, "Hi There", 8, d));
  CHECK_HEX(d, 48, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
                   "faea9ea9076ede7f4af152e8b2fa9cb6");
  CHECK_OK(enclos_hmac(ENCLOS_SHA512, key, 20, "Hi There", 8, d));
  CHECK_HEX(d, 64, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                   "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
  const char *msg = "what do ya want for nothing?";
  CHECK_OK(enclos_hmac(ENCLOS_SHA256, "Jefe", 4, msg, strlen(msg), d));
  CHECK_HEX(d, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 5869 Appendix A.1 and A.3 (SHA-256). */
TEST(hkdf_rfc5869) {
  uint8_t ikm[22], prk[32], okm[42];
  memset(ikm, 0x0b, sizeof(ikm));
  enclos_buf salt = hexbuf("000102030405060708090a0b0c");
  enclos_buf info = hexbuf("f0f1f2f3f4f5f6f7f8f9");
  CHECK_OK(enclos_hkdf_extract(ENCLOS_SHA256, salt.data, salt.len, ikm, 22, prk));
  CHECK_HEX(prk, 32, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  CHECK_OK(enclos_hkdf_expand(ENCLOS_SHA256, prk, 32, info.data, info.len, okm, 42));
  CHECK_HEX(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                     "34007208d5b887185865");
  memset(okm, 0, sizeof(okm));
  CHECK_OK(enclos_hkdf(ENCLOS_SHA256, salt.data, salt.len, ikm, 22, info.data, info.len, okm, 42));
  CHECK_HEX(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                     "34007208d5b887185865");
  /* A.3: zero-length salt and info */
  CHECK_OK(enclos_hkdf(ENCLOS_SHA256, NULL, 0, ikm, 22, NULL, 0, okm, 42));
  CHECK_HEX(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                     "9d201395faa4b61a96c8");
  CHECK_ERR(enclos_hkdf(ENCLOS_SHA256, NULL, 0, ikm, 22, NULL, 0, okm, 0), ENCLOS_E_RANGE);
  enclos_buf_free(&salt);
  enclos_buf_free(&info);
}

TEST(random_bytes_differ) {
  uint8_t a[32], b[32];
  CHECK_OK(enclos_random(a, sizeof(a)));
  CHECK_OK(enclos_random(b, sizeof(b)));
  CHECK(memcmp(a, b, sizeof(a)) != 0);
}
