/* Tampering: each signature, chain link, CRL and signed JSON altered in turn is refused with the
 * right reason; times outside the collateral window are refused; CRL serial matching is checked
 * against a CRL made here with a throwaway test CA (openssl CLI), since no real revoked PCK exists
 * in the shared data (issue 6, acceptance 2). */
#include <ctype.h>
#include <unistd.h>

#include <enclos/crypto.h>
#include <enclos/x509.h>
#include <enclos/x509_crl.h>

#include "vh.h"

#define SGX_Q ATT("sgx/phala-dcap-qvl/sgx_quote")
#define SGX_COLL ATT("sgx/phala-dcap-qvl/sgx_quote_collateral.json")
#define SGX_AT "2025-07-01T00:00:00Z"

static enclos_hw_policy lax(void) {
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  for (int i = 1; i <= 7; i++) p.accepted[i - 1] = (enclos_tcb_status)i;
  p.accepted_count = 7;
  return p;
}

static enclos_err verify_with(const enclos_buf *quote, const enclos_buf *coll, const char *at,
                              enclos_hw_result *r) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  enclos_coll_kind k;
  CHECK_OK(enclos_hw_collateral_add(c, coll->data, coll->len, &k));
  enclos_hw_policy p = lax();
  enclos_err rc = enclos_hw_verify(quote->data, quote->len, c, vh_time(at), &p, r);
  enclos_hw_collateral_free(c);
  return rc;
}

static void expect_fail(const enclos_buf *quote, const enclos_buf *coll, enclos_err want,
                        const char *check, const char *reason) {
  enclos_hw_result r;
  CHECK_ERR(verify_with(quote, coll, SGX_AT, &r), want);
  CHECK_MSG(r.failed_check != NULL && strcmp(r.failed_check, check) == 0, "failed %s, want %s (%s)",
            r.failed_check ? r.failed_check : "-", check, r.reason);
  if (reason != NULL) CHECK_CONTAINS(r.reason, reason);
}

TEST(sgx_baseline_verifies) {
  enclos_buf q = vh_evidence(SGX_Q), c = vh_read(SGX_COLL);
  enclos_hw_result r;
  CHECK_OK(verify_with(&q, &c, SGX_AT, &r));
  enclos_buf_free(&q);
  enclos_buf_free(&c);
}

TEST(sgx_tampered_quote_fields) {
  enclos_buf q = vh_evidence(SGX_Q), c = vh_read(SGX_COLL);
  struct { size_t off; const char *check; } cases[] = {
      {100, "quote_signature"},       /* enclave body */
      {368, "quote_signature"},       /* REPORTDATA */
      {440, "quote_signature"},       /* signature r */
      {500, "quote_signature"},       /* attestation key */
      {564, "qe_report_signature"},   /* QE report CPUSVN */
      {948, "qe_report_signature"},   /* QE report signature */
      {1014, "qe_report_binding"},    /* QE auth data */
      {564 + 320, "qe_report_binding"}, /* QE REPORTDATA */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    q.data[cases[i].off] ^= 0x01;
    enclos_hw_result r;
    enclos_err rc = verify_with(&q, &c, SGX_AT, &r);
    CHECK_MSG(rc != ENCLOS_OK && r.failed_check != NULL && strcmp(r.failed_check, cases[i].check) == 0,
              "offset %zu: failed %s, want %s", cases[i].off, r.failed_check ? r.failed_check : "-",
              cases[i].check);
    q.data[cases[i].off] ^= 0x01;
  }
  /* Header checks. */
  q.data[12] ^= 1;
  expect_fail(&q, &c, ENCLOS_E_VERIFY, "header", "vendor");
  q.data[12] ^= 1;
  q.data[2] = 3;
  enclos_hw_result r;
  CHECK(verify_with(&q, &c, SGX_AT, &r) != ENCLOS_OK);
  enclos_buf_free(&q);
  enclos_buf_free(&c);
}

/* Alters a base64 character shortly before the n-th "-----END CERTIFICATE-----" of the quote's PEM
 * chain: that changes the certificate's signature bytes. */
static void tamper_pem_cert(enclos_buf *q, int n) {
  uint8_t *p = q->data;
  for (int k = 0; k <= n; k++) {
    uint8_t *e = memmem(p, q->len - (size_t)(p - q->data), "-----END CERTIFICATE-----", 25);
    CHECK(e != NULL);
    if (e == NULL) return;
    if (k == n) {
      uint8_t *t = e - 12;
      while (*t == '\n' || *t == '=') t--;
      *t = *t == 'A' ? 'B' : 'A';
      return;
    }
    p = e + 25;
  }
}

