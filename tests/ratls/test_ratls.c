/* ratls: sim end to end. Minting, the verifier's refusals (each with its reason), the policy,
 * the CA flow with sealing, fresh evidence, foreign formats built from their documentation. */
#include <stdio.h>
#include <string.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/ratls.h>
#include <enclos/time.h>
#include <enclos/verify.h>
#include <enclos/x509_make.h>

#include "test.h"

static enclos_tee *sim(void) {
  static char dir[512];
  snprintf(dir, sizeof(dir), "%s/sim", test_tmpdir());
  enclos_tee_config cfg = {.sim_state_dir = dir};
  enclos_tee *t;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &t));
  return t;
}

static enclos_policy *policy(const char *json) {
  enclos_policy *p;
  CHECK_OK(enclos_policy_parse(json, strlen(json), &p));
  return p;
}

static const uint8_t ROOT[32] = {1, 2, 3};
static const uint8_t CODE[32] = {9, 9, 9};
static const uint8_t APPCONF[32] = {7};

static void mint(enclos_tee *t, enclos_pkey **k, enclos_x509 **c) {
  enclos_ratls_leaf_opts o = {.cn = "test", .config_root = ROOT, .app_name = "hello",
                              .app_code_hash = CODE, .app_config_root = APPCONF};
  CHECK_OK(enclos_ratls_mint_leaf(t, &o, NULL, NULL, k, c));
}

static enclos_err verify1(enclos_x509 *c, const enclos_policy *p, int64_t now, enclos_verify_result *r) {
  enclos_verify_opts vo = {.policy = p, .now = now};
  return enclos_verify_chain(&c, 1, &vo, r);
}

TEST(sim_leaf_verifies_with_allow_sim) {
  enclos_tee *t = sim();
  enclos_pkey *k;
  enclos_x509 *c;
  mint(t, &k, &c);
  enclos_policy *p = policy("{\"allow_sim\": true, \"tee\": [\"sim\"],"
                            " \"config_root\": \"0102030000000000000000000000000000000000000000000000000000000000\","
                            " \"app\": {\"name\": \"hello\", \"code_hash\": "
                            "\"0909090000000000000000000000000000000000000000000000000000000000\"},"
                            " \"tcb_status\": [\"UpToDate\"], \"max_age_s\": 3600}");
  enclos_verify_result r;
  CHECK_OK(verify1(c, p, 0, &r));
  CHECK_EQ_INT(r.tee, ENCLOS_TEE_SIM);
  CHECK_EQ_INT(r.format, ENCLOS_FMT_ENCLOS_TYPED);
  CHECK_EQ_INT(r.rd_alg, ENCLOS_SHA512);
  CHECK(r.has_claims && r.claims.has_app && r.claims.has_config_root);
  CHECK_STR(r.claims.app_name, "hello");
  CHECK_EQ_INT(r.measurement_size, 48);
  int64_t nb, na;
  CHECK_OK(enclos_x509_validity(c, &nb, &na));
  CHECK(na - nb == ENCLOS_RATLS_DEFAULT_LIFETIME + 60);
  CHECK(!enclos_ratls_leaf_due(c, nb + 3600));
  CHECK(enclos_ratls_leaf_due(c, na - 8 * 3600));
  CHECK(enclos_ratls_leaf_due(NULL, nb));
  /* lifetime bounds */
  enclos_ratls_leaf_opts too_long = {.lifetime_s = 8 * 86400};
  enclos_pkey *k2;
  enclos_x509 *c2;
  CHECK_ERR(enclos_ratls_mint_leaf(t, &too_long, NULL, NULL, &k2, &c2), ENCLOS_E_RANGE);
  /* the measurement policy */
  char m[97], json[300];
  enclos_hex_encode_to(m, r.measurement, 48);
  snprintf(json, sizeof(json), "{\"allow_sim\": true, \"measurements\": [\"%s\"]}", m);
  enclos_policy *pm = policy(json);
  CHECK_OK(verify1(c, pm, 0, &r));
  m[0] = m[0] == '0' ? '1' : '0';
  snprintf(json, sizeof(json), "{\"allow_sim\": true, \"measurements\": [\"%s\"]}", m);
  enclos_policy *pw = policy(json);
  CHECK_ERR(verify1(c, pw, 0, &r), ENCLOS_E_POLICY);
  CHECK_CONTAINS(enclos_err_detail(), "is not an expected one");
  enclos_policy_free(pm);
  enclos_policy_free(pw);
  enclos_policy_free(p);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  enclos_tee_free(t);
}

