/* Revocation end to end with our own test CA (issue 6 acceptance 2: "a PCK on the CRL refused").
 * No real revoked PCK exists in the shared data and nobody but Intel can sign under the Intel
 * root, so this test builds a complete SGX quote v3 chain under a throwaway root: root → "Intel
 * SGX PCK Processor CA" → PCK (carrying the SGX extension of a real PCK, mobilecoin's leaf), root →
 * "Intel SGX TCB Signing", a QE report signed by the PCK key, TCB Info and QE Identity signed by the
 * TCB signer, CRLs made with the openssl CLI. The verifier's pinned root is pointed at this root
 * through the test seam verify__intel_root_pin (src/verify/verify_int.h). Then, in turn: nothing
 * revoked → accepted; the PCK on the PCK CRL, the PCK CA on the root CRL, the TCB Signing
 * certificate on the root CRL → each refused with its reason. */
#include <stdlib.h>
#include <unistd.h>

#include <enclos/crypto.h>
#include <enclos/x509.h>
#include <enclos/x509_make.h>

#include "verify/verify_int.h"
#include "vh.h"

typedef struct own {
  char dir[64];
  int64_t now;
  enclos_pkey *root_k, *ca_k, *pck_k, *tcb_k, *att_k;
  enclos_x509 *root, *ca, *pck, *tcb;
  enclos_buf quote, tcb_info, qe_identity;
} own;

static void write_file(const own *o, const char *name, const enclos_buf *b) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", o->dir, name);
  FILE *f = fopen(p, "wb");
  CHECK(f != NULL);
  if (f == NULL) return;
  CHECK(fwrite(b->data, 1, b->len, f) == b->len);
  fclose(f);
}

static void write_pem_cert(const own *o, const char *name, const enclos_x509 *x) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_x509_pem(x, &b));
  write_file(o, name, &b);
  enclos_buf_free(&b);
}

static void write_pem_key(const own *o, const char *name, const enclos_pkey *k) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_private_pem(k, &b));
  write_file(o, name, &b);
  enclos_buf_free(&b);
}

static enclos_x509 *make(enclos_pkey *k, const char *cn, bool ca, const enclos_x509 *issuer,
                         const enclos_pkey *issuer_k, int64_t now, const enclos_x509_ext *ext) {
  enclos_x509_make_opts mo = {.subject_cn = cn, .not_before = now - 86400, .not_after = now + 86400 * 365,
                              .is_ca = ca, .path_len = -1, .exts = ext, .ext_count = ext ? 1 : 0};
  enclos_x509 *x = NULL;
  CHECK_OK(enclos_x509_make(k, &mo, issuer, issuer_k, &x));
  return x;
}

static void put16(enclos_buf *b, uint16_t v) { CHECK_OK(enclos_buf_append(b, (uint8_t[]){(uint8_t)v, (uint8_t)(v >> 8)}, 2)); }
static void put32(enclos_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  CHECK_OK(enclos_buf_append(b, x, 4));
}

/* A signed Intel JSON document {"<outer>":<body>,"signature":"<r||s hex>"} (PCS v4 layout). */
static void signed_doc(const own *o, const char *outer, const char *body, enclos_buf *out) {
  enclos_buf sig = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_sign(o->tcb_k, ENCLOS_SHA256, body, strlen(body), ENCLOS_SIG_RAW, &sig));
  CHECK_EQ_INT(sig.len, 64);
  char hex[129];
  enclos_hex_encode_to(hex, sig.data, 64);
  CHECK_OK(enclos_buf_printf(out, "{\"%s\":%s,\"signature\":\"%s\"}", outer, body, hex));
  enclos_buf_free(&sig);
}