TEST(sgx_tampered_pck_chain_links) {
  enclos_buf c = vh_read(SGX_COLL);
  for (int n = 0; n < 3; n++) {
    enclos_buf q = vh_evidence(SGX_Q);
    tamper_pem_cert(&q, n);
    enclos_hw_result r;
    CHECK(verify_with(&q, &c, SGX_AT, &r) != ENCLOS_OK);
    CHECK_MSG(r.failed_check != NULL && strcmp(r.failed_check, "pck_chain") == 0, "cert %d: failed %s (%s)",
              n, r.failed_check ? r.failed_check : "-", r.reason);
    if (n == 2) CHECK_CONTAINS(r.reason, "pinned");
    enclos_buf_free(&q);
  }
  enclos_buf_free(&c);
}

/* Flips the character \p back positions before the closing quote of string member \p key. */
static void tamper_member(enclos_buf *c, const char *key, size_t back) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  uint8_t *p = memmem(c->data, c->len, pat, strlen(pat));
  CHECK(p != NULL);
  if (p == NULL) return;
  p += strlen(pat);
  while (*p == ' ') p++;
  CHECK(*p == '"');
  p++;
  uint8_t *end = memchr(p, '"', c->len - (size_t)(p - c->data));
  while (end != NULL && end[-1] == '\\') end = memchr(end + 1, '"', c->len - (size_t)(end + 1 - c->data));
  CHECK(end != NULL && (size_t)(end - p) > back);
  uint8_t *t = end - back;
  while (t > p && (!isalnum(*t) || t[-1] == '\\')) t--; /* keep the JSON text valid */
  *t = *t == '1' ? '2' : '1';
}

TEST(sgx_tampered_crls_and_json_signatures) {
  enclos_buf q = vh_evidence(SGX_Q);
  struct { const char *key; size_t back; enclos_err err; const char *check, *reason; } cases[] = {
      {"pck_crl", 6, ENCLOS_E_VERIFY, "crls", "invalid signature"},
      {"root_ca_crl", 6, ENCLOS_E_VERIFY, "crls", "invalid signature"},
      {"tcb_info_signature", 3, ENCLOS_E_VERIFY, "tcb_info", "signature is invalid"},
      {"tcb_info", 60, ENCLOS_E_VERIFY, "tcb_info", "signature is invalid"},
      {"qe_identity_signature", 3, ENCLOS_E_VERIFY, "qe_identity", "signature is invalid"},
      {"qe_identity", 40, ENCLOS_E_VERIFY, "qe_identity", "signature is invalid"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enclos_buf c = vh_read(SGX_COLL);
    tamper_member(&c, cases[i].key, cases[i].back);
    enclos_hw_result r;
    enclos_err rc = verify_with(&q, &c, SGX_AT, &r);
    CHECK_MSG(rc == cases[i].err && r.failed_check != NULL && strcmp(r.failed_check, cases[i].check) == 0 &&
                  strstr(r.reason, cases[i].reason) != NULL,
              "%s: rc %s failed %s (%s)", cases[i].key, enclos_err_name(rc),
              r.failed_check ? r.failed_check : "-", r.reason);
    enclos_buf_free(&c);
  }
  enclos_buf_free(&q);
}

TEST(sgx_outside_collateral_window) {
  enclos_buf q = vh_evidence(SGX_Q), c = vh_read(SGX_COLL);
  enclos_hw_result r;
  CHECK_ERR(verify_with(&q, &c, "2025-07-20T00:00:00Z", &r), ENCLOS_E_EXPIRED);
  CHECK_ERR(verify_with(&q, &c, "2025-06-19T10:00:00Z", &r), ENCLOS_E_EXPIRED);
  CHECK_ERR(verify_with(&q, &c, "2023-01-01T00:00:00Z", &r), ENCLOS_E_EXPIRED);
  CHECK_OK(verify_with(&q, &c, "2025-07-19T10:01:18Z", &r));
  CHECK_ERR(verify_with(&q, &c, "2025-07-19T10:01:19Z", &r), ENCLOS_E_EXPIRED);
  /* A grace period past nextUpdate is a policy choice. */
  enclos_hw_collateral *coll = NULL;
  CHECK_OK(enclos_hw_collateral_new(&coll));
  CHECK_OK(enclos_hw_collateral_add(coll, c.data, c.len, NULL));
  enclos_hw_policy p = lax();
  p.grace_seconds = 3 * 86400;
  CHECK_OK(enclos_hw_verify(q.data, q.len, coll, vh_time("2025-07-20T00:00:00Z"), &p, &r));
  enclos_hw_collateral_free(coll);
  enclos_buf_free(&q);
  enclos_buf_free(&c);
}

TEST(sgx_missing_collateral_pieces) {
  enclos_buf q = vh_evidence(SGX_Q);
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  enclos_hw_result r;
  enclos_hw_policy p = lax();
  CHECK_ERR(enclos_hw_verify(q.data, q.len, c, vh_time(SGX_AT), &p, &r), ENCLOS_E_NOT_FOUND);
  p.allow_missing_crls = true;
  CHECK_ERR(enclos_hw_verify(q.data, q.len, c, vh_time(SGX_AT), &p, &r), ENCLOS_E_NOT_FOUND);
  CHECK_STR(r.failed_check, "tcb_info");
  /* TDX collateral does not serve an SGX quote. */
  enclos_buf t = vh_read(ATT("tdx/phala-dcap-qvl/tdx_quote_collateral.json"));
  CHECK_OK(enclos_hw_collateral_add(c, t.data, t.len, NULL));
  CHECK_ERR(enclos_hw_verify(q.data, q.len, c, vh_time(SGX_AT), &p, &r), ENCLOS_E_NOT_FOUND);
  CHECK_STR(r.failed_check, "tcb_info");
  enclos_buf_free(&t);
  enclos_hw_collateral_free(c);
  enclos_buf_free(&q);
}

TEST(quote_parser_rejects_overruns_and_truncation) {
  enclos_buf q = vh_evidence(SGX_Q);
  enclos_intel_quote pq;
  CHECK_OK(enclos_intel_quote_parse(q.data, q.len, &pq));
  CHECK_EQ_INT(pq.trailing, 0);
  for (size_t n = 0; n < q.len; n += 97) CHECK(enclos_intel_quote_parse(q.data, n, &pq) != ENCLOS_OK);
  q.data[432] = 0xff; /* signature data length beyond the buffer */
  CHECK_ERR(enclos_intel_quote_parse(q.data, q.len, &pq), ENCLOS_E_TRUNCATED);
  enclos_buf_free(&q);
  /* PEM terminated by NUL (v4 Phala) vs "\n" only (SPR 8000-byte): both parse. */
  enclos_buf a = vh_evidence(ATT("tdx/phala-dcap-qvl/tdx_quote"));
  CHECK_OK(enclos_intel_quote_parse(a.data, a.len, &pq));
  CHECK_EQ_INT(pq.trailing, 70);
  enclos_buf_free(&a);
}

/* ---- SNP ---- */

#define SNP_DIR ATT("snp/confidential-containers-trustee")
#define SNP_AT "2025-06-01T00:00:00Z"

static enclos_err snp_verify(const enclos_buf *rep, const char *const *files, const enclos_buf *extra,
                             enclos_hw_result *r) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  for (size_t i = 0; files[i] != NULL; i++) vh_add_file(c, files[i]);
  if (extra != NULL) CHECK_OK(enclos_hw_collateral_add(c, extra->data, extra->len, NULL));
  enclos_err rc = enclos_hw_verify(rep->data, rep->len, c, vh_time(SNP_AT), NULL, r);
  enclos_hw_collateral_free(c);
  return rc;
}