TEST(policy_refusals_name_their_reason) {
  enclos_tee *t = sim();
  enclos_pkey *k;
  enclos_x509 *c;
  mint(t, &k, &c);
  enclos_verify_result r;
  struct {
    const char *json, *reason;
  } cases[] = {
      {"{}", "SIMULATED TEE and the policy does not set allow_sim"},
      {"{\"allow_sim\": false}", "does not set allow_sim"},
      {"{\"allow_sim\": true, \"tee\": [\"tdx\", \"sgx\"]}", "TEE sim is not in the allowed list"},
      {"{\"allow_sim\": true, \"config_root\": \"ff02030000000000000000000000000000000000000000000000000000000000\"}",
       "configuration root 0102030000"},
      {"{\"allow_sim\": true, \"app\": {\"code_hash\": "
       "\"0909090000000000000000000000000000000000000000000000000000000001\"}}",
       "app code hash 0909090000"},
      {"{\"allow_sim\": true, \"app\": {\"name\": \"other\"}}", "app name 'hello' is not the expected 'other'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    enclos_policy *p = policy(cases[i].json);
    CHECK_ERR(verify1(c, p, 0, &r), ENCLOS_E_POLICY);
    CHECK_CONTAINS(enclos_err_detail(), cases[i].reason);
    enclos_policy_free(p);
  }
  /* max age: a day later the leaf is expired anyway; an hour later it is too old for 60 s */
  enclos_policy *p = policy("{\"allow_sim\": true, \"max_age_s\": 60}");
  CHECK_ERR(verify1(c, p, enclos_time_now() + 3600, &r), ENCLOS_E_POLICY);
  CHECK_CONTAINS(enclos_err_detail(), "more than max_age_s 60");
  enclos_policy_free(p);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  enclos_tee_free(t);
}

TEST(policy_parser_is_strict) {
  enclos_policy *p;
  const char *bad[] = {"{\"allow_simm\": true}", "{\"allow_sim\": 1}", "{\"tee\": [\"snp\"]}",
                       "{\"measurements\": [\"zz\"]}", "{\"config_root\": \"00\"}", "{\"app\": {\"hash\": \"\"}}",
                       "{\"max_age_s\": -1}", "[]", "{", "{\"tcb_status\": [1]}"};
  const char *why[] = {"unknown key 'allow_simm'", "allow_sim must be", "unknown TEE 'snp'", "", "config_root must be",
                       "unknown key app.hash", "max_age_s", "top level", "JSON error", "tcb_status[0]"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    enclos_err rc = enclos_policy_parse(bad[i], strlen(bad[i]), &p);
    CHECK_MSG(rc != ENCLOS_OK, "policy %s accepted", bad[i]);
    CHECK_CONTAINS(enclos_err_detail(), why[i]);
  }
}

TEST(every_flipped_byte_of_the_evidence_is_rejected) {
  enclos_tee *t = sim();
  enclos_pkey *k;
  enclos_x509 *c;
  mint(t, &k, &c);
  const uint8_t *v;
  size_t n;
  CHECK_OK(enclos_x509_extension(c, ENCLOS_RATLS_OID_EVIDENCE, &v, &n, NULL));
  enclos_buf spki = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_x509_spki(c, &spki));
  enclos_policy *p = policy("{\"allow_sim\": true}");
  enclos_verify_opts vo = {.policy = p};
  enclos_verify_result r;
  CHECK_OK(enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, v, n, spki.data, spki.len, &vo, &r));
  uint8_t *copy = enclos_memdup(v, n);
  enclos_ratls_evidence ev;
  CHECK_OK(enclos_ratls_evidence_parse(v, n, &ev));
  size_t ev_off = (size_t)(ev.evidence - v), cl_off = (size_t)(ev.claims - v), en_off = (size_t)(ev.endorsements - v);
  for (size_t i = 0; i < n; i++) {
    copy[i] ^= 0x01;
    enclos_err rc = enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, copy, n, spki.data, spki.len, &vo, &r);
    CHECK_MSG(rc != ENCLOS_OK, "flip at %zu of %zu accepted", i, n);
    const char *d = enclos_err_detail();
    /* the reason matches the part that was changed */
    if (i >= cl_off && i < cl_off + ev.claims_size)
      CHECK_MSG(strstr(d, "claims") || strstr(d, "another key") || strstr(d, "report data"), "claims flip: %s", d);
    else if (i >= ev_off + 8 + 4 + 48 && i < ev_off + 8 + 4 + 48 + 64)
      CHECK_MSG(strstr(d, "signature"), "report data flip at %zu: %s", i, d);
    else if (i >= ev_off + 158 && i < ev_off + ev.evidence_size)
      CHECK_MSG(strstr(d, "signature") || strstr(d, "sim evidence"), "signature flip at %zu: %s", i, d);
    else if (i >= en_off && i < en_off + ev.endorsements_size)
      CHECK_MSG(strstr(d, "platform root") || strstr(d, "platform key"), "endorsement flip at %zu: %s", i, d);
    copy[i] ^= 0x01;
  }
  enclos_free(copy);
  enclos_buf_free(&spki);
  enclos_policy_free(p);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  enclos_tee_free(t);
}

