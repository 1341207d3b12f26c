/* JWKS parsing and JWT verification: every refusal reason, tampering of each part, alg
 * confusion (none, HS256 with an RSA key's bytes, ES256/RS256 swapped), clock skew edges,
 * roles in both shapes, and the RSA PKCS#1 v1.5 / JWK import helpers in crypto. */
#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/server_auth.h>

#include "test.h"

#define NOW 1700000000LL

static char *b64(const void *d, size_t n) {
  enclos_buf b = ENCLOS_BUF_INIT;
  const char *s;
  CHECK_OK(enclos_b64_encode(&b, d, n, ENCLOS_B64_URL));
  CHECK_OK(enclos_buf_cstr(&b, &s));
  return (char *)b.data; /* freed with enclos_free */
}

static char *ec_jwk(const enclos_pkey *k, const char *extra) {
  enclos_buf pub = ENCLOS_BUF_INIT, j = ENCLOS_BUF_INIT;
  const char *s;
  CHECK_OK(enclos_pkey_public_raw(k, &pub));
  char *x = b64(pub.data, 32), *y = b64(pub.data + 32, 32);
  CHECK_OK(enclos_buf_printf(&j, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"%s}",
                             x, y, extra));
  CHECK_OK(enclos_buf_cstr(&j, &s));
  enclos_free(x);
  enclos_free(y);
  enclos_buf_free(&pub);
  return (char *)j.data;
}

static char *rsa_jwk(const enclos_pkey *k, const char *extra) {
  enclos_buf n = ENCLOS_BUF_INIT, e = ENCLOS_BUF_INIT, j = ENCLOS_BUF_INIT;
  const char *s;
  CHECK_OK(enclos_pkey_rsa_ne(k, &n, &e));
  char *bn = b64(n.data, n.len), *be = b64(e.data, e.len);
  CHECK_OK(enclos_buf_printf(&j, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s}", bn, be, extra));
  CHECK_OK(enclos_buf_cstr(&j, &s));
  enclos_free(bn);
  enclos_free(be);
  enclos_buf_free(&n);
  enclos_buf_free(&e);
  return (char *)j.data;
}

static enclos_jwks *jwks_of(const char *a, const char *b) {
  enclos_buf j = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_printf(&j, "{\"keys\":[%s%s%s]}", a, b ? "," : "", b ? b : ""));
  enclos_jwks *set;
  CHECK_OK(enclos_jwks_parse(j.data, j.len, &set));
  enclos_buf_free(&j);
  return set;
}

/* header.payload signed with \p k (ES256 raw r||s or RS256); \p key NULL = empty sig. */
static char *token(const char *header, const char *payload, const enclos_pkey *k) {
  enclos_buf t = ENCLOS_BUF_INIT, sig = ENCLOS_BUF_INIT;
  const char *s;
  CHECK_OK(enclos_b64_encode(&t, header, strlen(header), ENCLOS_B64_URL));
  CHECK_OK(enclos_buf_append_u8(&t, '.'));
  CHECK_OK(enclos_b64_encode(&t, payload, strlen(payload), ENCLOS_B64_URL));
  if (k && enclos_pkey_type(k) == ENCLOS_KEY_RSA)
    CHECK_OK(enclos_pkey_sign_rsa_pkcs1(k, ENCLOS_SHA256, t.data, t.len, &sig));
  else if (k)
    CHECK_OK(enclos_pkey_sign(k, ENCLOS_SHA256, t.data, t.len, ENCLOS_SIG_RAW, &sig));
  CHECK_OK(enclos_buf_append_u8(&t, '.'));
  CHECK_OK(enclos_b64_encode(&t, sig.data, sig.len, ENCLOS_B64_URL));
  CHECK_OK(enclos_buf_cstr(&t, &s));
  enclos_buf_free(&sig);
  return (char *)t.data;
}

static enclos_jwt_config config(void) {
  enclos_jwt_config c;
  enclos_jwt_config_default(&c);
  c.issuer = "https://idp";
  c.audience = "enclos";
  return c;
}

/* Verifies and returns the reason; checks that error and reason agree. */
static enclos_jwt_reason verify(const enclos_jwks *set, const enclos_jwt_config *cfg,
                                int64_t now, const char *tok, enclos_jwt_claims *c) {
  enclos_jwt_reason why = (enclos_jwt_reason)-1;
  enclos_err rc = enclos_jwt_verify(set, cfg, now, tok, strlen(tok), c, &why);
  CHECK_MSG((rc == ENCLOS_OK) == (why == ENCLOS_JWT_OK), "rc %s vs reason %s",
            enclos_err_name(rc), enclos_jwt_reason_name(why));
  if (rc != ENCLOS_OK) CHECK_CONTAINS(enclos_err_detail(), enclos_jwt_reason_name(why));
  return why;
}