static void build(own *o) {
  snprintf(o->dir, sizeof o->dir, "/tmp/enclos_ownca_XXXXXX");
  CHECK(mkdtemp(o->dir) != NULL);
  o->now = enclos_time_now();
  enclos_pkey **keys[] = {&o->root_k, &o->ca_k, &o->pck_k, &o->tcb_k, &o->att_k};
  for (size_t i = 0; i < 5; i++) CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, keys[i]));
  /* The SGX extension of a real PCK (FMSPC 00906ed50000, PCE-ID 0000, PCESVN 11). */
  enclos_buf leaf = vh_read(ATT("sgx/mobilecoin-attestation/leaf_cert.pem"));
  enclos_x509 **l = NULL;
  size_t nl = 0;
  CHECK_OK(enclos_x509_list_parse(leaf.data, leaf.len, &l, &nl));
  const uint8_t *ev;
  size_t evn;
  CHECK_OK(enclos_x509_extension(l[0], "1.2.840.113741.1.13.1", &ev, &evn, NULL));
  enclos_x509_ext sgx_ext = {.oid = "1.2.840.113741.1.13.1", .value = ev, .size = evn};
  o->root = make(o->root_k, "Test Root CA", true, NULL, o->root_k, o->now, NULL);
  o->ca = make(o->ca_k, "Intel SGX PCK Processor CA", true, o->root, o->root_k, o->now, NULL);
  o->pck = make(o->pck_k, "Intel SGX PCK Certificate", false, o->ca, o->ca_k, o->now, &sgx_ext);
  o->tcb = make(o->tcb_k, "Intel SGX TCB Signing", false, o->root, o->root_k, o->now, NULL);
  enclos_x509_list_free(l, nl);
  enclos_buf_free(&leaf);

  /* Quote v3 (ATTESTATION-FORMATS.md §3.1-3.3): header, enclave report, signature data. */
  static const uint8_t intel_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                           0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
  enclos_buf *q = &o->quote;
  put16(q, 3);
  put16(q, 2);
  put32(q, 0);
  put16(q, 9);
  put16(q, 13);
  CHECK_OK(enclos_buf_append(q, intel_vendor, 16));
  uint8_t zero[384] = {0};
  CHECK_OK(enclos_buf_append(q, zero, 20));
  uint8_t body[384] = {0};
  body[48] = 0x05; /* ATTRIBUTES: INIT | MODE64BIT, not DEBUG */
  memset(body + 64, 0xAB, 32); /* MRENCLAVE */
  CHECK_OK(enclos_buf_append(q, body, 384));
  enclos_buf sig = ENCLOS_BUF_INIT, att = ENCLOS_BUF_INIT, qsig = ENCLOS_BUF_INIT, pem = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_sign(o->att_k, ENCLOS_SHA256, q->data, 432, ENCLOS_SIG_RAW, &sig));
  CHECK_OK(enclos_pkey_public_raw(o->att_k, &att));
  CHECK_EQ_INT(att.len, 64);
  uint8_t auth[32];
  memset(auth, 0x5A, 32);
  /* QE report: MRSIGNER 0x8C.., ISVPRODID 1, ISVSVN 5, REPORTDATA = SHA-256(att key ‖ auth) ‖ 0. */
  uint8_t qe[384] = {0};
  memset(qe + 128, 0x8C, 32);
  qe[256] = 1;
  qe[258] = 5;
  uint8_t bind[96];
  memcpy(bind, att.data, 64);
  memcpy(bind + 64, auth, 32);
  CHECK_OK(enclos_hash(ENCLOS_SHA256, bind, 96, qe + 320));
  CHECK_OK(enclos_pkey_sign(o->pck_k, ENCLOS_SHA256, qe, 384, ENCLOS_SIG_RAW, &qsig));
  CHECK_OK(enclos_x509_pem(o->pck, &pem));
  CHECK_OK(enclos_x509_pem(o->ca, &pem));
  CHECK_OK(enclos_x509_pem(o->root, &pem));
  CHECK_OK(enclos_buf_append_u8(&pem, 0));
  put32(q, (uint32_t)(64 + 64 + 384 + 64 + 2 + 32 + 2 + 4 + pem.len));
  CHECK_OK(enclos_buf_append(q, sig.data, 64));
  CHECK_OK(enclos_buf_append(q, att.data, 64));
  CHECK_OK(enclos_buf_append(q, qe, 384));
  CHECK_OK(enclos_buf_append(q, qsig.data, 64));
  put16(q, 32);
  CHECK_OK(enclos_buf_append(q, auth, 32));
  put16(q, 5);
  put32(q, (uint32_t)pem.len);
  CHECK_OK(enclos_buf_append(q, pem.data, pem.len));
  enclos_buf_free(&sig);
  enclos_buf_free(&att);
  enclos_buf_free(&qsig);
  enclos_buf_free(&pem);

  /* TCB Info (one UpToDate level every component meets) and QE Identity, signed by the signer. */
  char iss[21], next[21];
  enclos_time_format(o->now - 3600, iss);
  enclos_time_format(o->now + 30 * 86400, next);
  enclos_buf ti = ENCLOS_BUF_INIT, qi = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_printf(&ti, "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                                  "\"fmspc\":\"00906ED50000\",\"pceId\":\"0000\",\"tcbType\":0,"
                                  "\"tcbEvaluationDataNumber\":1,\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[",
                             iss, next));
  for (int i = 0; i < 16; i++) CHECK_OK(enclos_buf_printf(&ti, "%s{\"svn\":0}", i ? "," : ""));
  CHECK_OK(enclos_buf_printf(&ti, "],\"pcesvn\":0},\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"}]}", iss));
  CHECK_OK(enclos_buf_append_u8(&ti, 0));
  char mrsigner[65];
  enclos_hex_encode_to(mrsigner, qe + 128, 32);
  CHECK_OK(enclos_buf_printf(&qi, "{\"id\":\"QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                                  "\"tcbEvaluationDataNumber\":1,\"miscselect\":\"00000000\",\"miscselectMask\":"
                                  "\"FFFFFFFF\",\"attributes\":\"00000000000000000000000000000000\","
                                  "\"attributesMask\":\"FFFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\","
                                  "\"isvprodid\":1,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":5},\"tcbDate\":\"%s\","
                                  "\"tcbStatus\":\"UpToDate\"}]}",
                             iss, next, mrsigner, iss));
  CHECK_OK(enclos_buf_append_u8(&qi, 0));
  signed_doc(o, "tcbInfo", (const char *)ti.data, &o->tcb_info);
  signed_doc(o, "enclaveIdentity", (const char *)qi.data, &o->qe_identity);
  enclos_buf_free(&ti);
  enclos_buf_free(&qi);

  write_pem_cert(o, "root.pem", o->root);
  write_pem_cert(o, "ca.pem", o->ca);
  write_pem_cert(o, "pck.pem", o->pck);
  write_pem_cert(o, "tcb.pem", o->tcb);
  write_pem_key(o, "root.key", o->root_k);
  write_pem_key(o, "ca.key", o->ca_k);
}