TEST(snp_tampered_report_vcek_and_chain) {
  static const char *const chain[] = {SNP_DIR "/milan_ask_ark_asvk.pem", NULL};
  enclos_buf rep = vh_evidence(SNP_DIR "/test-report.bin");
  enclos_buf vcek = vh_read(SNP_DIR "/test-vcek.der");
  enclos_hw_result r;
  CHECK_OK(snp_verify(&rep, chain, &vcek, &r));
  size_t offs[] = {42, 0x180, 0x50, 0x2A0, 0x2E8};
  for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
    rep.data[offs[i]] += 1;
    CHECK_ERR(snp_verify(&rep, chain, &vcek, &r), ENCLOS_E_VERIFY);
    CHECK_MSG(strcmp(r.failed_check, "report_signature") == 0, "offset %zu: %s", offs[i], r.failed_check);
    rep.data[offs[i]] -= 1;
  }
  /* Signature padding must be zero. */
  rep.data[0x2A0 + 60] = 1;
  CHECK_ERR(snp_verify(&rep, chain, &vcek, &r), ENCLOS_E_MALFORMED);
  rep.data[0x2A0 + 60] = 0;
  /* VCEK DER byte 42 +1 → the ASK signature over it fails. */
  vcek.data[42] += 1;
  CHECK(snp_verify(&rep, chain, &vcek, &r) != ENCLOS_OK);
  CHECK_STR(r.failed_check, "cert_chain");
  vcek.data[42] -= 1;
  /* Upstream tampered VCEKs (different hwID encodings) do not verify against AMD's keys. */
  static const char *const bad[] = {SNP_DIR "/test-vcek-invalid-new.der", SNP_DIR "/test-vcek-invalid-legacy.der"};
  for (int i = 0; i < 2; i++) {
    enclos_buf b = vh_read(bad[i]);
    CHECK(snp_verify(&rep, chain, &b, &r) != ENCLOS_OK);
    CHECK_MSG(strcmp(r.failed_check, "cert_chain") == 0 || strcmp(r.failed_check, "report_signature") == 0,
              "%s: %s", bad[i], r.failed_check);
    enclos_buf_free(&b);
  }
  /* ASK missing: only the ASVK and ARK are given ("toggled" chain). */
  static const char *const vlek_only[] = {ATT("snp/google-go-sev-guest/ask_ark_milan_vlek.pem"), NULL};
  CHECK(snp_verify(&rep, vlek_only, &vcek, &r) != ENCLOS_OK);
  CHECK_STR(r.failed_check, "cert_chain");
  /* Another product's chain: the pinned ARK-Milan is missing. */
  static const char *const genoa[] = {ATT("snp/google-go-sev-guest/ask_ark_genoa.pem"), NULL};
  CHECK_ERR(snp_verify(&rep, genoa, &vcek, &r), ENCLOS_E_NOT_FOUND);
  CHECK_CONTAINS(r.reason, "ARK-Milan");
  /* No VCEK at all. */
  CHECK_ERR(snp_verify(&rep, chain, NULL, &r), ENCLOS_E_NOT_FOUND);
  enclos_buf_free(&rep);
  enclos_buf_free(&vcek);
}