#define GOOD_PAYLOAD                                                               \
  "{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"sub\":\"alice\",\"exp\":1700000600,"  \
  "\"nbf\":1699999000,\"iat\":1699999000,\"roles\":[\"admin\",\"reader\"]}"

TEST(jwt_es256_accepts_valid_token) {
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  char *jwk = ec_jwk(k, ",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"ES256\"");
  enclos_jwks *set = jwks_of(jwk, NULL);
  CHECK_EQ_INT(enclos_jwks_count(set), 1);
  enclos_jwt_config cfg = config();
  enclos_jwt_claims c;
  char *t = token("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", GOOD_PAYLOAD, k);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  CHECK_STR(c.sub, "alice");
  CHECK_STR(c.iss, "https://idp");
  CHECK_STR(c.alg, "ES256");
  CHECK_STR(c.kid, "k1");
  CHECK(c.has_exp && c.exp == 1700000600);
  CHECK_EQ_INT(c.role_count, 2);
  CHECK(enclos_jwt_has_role(&c, "admin"));
  CHECK(!enclos_jwt_has_role(&c, "adm"));
  /* Without kid: the single fitting key is used. */
  enclos_free(t);
  t = token("{\"alg\":\"ES256\"}", GOOD_PAYLOAD, k);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  /* aud as an array, roles as a space-separated string in a custom claim. */
  enclos_free(t);
  t = token("{\"alg\":\"ES256\",\"kid\":\"k1\"}",
            "{\"iss\":\"https://idp\",\"aud\":[\"x\",\"enclos\"],\"exp\":1700000600.5,"
            "\"scope\":\" a  b c \"}",
            k);
  cfg.roles_claim = "scope";
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  CHECK_EQ_INT(c.role_count, 3);
  CHECK_STR(c.roles[2], "c");
  enclos_free(t);
  enclos_free(jwk);
  enclos_jwks_free(set);
  enclos_pkey_free(k);
}

TEST(jwt_each_refusal_reason) {
  enclos_pkey *k, *other;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &other));
  char *jwk = ec_jwk(k, ",\"kid\":\"k1\"");
  enclos_jwks *set = jwks_of(jwk, NULL);
  enclos_jwt_config cfg = config();
  enclos_jwt_claims c;
  static const char *hdr = "{\"alg\":\"ES256\",\"kid\":\"k1\"}";
  static const struct {
    const char *payload;
    enclos_jwt_reason want;
  } cases[] = {
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1699999940}", ENCLOS_JWT_EXPIRED},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"nbf\":1700000061}",
       ENCLOS_JWT_NOT_YET_VALID},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"iat\":1700000100}",
       ENCLOS_JWT_ISSUED_IN_FUTURE},
      {"{\"iss\":\"https://evil\",\"aud\":\"enclos\",\"exp\":1700000600}", ENCLOS_JWT_WRONG_ISSUER},
      {"{\"aud\":\"enclos\",\"exp\":1700000600}", ENCLOS_JWT_MISSING_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"other\",\"exp\":1700000600}", ENCLOS_JWT_WRONG_AUDIENCE},
      {"{\"iss\":\"https://idp\",\"aud\":[\"a\",\"b\"],\"exp\":1700000600}",
       ENCLOS_JWT_WRONG_AUDIENCE},
      {"{\"iss\":\"https://idp\",\"aud\":[\"enclos\",1],\"exp\":1700000600}", ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":5,\"exp\":1700000600}", ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"exp\":1700000600}", ENCLOS_JWT_MISSING_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\"}", ENCLOS_JWT_MISSING_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":\"soon\"}", ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1e300}", ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":7,\"aud\":\"enclos\",\"exp\":1700000600}", ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"roles\":[1]}",
       ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"roles\":{}}",
       ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"roles\":[\"\"]}",
       ENCLOS_JWT_BAD_CLAIM},
      {"{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"exp\":1700000700}",
       ENCLOS_JWT_MALFORMED}, /* duplicate member */
      {"[1]", ENCLOS_JWT_MALFORMED},
      {"", ENCLOS_JWT_MALFORMED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *t = token(hdr, cases[i].payload, k);
    enclos_jwt_reason r = verify(set, &cfg, NOW, t, &c);
    CHECK_MSG(r == cases[i].want, "case %zu: %s, want %s", i, enclos_jwt_reason_name(r),
              enclos_jwt_reason_name(cases[i].want));
    CHECK_EQ_INT(c.sub[0], 0); /* nothing leaks out of a refused token */
    enclos_free(t);
  }
  /* Too many roles, and an over-long role. */
  enclos_buf p = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append_str(&p, "{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1700000600,\"roles\":\""));
  for (int i = 0; i <= ENCLOS_JWT_MAX_ROLES; i++) CHECK_OK(enclos_buf_printf(&p, "r%d ", i));
  CHECK_OK(enclos_buf_append_str(&p, "\"}"));
  const char *ps;
  CHECK_OK(enclos_buf_cstr(&p, &ps));
  char *t = token(hdr, ps, k);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_BAD_CLAIM);
  CHECK_CONTAINS(enclos_err_detail(), "roles");
  enclos_free(t);
  enclos_buf_free(&p);
  /* Unknown kid; and a token signed by another key. */
  t = token("{\"alg\":\"ES256\",\"kid\":\"k2\"}", GOOD_PAYLOAD, k);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_UNKNOWN_KID);
  CHECK_CONTAINS(enclos_err_detail(), "k2");
  enclos_free(t);
  t = token(hdr, GOOD_PAYLOAD, other);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_BAD_SIGNATURE);
  enclos_free(t);
  /* A token with "aud" is refused when we have no audience (RFC 7519 §4.1.3). */
  enclos_jwt_config noaud = config();
  noaud.audience = NULL;
  t = token(hdr, GOOD_PAYLOAD, k);
  CHECK_EQ_INT(verify(set, &noaud, NOW, t, &c), ENCLOS_JWT_WRONG_AUDIENCE);
  enclos_free(t);
  t = token(hdr, "{\"iss\":\"https://idp\",\"exp\":1700000600}", k);
  CHECK_EQ_INT(verify(set, &noaud, NOW, t, &c), ENCLOS_JWT_OK);
  enclos_free(t);
  /* No exp allowed when configured so. */
  cfg.require_exp = false;
  t = token(hdr, "{\"iss\":\"https://idp\",\"aud\":\"enclos\"}", k);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  enclos_free(t);
  /* A configuration with an out-of-range skew is refused as such. */
  cfg.skew = ENCLOS_JWT_MAX_SKEW + 1;
  CHECK_ERR(enclos_jwt_verify(set, &cfg, NOW, "a.b.c", 5, &c, NULL), ENCLOS_E_INVAL);
  enclos_free(jwk);
  enclos_jwks_free(set);
  enclos_pkey_free(k);
  enclos_pkey_free(other);
}

