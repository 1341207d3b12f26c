/* jwt.c: JWKS parsing (RFC 7517, key members RFC 7518 §6) and JWT verification (RFC 7519
 * over RFC 7515 compact JWS) for ES256 and RS256.
 *
 * Divisions: 1. reasons and helpers  2. JWKS  3. JWT verification  4. Bearer credentials
 *
 * Order of the checks in enclos_jwt_verify, chosen so that nothing from an unauthenticated
 * payload is interpreted before the signature verifies: size, shape, header JSON, alg,
 * key selection (kid, key type, JWK alg), signature, then payload JSON and its claims.
 * Header parameters that name keys (jwk, jku, x5u, x5c) are ignored: keys come only from
 * the configured JWKS.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/server_auth.h>

#include "server_int.h"

/* 1. Reasons and helpers ------------------------------------------------------------------ */

const char *enclos_jwt_reason_name(enclos_jwt_reason r) {
  switch (r) {
    case ENCLOS_JWT_OK: return "ok";
    case ENCLOS_JWT_MALFORMED: return "malformed";
    case ENCLOS_JWT_TOO_LARGE: return "too_large";
    case ENCLOS_JWT_ALG_UNSUPPORTED: return "alg_unsupported";
    case ENCLOS_JWT_ALG_MISMATCH: return "alg_mismatch";
    case ENCLOS_JWT_UNKNOWN_KID: return "unknown_kid";
    case ENCLOS_JWT_BAD_SIGNATURE: return "bad_signature";
    case ENCLOS_JWT_EXPIRED: return "expired";
    case ENCLOS_JWT_NOT_YET_VALID: return "not_yet_valid";
    case ENCLOS_JWT_ISSUED_IN_FUTURE: return "issued_in_future";
    case ENCLOS_JWT_WRONG_ISSUER: return "wrong_issuer";
    case ENCLOS_JWT_WRONG_AUDIENCE: return "wrong_audience";
    case ENCLOS_JWT_MISSING_CLAIM: return "missing_claim";
    case ENCLOS_JWT_BAD_CLAIM: return "bad_claim";
  }
  return "unknown";
}

/* Decodes a base64url JSON string member into \p out. */
static enclos_err b64_member(const json_t *obj, const char *name, enclos_buf *out) {
  const json_t *v = json_object_get(obj, name);
  ENCLOS_ENSUREF(v && json_is_string(v), ENCLOS_E_MALFORMED, "JWK member \"%s\" missing or not a string",
                 name);
  const char *s = json_string_value(v);
  enclos_err rc = enclos_b64_decode(out, s, json_string_length(v), ENCLOS_B64_URL);
  ENCLOS_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_MALFORMED, "JWK member \"%s\" is not base64url", name);
  return ENCLOS_OK;
}

/* Copies an optional string member into a fixed buffer; absent leaves out[0] = 0. */
static enclos_err str_member(const json_t *obj, const char *name, char *out, size_t cap,
                             bool *present) {
  const json_t *v = json_object_get(obj, name);
  out[0] = '\0';
  if (present) *present = v != NULL;
  if (!v) return ENCLOS_OK;
  ENCLOS_ENSUREF(json_is_string(v), ENCLOS_E_MALFORMED, "\"%s\" is not a string", name);
  size_t n = json_string_length(v);
  ENCLOS_ENSUREF(n < cap, ENCLOS_E_LIMIT, "\"%s\" longer than %zu bytes", name, cap - 1);
  memcpy(out, json_string_value(v), n + 1);
  return ENCLOS_OK;
}

/* 2. JWKS -------------------------------------------------------------------------------- */

typedef struct jwk {
  bool has_kid;
  char kid[ENCLOS_JWT_MAX_KID + 1];
  char alg[16]; /* JWK "alg" (RFC 7517 §4.4), empty when absent */
  enclos_key_type type;
  enclos_pkey *key;
} jwk;

struct enclos_jwks {
  atomic_int refs; /* shared between a JWKS source's cache and in-flight verifications */
  size_t count;
  jwk keys[ENCLOS_JWKS_MAX_KEYS];
};

enclos_jwks *enclos_jwks_ref(enclos_jwks *set) {
  if (set) atomic_fetch_add(&set->refs, 1);
  return set;
}

