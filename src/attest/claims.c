/* claims.c: the claims map bound into report data (docs/attestation.md §3).
 *
 *   claims = {
 *     "nonce": bstr,                    ; optional, 1..64 bytes
 *     "enclos/app": { "name": tstr, "code-hash": bstr .size 32, "config-root": bstr .size 32 },
 *     "pubkey-hash": [alg: uint, hash: bstr],   ; alg: IANA named-information id (1, 7, 8)
 *     "tls-exporter": bstr,             ; optional, 1..64 bytes
 *     "enclos/config-root": bstr .size 32,      ; optional
 *   }
 *
 * Keys appear in RFC 8949 §4.2.1 order (shorter encoding first, then bytewise), which is the
 * order above. The decoder accepts only that exact encoding: it re-encodes what it decoded and
 * compares, so indefinite lengths, non-minimal heads, duplicate or reordered keys all fail.
 *
 * 1. Encoding   2. Decoding   3. Report data
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include <enclos/attest.h>
#include <enclos/mem.h>

#include "attest_int.h"

#define K_NONCE "nonce"
#define K_APP "enclos/app"
#define K_PUBKEY "pubkey-hash"
#define K_EXPORTER "tls-exporter"
#define K_CONFIG "enclos/config-root"
#define K_NAME "name"
#define K_CODE "code-hash"
#define K_APPCONF "config-root"

static int ni_id(enclos_hash_alg a) {
  return a == ENCLOS_SHA256 ? ENCLOS_NI_SHA256 : a == ENCLOS_SHA384 ? ENCLOS_NI_SHA384 : ENCLOS_NI_SHA512;
}

enclos_err enclos_claims_set_pubkey(enclos_claims *c, const void *spki, size_t size) {
  ENCLOS_ENSURE_REF(c);
  c->pubkey_alg = ENCLOS_SHA256;
  memset(c->pubkey_hash, 0, sizeof(c->pubkey_hash));
  return enclos_hash(ENCLOS_SHA256, spki, size, c->pubkey_hash);
}

/* 1. Encoding ------------------------------------------------------------------------ */

static bool put(cbor_item_t *map, const char *key, cbor_item_t *value) {
  if (!value) return false;
  cbor_item_t *k = cbor_build_string(key);
  bool ok = k && cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
  if (k) cbor_decref(&k);
  cbor_decref(&value);
  return ok;
}

static cbor_item_t *bstr(const uint8_t *p, size_t n) { return cbor_build_bytestring(p, n); }

static cbor_item_t *build_app(const enclos_claims *c) {
  cbor_item_t *m = cbor_new_definite_map(3);
  if (!m) return NULL;
  if (put(m, K_NAME, cbor_build_string(c->app_name)) && put(m, K_CODE, bstr(c->app_code_hash, 32)) &&
      put(m, K_APPCONF, bstr(c->app_config_root, 32)))
    return m;
  cbor_decref(&m);
  return NULL;
}

static cbor_item_t *build_pubkey(const enclos_claims *c) {
  cbor_item_t *a = cbor_new_definite_array(2);
  if (!a) return NULL;
  cbor_item_t *alg = cbor_build_uint8((uint8_t)ni_id(c->pubkey_alg));
  cbor_item_t *h = bstr(c->pubkey_hash, enclos_hash_size(c->pubkey_alg));
  bool ok = alg && h && cbor_array_push(a, alg) && cbor_array_push(a, h);
  if (alg) cbor_decref(&alg);
  if (h) cbor_decref(&h);
  if (!ok) cbor_decref(&a);
  return a;
}

