/* fuzz_jwt: JWKS documents, compact JWTs and Bearer credentials from arbitrary bytes.
 * Mode byte 0: the rest is a JWKS document. 1: the rest is a token checked against a fixed
 * key set (EC P-256, kid "ec"). 2: the rest is "header-json\npayload-json", which is encoded
 * and signed with the fixed key so the claim checks behind the signature get exercised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/server_auth.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enclos_pkey *key;
static enclos_jwks *keys;

static void setup(void) {
  static const uint8_t d[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  enclos_buf pub = ENCLOS_BUF_INIT, x = ENCLOS_BUF_INIT, y = ENCLOS_BUF_INIT, j = ENCLOS_BUF_INIT;
  const char *s;
  if (enclos_pkey_from_private_raw(ENCLOS_KEY_EC_P256, d, 32, &key) != ENCLOS_OK ||
      enclos_pkey_public_raw(key, &pub) != ENCLOS_OK ||
      enclos_b64_encode(&x, pub.data, 32, ENCLOS_B64_URL) != ENCLOS_OK ||
      enclos_b64_encode(&y, pub.data + 32, 32, ENCLOS_B64_URL) != ENCLOS_OK ||
      enclos_buf_printf(&j,
                        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
                        "\"x\":\"%.*s\",\"y\":\"%.*s\"}]}",
                        (int)x.len, (const char *)x.data, (int)y.len,
                        (const char *)y.data) != ENCLOS_OK ||
      enclos_buf_cstr(&j, &s) != ENCLOS_OK || enclos_jwks_parse(j.data, j.len, &keys) != ENCLOS_OK)
    abort();
  enclos_buf_free(&pub);
  enclos_buf_free(&x);
  enclos_buf_free(&y);
  enclos_buf_free(&j);
}

static void check(const char *tok, size_t len) {
  enclos_jwt_config cfg;
  enclos_jwt_config_default(&cfg);
  cfg.audience = "enclos";
  cfg.issuer = "iss";
  enclos_jwt_claims c;
  enclos_jwt_reason why;
  enclos_err rc = enclos_jwt_verify(keys, &cfg, 1700000000, tok, len, &c, &why);
  if ((rc == ENCLOS_OK) != (why == ENCLOS_JWT_OK)) abort();
  if (rc == ENCLOS_OK && (c.role_count > ENCLOS_JWT_MAX_ROLES || strcmp(c.iss, "iss") != 0))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!keys) setup();
  if (size < 1) return 0;
  uint8_t mode = data[0] % 3;
  data++;
  size--;
  char *text = malloc(size ? size : 1);
  if (!text) abort();
  if (size) memcpy(text, data, size);
  if (mode == 0) {
    enclos_jwks *set = NULL;
    if (enclos_jwks_parse(text, size, &set) == ENCLOS_OK) {
      if (enclos_jwks_count(set) == 0 || enclos_jwks_count(set) > ENCLOS_JWKS_MAX_KEYS) abort();
      enclos_jwks_free(set);
    }
  } else if (mode == 1) {
    check(text, size);
    const char *t;
    size_t n;
    if (enclos_auth_bearer(text, size, &t, &n) == ENCLOS_OK && (t < text || t + n > text + size))
      abort();
  } else {
    size_t nl = 0;
    while (nl < size && text[nl] != '\n') nl++;
    enclos_buf tok = ENCLOS_BUF_INIT, sig = ENCLOS_BUF_INIT;
    if (enclos_b64_encode(&tok, text, nl, ENCLOS_B64_URL) == ENCLOS_OK &&
        enclos_buf_append_u8(&tok, '.') == ENCLOS_OK &&
        enclos_b64_encode(&tok, text + (nl < size ? nl + 1 : nl), size - (nl < size ? nl + 1 : nl),
                          ENCLOS_B64_URL) == ENCLOS_OK &&
        enclos_pkey_sign(key, ENCLOS_SHA256, tok.data, tok.len, ENCLOS_SIG_RAW, &sig) == ENCLOS_OK &&
        enclos_buf_append_u8(&tok, '.') == ENCLOS_OK &&
        enclos_b64_encode(&tok, sig.data, sig.len, ENCLOS_B64_URL) == ENCLOS_OK)
      check((const char *)tok.data, tok.len);
    enclos_buf_free(&tok);
    enclos_buf_free(&sig);
  }
  free(text);
  return 0;
}