TEST(snp_tampered_vlek_report) {
  static const char *const files[] = {SNP_DIR "/milan_ask_ark_asvk.pem", SNP_DIR "/test-vlek.der", NULL};
  enclos_buf rep = vh_evidence(SNP_DIR "/test-vlek-report.bin");
  enclos_hw_result r;
  CHECK_OK(snp_verify(&rep, files, NULL, &r));
  rep.data[42] += 1;
  CHECK_ERR(snp_verify(&rep, files, NULL, &r), ENCLOS_E_VERIFY);
  CHECK_STR(r.failed_check, "report_signature");
  enclos_buf_free(&rep);
}

TEST(snp_policy_expectations) {
  static const char *const files[] = {ATT("snp/teekit-qvl/sev-gcp-cert-chain.pem"),
                                      ATT("snp/teekit-qvl/sev-gcp-vcek.pem"), NULL};
  enclos_buf a = vh_evidence(ATT("snp/teekit-qvl/sev-gcp.bin"));
  enclos_buf b = vh_evidence(ATT("snp/teekit-qvl/sev-gcp-reportdata.bin"));
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  for (int i = 0; files[i]; i++) vh_add_file(c, files[i]);
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  p.has_report_data = true;
  memcpy(p.report_data, b.data + 0x50, 64);
  enclos_hw_result r;
  int64_t at = vh_time("2026-01-01T00:00:00Z");
  CHECK_OK(enclos_hw_verify(b.data, b.len, c, at, &p, &r));
  CHECK_ERR(enclos_hw_verify(a.data, a.len, c, at, &p, &r), ENCLOS_E_POLICY);
  CHECK_CONTAINS(r.reason, "REPORT_DATA");
  enclos_hw_collateral_free(c);
  enclos_buf_free(&a);
  enclos_buf_free(&b);
}

/* ---- CRL serial matching with a CRL from our own throwaway CA ---- */

static int sh(const char *cmd) {
  int rc = system(cmd);
  return rc;
}