/* CRLs from the openssl CLI: "<ca>.crl.pem" by CA <ca>, after revoking the listed certificates. */
static void crl(const own *o, const char *ca, const char *revoke) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd %s && rm -rf db-%s && mkdir db-%s && touch db-%s/index.txt && echo 01 > db-%s/crlnum && "
           "printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=db-%s/index.txt\\ncrlnumber=db-%s/crlnum\\n"
           "default_md=sha256\\ndefault_crl_days=30\\n' > db-%s/cnf && "
           "for c in %s; do openssl ca -config db-%s/cnf -keyfile %s.key -cert %s.pem -revoke $c.pem "
           "2>/dev/null || exit 1; done && "
           "openssl ca -config db-%s/cnf -keyfile %s.key -cert %s.pem -gencrl -out %s.crl.pem 2>/dev/null",
           o->dir, ca, ca, ca, ca, ca, ca, ca, revoke, ca, ca, ca, ca, ca, ca, ca);
  CHECK_EQ_INT(system(cmd), 0);
}

static enclos_err verify_own(own *o, enclos_hw_result *r) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  CHECK_OK(enclos_hw_collateral_add(c, o->tcb_info.data, o->tcb_info.len, NULL));
  CHECK_OK(enclos_hw_collateral_add(c, o->qe_identity.data, o->qe_identity.len, NULL));
  const char *files[] = {"root.pem", "tcb.pem", "root.crl.pem", "ca.crl.pem"};
  for (size_t i = 0; i < 4; i++) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", o->dir, files[i]);
    enclos_buf b = vh_read(p);
    enclos_coll_kind k;
    CHECK_OK(enclos_hw_collateral_add(c, b.data, b.len, &k));
    CHECK(k == (i < 2 ? ENCLOS_COLL_CERTS : ENCLOS_COLL_CRL));
    enclos_buf_free(&b);
  }
  uint8_t fp[32];
  CHECK_OK(enclos_x509_fingerprint(o->root, fp));
  verify__intel_root_pin = fp;
  enclos_err rc = enclos_hw_verify(o->quote.data, o->quote.len, c, enclos_time_now(), NULL, r);
  verify__intel_root_pin = enclos_intel_root_fingerprint;
  vh_dump(r);
  enclos_hw_collateral_free(c);
  return rc;
}