TEST(flipped_certificate_bytes_are_rejected) {
  enclos_tee *t = sim();
  enclos_pkey *k;
  enclos_x509 *c;
  mint(t, &k, &c);
  enclos_policy *p = policy("{\"allow_sim\": true}");
  const uint8_t *der;
  size_t n;
  enclos_x509_der(c, &der, &n);
  uint8_t *copy = enclos_memdup(der, n);
  size_t accepted = 0;
  for (size_t i = 0; i < n; i += 3) {
    copy[i] ^= 0x04;
    enclos_x509 *x;
    if (enclos_x509_from_der(copy, n, &x) == ENCLOS_OK) {
      enclos_verify_result r;
      if (verify1(x, p, 0, &r) == ENCLOS_OK) accepted++;
      enclos_x509_free(x);
    }
    copy[i] ^= 0x04;
  }
  CHECK_EQ_INT(accepted, 0);
  /* the signature itself (last bytes) */
  copy[n - 5] ^= 1;
  enclos_x509 *x;
  CHECK_OK(enclos_x509_from_der(copy, n, &x));
  enclos_verify_result r;
  CHECK_ERR(verify1(x, p, 0, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "signature does not verify");
  enclos_x509_free(x);
  enclos_free(copy);
  enclos_policy_free(p);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  enclos_tee_free(t);
}

TEST(evidence_copied_onto_another_key_is_rejected) {
  enclos_tee *t = sim();
  enclos_pkey *k, *evil;
  enclos_x509 *c, *forged;
  mint(t, &k, &c);
  const uint8_t *v;
  size_t n;
  CHECK_OK(enclos_x509_extension(c, ENCLOS_RATLS_OID_EVIDENCE, &v, &n, NULL));
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &evil));
  enclos_x509_ext e = {.oid = ENCLOS_RATLS_OID_EVIDENCE, .value = v, .size = n};
  int64_t now = enclos_time_now();
  enclos_x509_make_opts mo = {.subject_cn = "evil", .not_before = now - 1, .not_after = now + 3600,
                              .path_len = -1, .exts = &e, .ext_count = 1};
  CHECK_OK(enclos_x509_make(evil, &mo, NULL, evil, &forged));
  enclos_policy *p = policy("{\"allow_sim\": true}");
  enclos_verify_result r;
  CHECK_ERR(verify1(forged, p, 0, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "evidence binds another key");
  enclos_policy_free(p);
  enclos_pkey_free(k);
  enclos_pkey_free(evil);
  enclos_x509_free(c);
  enclos_x509_free(forged);
  enclos_tee_free(t);
}

