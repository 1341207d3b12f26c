#include <enclos/encoding.h>

#include "test.h"

static void check_b64(const char *plain, const char *enc) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_b64_encode(&b, plain, strlen(plain), ENCLOS_B64_STD));
  CHECK_EQ_INT(b.len, strlen(enc));
  CHECK(b.len == 0 || memcmp(b.data, enc, b.len) == 0);
  enclos_buf d = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_b64_decode(&d, enc, strlen(enc), ENCLOS_B64_STD));
  CHECK_EQ_INT(d.len, strlen(plain));
  CHECK(d.len == 0 || memcmp(d.data, plain, d.len) == 0);
  enclos_buf_free(&b);
  enclos_buf_free(&d);
}

/* RFC 4648 §10 test vectors. */
TEST(b64_rfc4648_vectors) {
  check_b64("", "");
  check_b64("f", "Zg==");
  check_b64("fo", "Zm8=");
  check_b64("foo", "Zm9v");
  check_b64("foob", "Zm9vYg==");
  check_b64("fooba", "Zm9vYmE=");
  check_b64("foobar", "Zm9vYmFy");
}

TEST(b64_strict_rejects) {
  enclos_buf d = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_b64_decode(&d, "Zg=", 3, ENCLOS_B64_STD), ENCLOS_E_MALFORMED);   /* bad len */
  CHECK_ERR(enclos_b64_decode(&d, "Zh==", 4, ENCLOS_B64_STD), ENCLOS_E_MALFORMED);  /* pad bits */
  CHECK_ERR(enclos_b64_decode(&d, "Zm9v\n", 5, ENCLOS_B64_STD), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_b64_decode(&d, "Zm-v", 4, ENCLOS_B64_STD), ENCLOS_E_MALFORMED);  /* url char */
  CHECK_ERR(enclos_b64_decode(&d, "Z===", 4, ENCLOS_B64_STD), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_b64_decode(&d, "=Zm9", 4, ENCLOS_B64_STD), ENCLOS_E_MALFORMED);
  CHECK_EQ_INT(d.len, 0); /* nothing appended on failure */
  enclos_buf_free(&d);
}

TEST(b64_url_variant) {
  const uint8_t raw[] = {0xfb, 0xff, 0xbf};
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_b64_encode(&b, raw, 3, ENCLOS_B64_URL));
  CHECK_MEM(b.data, "-_-_", 4);
  enclos_buf d = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_b64_decode(&d, "-_-_", 4, ENCLOS_B64_URL));
  CHECK_MEM(d.data, raw, 3);
  enclos_buf_reset(&d);
  /* JWT-style: no padding */
  CHECK_OK(enclos_b64_decode(&d, "Zm8", 3, ENCLOS_B64_URL));
  CHECK_MEM(d.data, "fo", 2);
  enclos_buf_reset(&d);
  CHECK_ERR(enclos_b64_decode(&d, "Zm+v", 4, ENCLOS_B64_URL), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_b64_decode(&d, "Zm8==", 5, ENCLOS_B64_URL), ENCLOS_E_MALFORMED);
  enclos_buf_free(&b);
  enclos_buf_free(&d);
}

TEST(b64_relaxed_pem_body) {
  enclos_buf d = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_b64_decode_relaxed(&d, "Zm9v\r\nYmFy\n", 11));
  CHECK_EQ_INT(d.len, 6);
  CHECK_MEM(d.data, "foobar", 6);
  enclos_buf_free(&d);
}

TEST(hex_roundtrip_and_rejects) {
  const uint8_t raw[] = {0x00, 0x01, 0xab, 0xff};
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_hex_encode(&b, raw, 4));
  CHECK_EQ_INT(b.len, 8);
  CHECK_MEM(b.data, "0001abff", 8);
  enclos_buf d = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_hex_decode(&d, "0001ABff", 8));
  CHECK_MEM(d.data, raw, 4);
  CHECK_ERR(enclos_hex_decode(&d, "abc", 3), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_hex_decode(&d, "zz", 2), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_hex_decode(&d, "0g", 2), ENCLOS_E_MALFORMED);
  CHECK_EQ_INT(d.len, 4);
  uint8_t fixed[2];
  CHECK_OK(enclos_hex_decode_to(fixed, 2, "beef", 4));
  CHECK_MEM(fixed, "\xbe\xef", 2);
  CHECK_ERR(enclos_hex_decode_to(fixed, 2, "bee", 3), ENCLOS_E_MALFORMED);
  char s[9];
  enclos_hex_encode_to(s, raw, 4);
  CHECK_STR(s, "0001abff");
  enclos_buf_free(&b);
  enclos_buf_free(&d);
}