static void teardown(own *o) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", o->dir);
  CHECK_EQ_INT(system(cmd), 0);
  enclos_pkey *keys[] = {o->root_k, o->ca_k, o->pck_k, o->tcb_k, o->att_k};
  for (size_t i = 0; i < 5; i++) enclos_pkey_free(keys[i]);
  enclos_x509_free(o->root);
  enclos_x509_free(o->ca);
  enclos_x509_free(o->pck);
  enclos_x509_free(o->tcb);
  enclos_buf_free(&o->quote);
  enclos_buf_free(&o->tcb_info);
  enclos_buf_free(&o->qe_identity);
}

TEST(own_ca_chain_verifies_then_each_revocation_is_refused) {
  own o;
  memset(&o, 0, sizeof o);
  build(&o);
  enclos_hw_result r;
  /* Nothing revoked: the whole chain of checks passes. */
  crl(&o, "root", "");
  crl(&o, "ca", "");
  CHECK_OK(verify_own(&o, &r));
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_UP_TO_DATE);
  CHECK_EQ_INT(r.check_count, 14);
  /* Without the seam the same quote is refused: its root is not Intel's. */
  enclos_hw_collateral *empty = NULL;
  CHECK_OK(enclos_hw_collateral_new(&empty));
  CHECK_ERR(enclos_hw_verify(o.quote.data, o.quote.len, empty, o.now, NULL, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(r.reason, "not the pinned Intel SGX Root CA");
  enclos_hw_collateral_free(empty);
  /* The PCK on the PCK CA's CRL. */
  crl(&o, "ca", "pck");
  CHECK_ERR(verify_own(&o, &r), ENCLOS_E_REVOKED);
  CHECK_STR(r.failed_check, "crls");
  CHECK_CONTAINS(r.reason, "PCK certificate is revoked by the PCK CRL");
  crl(&o, "ca", "");
  /* The PCK CA on the root CRL. */
  crl(&o, "root", "ca");
  CHECK_ERR(verify_own(&o, &r), ENCLOS_E_REVOKED);
  CHECK_STR(r.failed_check, "crls");
  CHECK_CONTAINS(r.reason, "PCK CA certificate is revoked by the root CA CRL");
  /* The TCB Signing certificate on the root CRL: TCB Info cannot be trusted. */
  crl(&o, "root", "tcb");
  CHECK_ERR(verify_own(&o, &r), ENCLOS_E_REVOKED);
  CHECK_STR(r.failed_check, "tcb_info");
  CHECK_CONTAINS(r.reason, "TCB Signing certificate for the TCB Info is revoked by the root CA CRL");
  teardown(&o);
}

/* ---- SEV-SNP: the optional ARK CRL (ATTESTATION-FORMATS.md §3.6 step 7) ----
 * An own ARK → "SEV-Milan" ASK → "SEV-VCEK" VCEK (P-384, AMD extensions equal to the report's
 * REPORTED_TCB and CHIP_ID), and the real trustee report re-signed by that VCEK; the verifier's ARK
 * pin is pointed at the own ARK through verify__ark_pin_override. */

static enclos_err verify_snp_own(const own *o, const enclos_buf *rep, const enclos_hw_policy *p,
                                 const enclos_x509 *ark, bool with_crl, enclos_hw_result *r) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  const char *files[] = {"ark.pem", "ask.pem", "vcek.pem", "ark.crl.pem"};
  for (size_t i = 0; i < (with_crl ? 4u : 3u); i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", o->dir, files[i]);
    enclos_buf b = vh_read(path);
    CHECK_OK(enclos_hw_collateral_add(c, b.data, b.len, NULL));
    enclos_buf_free(&b);
  }
  uint8_t fp[32];
  CHECK_OK(enclos_x509_fingerprint(ark, fp));
  verify__ark_pin_override = fp;
  enclos_err rc = enclos_hw_verify(rep->data, rep->len, c, enclos_time_now(), p, r);
  verify__ark_pin_override = NULL;
  vh_dump(r);
  enclos_hw_collateral_free(c);
  return rc;
}