TEST(expired_leaf_and_unknown_critical_extension_are_rejected) {
  enclos_tee *t = sim();
  enclos_pkey *k;
  enclos_x509 *c;
  mint(t, &k, &c);
  enclos_policy *p = policy("{\"allow_sim\": true}");
  enclos_verify_result r;
  CHECK_ERR(verify1(c, p, enclos_time_now() + ENCLOS_RATLS_DEFAULT_LIFETIME + 10, &r), ENCLOS_E_EXPIRED);
  CHECK_CONTAINS(enclos_err_detail(), "expired");
  /* a leaf carrying valid evidence plus an unknown critical extension */
  const uint8_t *v;
  size_t n;
  CHECK_OK(enclos_x509_extension(c, ENCLOS_RATLS_OID_EVIDENCE, &v, &n, NULL));
  enclos_x509_ext e[2] = {{.oid = ENCLOS_RATLS_OID_EVIDENCE, .value = v, .size = n},
                          {.oid = "1.3.6.1.4.1.99999.1", .value = (const uint8_t *)"\x05\x00", .size = 2,
                           .critical = true}};
  int64_t now = enclos_time_now();
  enclos_x509_make_opts mo = {.subject_cn = "crit", .not_before = now - 1, .not_after = now + 3600,
                              .path_len = -1, .exts = e, .ext_count = 2};
  enclos_x509 *crit;
  CHECK_OK(enclos_x509_make(k, &mo, NULL, k, &crit));
  CHECK_ERR(verify1(crit, p, 0, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "unknown critical extension 1.3.6.1.4.1.99999.1");
  /* no evidence at all */
  enclos_x509_make_opts plain = {.subject_cn = "plain", .not_before = now - 1, .not_after = now + 3600, .path_len = -1};
  enclos_x509 *bare;
  CHECK_OK(enclos_x509_make(k, &plain, NULL, k, &bare));
  CHECK_ERR(verify1(bare, p, 0, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "no attestation evidence");
  enclos_x509_free(bare);
  enclos_x509_free(crit);
  enclos_policy_free(p);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  enclos_tee_free(t);
}

TEST(ca_flow_csr_evidence_sign_seal_reload_and_chain) {
  enclos_tee *t = sim();
  int64_t now = enclos_time_now();
  /* operator root (enclos ca init) */
  enclos_pkey *rk;
  enclos_x509 *root;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &rk));
  enclos_x509_make_opts ro = {.subject_cn = "operator root", .not_before = now - 60, .not_after = now + 86400 * 365,
                              .is_ca = true, .path_len = 1};
  CHECK_OK(enclos_x509_make(rk, &ro, NULL, rk, &root));
  /* the TEE makes its intermediate key and a CSR carrying evidence */
  enclos_pkey *ik;
  enclos_buf csr = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_ratls_ca_request(t, ROOT, &ik, &csr));
  /* enclos ca sign: check the CSR's evidence, then sign */
  enclos_x509_csr *req;
  CHECK_OK(enclos_x509_csr_parse(csr.data, csr.len, &req));
  enclos_buf ext = ENCLOS_BUF_INIT, spki = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_x509_csr_extension(req, ENCLOS_RATLS_OID_EVIDENCE, &ext, NULL));
  enclos_pkey *csr_key;
  CHECK_OK(enclos_x509_csr_pubkey(req, &csr_key));
  CHECK_OK(enclos_pkey_spki(csr_key, &spki));
  enclos_policy *p = policy("{\"allow_sim\": true, \"config_root\": "
                            "\"0102030000000000000000000000000000000000000000000000000000000000\"}");
  enclos_verify_opts vo = {.policy = p};
  enclos_verify_result r;
  CHECK_OK(enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, ext.data, ext.len, spki.data, spki.len, &vo, &r));
  r.not_before = now;
  CHECK_OK(enclos_policy_check(p, &r, now));
  enclos_x509_make_opts io = {.subject_cn = "enclos intermediate CA", .not_before = now - 60,
                              .not_after = now + 86400 * 30, .is_ca = true, .path_len = 0};
  enclos_x509 *inter;
  CHECK_OK(enclos_x509_make(csr_key, &io, root, rk, &inter));
  /* the TEE seals it and reloads it after a restart */
  char path[600];
  snprintf(path, sizeof(path), "%s/ca.sealed", test_tmpdir());
  CHECK_OK(enclos_ratls_ca_seal(t, ik, inter, path));
  enclos_pkey *ik2;
  enclos_x509 *inter2;
  CHECK_OK(enclos_ratls_ca_unseal(t, path, &ik2, &inter2));
  /* a leaf from the reloaded intermediate verifies against the operator root */
  enclos_ratls_leaf_opts lo = {.config_root = ROOT};
  enclos_pkey *lk;
  enclos_x509 *leaf;
  CHECK_OK(enclos_ratls_mint_leaf(t, &lo, inter2, ik2, &lk, &leaf));
  enclos_x509 *chain[2] = {leaf, inter2};
  enclos_verify_opts co = {.policy = p, .roots = &root, .n_roots = 1};
  CHECK_OK(enclos_verify_chain(chain, 2, &co, &r));
  /* without the intermediate, or against another root: refused */
  CHECK_ERR(enclos_verify_chain(chain, 1, &co, &r), ENCLOS_E_VERIFY);
  enclos_verify_opts self = {.policy = p};
  CHECK_ERR(enclos_verify_chain(chain, 2, &self, &r), ENCLOS_E_VERIFY);
  /* tampered sealed file */
  FILE *f = fopen(path, "r+b");
  fseek(f, 40, SEEK_SET);
  int ch = fgetc(f);
  fseek(f, 40, SEEK_SET);
  fputc(ch ^ 1, f);
  fclose(f);
  enclos_pkey *ik3;
  enclos_x509 *inter3;
  CHECK_ERR(enclos_ratls_ca_unseal(t, path, &ik3, &inter3), ENCLOS_E_TAMPERED);
  /* a CSR whose evidence is for another key */
  enclos_pkey *other;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &other));
  enclos_buf ospki = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_spki(other, &ospki));
  CHECK_ERR(enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, ext.data, ext.len, ospki.data, ospki.len, &vo, &r),
            ENCLOS_E_VERIFY);
  enclos_buf_free(&ospki);
  enclos_pkey_free(other);
  enclos_pkey_free(lk);
  enclos_x509_free(leaf);
  enclos_pkey_free(ik2);
  enclos_x509_free(inter2);
  enclos_x509_free(inter);
  enclos_policy_free(p);
  enclos_pkey_free(csr_key);
  enclos_buf_free(&ext);
  enclos_buf_free(&spki);
  enclos_x509_csr_free(req);
  enclos_buf_free(&csr);
  enclos_pkey_free(ik);
  enclos_pkey_free(rk);
  enclos_x509_free(root);
  enclos_tee_free(t);
}

