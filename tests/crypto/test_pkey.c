/* ECDSA P-256 / P-384: RFC 6979 Appendix A.2.5 / A.2.6 published keys and signatures
 * (message "sample"), round trips, forms, and tamper detection. */
#include <enclos/crypto.h>

#include "vec.h"

static const char p256_x[] = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char p256_pub[] = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                               "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
static const char p256_sig_sha256[] =
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

TEST(ecdsa_p256_rfc6979_vector_verifies) {
  enclos_buf pub = hexbuf(p256_pub), sig = hexbuf(p256_sig_sha256);
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_from_public_raw(ENCLOS_KEY_EC_P256, pub.data, pub.len, &k));
  CHECK_EQ_INT(enclos_pkey_type(k), ENCLOS_KEY_EC_P256);
  CHECK(!enclos_pkey_has_private(k));
  CHECK_OK(enclos_pkey_verify(k, ENCLOS_SHA256, "sample", 6, sig.data, sig.len, ENCLOS_SIG_RAW));
  CHECK_ERR(enclos_pkey_verify(k, ENCLOS_SHA256, "samplf", 6, sig.data, sig.len, ENCLOS_SIG_RAW),
            ENCLOS_E_VERIFY);
  sig.data[5] ^= 1;
  CHECK_ERR(enclos_pkey_verify(k, ENCLOS_SHA256, "sample", 6, sig.data, sig.len, ENCLOS_SIG_RAW),
            ENCLOS_E_VERIFY);
  CHECK_ERR(enclos_pkey_verify(k, ENCLOS_SHA256, "sample", 6, sig.data, 63, ENCLOS_SIG_RAW),
            ENCLOS_E_VERIFY);
  enclos_pkey_free(k);
  enclos_buf_free(&pub);
  enclos_buf_free(&sig);
}

TEST(ecdsa_p256_private_scalar_gives_public_point) {
  enclos_buf x = hexbuf(p256_x);
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_from_private_raw(ENCLOS_KEY_EC_P256, x.data, x.len, &k));
  CHECK(enclos_pkey_has_private(k));
  enclos_buf pub = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_public_raw(k, &pub));
  CHECK_HEX(pub.data, 64, p256_pub);
  enclos_pkey_free(k);
  enclos_buf_free(&x);
  enclos_buf_free(&pub);
}

TEST(ecdsa_p384_rfc6979_vector_verifies) {
  enclos_buf x = hexbuf("6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d8"
                        "96d5724e4c70a825f872c9ea60d2edf5");
  enclos_buf sig = hexbuf("94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c"
                          "81a648152e44acf96e36dd1e80fabe46"
                          "99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94f"
                          "a329c145786e679e7b82c71a38628ac8");
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_from_private_raw(ENCLOS_KEY_EC_P384, x.data, x.len, &k));
  CHECK_EQ_INT(enclos_pkey_type(k), ENCLOS_KEY_EC_P384);
  CHECK_OK(enclos_pkey_verify(k, ENCLOS_SHA384, "sample", 6, sig.data, sig.len, ENCLOS_SIG_RAW));
  CHECK_ERR(enclos_pkey_verify(k, ENCLOS_SHA256, "sample", 6, sig.data, sig.len, ENCLOS_SIG_RAW),
            ENCLOS_E_VERIFY);
  enclos_pkey_free(k);
  enclos_buf_free(&x);
  enclos_buf_free(&sig);
}

TEST(ecdsa_generate_sign_verify_both_forms) {
  enclos_key_type types[] = {ENCLOS_KEY_EC_P256, ENCLOS_KEY_EC_P384};
  for (int t = 0; t < 2; t++) {
    enclos_pkey *k, *pub;
    CHECK_OK(enclos_pkey_generate(types[t], &k));
    enclos_buf der = ENCLOS_BUF_INIT, raw = ENCLOS_BUF_INIT, spki = ENCLOS_BUF_INIT;
    CHECK_OK(enclos_pkey_sign(k, ENCLOS_SHA384, "msg", 3, ENCLOS_SIG_DER, &der));
    CHECK_OK(enclos_pkey_sign(k, ENCLOS_SHA384, "msg", 3, ENCLOS_SIG_RAW, &raw));
    CHECK_EQ_INT(raw.len, t == 0 ? 64 : 96);
    CHECK_OK(enclos_pkey_spki(k, &spki));
    CHECK_OK(enclos_pkey_from_spki(spki.data, spki.len, &pub));
    CHECK_OK(enclos_pkey_verify(pub, ENCLOS_SHA384, "msg", 3, der.data, der.len, ENCLOS_SIG_DER));
    CHECK_OK(enclos_pkey_verify(pub, ENCLOS_SHA384, "msg", 3, raw.data, raw.len, ENCLOS_SIG_RAW));
    /* DER <-> raw conversions agree */
    enclos_buf raw2 = ENCLOS_BUF_INIT;
    CHECK_OK(enclos_sig_der_to_raw(der.data, der.len, t == 0 ? 32 : 48, &raw2));
    CHECK_OK(enclos_pkey_verify(pub, ENCLOS_SHA384, "msg", 3, raw2.data, raw2.len, ENCLOS_SIG_RAW));
    der.data[der.len - 1] ^= 1;
    CHECK_ERR(enclos_pkey_verify(pub, ENCLOS_SHA384, "msg", 3, der.data, der.len, ENCLOS_SIG_DER),
              ENCLOS_E_VERIFY);
    /* private key export / import round trip */
    enclos_buf pem = ENCLOS_BUF_INIT;
    CHECK_OK(enclos_pkey_private_pem(k, &pem));
    CHECK(pem.secret);
    enclos_pkey *k2;
    CHECK_OK(enclos_pkey_from_private(pem.data, pem.len, &k2));
    CHECK(enclos_pkey_has_private(k2));
    enclos_pkey_free(enclos_pkey_ref(k2)); /* ref then drop: still alive */
    CHECK(enclos_pkey_has_private(k2));
    enclos_pkey_free(k2);
    enclos_buf_free(&pem);
    enclos_buf_free(&raw2);
    enclos_buf_free(&der);
    enclos_buf_free(&raw);
    enclos_buf_free(&spki);
    enclos_pkey_free(pub);
    enclos_pkey_free(k);
  }
}

TEST(ecdsa_rejects_point_off_curve) {
  enclos_buf pub = hexbuf(p256_pub);
  pub.data[63] ^= 1;
  enclos_pkey *k = NULL;
  CHECK_ERR(enclos_pkey_from_public_raw(ENCLOS_KEY_EC_P256, pub.data, pub.len, &k),
            ENCLOS_E_CRYPTO);
  CHECK_ERR(enclos_pkey_from_public_raw(ENCLOS_KEY_EC_P256, pub.data, 63, &k), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_pkey_from_spki("\x30\x00", 2, &k), ENCLOS_E_MALFORMED);
  enclos_buf_free(&pub);
}