void enclos_jwks_free(enclos_jwks *set) {
  if (!set || atomic_fetch_sub(&set->refs, 1) != 1) return;
  for (size_t i = 0; i < set->count; i++) enclos_pkey_free(set->keys[i].key);
  enclos_free(set);
}

size_t enclos_jwks_count(const enclos_jwks *set) { return set ? set->count : 0; }

/* Imports one JWK into \p k; *skip when its type or curve is not one we use. */
static enclos_err jwk_import(const json_t *o, jwk *k, bool *skip) {
  char kty[16], use[16], crv[16];
  bool has_use;
  *skip = false;
  ENCLOS_ENSUREF(json_is_object(o), ENCLOS_E_MALFORMED, "JWK is not an object");
  ENCLOS_TRY(str_member(o, "kty", kty, sizeof(kty), NULL));
  ENCLOS_ENSUREF(kty[0] != '\0', ENCLOS_E_MALFORMED, "JWK without \"kty\"");
  ENCLOS_TRY(str_member(o, "use", use, sizeof(use), &has_use));
  ENCLOS_TRY(str_member(o, "alg", k->alg, sizeof(k->alg), NULL));
  ENCLOS_TRY(str_member(o, "kid", k->kid, sizeof(k->kid), &k->has_kid));
  /* A verification key set must not carry private keys (RFC 7517 §9.2: protect them). */
  ENCLOS_ENSUREF(json_object_get(o, "d") == NULL, ENCLOS_E_POLICY,
                 "JWK \"%s\" contains a private key (\"d\")", k->kid);
  if ((has_use && strcmp(use, "sig") != 0) ||
      (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0)) {
    *skip = true; /* RFC 7517 §5: ignore keys we cannot or must not use */
    return ENCLOS_OK;
  }
  enclos_err rc = ENCLOS_OK;
  enclos_buf a = ENCLOS_BUF_INIT, b = ENCLOS_BUF_INIT;
  if (strcmp(kty, "EC") == 0) {
    ENCLOS_GUARD(str_member(o, "crv", crv, sizeof(crv), NULL));
    if (strcmp(crv, "P-256") != 0) {
      *skip = true;
      goto cleanup;
    }
    ENCLOS_GUARD(b64_member(o, "x", &a));
    ENCLOS_GUARD(b64_member(o, "y", &b));
    ENCLOS_GUARD(enclos_pkey_from_jwk_ec(ENCLOS_KEY_EC_P256, a.data, a.len, b.data, b.len, &k->key));
    k->type = ENCLOS_KEY_EC_P256;
  } else {
    ENCLOS_GUARD(b64_member(o, "n", &a));
    ENCLOS_GUARD(b64_member(o, "e", &b));
    ENCLOS_GUARD(enclos_pkey_from_rsa_ne(a.data, a.len, b.data, b.len, &k->key));
    k->type = ENCLOS_KEY_RSA;
    if (enclos_pkey_bits(k->key) < ENCLOS_RSA_MIN_BITS) {
      enclos_pkey_free(k->key);
      k->key = NULL;
      ENCLOS_GUARD_FAILF(ENCLOS_E_POLICY, "RSA JWK \"%s\" is shorter than %d bits", k->kid,
                         ENCLOS_RSA_MIN_BITS);
    }
  }
cleanup:
  enclos_buf_free(&a);
  enclos_buf_free(&b);
  return rc;
}