enclos_err enclos_claims_encode(const enclos_claims *c, enclos_buf *out) {
  ENCLOS_ENSURE_REF(c);
  ENCLOS_ENSUREF(enclos_hash_size(c->pubkey_alg) != 0, ENCLOS_E_INVAL, "claims need a pubkey-hash");
  ENCLOS_ENSUREF(!c->has_nonce || (c->nonce_size > 0 && c->nonce_size <= ENCLOS_CLAIMS_MAX_NONCE),
                 ENCLOS_E_RANGE, "nonce size %zu outside 1..%d", c->nonce_size, ENCLOS_CLAIMS_MAX_NONCE);
  ENCLOS_ENSUREF(!c->has_tls_exporter ||
                     (c->tls_exporter_size > 0 && c->tls_exporter_size <= ENCLOS_CLAIMS_MAX_NONCE),
                 ENCLOS_E_RANGE, "tls-exporter size %zu outside 1..%d", c->tls_exporter_size,
                 ENCLOS_CLAIMS_MAX_NONCE);
  size_t napp = c->has_app ? strnlen(c->app_name, sizeof(c->app_name)) : 0;
  ENCLOS_ENSUREF(!c->has_app || (napp > 0 && napp <= ENCLOS_CLAIMS_MAX_APP_NAME), ENCLOS_E_RANGE,
                 "app name must be 1..%d bytes", ENCLOS_CLAIMS_MAX_APP_NAME);
  size_t n = 1 + c->has_nonce + c->has_tls_exporter + c->has_config_root + c->has_app;
  enclos_err rc = ENCLOS_OK;
  unsigned char *bytes = NULL;
  size_t cap = 0;
  cbor_item_t *m = cbor_new_definite_map(n);
  ENCLOS_GUARD_ENSUREF(m != NULL, ENCLOS_E_NOMEM, "claims map");
  bool ok = true;
  /* RFC 8949 §4.2.1 key order; see the file comment. */
  if (c->has_nonce) ok = ok && put(m, K_NONCE, bstr(c->nonce, c->nonce_size));
  if (c->has_app) ok = ok && put(m, K_APP, build_app(c));
  ok = ok && put(m, K_PUBKEY, build_pubkey(c));
  if (c->has_tls_exporter) ok = ok && put(m, K_EXPORTER, bstr(c->tls_exporter, c->tls_exporter_size));
  if (c->has_config_root) ok = ok && put(m, K_CONFIG, bstr(c->config_root, 32));
  ENCLOS_GUARD_ENSUREF(ok, ENCLOS_E_NOMEM, "building claims");
  size_t len = cbor_serialize_alloc(m, &bytes, &cap);
  ENCLOS_GUARD_ENSUREF(len > 0 && len <= ENCLOS_CLAIMS_MAX_SIZE, ENCLOS_E_LIMIT, "claims encoding");
  ENCLOS_GUARD(enclos_buf_append(out, bytes, len));
cleanup:
  free(bytes); /* allocated by libcbor's allocator (malloc) */
  if (m) cbor_decref(&m);
  return rc;
}

/* 2. Decoding ------------------------------------------------------------------------ */

static bool key_is(cbor_item_t *k, const char *want) {
  size_t n = strlen(want);
  return cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == n &&
         memcmp(cbor_string_handle(k), want, n) == 0;
}

static enclos_err get_bstr(cbor_item_t *v, const char *what, size_t min, size_t max, uint8_t *out,
                           size_t *size) {
  ENCLOS_ENSUREF(cbor_isa_bytestring(v) && cbor_bytestring_is_definite(v), ENCLOS_E_MALFORMED,
                 "claims: %s is not a definite byte string", what);
  size_t n = cbor_bytestring_length(v);
  ENCLOS_ENSUREF(n >= min && n <= max, ENCLOS_E_MALFORMED, "claims: %s has %zu bytes (want %zu..%zu)",
                 what, n, min, max);
  memcpy(out, cbor_bytestring_handle(v), n);
  if (size) *size = n;
  return ENCLOS_OK;
}