TEST(crl_lists_revoked_serial_from_own_test_ca) {
  char dir[] = "/tmp/enclos_crl_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "cd %s && cat > ca.cnf <<'E'\n"
           "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=crlnum\ndefault_md=sha256\n"
           "default_crl_days=30\n[v3ca]\nbasicConstraints=critical,CA:true\nkeyUsage=cRLSign,keyCertSign\n"
           "[leaf]\nbasicConstraints=CA:false\nE\n"
           "touch index.txt && echo 01 > crlnum && "
           "openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null && "
           "openssl req -x509 -new -key ca.key -subj /CN=Test-PCK-CA -days 30 -config ca.cnf "
           "-extensions v3ca -out ca.pem 2>/dev/null && "
           "for n in a b; do openssl ecparam -name prime256v1 -genkey -noout -out $n.key 2>/dev/null && "
           "openssl req -new -key $n.key -subj /CN=leaf-$n -out $n.csr 2>/dev/null && "
           "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -days 10 -extfile ca.cnf -extensions leaf "
           "-out $n.pem 2>/dev/null || exit 1; done && "
           "openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -revoke a.pem 2>/dev/null && "
           "openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem 2>/dev/null && "
           "openssl crl -in crl.pem -outform DER -out crl.der 2>/dev/null",
           dir);
  int rc = sh(cmd);
  CHECK_MSG(rc == 0, "openssl fixture failed (%d)", rc);
  if (rc != 0) return;
  const char *names[] = {"ca.pem", "a.pem", "b.pem", "crl.pem", "crl.der"};
  enclos_buf f[5];
  for (int i = 0; i < 5; i++) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    f[i] = vh_read(p);
  }
  enclos_x509 **ca, **a, **b;
  size_t n;
  CHECK_OK(enclos_x509_list_parse(f[0].data, f[0].len, &ca, &n));
  CHECK_OK(enclos_x509_list_parse(f[1].data, f[1].len, &a, &n));
  CHECK_OK(enclos_x509_list_parse(f[2].data, f[2].len, &b, &n));
  for (int k = 3; k < 5; k++) {
    enclos_x509_crl *crl = NULL;
    CHECK_OK(enclos_x509_crl_parse(f[k].data, f[k].len, &crl));
    CHECK_OK(enclos_x509_crl_check_signature(crl, ca[0]));
    CHECK(enclos_x509_crl_issued_by(crl, ca[0]));
    CHECK(!enclos_x509_crl_issued_by(crl, a[0]));
    CHECK_EQ_INT(enclos_x509_crl_count(crl), 1);
    CHECK(enclos_x509_crl_lists(crl, a[0]));  /* the revoked serial */
    CHECK(!enclos_x509_crl_lists(crl, b[0])); /* another serial of the same CA */
    CHECK_ERR(enclos_x509_crl_check_signature(crl, a[0]), ENCLOS_E_VERIFY);
    int64_t tu, nu;
    CHECK_OK(enclos_x509_crl_times(crl, &tu, &nu));
    CHECK(nu - tu == 30 * 86400);
    enclos_x509_crl_free(crl);
  }
  /* Tampered DER → parse or signature failure. */
  f[4].data[f[4].len - 5] ^= 1;
  enclos_x509_crl *crl = NULL;
  if (enclos_x509_crl_parse(f[4].data, f[4].len, &crl) == ENCLOS_OK) {
    CHECK_ERR(enclos_x509_crl_check_signature(crl, ca[0]), ENCLOS_E_VERIFY);
    enclos_x509_crl_free(crl);
  }
  enclos_x509_list_free(ca, 1);
  enclos_x509_list_free(a, 1);
  enclos_x509_list_free(b, 1);
  for (int i = 0; i < 5; i++) enclos_buf_free(&f[i]);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_EQ_INT(sh(cmd), 0);
}

/* ---- Extension parsers on real certificates ---- */

TEST(pck_extensions_of_mobilecoin_leaf) {
  enclos_buf b = vh_read(ATT("sgx/mobilecoin-attestation/leaf_cert.pem"));
  enclos_x509 **l;
  size_t n;
  CHECK_OK(enclos_x509_list_parse(b.data, b.len, &l, &n));
  const uint8_t *v;
  size_t vn;
  bool crit;
  CHECK_OK(enclos_x509_extension(l[0], "1.2.840.113741.1.13.1", &v, &vn, &crit));
  enclos_pck_ext e;
  CHECK_OK(enclos_pck_ext_parse(v, vn, &e));
  static const uint8_t svn[16] = {17, 17, 2, 4, 1, 128, 6, 0};
  CHECK_MEM(e.comp_svn, svn, 16);
  CHECK_EQ_INT(e.pcesvn, 11);
  CHECK_HEX_(e.fmspc, "00906ed50000");
  CHECK_HEX_(e.ppid, "dfa1509779ed52bdca5306c416f9911b");
  CHECK_EQ_INT(e.sgx_type, 0);
  /* Truncations never read past the buffer. */
  for (size_t k = 0; k < vn; k++) CHECK(enclos_pck_ext_parse(v, k, &e) != ENCLOS_OK);
  enclos_x509_list_free(l, n);
  enclos_buf_free(&b);
}

static void amd_ext(const char *path, enclos_amd_cert_ext *e) {
  enclos_buf b = vh_read(path);
  enclos_x509 **l;
  size_t n;
  CHECK_OK(enclos_x509_list_parse(b.data, b.len, &l, &n));
  CHECK_OK(enclos_amd_cert_ext_parse(l[0], e));
  enclos_x509_list_free(l, n);
  enclos_buf_free(&b);
}

TEST(amd_extensions_vcek_vlek_turin) {
  enclos_amd_cert_ext e;
  amd_ext(ATT("snp/virtee-sev/vcek_turin.der"), &e);
  CHECK_STR(e.product, "Turin");
  CHECK_EQ_INT(e.hwid_size, 8);
  CHECK_HEX_(e.hwid, "1e550a8ee5cf9f4d");
  CHECK_EQ_INT(e.fmc_spl, 0);
  CHECK_EQ_INT(e.ucode_spl, 9);
  amd_ext(ATT("snp/confidential-containers-trustee/test-vlek.der"), &e);
  CHECK_STR(e.product, "Milan");
  CHECK_EQ_INT(e.hwid_size, 0);
  CHECK(e.has_csp_id);
  CHECK_EQ_INT(e.ucode_spl, 217); /* DER INTEGER 02 02 00 d9 */
  amd_ext(ATT("snp/google-go-sev-guest/vcek.testcer"), &e);
  CHECK_STR(e.product, "Milan-B0");
  CHECK_EQ_INT(e.bl_spl, 2);
  CHECK_EQ_INT(e.snp_spl, 5);
  CHECK_EQ_INT(e.ucode_spl, 68);
  CHECK_EQ_INT(e.hwid_size, 64);
  enclos_amd_cert_ext a, b;
  amd_ext(ATT("snp/confidential-containers-trustee/test-vcek-invalid-new.der"), &a);
  amd_ext(ATT("snp/confidential-containers-trustee/test-vcek-invalid-legacy.der"), &b);
  CHECK_EQ_INT(a.hwid_size, 64);
  CHECK_EQ_INT(b.hwid_size, 64);
}