TEST(own_ark_crl_is_checked_when_present) {
  own o;
  memset(&o, 0, sizeof o);
  snprintf(o.dir, sizeof o.dir, "/tmp/enclos_ownark_XXXXXX");
  CHECK(mkdtemp(o.dir) != NULL);
  o.now = enclos_time_now();
  enclos_pkey *ark_k, *ask_k, *vcek_k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &ark_k));
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &ask_k));
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &vcek_k));
  enclos_buf rep = vh_evidence(ATT("snp/confidential-containers-trustee/test-report.bin"));
  CHECK_EQ_INT(rep.len, 1184);
  /* VCEK extensions (AMD KDS spec #57230 §3): productName, SPLs = REPORTED_TCB 0300000000000873
   * (bl 3, tee 0, snp 8, ucode 115), hwID = CHIP_ID (raw 64 bytes). */
  static const uint8_t prod[] = {0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0'};
  static const uint8_t bl[] = {2, 1, 3}, tee[] = {2, 1, 0}, snp[] = {2, 1, 8}, uc[] = {2, 1, 115};
  enclos_x509_ext ext[] = {
      {.oid = "1.3.6.1.4.1.3704.1.2", .value = prod, .size = sizeof prod},
      {.oid = "1.3.6.1.4.1.3704.1.3.1", .value = bl, .size = 3},
      {.oid = "1.3.6.1.4.1.3704.1.3.2", .value = tee, .size = 3},
      {.oid = "1.3.6.1.4.1.3704.1.3.3", .value = snp, .size = 3},
      {.oid = "1.3.6.1.4.1.3704.1.3.8", .value = uc, .size = 3},
      {.oid = "1.3.6.1.4.1.3704.1.4", .value = rep.data + 0x1A0, .size = 64},
  };
  enclos_x509 *ark = make(ark_k, "ARK-Milan", true, NULL, ark_k, o.now, NULL);
  enclos_x509 *ask = make(ask_k, "SEV-Milan", true, ark, ark_k, o.now, NULL);
  enclos_x509_make_opts vo = {.subject_cn = "SEV-VCEK", .not_before = o.now - 86400,
                              .not_after = o.now + 86400 * 365, .path_len = -1, .exts = ext, .ext_count = 6};
  enclos_x509 *vcek = NULL;
  CHECK_OK(enclos_x509_make(vcek_k, &vo, ask, ask_k, &vcek));
  /* Re-sign bytes 0x000..0x29F; R and S little-endian in 72-byte fields (SNP ABI Table 23). */
  enclos_buf sig = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_pkey_sign(vcek_k, ENCLOS_SHA384, rep.data, 0x2A0, ENCLOS_SIG_RAW, &sig));
  CHECK_EQ_INT(sig.len, 96);
  memset(rep.data + 0x2A0, 0, 144);
  for (int i = 0; i < 48; i++) {
    rep.data[0x2A0 + i] = sig.data[47 - i];
    rep.data[0x2E8 + i] = sig.data[95 - i];
  }
  enclos_buf_free(&sig);
  write_pem_cert(&o, "ark.pem", ark);
  write_pem_cert(&o, "ask.pem", ask);
  write_pem_cert(&o, "vcek.pem", vcek);
  write_pem_key(&o, "ark.key", ark_k);

  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  enclos_hw_result r;
  CHECK_OK(verify_snp_own(&o, &rep, &p, ark, false, &r));
  CHECK_EQ_INT(r.check_count, 8);
  CHECK_STR(r.checks[4], "amd_crl");
  /* Without the seam the chain is refused: the ARK is not AMD's. */
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  char path[256];
  snprintf(path, sizeof path, "%s/vcek.pem", o.dir);
  enclos_buf vb = vh_read(path);
  CHECK_OK(enclos_hw_collateral_add(c, vb.data, vb.len, NULL));
  CHECK_ERR(enclos_hw_verify(rep.data, rep.len, c, enclos_time_now(), &p, &r), ENCLOS_E_NOT_FOUND);
  CHECK_CONTAINS(r.reason, "pinned ARK-Milan");
  enclos_buf_free(&vb);
  enclos_hw_collateral_free(c);
  /* A policy that requires the CRL refuses without one. */
  p.require_amd_crl = true;
  CHECK_ERR(verify_snp_own(&o, &rep, &p, ark, false, &r), ENCLOS_E_NOT_FOUND);
  CHECK_STR(r.failed_check, "amd_crl");
  CHECK_CONTAINS(r.reason, "collateral missing: ARK-Milan CRL");
  /* An empty CRL: accepted. */
  crl(&o, "ark", "");
  CHECK_OK(verify_snp_own(&o, &rep, &p, ark, true, &r));
  /* The ASK on the ARK's CRL: refused. */
  write_pem_cert(&o, "ask-revoke.pem", ask);
  crl(&o, "ark", "ask-revoke");
  CHECK_ERR(verify_snp_own(&o, &rep, &p, ark, true, &r), ENCLOS_E_REVOKED);
  CHECK_STR(r.failed_check, "amd_crl");
  CHECK_CONTAINS(r.reason, "SEV-Milan is revoked by the ARK-Milan CRL");
  /* A CRL from the ARK name with another key: bad signature, refused even when not required. */
  p.require_amd_crl = false;
  enclos_pkey *other_k;
  CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &other_k));
  enclos_x509 *fake_ark = make(other_k, "ARK-Milan", true, NULL, other_k, o.now, NULL);
  write_pem_cert(&o, "ark.pem", fake_ark);
  write_pem_key(&o, "ark.key", other_k);
  crl(&o, "ark", "");
  write_pem_cert(&o, "ark.pem", ark); /* the real ARK back in the collateral */
  CHECK_ERR(verify_snp_own(&o, &rep, &p, ark, true, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(r.reason, "ARK-Milan CRL has an invalid signature");

  enclos_x509_free(fake_ark);
  enclos_pkey_free(other_k);
  enclos_x509_free(vcek);
  enclos_x509_free(ask);
  enclos_x509_free(ark);
  enclos_pkey_free(vcek_k);
  enclos_pkey_free(ask_k);
  enclos_pkey_free(ark_k);
  enclos_buf_free(&rep);
  teardown(&o);
}