TEST(jwt_clock_skew_edges) {
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  char *jwk = ec_jwk(k, "");
  enclos_jwks *set = jwks_of(jwk, NULL);
  enclos_jwt_config cfg = config();
  cfg.skew = 30;
  enclos_jwt_claims c;
  char *t = token("{\"alg\":\"ES256\"}",
                  "{\"iss\":\"https://idp\",\"aud\":\"enclos\",\"exp\":1000,\"nbf\":900}", k);
  CHECK_EQ_INT(verify(set, &cfg, 1029, t, &c), ENCLOS_JWT_OK);      /* exp + skew - 1 */
  CHECK_EQ_INT(verify(set, &cfg, 1030, t, &c), ENCLOS_JWT_EXPIRED); /* exp + skew */
  CHECK_EQ_INT(verify(set, &cfg, 870, t, &c), ENCLOS_JWT_OK);       /* nbf - skew */
  CHECK_EQ_INT(verify(set, &cfg, 869, t, &c), ENCLOS_JWT_NOT_YET_VALID);
  CHECK_EQ_INT(verify(set, &cfg, INT64_MAX, t, &c), ENCLOS_JWT_EXPIRED);
  CHECK_EQ_INT(verify(set, &cfg, INT64_MIN, t, &c), ENCLOS_JWT_NOT_YET_VALID);
  cfg.skew = 0;
  CHECK_EQ_INT(verify(set, &cfg, 1000, t, &c), ENCLOS_JWT_EXPIRED); /* §4.1.4: before exp */
  CHECK_EQ_INT(verify(set, &cfg, 999, t, &c), ENCLOS_JWT_OK);
  enclos_free(t);
  enclos_free(jwk);
  enclos_jwks_free(set);
  enclos_pkey_free(k);
}