/* ---- TDX tampering and policy JSON ---- */

TEST(tdx_tampered_quote_and_policy_rules) {
  enclos_buf q = vh_evidence(ATT("tdx/phala-dcap-qvl/tdx_quote"));
  enclos_buf c = vh_read(ATT("tdx/phala-dcap-qvl/tdx_quote_collateral.json"));
  enclos_hw_result r;
  CHECK_OK(verify_with(&q, &c, SGX_AT, &r));
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_UP_TO_DATE);
  struct { size_t off; const char *check; } cases[] = {
      {184, "quote_signature"},      /* MRTD */
      {568, "quote_signature"},      /* REPORTDATA */
      {5000, NULL},                  /* trailing padding: ignored */
      {770, "qe_report_signature"},  /* QE report */
      {1154, "qe_report_signature"}, /* QE report signature */
      {1220, "qe_report_binding"},   /* QE auth data */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    q.data[cases[i].off] ^= 0x40;
    enclos_err rc = verify_with(&q, &c, SGX_AT, &r);
    if (cases[i].check == NULL)
      CHECK_MSG(rc == ENCLOS_OK, "offset %zu: %s", cases[i].off, r.reason);
    else
      CHECK_MSG(rc != ENCLOS_OK && strcmp(r.failed_check, cases[i].check) == 0, "offset %zu: failed %s",
                cases[i].off, r.failed_check ? r.failed_check : "-");
    q.data[cases[i].off] ^= 0x40;
  }
  /* Expected measurements through the JSON policy. */
  enclos_hw_collateral *coll = NULL;
  CHECK_OK(enclos_hw_collateral_new(&coll));
  CHECK_OK(enclos_hw_collateral_add(coll, c.data, c.len, NULL));
  char pj[400];
  char mrtd[97];
  enclos_hex_encode_to(mrtd, q.data + 184, 48);
  snprintf(pj, sizeof pj, "{\"accepted_tcb_status\":[\"UpToDate\"],\"mrtd\":\"%s\"}", mrtd);
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  CHECK_OK(enclos_hw_policy_load_json(pj, strlen(pj), &p));
  CHECK(p.has_mrtd);
  CHECK_OK(enclos_hw_verify(q.data, q.len, coll, vh_time(SGX_AT), &p, &r));
  p.mrtd[0] ^= 1;
  CHECK_ERR(enclos_hw_verify(q.data, q.len, coll, vh_time(SGX_AT), &p, &r), ENCLOS_E_POLICY);
  CHECK_CONTAINS(r.reason, "MRTD");
  enclos_hw_policy_default(&p);
  p.require_sept_ve_disable = true;
  enclos_err rc = enclos_hw_verify(q.data, q.len, coll, vh_time(SGX_AT), &p, &r);
  CHECK(rc == ENCLOS_OK || (rc == ENCLOS_E_POLICY && strstr(r.reason, "SEPT_VE_DISABLE") != NULL));
  enclos_hw_collateral_free(coll);
  enclos_buf_free(&q);
  enclos_buf_free(&c);
}