enclos_err enclos_jwks_parse(const void *data, size_t size, enclos_jwks **out) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE(data != NULL || size == 0, ENCLOS_E_INVAL);
  *out = NULL;
  ENCLOS_ENSUREF(size <= ENCLOS_JWKS_MAX_SIZE, ENCLOS_E_LIMIT, "JWKS of %zu bytes exceeds %d",
                 size, ENCLOS_JWKS_MAX_SIZE);
  json_error_t jerr;
  json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
  ENCLOS_ENSUREF(root != NULL, ENCLOS_E_MALFORMED, "JWKS is not JSON: %s (line %d)", jerr.text,
                 jerr.line);
  enclos_err rc = ENCLOS_OK;
  enclos_jwks *set = NULL;
  const json_t *keys = json_object_get(root, "keys");
  ENCLOS_GUARD_ENSUREF(json_is_object(root) && keys && json_is_array(keys), ENCLOS_E_MALFORMED,
                       "JWKS has no \"keys\" array");
  size_t n = json_array_size(keys);
  ENCLOS_GUARD_ENSUREF(n <= ENCLOS_JWKS_MAX_KEYS, ENCLOS_E_LIMIT, "JWKS has %zu keys, limit %d", n,
                       ENCLOS_JWKS_MAX_KEYS);
  set = enclos_calloc(1, sizeof(*set));
  ENCLOS_GUARD_ENSUREF(set != NULL, ENCLOS_E_NOMEM, "JWKS");
  atomic_init(&set->refs, 1);
  for (size_t i = 0; i < n; i++) {
    jwk k;
    bool skip;
    memset(&k, 0, sizeof(k));
    rc = jwk_import(json_array_get(keys, i), &k, &skip);
    if (rc != ENCLOS_OK) {
      enclos_pkey_free(k.key);
      char why[256];
      snprintf(why, sizeof(why), "%s", enclos_err_detail());
      ENCLOS_GUARD_FAILF(rc, "JWKS key %zu: %s", i, why);
    }
    if (skip) continue;
    for (size_t j = 0; k.has_kid && j < set->count; j++) {
      if (set->keys[j].has_kid && strcmp(set->keys[j].kid, k.kid) == 0) {
        enclos_pkey_free(k.key);
        ENCLOS_GUARD_FAILF(ENCLOS_E_INVALID, "JWKS has two keys with kid \"%s\"", k.kid);
      }
    }
    set->keys[set->count++] = k;
  }
  ENCLOS_GUARD_ENSUREF(set->count > 0, ENCLOS_E_INVALID,
                       "JWKS has no usable key (EC P-256 or RSA for signatures)");
  *out = set;
  set = NULL;
cleanup:
  enclos_jwks_free(set);
  json_decref(root);
  return rc;
}

enclos_err enclos_jwks_load_file(const char *path, enclos_jwks **out) {
  ENCLOS_ENSURE_REF(path);
  ENCLOS_ENSURE_REF(out);
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f != NULL, ENCLOS_E_IO, "cannot open JWKS file %s: %s", path, strerror(errno));
  enclos_err rc = ENCLOS_OK;
  uint8_t *buf = enclos_malloc(ENCLOS_JWKS_MAX_SIZE + 1);
  ENCLOS_GUARD_ENSUREF(buf != NULL, ENCLOS_E_NOMEM, "JWKS buffer");
  size_t n = fread(buf, 1, ENCLOS_JWKS_MAX_SIZE + 1, f);
  ENCLOS_GUARD_ENSUREF(!ferror(f), ENCLOS_E_IO, "reading JWKS file %s", path);
  ENCLOS_GUARD_ENSUREF(n <= ENCLOS_JWKS_MAX_SIZE, ENCLOS_E_LIMIT,
                       "JWKS file %s is larger than %d bytes", path, ENCLOS_JWKS_MAX_SIZE);
  rc = enclos_jwks_parse(buf, n, out);
  if (rc != ENCLOS_OK) {
    char detail[512];
    snprintf(detail, sizeof(detail), "%s", enclos_err_detail());
    ENCLOS_GUARD_FAILF(rc, "%s: %s", path, detail);
  }
cleanup:
  enclos_free(buf);
  fclose(f);
  return rc;
}

/* 3. JWT verification --------------------------------------------------------------------- */

void enclos_jwt_config_default(enclos_jwt_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->roles_claim = "roles";
  cfg->skew = ENCLOS_JWT_DEFAULT_SKEW;
  cfg->require_exp = true;
}

#define REASON(r, code, ...)                                                       \
  do {                                                                             \
    *why = (r);                                                                    \
    ENCLOS_GUARD_FAILF((code), "JWT refused (%s): " __VA_ARGS__);                  \
  } while (0)

/* Largest |NumericDate| accepted (year ~33658): keeps arithmetic far from overflow. */
#define JWT_MAX_DATE 1000000000000LL