TEST(jwt_tampering_and_shape) {
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  char *jwk = ec_jwk(k, ",\"kid\":\"k1\"");
  enclos_jwks *set = jwks_of(jwk, NULL);
  enclos_jwt_config cfg = config();
  enclos_jwt_claims c;
  char *t = token("{\"alg\":\"ES256\",\"kid\":\"k1\"}", GOOD_PAYLOAD, k);
  size_t n = strlen(t);
  char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
  /* Flip one character in each part (keeping it base64url). */
  size_t pos[] = {2, (size_t)(d1 - t) + 3, (size_t)(d2 - t) + 5};
  enclos_jwt_reason want[] = {ENCLOS_JWT_MALFORMED, ENCLOS_JWT_BAD_SIGNATURE,
                              ENCLOS_JWT_BAD_SIGNATURE};
  for (size_t i = 0; i < 3; i++) {
    char *m = strdup(t);
    m[pos[i]] = m[pos[i]] == 'A' ? 'B' : 'A';
    enclos_jwt_reason r = verify(set, &cfg, NOW, m, &c);
    /* A flipped header byte either breaks the JSON or the signature. */
    CHECK_MSG(r == want[i] || r == ENCLOS_JWT_BAD_SIGNATURE, "part %zu: %s", i,
              enclos_jwt_reason_name(r));
    free(m);
  }
  /* Re-encoded header with the same meaning still fails: the signature covers the bytes. */
  char *t2 = token("{\"kid\":\"k1\",\"alg\":\"ES256\"}", GOOD_PAYLOAD, NULL);
  char *s = malloc(n + 200);
  snprintf(s, n + 200, "%.*s%s", (int)(strrchr(t2, '.') - t2), t2, d2);
  CHECK_EQ_INT(verify(set, &cfg, NOW, s, &c), ENCLOS_JWT_BAD_SIGNATURE);
  free(s);
  enclos_free(t2);
  /* Truncated signature, DER signature, padding in the signature, extra parts. */
  char *m = strdup(t);
  m[n - 4] = '\0'; /* shorter signature: not base64url-canonical or not 64 bytes */
  enclos_jwt_reason tr = verify(set, &cfg, NOW, m, &c);
  CHECK(tr == ENCLOS_JWT_BAD_SIGNATURE || tr == ENCLOS_JWT_MALFORMED);
  free(m);
  static const char *shapes[] = {"", "a", "a.b", "a.b.c.d", "..", "a..", ".b.c", "e30.e30.",
                                 "e30.e30.AAAA", "!!.e30.AAAA", "eyJhbGciOiJFUzI1NiJ9.e30",
                                 "e30.e30.e30.e30.e30"};
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    enclos_jwt_reason r = verify(set, &cfg, NOW, shapes[i], &c);
    CHECK_MSG(r == ENCLOS_JWT_MALFORMED, "\"%s\" -> %s", shapes[i], enclos_jwt_reason_name(r));
  }
  /* DER-encoded ECDSA signature instead of raw r||s (RFC 7518 §3.4). */
  enclos_buf tb = ENCLOS_BUF_INIT, der = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append(&tb, t, (size_t)(d2 - t)));
  CHECK_OK(enclos_pkey_sign(k, ENCLOS_SHA256, tb.data, tb.len, ENCLOS_SIG_DER, &der));
  CHECK_OK(enclos_buf_append_u8(&tb, '.'));
  CHECK_OK(enclos_b64_encode(&tb, der.data, der.len, ENCLOS_B64_URL));
  const char *ts;
  CHECK_OK(enclos_buf_cstr(&tb, &ts));
  CHECK_EQ_INT(verify(set, &cfg, NOW, ts, &c), ENCLOS_JWT_BAD_SIGNATURE);
  enclos_buf_free(&tb);
  enclos_buf_free(&der);
  /* Size limit. */
  char *big = malloc(ENCLOS_JWT_MAX_SIZE + 2);
  memset(big, 'A', ENCLOS_JWT_MAX_SIZE + 1);
  big[ENCLOS_JWT_MAX_SIZE + 1] = '\0';
  CHECK_EQ_INT(verify(set, &cfg, NOW, big, &c), ENCLOS_JWT_TOO_LARGE);
  free(big);
  enclos_free(t);
  enclos_free(jwk);
  enclos_jwks_free(set);
  enclos_pkey_free(k);
}