TEST(policy_json_loader_rejects_bad_input) {
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  CHECK_EQ_INT(p.accepted_count, 1);
  CHECK_EQ_INT(p.accepted[0], ENCLOS_TCB_UP_TO_DATE);
  CHECK(!p.allow_debug);
  const char *ok = "{\"accepted_tcb_status\":[\"UpToDate\",\"SWHardeningNeeded\"],\"allow_debug\":true,"
                   "\"grace_period_seconds\":3600,\"relax_crl_freshness\":true,\"isvprodid\":7}";
  CHECK_OK(enclos_hw_policy_load_json(ok, strlen(ok), &p));
  CHECK_EQ_INT(p.accepted_count, 2);
  CHECK_EQ_INT(p.accepted[1], ENCLOS_TCB_SW_HARDENING_NEEDED);
  CHECK(p.allow_debug && p.relax_crl_freshness && p.has_isvprodid && p.isvprodid == 7);
  CHECK_EQ_U64((uint64_t)p.grace_seconds, 3600);
  const char *bad[] = {"[]", "{", "{\"accepted_tcb_status\":[\"uptodate\"]}", "{\"allow_debug\":1}",
                       "{\"mrtd\":\"00\"}", "{\"grace_period_seconds\":-1}", "{\"a\":1,\"a\":2}",
                       "{\"mrenclav\":\"00\"}", "{\"vmpl\":4}", "{\"snp_min_tcb\":{\"ucode\":1}}",
                       "{\"snp_min_tcb\":{\"snp\":256}}", "{\"allow_migration\":\"yes\"}",
                       ("{\"accepted_tcb_status\":[\"UpToDate\",\"UpToDate\",\"UpToDate\",\"UpToDate\","
                        "\"UpToDate\",\"UpToDate\",\"UpToDate\",\"UpToDate\",\"UpToDate\"]}")};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    enclos_hw_policy_default(&p);
    CHECK_MSG(enclos_hw_policy_load_json(bad[i], strlen(bad[i]), &p) != ENCLOS_OK, "accepted %s", bad[i]);
  }
  enclos_tcb_status st;
  for (int i = 1; i <= 7; i++) {
    CHECK_OK(enclos_tcb_status_parse(enclos_tcb_status_name((enclos_tcb_status)i), &st));
    CHECK_EQ_INT(st, i);
  }
  CHECK_ERR(enclos_tcb_status_parse("Unknown", &st), ENCLOS_E_INVALID);
}

TEST(collateral_classifier_by_content) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  struct { const char *path; enclos_coll_kind kind; } cases[] = {
      {ATT("sgx/mobilecoin-attestation/fmspc_00906ED50000_2023_07_12.json"), ENCLOS_COLL_TCB_INFO},
      {ATT("sgx/mobilecoin-attestation/qe_identity.json"), ENCLOS_COLL_QE_IDENTITY},
      {ATT("sgx/mobilecoin-attestation/processor_crl.der"), ENCLOS_COLL_CRL},
      {ATT("sgx/mobilecoin-attestation/processor_crl.pem"), ENCLOS_COLL_CRL},
      {ATT("sgx/mobilecoin-attestation/root_ca.pem"), ENCLOS_COLL_CERTS},
      {ATT("sgx/phala-dcap-qvl/TrustedRootCA.der"), ENCLOS_COLL_CERTS},
      {ATT("sgx/phala-dcap-qvl/sgx_quote_collateral.json"), ENCLOS_COLL_BUNDLE},
      {ATT("tdx/google-go-tdx-guest/pckcrl"), ENCLOS_COLL_CRL},
      {ATT("sgx/phala-dcap-qvl/sgx_quote"), ENCLOS_COLL_NONE},
      {ATT("snp/virtee-sev/report_milan.hex"), ENCLOS_COLL_NONE},
      {ATT("snp/virtee-sev/README.md"), ENCLOS_COLL_NONE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enclos_buf b = vh_read(cases[i].path);
    enclos_coll_kind k;
    CHECK_OK(enclos_hw_collateral_add(c, b.data, b.len, &k));
    CHECK_MSG(k == cases[i].kind, "%s: kind %d, want %d", cases[i].path, k, cases[i].kind);
    enclos_buf_free(&b);
  }
  /* Signed JSON with a broken signature field is refused outright. */
  const char *j = "{\"tcbInfo\":{\"id\":\"SGX\"},\"signature\":\"00\"}";
  CHECK_ERR(enclos_hw_collateral_add(c, j, strlen(j), NULL), ENCLOS_E_MALFORMED);
  enclos_hw_collateral_free(c);
}

TEST(memoised_signatures_do_not_hide_tampering) {
  /* One collateral object reused: the good quote first (fills the memo), then tampered ones. */
  enclos_buf c = vh_read(SGX_COLL);
  enclos_hw_collateral *coll = NULL;
  CHECK_OK(enclos_hw_collateral_new(&coll));
  CHECK_OK(enclos_hw_collateral_add(coll, c.data, c.len, NULL));
  enclos_hw_policy p = lax();
  enclos_hw_result r;
  for (int n = 0; n < 3; n++) {
    enclos_buf q = vh_evidence(SGX_Q);
    CHECK_OK(enclos_hw_verify(q.data, q.len, coll, vh_time(SGX_AT), &p, &r));
    CHECK_OK(enclos_hw_verify(q.data, q.len, coll, vh_time(SGX_AT), &p, &r));
    tamper_pem_cert(&q, n);
    CHECK(enclos_hw_verify(q.data, q.len, coll, vh_time(SGX_AT), &p, &r) != ENCLOS_OK);
    CHECK_STR(r.failed_check, "pck_chain");
    enclos_buf_free(&q);
  }
  enclos_hw_collateral_free(coll);
  enclos_buf_free(&c);
}

/* ---- Checks added after the recipe audit (docs/attestation.md §12) ---- */