static enclos_err decode_app(cbor_item_t *v, enclos_claims *c) {
  ENCLOS_ENSUREF(cbor_isa_map(v) && cbor_map_is_definite(v) && cbor_map_size(v) == 3, ENCLOS_E_MALFORMED,
                 "claims: enclos/app must be a map of name, code-hash, config-root");
  struct cbor_pair *p = cbor_map_handle(v);
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < 3; i++) {
    if (key_is(p[i].key, K_NAME) && !seen[0]) {
      cbor_item_t *s = p[i].value;
      ENCLOS_ENSUREF(cbor_isa_string(s) && cbor_string_is_definite(s), ENCLOS_E_MALFORMED,
                     "claims: enclos/app name is not a text string");
      size_t n = cbor_string_length(s);
      ENCLOS_ENSUREF(n > 0 && n <= ENCLOS_CLAIMS_MAX_APP_NAME, ENCLOS_E_MALFORMED,
                     "claims: app name of %zu bytes", n);
      ENCLOS_ENSUREF(memchr(cbor_string_handle(s), 0, n) == NULL, ENCLOS_E_MALFORMED,
                     "claims: app name contains NUL");
      memcpy(c->app_name, cbor_string_handle(s), n);
      c->app_name[n] = '\0';
      seen[0] = true;
    } else if (key_is(p[i].key, K_CODE) && !seen[1]) {
      ENCLOS_TRY(get_bstr(p[i].value, "enclos/app code-hash", 32, 32, c->app_code_hash, NULL));
      seen[1] = true;
    } else if (key_is(p[i].key, K_APPCONF) && !seen[2]) {
      ENCLOS_TRY(get_bstr(p[i].value, "enclos/app config-root", 32, 32, c->app_config_root, NULL));
      seen[2] = true;
    } else {
      ENCLOS_FAILF(ENCLOS_E_MALFORMED, "claims: unknown or repeated key in enclos/app");
    }
  }
  c->has_app = true;
  return ENCLOS_OK;
}

static enclos_err decode_pubkey(cbor_item_t *v, enclos_claims *c) {
  ENCLOS_ENSUREF(cbor_isa_array(v) && cbor_array_is_definite(v) && cbor_array_size(v) == 2,
                 ENCLOS_E_MALFORMED, "claims: pubkey-hash must be [alg, hash]");
  cbor_item_t **a = cbor_array_handle(v);
  ENCLOS_ENSUREF(cbor_isa_uint(a[0]), ENCLOS_E_MALFORMED, "claims: pubkey-hash alg is not an unsigned int");
  uint64_t id = cbor_get_int(a[0]);
  if (id == ENCLOS_NI_SHA256) c->pubkey_alg = ENCLOS_SHA256;
  else if (id == ENCLOS_NI_SHA384) c->pubkey_alg = ENCLOS_SHA384;
  else if (id == ENCLOS_NI_SHA512) c->pubkey_alg = ENCLOS_SHA512;
  else ENCLOS_FAILF(ENCLOS_E_UNSUPPORTED, "claims: pubkey-hash alg %llu is not sha-256/384/512",
                    (unsigned long long)id);
  size_t hs = enclos_hash_size(c->pubkey_alg);
  return get_bstr(a[1], "pubkey-hash hash", hs, hs, c->pubkey_hash, NULL);
}

static enclos_err decode_map(cbor_item_t *root, enclos_claims *c) {
  ENCLOS_ENSUREF(cbor_isa_map(root) && cbor_map_is_definite(root), ENCLOS_E_MALFORMED,
                 "claims: not a definite-length CBOR map");
  size_t n = cbor_map_size(root);
  ENCLOS_ENSUREF(n >= 1 && n <= 5, ENCLOS_E_MALFORMED, "claims: map has %zu entries (want 1..5)", n);
  struct cbor_pair *p = cbor_map_handle(root);
  bool have_pub = false, have_conf = false;
  for (size_t i = 0; i < n; i++) {
    cbor_item_t *k = p[i].key, *v = p[i].value;
    if (key_is(k, K_PUBKEY) && !have_pub) {
      ENCLOS_TRY(decode_pubkey(v, c));
      have_pub = true;
    } else if (key_is(k, K_NONCE) && !c->has_nonce) {
      ENCLOS_TRY(get_bstr(v, "nonce", 1, ENCLOS_CLAIMS_MAX_NONCE, c->nonce, &c->nonce_size));
      c->has_nonce = true;
    } else if (key_is(k, K_EXPORTER) && !c->has_tls_exporter) {
      ENCLOS_TRY(get_bstr(v, "tls-exporter", 1, ENCLOS_CLAIMS_MAX_NONCE, c->tls_exporter,
                          &c->tls_exporter_size));
      c->has_tls_exporter = true;
    } else if (key_is(k, K_CONFIG) && !have_conf) {
      ENCLOS_TRY(get_bstr(v, "enclos/config-root", 32, 32, c->config_root, NULL));
      have_conf = c->has_config_root = true;
    } else if (key_is(k, K_APP) && !c->has_app) {
      ENCLOS_TRY(decode_app(v, c));
    } else {
      ENCLOS_FAILF(ENCLOS_E_MALFORMED, "claims: entry %zu has an unknown or repeated key", i);
    }
  }
  ENCLOS_ENSUREF(have_pub, ENCLOS_E_MALFORMED, "claims: no pubkey-hash");
  return ENCLOS_OK;
}