TEST(jwt_alg_confusion_refused) {
  enclos_pkey *ec, *rsa;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &ec));
  CHECK_OK(enclos_pkey_generate_rsa(2048, &rsa));
  char *ej = ec_jwk(ec, ",\"kid\":\"ec\""), *rj = rsa_jwk(rsa, ",\"kid\":\"rsa\"");
  enclos_jwks *set = jwks_of(ej, rj);
  CHECK_EQ_INT(enclos_jwks_count(set), 2);
  enclos_jwt_config cfg = config();
  enclos_jwt_claims c;
  /* RS256 works with the RSA key. */
  char *t = token("{\"alg\":\"RS256\",\"kid\":\"rsa\"}", GOOD_PAYLOAD, rsa);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  CHECK_STR(c.alg, "RS256");
  enclos_free(t);
  /* No kid: each alg finds its single key. */
  t = token("{\"alg\":\"RS256\"}", GOOD_PAYLOAD, rsa);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  enclos_free(t);
  /* alg "none" with an empty signature. */
  t = token("{\"alg\":\"none\"}", GOOD_PAYLOAD, NULL);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_ALG_UNSUPPORTED);
  enclos_free(t);
  t = token("{\"alg\":\"None\",\"kid\":\"ec\"}", GOOD_PAYLOAD, NULL);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_ALG_UNSUPPORTED);
  enclos_free(t);
  /* HS256 "signed" with the RSA public key's bytes as the HMAC secret (the classic). */
  enclos_buf spki = ENCLOS_BUF_INIT, mac_in = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_spki(rsa, &spki));
  char *hs = token("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", GOOD_PAYLOAD, NULL);
  char *dot = strrchr(hs, '.');
  uint8_t mac[32];
  CHECK_OK(enclos_hmac(ENCLOS_SHA256, spki.data, spki.len, hs, (size_t)(dot - hs), mac));
  CHECK_OK(enclos_buf_append(&mac_in, hs, (size_t)(dot - hs) + 1));
  CHECK_OK(enclos_b64_encode(&mac_in, mac, 32, ENCLOS_B64_URL));
  const char *ms;
  CHECK_OK(enclos_buf_cstr(&mac_in, &ms));
  CHECK_EQ_INT(verify(set, &cfg, NOW, ms, &c), ENCLOS_JWT_ALG_UNSUPPORTED);
  enclos_free(hs);
  enclos_buf_free(&spki);
  enclos_buf_free(&mac_in);
  /* ES256 claimed on the RSA kid, RS256 on the EC kid. */
  t = token("{\"alg\":\"ES256\",\"kid\":\"rsa\"}", GOOD_PAYLOAD, ec);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_ALG_MISMATCH);
  enclos_free(t);
  t = token("{\"alg\":\"RS256\",\"kid\":\"ec\"}", GOOD_PAYLOAD, rsa);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_ALG_MISMATCH);
  enclos_free(t);
  /* Other algorithms and critical extensions. */
  static const char *hdrs[] = {"{\"alg\":\"ES384\"}", "{\"alg\":\"PS256\"}", "{\"alg\":\"EdDSA\"}",
                               "{\"alg\":\"es256\"}",
                               "{\"alg\":\"ES256\",\"kid\":\"ec\",\"crit\":[\"b64\"],\"b64\":false}"};
  for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
    t = token(hdrs[i], GOOD_PAYLOAD, ec);
    CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_ALG_UNSUPPORTED);
    enclos_free(t);
  }
  static const char *bad_hdrs[] = {"{\"kid\":\"ec\"}", "{\"alg\":1}", "{\"alg\":\"ES256\",\"kid\":5}",
                                   "{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "\"ES256\""};
  for (size_t i = 0; i < sizeof(bad_hdrs) / sizeof(bad_hdrs[0]); i++) {
    t = token(bad_hdrs[i], GOOD_PAYLOAD, ec);
    CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_MALFORMED);
    enclos_free(t);
  }
  /* An embedded key in the header is ignored: keys come only from the JWKS. */
  enclos_pkey *evil;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &evil));
  char *evj = ec_jwk(evil, "");
  enclos_buf h = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_printf(&h, "{\"alg\":\"ES256\",\"kid\":\"ec\",\"jwk\":%s}", evj));
  const char *hs2;
  CHECK_OK(enclos_buf_cstr(&h, &hs2));
  t = token(hs2, GOOD_PAYLOAD, evil);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_BAD_SIGNATURE);
  enclos_free(t);
  enclos_buf_free(&h);
  enclos_free(evj);
  enclos_pkey_free(evil);
  /* A JWK "alg" pins the algorithm. */
  enclos_jwks_free(set);
  enclos_free(ej);
  ej = ec_jwk(ec, ",\"kid\":\"ec\",\"alg\":\"ES384\"");
  set = jwks_of(ej, NULL);
  t = token("{\"alg\":\"ES256\",\"kid\":\"ec\"}", GOOD_PAYLOAD, ec);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_ALG_MISMATCH);
  enclos_free(t);
  /* RS256 signature with a wrong size. */
  enclos_jwks_free(set);
  set = jwks_of(rj, NULL);
  t = token("{\"alg\":\"RS256\"}", GOOD_PAYLOAD, rsa);
  t[strlen(t) - 6] = '\0'; /* 336 base64url characters = 252 bytes, valid base64url */
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_BAD_SIGNATURE);
  enclos_free(t);
  enclos_free(ej);
  enclos_free(rj);
  enclos_jwks_free(set);
  enclos_pkey_free(ec);
  enclos_pkey_free(rsa);
}