/* Reads an optional NumericDate (RFC 7519 §2: integer or non-integer seconds). */
static enclos_err numeric_date(const json_t *payload, const char *name, bool *has, int64_t *out) {
  const json_t *v = json_object_get(payload, name);
  *has = false;
  if (!v) return ENCLOS_OK;
  double d;
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    ENCLOS_ENSUREF(i >= -JWT_MAX_DATE && i <= JWT_MAX_DATE, ENCLOS_E_RANGE,
                   "\"%s\" out of range", name);
    *out = (int64_t)i;
  } else if (json_is_real(v)) {
    d = json_real_value(v);
    ENCLOS_ENSUREF(d >= (double)-JWT_MAX_DATE && d <= (double)JWT_MAX_DATE, ENCLOS_E_RANGE,
                   "\"%s\" out of range", name);
    *out = (int64_t)d; /* truncation toward zero: within a second of the claim */
  } else {
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "\"%s\" is not a NumericDate", name);
  }
  *has = true;
  return ENCLOS_OK;
}

static enclos_err add_role(enclos_jwt_claims *c, const char *s, size_t n) {
  ENCLOS_ENSUREF(c->role_count < ENCLOS_JWT_MAX_ROLES, ENCLOS_E_LIMIT, "more than %d roles",
                 ENCLOS_JWT_MAX_ROLES);
  ENCLOS_ENSUREF(n > 0 && n <= ENCLOS_JWT_MAX_ROLE, ENCLOS_E_LIMIT,
                 "role of %zu bytes (limit %d)", n, ENCLOS_JWT_MAX_ROLE);
  memcpy(c->roles[c->role_count], s, n);
  c->roles[c->role_count][n] = '\0';
  c->role_count++;
  return ENCLOS_OK;
}

/* Roles: a string array, or a space-separated string (as OAuth "scope", RFC 8693 §4.2). */
static enclos_err read_roles(const json_t *v, enclos_jwt_claims *c) {
  if (json_is_array(v)) {
    size_t n = json_array_size(v);
    ENCLOS_ENSUREF(n <= ENCLOS_JWT_MAX_ROLES, ENCLOS_E_LIMIT, "more than %d roles",
                   ENCLOS_JWT_MAX_ROLES);
    for (size_t i = 0; i < n; i++) {
      const json_t *e = json_array_get(v, i);
      ENCLOS_ENSUREF(json_is_string(e), ENCLOS_E_MALFORMED, "role %zu is not a string", i);
      ENCLOS_TRY(add_role(c, json_string_value(e), json_string_length(e)));
    }
    return ENCLOS_OK;
  }
  ENCLOS_ENSUREF(json_is_string(v), ENCLOS_E_MALFORMED, "roles claim is neither array nor string");
  const char *s = json_string_value(v);
  size_t len = json_string_length(v), i = 0;
  while (i < len) {
    while (i < len && s[i] == ' ') i++;
    size_t st = i;
    while (i < len && s[i] != ' ') i++;
    if (i > st) ENCLOS_TRY(add_role(c, s + st, i - st));
  }
  return ENCLOS_OK;
}

/* The detail of the last error, copied out before a new error overwrites the slot. */
static const char *saved_detail(char prev[256]) {
  snprintf(prev, 256, "%s", enclos_err_detail());
  return prev;
}

static bool key_fits(const jwk *k, const char *alg) {
  enclos_key_type want = strcmp(alg, "ES256") == 0 ? ENCLOS_KEY_EC_P256 : ENCLOS_KEY_RSA;
  if (k->type != want) return false;
  return k->alg[0] == '\0' || strcmp(k->alg, alg) == 0;
}