TEST(fresh_evidence_is_bound_to_nonce_and_session) {
  enclos_tee *t = sim();
  enclos_pkey *k;
  enclos_x509 *c;
  mint(t, &k, &c);
  uint8_t nonce[16] = {1, 2, 3}, exp[32] = {4, 5, 6};
  enclos_claims cl;
  memset(&cl, 0, sizeof(cl));
  enclos_buf spki = ENCLOS_BUF_INIT, ext = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_x509_spki(c, &spki));
  CHECK_OK(enclos_claims_set_pubkey(&cl, spki.data, spki.len));
  cl.has_nonce = cl.has_tls_exporter = true;
  cl.nonce_size = 16;
  cl.tls_exporter_size = 32;
  memcpy(cl.nonce, nonce, 16);
  memcpy(cl.tls_exporter, exp, 32);
  CHECK_OK(enclos_ratls_make_evidence(t, &cl, &ext));
  enclos_policy *p = policy("{\"allow_sim\": true}");
  enclos_verify_opts vo = {.policy = p, .nonce = nonce, .nonce_size = 16, .tls_exporter = exp,
                           .tls_exporter_size = 32};
  enclos_verify_result r;
  CHECK_OK(enclos_verify_fresh(ext.data, ext.len, c, &vo, &r));
  nonce[0] ^= 1;
  CHECK_ERR(enclos_verify_fresh(ext.data, ext.len, c, &vo, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "another nonce");
  nonce[0] ^= 1;
  exp[31] ^= 1;
  CHECK_ERR(enclos_verify_fresh(ext.data, ext.len, c, &vo, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "another TLS session");
  exp[31] ^= 1;
  /* evidence for the same session but another certificate */
  enclos_pkey *k2;
  enclos_x509 *c2;
  mint(t, &k2, &c2);
  CHECK_ERR(enclos_verify_fresh(ext.data, ext.len, c2, &vo, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "another key");
  enclos_pkey_free(k2);
  enclos_x509_free(c2);
  enclos_policy_free(p);
  enclos_buf_free(&spki);
  enclos_buf_free(&ext);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  enclos_tee_free(t);
}

/* Foreign formats and real hardware evidence in certificates: test_ratls_hw.c. */

TEST(evidence_parser_is_strict) {
  enclos_ratls_evidence ev;
  /* wrong tag, non-minimal head, indefinite array, wrong arity, trailing bytes, unknown TEE */
  CHECK_ERR(enclos_ratls_evidence_parse("\xD9\xEA\x62\x82\x40\x40", 6, &ev), ENCLOS_E_UNSUPPORTED);
  CHECK_ERR(enclos_ratls_evidence_parse("\xDA\x00\x00\xEA\x60\x82\x40\x40", 8, &ev), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_ratls_evidence_parse("\xD9\xEA\x60\x9F\x40\x40\xFF", 7, &ev), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_ratls_evidence_parse("\xD9\xEA\x60\x83\x40\x40\x40", 7, &ev), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_ratls_evidence_parse("\xD9\xEA\x61\x84\x63sim\x40\x40\x40\x00", 12, &ev), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "trailing");
  CHECK_ERR(enclos_ratls_evidence_parse("\xD9\xEA\x61\x84\x63tpm\x40\x40\x40", 11, &ev), ENCLOS_E_INVAL);
  CHECK_OK(enclos_ratls_evidence_parse("\xD9\xEA\x61\x84\x63sim\x40\x40\x40", 11, &ev));
  CHECK_ERR(enclos_ratls_evidence_parse("\xD9\xEA\x60\x82\x40\x40", 6, &ev), ENCLOS_E_TRUNCATED);
}