TEST(jwt_ambiguous_key_without_kid) {
  enclos_pkey *a, *b;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &a));
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &b));
  char *ja = ec_jwk(a, ",\"kid\":\"a\""), *jb = ec_jwk(b, ",\"kid\":\"b\"");
  enclos_jwks *set = jwks_of(ja, jb);
  enclos_jwt_config cfg = config();
  enclos_jwt_claims c;
  char *t = token("{\"alg\":\"ES256\"}", GOOD_PAYLOAD, a);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_UNKNOWN_KID);
  CHECK_CONTAINS(enclos_err_detail(), "2 keys");
  enclos_free(t);
  t = token("{\"alg\":\"RS256\"}", GOOD_PAYLOAD, NULL);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_UNKNOWN_KID);
  enclos_free(t);
  t = token("{\"alg\":\"ES256\",\"kid\":\"b\"}", GOOD_PAYLOAD, b);
  CHECK_EQ_INT(verify(set, &cfg, NOW, t, &c), ENCLOS_JWT_OK);
  enclos_free(t);
  enclos_free(ja);
  enclos_free(jb);
  enclos_jwks_free(set);
  enclos_pkey_free(a);
  enclos_pkey_free(b);
}

static enclos_err parse_str(const char *s, enclos_jwks **out) {
  return enclos_jwks_parse(s, strlen(s), out);
}

TEST(jwks_parsing_rules) {
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  char *good = ec_jwk(k, ",\"kid\":\"k\"");
  enclos_jwks *set = NULL;
  enclos_buf j = ENCLOS_BUF_INIT;
  /* Unknown kty, other curves and encryption keys are skipped. */
  CHECK_OK(enclos_buf_printf(&j,
                             "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"},"
                             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"},"
                             "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"},"
                             "{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AA\",\"e\":\"AQAB\"},%s],"
                             "\"extra\":1}",
                             good));
  CHECK_OK(enclos_jwks_parse(j.data, j.len, &set));
  CHECK_EQ_INT(enclos_jwks_count(set), 1);
  enclos_jwks_free(set);
  /* Duplicate kid. */
  enclos_buf_reset(&j);
  CHECK_OK(enclos_buf_printf(&j, "{\"keys\":[%s,%s]}", good, good));
  CHECK_ERR(enclos_jwks_parse(j.data, j.len, &set), ENCLOS_E_INVALID);
  CHECK_CONTAINS(enclos_err_detail(), "two keys");
  /* Private key material. */
  enclos_free(good);
  good = ec_jwk(k, ",\"d\":\"AAAA\"");
  enclos_buf_reset(&j);
  CHECK_OK(enclos_buf_printf(&j, "{\"keys\":[%s]}", good));
  CHECK_ERR(enclos_jwks_parse(j.data, j.len, &set), ENCLOS_E_POLICY);
  CHECK_CONTAINS(enclos_err_detail(), "private");
  /* Broken documents and members. */
  static const struct {
    const char *doc;
    enclos_err want;
  } bad[] = {
      {"", ENCLOS_E_MALFORMED},
      {"[]", ENCLOS_E_MALFORMED},
      {"{\"keys\":{}}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[]}", ENCLOS_E_INVALID},
      {"{\"keys\":[{\"kty\":\"oct\"}]}", ENCLOS_E_INVALID},
      {"{\"keys\":[1]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[{}]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":5}]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}",
       ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA+A\",\"y\":\"AAAA\"}]}",
       ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"y\":\"AAAA\"}]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
       "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
       "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}",
       ENCLOS_E_CRYPTO}, /* not on the curve */
      {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", ENCLOS_E_POLICY}, /* tiny */
      {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AAAB\",\"e\":\"AQAB\"}]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAA\"}]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}", ENCLOS_E_MALFORMED},
      {"{\"keys\":[],\"keys\":[]}", ENCLOS_E_MALFORMED},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    enclos_err rc = parse_str(bad[i].doc, &set);
    CHECK_MSG(rc == bad[i].want, "case %zu: %s (%s)", i, enclos_err_name(rc), enclos_err_detail());
    CHECK(set == NULL);
  }
  /* Key count and size limits. */
  enclos_buf_reset(&j);
  CHECK_OK(enclos_buf_append_str(&j, "{\"keys\":["));
  for (int i = 0; i <= ENCLOS_JWKS_MAX_KEYS; i++)
    CHECK_OK(enclos_buf_printf(&j, "%s{\"kty\":\"oct\"}", i ? "," : ""));
  CHECK_OK(enclos_buf_append_str(&j, "]}"));
  CHECK_ERR(enclos_jwks_parse(j.data, j.len, &set), ENCLOS_E_LIMIT);
  CHECK_ERR(enclos_jwks_parse(j.data, ENCLOS_JWKS_MAX_SIZE + 1, &set), ENCLOS_E_LIMIT);
  enclos_buf_free(&j);
  enclos_free(good);
  enclos_pkey_free(k);
}