static void replace_once(enclos_buf *b, const char *from, const char *to) {
  size_t fl = strlen(from);
  CHECK(strlen(to) == fl);
  for (size_t i = 0; i + fl <= b->len; i++) {
    if (memcmp(b->data + i, from, fl) == 0) {
      memcpy(b->data + i, to, fl);
      return;
    }
  }
  CHECK_MSG(false, "%s not found", from);
}

TEST(tcb_info_and_qe_identity_versions_are_checked) {
  enclos_buf q = vh_evidence(SGX_Q);
  struct { const char *from, *to, *check, *reason; } cases[] = {
      {"\\\"version\\\":3", "\\\"version\\\":4", "tcb_info", "TCB Info version 4"},
      {"\\\"tcbType\\\":0", "\\\"tcbType\\\":1", "tcb_info", "tcbType not supported"},
      {"\\\"version\\\":2", "\\\"version\\\":9", "qe_identity", "QE Identity version 9"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enclos_buf c = vh_read(SGX_COLL);
    replace_once(&c, cases[i].from, cases[i].to);
    enclos_hw_result r;
    CHECK_ERR(verify_with(&q, &c, SGX_AT, &r), ENCLOS_E_UNSUPPORTED);
    CHECK_STR(r.failed_check, cases[i].check);
    CHECK_CONTAINS(r.reason, cases[i].reason);
    enclos_buf_free(&c);
  }
  enclos_buf_free(&q);
}

TEST(snp_cpuid_must_name_the_certificate_product) {
  /* The VLEK report (v3) says family 0x19 model 0x01 (Milan); claiming Genoa (model 0x11) or Turin
   * (family 0x1A) against the Milan VLEK is refused at the chain, before the report signature. */
  static const char *const dirs[] = {ATT("snp/confidential-containers-trustee"), NULL};
  enclos_buf b = vh_evidence(ATT("snp/confidential-containers-trustee/test-vlek-report.bin"));
  enclos_hw_collateral *c = vh_coll(dirs);
  int64_t at = vh_time("2025-06-01T00:00:00Z");
  enclos_hw_result r;
  CHECK_OK(enclos_hw_verify(b.data, b.len, c, at, NULL, &r));
  b.data[0x189] = 0x11;
  CHECK_ERR(enclos_hw_verify(b.data, b.len, c, at, NULL, &r), ENCLOS_E_VERIFY);
  CHECK_STR(r.failed_check, "cert_chain");
  CHECK_CONTAINS(r.reason, "is Genoa, the VLEK certificate is for Milan");
  b.data[0x189] = 0x01;
  b.data[0x188] = 0x1A;
  CHECK_ERR(enclos_hw_verify(b.data, b.len, c, at, NULL, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(r.reason, "is Turin");
  enclos_hw_collateral_free(c);
  enclos_buf_free(&b);
}

TEST(snp_sha512_key_binding_vector_positive_and_negative) {
  /* teekit: report_data = SHA-512(NONCE ‖ X25519_KEY) from the .txt beside it (a real binding). */
  static const char *const dirs[] = {ATT("snp/teekit-qvl"), NULL};
  enclos_buf b = vh_evidence(ATT("snp/teekit-qvl/sev-gcp-x25519-bound.bin"));
  enclos_buf t = vh_read(ATT("snp/teekit-qvl/sev-gcp-x25519-bound.txt"));
  CHECK_OK(enclos_buf_append_u8(&t, 0));
  const char *nonce = strstr((const char *)t.data, "NONCE="), *key = strstr((const char *)t.data, "X25519_KEY=");
  CHECK(nonce != NULL && key != NULL);
  uint8_t pre[64], rd[64];
  CHECK_OK(enclos_hex_decode_to(pre, 32, nonce + 6, 64));
  CHECK_OK(enclos_hex_decode_to(pre + 32, 32, key + 11, 64));
  CHECK_OK(enclos_hash(ENCLOS_SHA512, pre, 64, rd));
  enclos_hw_collateral *c = vh_coll(dirs);
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  p.has_report_data = true;
  memcpy(p.report_data, rd, 64);
  p.has_vmpl = true;
  p.vmpl = 1;
  enclos_hw_result r;
  int64_t at = vh_time("2026-01-01T00:00:00Z");
  CHECK_OK(enclos_hw_verify(b.data, b.len, c, at, &p, &r));
  pre[0] ^= 1; /* another nonce */
  CHECK_OK(enclos_hash(ENCLOS_SHA512, pre, 64, p.report_data));
  CHECK_ERR(enclos_hw_verify(b.data, b.len, c, at, &p, &r), ENCLOS_E_POLICY);
  CHECK_CONTAINS(r.reason, "REPORT_DATA differs");
  enclos_hw_collateral_free(c);
  enclos_buf_free(&t);
  enclos_buf_free(&b);
}