static json_t *decode_json_part(const char *s, size_t n, enclos_buf *tmp) {
  enclos_buf_reset(tmp);
  if (n == 0 || enclos_b64_decode(tmp, s, n, ENCLOS_B64_URL) != ENCLOS_OK || tmp->len == 0)
    return NULL;
  json_t *j = json_loadb((const char *)tmp->data, tmp->len, JSON_REJECT_DUPLICATES, NULL);
  if (j && !json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

enclos_err enclos_jwt_verify(const enclos_jwks *keys, const enclos_jwt_config *cfg, int64_t now,
                             const char *token, size_t len, enclos_jwt_claims *out,
                             enclos_jwt_reason *why_out) {
  enclos_jwt_reason why_local = ENCLOS_JWT_OK;
  enclos_jwt_reason *why = why_out ? why_out : &why_local;
  *why = ENCLOS_JWT_OK;
  ENCLOS_ENSURE_REF(keys);
  ENCLOS_ENSURE_REF(cfg);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE(token != NULL || len == 0, ENCLOS_E_INVAL);
  ENCLOS_ENSUREF(cfg->skew >= 0 && cfg->skew <= ENCLOS_JWT_MAX_SKEW, ENCLOS_E_INVAL,
                 "clock skew %lld outside 0..%d", (long long)cfg->skew, ENCLOS_JWT_MAX_SKEW);
  memset(out, 0, sizeof(*out));
  enclos_err rc = ENCLOS_OK;
  enclos_buf tmp = ENCLOS_BUF_INIT, sig = ENCLOS_BUF_INIT;
  json_t *hdr = NULL, *pl = NULL;
  char prev[256];

  if (len > ENCLOS_JWT_MAX_SIZE)
    REASON(ENCLOS_JWT_TOO_LARGE, ENCLOS_E_LIMIT, "%zu bytes, limit %d", "too_large", len,
           ENCLOS_JWT_MAX_SIZE);
  /* Compact serialization: BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(sig). */
  size_t d1 = len, d2 = len, dots = 0;
  for (size_t i = 0; i < len; i++) {
    if (token[i] != '.') continue;
    if (dots == 0) d1 = i;
    else if (dots == 1) d2 = i;
    dots++;
  }
  if (dots != 2)
    REASON(ENCLOS_JWT_MALFORMED, ENCLOS_E_MALFORMED, "%zu dots, want 2 (JWE is not accepted)",
           "malformed", dots);
  hdr = decode_json_part(token, d1, &tmp);
  if (!hdr) REASON(ENCLOS_JWT_MALFORMED, ENCLOS_E_MALFORMED, "header is not a base64url JSON object", "malformed");

  /* alg (RFC 7515 §4.1.1): only the two we implement; never "none" or an HMAC. */
  const json_t *a = json_object_get(hdr, "alg");
  if (!a || !json_is_string(a))
    REASON(ENCLOS_JWT_MALFORMED, ENCLOS_E_MALFORMED, "header has no \"alg\"", "malformed");
  const char *alg = json_string_value(a);
  if (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0)
    REASON(ENCLOS_JWT_ALG_UNSUPPORTED, ENCLOS_E_UNSUPPORTED,
           "alg \"%.16s\" (only ES256 and RS256 are accepted)", "alg_unsupported", alg);
  memcpy(out->alg, alg, 6);
  /* crit (RFC 7515 §4.1.11): we understand no extensions, so any listed one is fatal. */
  if (json_object_get(hdr, "crit"))
    REASON(ENCLOS_JWT_ALG_UNSUPPORTED, ENCLOS_E_UNSUPPORTED, "critical header extension",
           "alg_unsupported");
  bool has_kid;
  if (str_member(hdr, "kid", out->kid, sizeof(out->kid), &has_kid) != ENCLOS_OK)
    REASON(ENCLOS_JWT_MALFORMED, ENCLOS_E_MALFORMED, "bad \"kid\"", "malformed");

  /* Key selection: by kid when given, else the single key that fits the alg. */
  const jwk *key = NULL;
  if (has_kid) {
    for (size_t i = 0; i < keys->count && !key; i++)
      if (keys->keys[i].has_kid && strcmp(keys->keys[i].kid, out->kid) == 0) key = &keys->keys[i];
    if (!key)
      REASON(ENCLOS_JWT_UNKNOWN_KID, ENCLOS_E_NOT_FOUND, "no key with kid \"%s\"", "unknown_kid",
             out->kid);
    if (!key_fits(key, alg))
      REASON(ENCLOS_JWT_ALG_MISMATCH, ENCLOS_E_POLICY, "alg %s does not fit key \"%s\" (%s%s)",
             "alg_mismatch", alg, out->kid, key->type == ENCLOS_KEY_RSA ? "RSA" : "EC P-256",
             key->alg[0] ? ", JWK alg set" : "");
  } else {
    size_t fits = 0;
    for (size_t i = 0; i < keys->count; i++)
      if (key_fits(&keys->keys[i], alg)) {
        fits++;
        key = &keys->keys[i];
      }
    if (fits != 1)
      REASON(ENCLOS_JWT_UNKNOWN_KID, ENCLOS_E_NOT_FOUND,
             "token has no kid and %zu keys fit alg %s (need exactly 1)", "unknown_kid", fits, alg);
  }

  /* Signature over the ASCII of "header.payload" (RFC 7515 §5.2). */
  if (d2 + 1 >= len ||
      enclos_b64_decode(&sig, token + d2 + 1, len - d2 - 1, ENCLOS_B64_URL) != ENCLOS_OK)
    REASON(ENCLOS_JWT_MALFORMED, ENCLOS_E_MALFORMED, "signature is not base64url", "malformed");
  enclos_err vr;
  if (key->type == ENCLOS_KEY_EC_P256)
    /* RFC 7518 §3.4: R and S as 32-byte big-endian integers, concatenated (not DER). */
    vr = sig.len == 64 ? enclos_pkey_verify(key->key, ENCLOS_SHA256, token, d2, sig.data, sig.len,
                                            ENCLOS_SIG_RAW)
                       : ENCLOS_E_VERIFY;
  else
    vr = enclos_pkey_verify_rsa_pkcs1(key->key, ENCLOS_SHA256, token, d2, sig.data, sig.len);
  if (vr != ENCLOS_OK)
    REASON(ENCLOS_JWT_BAD_SIGNATURE, ENCLOS_E_VERIFY, "signature does not verify with %s",
           "bad_signature", alg);

  /* Claims (RFC 7519 §4.1), only now that the payload is authenticated. */
  pl = decode_json_part(token + d1 + 1, d2 - d1 - 1, &tmp);
  if (!pl) REASON(ENCLOS_JWT_MALFORMED, ENCLOS_E_MALFORMED, "payload is not a base64url JSON object", "malformed");
  if (numeric_date(pl, "exp", &out->has_exp, &out->exp) != ENCLOS_OK ||
      numeric_date(pl, "nbf", &out->has_nbf, &out->nbf) != ENCLOS_OK ||
      numeric_date(pl, "iat", &out->has_iat, &out->iat) != ENCLOS_OK)
    REASON(ENCLOS_JWT_BAD_CLAIM, ENCLOS_E_POLICY, "%s", "bad_claim", saved_detail(prev));
  if (str_member(pl, "sub", out->sub, sizeof(out->sub), NULL) != ENCLOS_OK ||
      str_member(pl, "iss", out->iss, sizeof(out->iss), NULL) != ENCLOS_OK)
    REASON(ENCLOS_JWT_BAD_CLAIM, ENCLOS_E_POLICY, "%s", "bad_claim", saved_detail(prev));
  if (cfg->require_exp && !out->has_exp)
    REASON(ENCLOS_JWT_MISSING_CLAIM, ENCLOS_E_POLICY, "no \"exp\"", "missing_claim");
  /* §4.1.4: now must be before exp; §4.1.5: not before nbf; each with the allowed skew.
   * Differences are taken in unsigned arithmetic after ordering, so they cannot overflow. */
  if (out->has_exp && out->exp <= now && (uint64_t)now - (uint64_t)out->exp >= (uint64_t)cfg->skew)
    REASON(ENCLOS_JWT_EXPIRED, ENCLOS_E_EXPIRED, "expired at %lld, now %lld (skew %lld)",
           "expired", (long long)out->exp, (long long)now, (long long)cfg->skew);
  if (out->has_nbf && out->nbf > now && (uint64_t)out->nbf - (uint64_t)now > (uint64_t)cfg->skew)
    REASON(ENCLOS_JWT_NOT_YET_VALID, ENCLOS_E_EXPIRED, "not valid before %lld, now %lld",
           "not_yet_valid", (long long)out->nbf, (long long)now);
  if (out->has_iat && out->iat > now && (uint64_t)out->iat - (uint64_t)now > (uint64_t)cfg->skew)
    REASON(ENCLOS_JWT_ISSUED_IN_FUTURE, ENCLOS_E_EXPIRED, "issued at %lld, after now %lld",
           "issued_in_future", (long long)out->iat, (long long)now);
  if (cfg->issuer) {
    if (!json_object_get(pl, "iss"))
      REASON(ENCLOS_JWT_MISSING_CLAIM, ENCLOS_E_POLICY, "no \"iss\"", "missing_claim");
    if (strcmp(out->iss, cfg->issuer) != 0)
      REASON(ENCLOS_JWT_WRONG_ISSUER, ENCLOS_E_POLICY, "issuer \"%s\", want \"%s\"",
             "wrong_issuer", out->iss, cfg->issuer);
  }
  if (cfg->audience) {
    /* §4.1.3: aud is a string or an array of strings; ours must be among them. */
    const json_t *aud = json_object_get(pl, "aud");
    bool found = false;
    if (!aud) REASON(ENCLOS_JWT_MISSING_CLAIM, ENCLOS_E_POLICY, "no \"aud\"", "missing_claim");
    if (json_is_string(aud)) {
      found = strcmp(json_string_value(aud), cfg->audience) == 0;
    } else if (json_is_array(aud)) {
      size_t i;
      json_t *e;
      json_array_foreach(aud, i, e) {
        if (!json_is_string(e))
          REASON(ENCLOS_JWT_BAD_CLAIM, ENCLOS_E_POLICY, "\"aud\" element %zu is not a string",
                 "bad_claim", i);
        if (strcmp(json_string_value(e), cfg->audience) == 0) found = true;
      }
    } else {
      REASON(ENCLOS_JWT_BAD_CLAIM, ENCLOS_E_POLICY, "\"aud\" is neither string nor array",
             "bad_claim");
    }
    if (!found)
      REASON(ENCLOS_JWT_WRONG_AUDIENCE, ENCLOS_E_POLICY, "audience \"%s\" not in \"aud\"",
             "wrong_audience", cfg->audience);
  } else if (json_object_get(pl, "aud")) {
    /* §4.1.3: a token restricted to audiences MUST be rejected by a recipient that does not
     * identify itself with one of them; with no audience configured we are none of them. */
    REASON(ENCLOS_JWT_WRONG_AUDIENCE, ENCLOS_E_POLICY,
           "token has \"aud\" but no audience is configured", "wrong_audience");
  }
  const json_t *roles = json_object_get(pl, cfg->roles_claim ? cfg->roles_claim : "roles");
  if (roles && read_roles(roles, out) != ENCLOS_OK)
    REASON(ENCLOS_JWT_BAD_CLAIM, ENCLOS_E_POLICY, "roles: %s", "bad_claim", saved_detail(prev));

cleanup:
  if (rc != ENCLOS_OK) memset(out, 0, sizeof(*out));
  json_decref(hdr);
  json_decref(pl);
  enclos_buf_free(&tmp);
  enclos_buf_free(&sig);
  return rc;
}

bool enclos_jwt_has_role(const enclos_jwt_claims *claims, const char *role) {
  if (!claims || !role) return false;
  for (size_t i = 0; i < claims->role_count; i++)
    if (strcmp(claims->roles[i], role) == 0) return true;
  return false;
}

/* 4. Bearer credentials (RFC 6750 §2.1: "Bearer" 1*SP b64token) ---------------------------- */

enclos_err enclos_auth_bearer(const char *value, size_t len, const char **token,
                              size_t *token_len) {
  ENCLOS_ENSURE(value != NULL && token != NULL && token_len != NULL, ENCLOS_E_INVAL);
  static const char scheme[] = "bearer";
  ENCLOS_ENSUREF(len > 6, ENCLOS_E_AUTH, "Authorization is not a Bearer credential");
  for (size_t i = 0; i < 6; i++) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    ENCLOS_ENSUREF(c == scheme[i], ENCLOS_E_AUTH, "Authorization is not a Bearer credential");
  }
  size_t i = 6;
  ENCLOS_ENSUREF(value[i] == ' ', ENCLOS_E_AUTH, "Authorization is not a Bearer credential");
  while (i < len && value[i] == ' ') i++;
  size_t s = i;
  while (i < len) {
    char c = value[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
    ENCLOS_ENSUREF(ok, ENCLOS_E_AUTH, "Bearer token contains byte 0x%02x", (unsigned char)c);
    i++;
  }
  ENCLOS_ENSUREF(i > s, ENCLOS_E_AUTH, "empty Bearer token");
  *token = value + s;
  *token_len = i - s;
  return ENCLOS_OK;
}