TEST(jwks_load_file) {
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  char *jwk = ec_jwk(k, "");
  char path[512];
  snprintf(path, sizeof(path), "%s/jwks.json", test_tmpdir());
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  fprintf(f, "{\"keys\":[%s]}\n", jwk);
  fclose(f);
  enclos_jwks *set;
  CHECK_OK(enclos_jwks_load_file(path, &set));
  CHECK_EQ_INT(enclos_jwks_count(set), 1);
  enclos_jwks_free(set);
  snprintf(path, sizeof(path), "%s/missing.json", test_tmpdir());
  CHECK_ERR(enclos_jwks_load_file(path, &set), ENCLOS_E_IO);
  snprintf(path, sizeof(path), "%s/bad.json", test_tmpdir());
  f = fopen(path, "w");
  fprintf(f, "{\"keys\":");
  fclose(f);
  CHECK_ERR(enclos_jwks_load_file(path, &set), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "bad.json");
  enclos_free(jwk);
  enclos_pkey_free(k);
}

TEST(crypto_rsa_pkcs1_and_jwk_import) {
  enclos_pkey *k, *pub;
  CHECK_OK(enclos_pkey_generate_rsa(2048, &k));
  CHECK_EQ_INT(enclos_pkey_bits(k), 2048);
  enclos_buf n = ENCLOS_BUF_INIT, e = ENCLOS_BUF_INIT, sig = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_rsa_ne(k, &n, &e));
  CHECK_EQ_INT(n.len, 256);
  CHECK_OK(enclos_pkey_from_rsa_ne(n.data, n.len, e.data, e.len, &pub));
  CHECK(!enclos_pkey_has_private(pub));
  CHECK_OK(enclos_pkey_sign_rsa_pkcs1(k, ENCLOS_SHA256, "msg", 3, &sig));
  CHECK_EQ_INT(sig.len, 256);
  CHECK_OK(enclos_pkey_verify_rsa_pkcs1(pub, ENCLOS_SHA256, "msg", 3, sig.data, sig.len));
  CHECK_ERR(enclos_pkey_verify_rsa_pkcs1(pub, ENCLOS_SHA256, "msh", 3, sig.data, sig.len),
            ENCLOS_E_VERIFY);
  CHECK_ERR(enclos_pkey_verify_rsa_pkcs1(pub, ENCLOS_SHA384, "msg", 3, sig.data, sig.len),
            ENCLOS_E_VERIFY);
  CHECK_ERR(enclos_pkey_verify_rsa_pkcs1(pub, ENCLOS_SHA256, "msg", 3, sig.data, sig.len - 1),
            ENCLOS_E_VERIFY);
  /* PKCS#1 v1.5 is not PSS and vice versa. */
  CHECK_ERR(enclos_pkey_verify_rsa_pss(pub, ENCLOS_SHA256, 32, "msg", 3, sig.data, sig.len),
            ENCLOS_E_VERIFY);
  sig.data[10] ^= 1;
  CHECK_ERR(enclos_pkey_verify_rsa_pkcs1(pub, ENCLOS_SHA256, "msg", 3, sig.data, sig.len),
            ENCLOS_E_VERIFY);
  /* Import rules. */
  enclos_pkey *x;
  uint8_t zero_lead[3] = {0, 1, 1}, even[1] = {2}, one[1] = {1};
  CHECK_ERR(enclos_pkey_from_rsa_ne(zero_lead, 3, e.data, e.len, &x), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_pkey_from_rsa_ne(n.data, n.len, even, 1, &x), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_pkey_from_rsa_ne(n.data, n.len, one, 1, &x), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_pkey_from_rsa_ne(n.data, 0, e.data, e.len, &x), ENCLOS_E_MALFORMED);
  uint8_t *huge = calloc(1, 1025);
  huge[0] = 1;
  huge[1024] = 1;
  CHECK_ERR(enclos_pkey_from_rsa_ne(huge, 1025, e.data, e.len, &x), ENCLOS_E_LIMIT);
  free(huge);
  CHECK_ERR(enclos_pkey_generate_rsa(1024, &x), ENCLOS_E_INVAL);
  /* EC keys cannot do PKCS#1, RSA keys cannot do ECDSA. */
  enclos_pkey *ec;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &ec));
  CHECK_ERR(enclos_pkey_verify_rsa_pkcs1(ec, ENCLOS_SHA256, "msg", 3, sig.data, sig.len),
            ENCLOS_E_UNSUPPORTED);
  enclos_buf s2 = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_pkey_sign_rsa_pkcs1(ec, ENCLOS_SHA256, "m", 1, &s2), ENCLOS_E_UNSUPPORTED);
  CHECK_ERR(enclos_pkey_rsa_ne(ec, &n, &e), ENCLOS_E_UNSUPPORTED);
  /* JWK EC coordinates must be full length. */
  enclos_buf pt = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_public_raw(ec, &pt));
  CHECK_OK(enclos_pkey_from_jwk_ec(ENCLOS_KEY_EC_P256, pt.data, 32, pt.data + 32, 32, &x));
  enclos_pkey_free(x);
  CHECK_ERR(enclos_pkey_from_jwk_ec(ENCLOS_KEY_EC_P256, pt.data + 1, 31, pt.data + 32, 32, &x),
            ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_pkey_from_jwk_ec(ENCLOS_KEY_RSA, pt.data, 32, pt.data + 32, 32, &x),
            ENCLOS_E_UNSUPPORTED);
  CHECK_EQ_INT(enclos_pkey_bits(ec), 256);
  CHECK_EQ_INT(enclos_pkey_bits(NULL), 0);
  enclos_buf_free(&pt);
  enclos_pkey_free(ec);
  enclos_buf_free(&n);
  enclos_buf_free(&e);
  enclos_buf_free(&sig);
  enclos_pkey_free(pub);
  enclos_pkey_free(k);
}