enclos_err enclos_claims_decode(const void *data, size_t size, enclos_claims *out) {
  ENCLOS_ENSURE_REF(data);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(size > 0 && size <= ENCLOS_CLAIMS_MAX_SIZE, ENCLOS_E_LIMIT,
                 "claims of %zu bytes (limit %d)", size, ENCLOS_CLAIMS_MAX_SIZE);
  memset(out, 0, sizeof(*out));
  {
    enclos_err pre = attest__cbor_check(data, size);
    ENCLOS_ENSUREF(pre == ENCLOS_OK, pre == ENCLOS_E_LIMIT ? ENCLOS_E_LIMIT : ENCLOS_E_MALFORMED, "claims: %s",
                   "CBOR structure invalid (see docs/attestation.md §3)");
  }
  struct cbor_load_result res;
  cbor_item_t *root = cbor_load(data, size, &res);
  ENCLOS_ENSUREF(root != NULL && res.error.code == CBOR_ERR_NONE, ENCLOS_E_MALFORMED,
                 "claims: CBOR does not parse (libcbor error %d at offset %zu)", (int)res.error.code,
                 res.error.position);
  enclos_err rc = ENCLOS_OK;
  enclos_buf again = ENCLOS_BUF_INIT;
  ENCLOS_GUARD_ENSUREF(res.read == size, ENCLOS_E_MALFORMED, "claims: %zu trailing bytes after the map",
                       size - res.read);
  ENCLOS_GUARD(decode_map(root, out));
  /* RFC 8949 §4.2: only the deterministic encoding is accepted. */
  ENCLOS_GUARD(enclos_claims_encode(out, &again));
  ENCLOS_GUARD_ENSUREF(again.len == size && memcmp(again.data, data, size) == 0, ENCLOS_E_MALFORMED,
                       "claims: not in deterministic encoding (RFC 8949 §4.2.1)");
cleanup:
  cbor_decref(&root);
  enclos_buf_free(&again);
  if (rc != ENCLOS_OK) memset(out, 0, sizeof(*out));
  return rc;
}

/* 3. Report data --------------------------------------------------------------------- */

enclos_hash_alg enclos_claims_rd_alg(enclos_tee_kind kind) {
  switch (kind) {
    case ENCLOS_TEE_SGX: return ENCLOS_SHA256; /* TCG/CCC profile, as Gramine does */
    case ENCLOS_TEE_TDX: return ENCLOS_SHA384; /* as Intel's TLS library does */
    default: return ENCLOS_SHA512;
  }
}

enclos_err enclos_claims_report_data(enclos_tee_kind kind, const void *claims, size_t size,
                                     uint8_t rd[64]) {
  memset(rd, 0, 64);
  return enclos_hash(enclos_claims_rd_alg(kind), claims, size, rd);
}

enclos_err enclos_claims_check_report_data(const void *claims, size_t size, const uint8_t rd[64],
                                           enclos_hash_alg *which) {
  static const enclos_hash_alg algs[] = {ENCLOS_SHA256, ENCLOS_SHA384, ENCLOS_SHA512};
  for (size_t i = 0; i < 3; i++) {
    uint8_t want[64] = {0};
    ENCLOS_TRY(enclos_hash(algs[i], claims, size, want));
    if (memcmp(want, rd, 64) == 0) {
      if (which) *which = algs[i];
      return ENCLOS_OK;
    }
  }
  ENCLOS_FAILF(ENCLOS_E_VERIFY, "report data is not SHA-256/384/512 of the claims (claims not bound "
                                "to this evidence)");
}