TEST(jwt_rs256_with_openssl_cli_key) {
  /* Interop: a key and signature made by the openssl command line verify here. */
  const char *dir = test_tmpdir();
  char cmd[2048];
  snprintf(cmd, sizeof(cmd),
           "cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem "
           ">/dev/null 2>&1 && printf 'hello' > m && openssl dgst -sha256 -sign k.pem -out s m "
           "&& openssl pkey -in k.pem -pubout -outform DER -out p.der 2>/dev/null",
           dir);
  if (system(cmd) != 0) {
    printf("  (openssl CLI unavailable: skipped)\n");
    return;
  }
  char path[600];
  size_t sn, pn;
  snprintf(path, sizeof(path), "%s/s", dir);
  uint8_t *sig = test_read_file(path, &sn);
  snprintf(path, sizeof(path), "%s/p.der", dir);
  uint8_t *spki = test_read_file(path, &pn);
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_from_spki(spki, pn, &k));
  CHECK_OK(enclos_pkey_verify_rsa_pkcs1(k, ENCLOS_SHA256, "hello", 5, sig, sn));
  CHECK_ERR(enclos_pkey_verify_rsa_pkcs1(k, ENCLOS_SHA256, "hellO", 5, sig, sn), ENCLOS_E_VERIFY);
  enclos_pkey_free(k);
  free(sig);
  free(spki);
}

TEST(jwt_and_jwks_survive_allocation_failures) {
  enclos_pkey *k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
  char *jwk = ec_jwk(k, ",\"kid\":\"k1\"");
  enclos_buf doc = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_printf(&doc, "{\"keys\":[%s]}", jwk));
  char *t = token("{\"alg\":\"ES256\",\"kid\":\"k1\"}", GOOD_PAYLOAD, k);
  enclos_jwt_config cfg = config();
  bool parsed = false, verified = false;
  for (uint64_t n = 1; n < 200 && !(parsed && verified); n++) {
    enclos_jwks *set = NULL;
    enclos_mem_fail_after(n);
    enclos_err rc = enclos_jwks_parse(doc.data, doc.len, &set);
    enclos_mem_fail_after(0);
    if (rc != ENCLOS_OK) {
      CHECK(set == NULL);
      continue;
    }
    parsed = true;
    enclos_jwt_claims c;
    enclos_mem_fail_after(n);
    rc = enclos_jwt_verify(set, &cfg, NOW, t, strlen(t), &c, NULL);
    enclos_mem_fail_after(0);
    if (rc == ENCLOS_OK) verified = true;
    enclos_jwks_free(set);
  }
  CHECK(parsed && verified);
  enclos_free(t);
  enclos_free(jwk);
  enclos_buf_free(&doc);
  enclos_pkey_free(k);
}
