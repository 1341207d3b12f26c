/* intel.c: verification of Intel SGX (quote v3/v5) and TDX (quote v4/v5) evidence, following
 * ATTESTATION-FORMATS.md §3.4 (itself a summary of Intel's SGX DCAP Quote Verification Library:
 * QuoteVerification/QVL/Src/AttestationLibrary, TcbLevelCheck and the status convergence of
 * `convergeTcbStatusWithQeTcbStatus`). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/time.h>

#include "verify_int.h"

/* SHA-256 of the DER of the Intel SGX Root CA (ATTESTATION-FORMATS.md §2). */
const uint8_t enclos_intel_root_fingerprint[32] = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3};

/* Test seam (STYLE.md §20): the fingerprint the PCK chain root must have. Only tests that build
 * a complete chain under their own root (tests/verify/test_own_ca.c) point it elsewhere. */
const uint8_t *verify__intel_root_pin = enclos_intel_root_fingerprint;

static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

#define PCK_CHAIN_MAX 4
#define TCB_LEVELS_MAX 128
#define ADVISORIES_MAX_PER_LEVEL 64
#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* Verification state shared by the steps. */
typedef struct ictx {
  const enclos_hw_collateral *c;
  int64_t at;
  const enclos_hw_policy *p;
  enclos_hw_result *r;
  const enclos_intel_quote *q;
  enclos_x509 **chain;
  size_t n_chain;
  const enclos_x509 *root; /* pinned root (from the quote chain) */
  const enclos_x509_crl *root_crl; /* the root CA CRL used for the chain (NULL if allowed missing) */
  bool tdx;
} ictx;

static enclos_err cert_valid_at(const enclos_x509 *x, int64_t at, const char *what, ictx *s) {
  int64_t nb, na;
  ENCLOS_TRY(enclos_x509_validity(x, &nb, &na));
  char a[21], b[21], t[21];
  enclos_time_format(nb, a);
  enclos_time_format(na, b);
  enclos_time_format(at, t);
  ENCLOS_ENSUREF(nb <= at && at <= na, ENCLOS_E_EXPIRED, "%s valid %s .. %s, not at %s", what, a, b, t);
  verify__window(s->r, nb, na);
  return ENCLOS_OK;
}

static enclos_err check_quote_signature(ictx *s) {
  enclos_pkey *k = NULL;
  ENCLOS_TRY(enclos_pkey_from_public_raw(ENCLOS_KEY_EC_P256, s->q->attest_key, 64, &k));
  enclos_err rc = enclos_pkey_verify(k, ENCLOS_SHA256, s->q->signed_region, s->q->signed_size,
                                     s->q->signature, 64, ENCLOS_SIG_RAW);
  enclos_pkey_free(k);
  if (rc != ENCLOS_OK) ENCLOS_FAILF(ENCLOS_E_VERIFY, "quote signature by the attestation key is invalid");
  return ENCLOS_OK;
}

/* QE REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zero bytes. */
static enclos_err check_qe_binding(ictx *s) {
  enclos_hash_ctx *h = NULL;
  uint8_t d[32];
  ENCLOS_TRY(enclos_hash_new(ENCLOS_SHA256, &h));
  enclos_err rc = enclos_hash_update(h, s->q->attest_key, 64);
  if (rc == ENCLOS_OK) rc = enclos_hash_update(h, s->q->qe_auth, s->q->qe_auth_size);
  if (rc == ENCLOS_OK) rc = enclos_hash_final(h, d);
  enclos_hash_free(h);
  ENCLOS_TRY(rc);
  static const uint8_t zero[32];
  ENCLOS_ENSUREF(memcmp(d, s->q->qe_report.report_data, 32) == 0 &&
                     memcmp(zero, s->q->qe_report.report_data + 32, 32) == 0,
                 ENCLOS_E_VERIFY, "QE report data does not bind the attestation key and auth data");
  return ENCLOS_OK;
}

static bool is_pinned_root(const enclos_x509 *x) {
  uint8_t fp[32];
  if (enclos_x509_fingerprint(x, fp) != ENCLOS_OK) return false;
  return memcmp(fp, verify__intel_root_pin, 32) == 0;
}

static enclos_err check_p256(const enclos_x509 *x, const char *what) {
  enclos_pkey *k = NULL;
  ENCLOS_TRY(enclos_x509_pubkey(x, &k));
  enclos_key_type t = enclos_pkey_type(k);
  enclos_pkey_free(k);
  ENCLOS_ENSUREF(t == ENCLOS_KEY_EC_P256, ENCLOS_E_VERIFY, "%s key is not P-256", what);
  return ENCLOS_OK;
}

static enclos_err check_cn(const enclos_x509 *x, const char *a, const char *b, const char *what) {
  enclos_buf cn = ENCLOS_BUF_INIT;
  enclos_err rc = enclos_x509_subject_attr(x, "CN", &cn);
  const char *t = (const char *)cn.data;
  bool ok = rc == ENCLOS_OK && ((cn.len >= strlen(a) && strncmp(t, a, cn.len) == 0) ||
                                (b != NULL && cn.len >= strlen(b) && strncmp(t, b, cn.len) == 0));
  enclos_buf_free(&cn);
  ENCLOS_ENSUREF(ok, ENCLOS_E_VERIFY, "%s has an unexpected subject CN", what);
  return ENCLOS_OK;
}

static enclos_err check_pck_chain(ictx *s) {
  ENCLOS_TRY(enclos_x509_list_parse(s->q->pck_chain_pem, s->q->pck_chain_pem_size, &s->chain,
                                    &s->n_chain));
  ENCLOS_ENSUREF(s->n_chain == 3, ENCLOS_E_VERIFY, "PCK chain has %zu certificates (want 3)",
                 s->n_chain);
  enclos_x509 *leaf = s->chain[0], *ca = s->chain[1], *root = s->chain[2];
  ENCLOS_ENSUREF(is_pinned_root(root), ENCLOS_E_VERIFY,
                 "PCK chain root is not the pinned Intel SGX Root CA");
  ENCLOS_TRY(verify__cert_sig(s->c, root, root));
  ENCLOS_TRY(verify__cert_sig(s->c, ca, root));
  ENCLOS_TRY(verify__cert_sig(s->c, leaf, ca));
  ENCLOS_ENSUREF(enclos_x509_is_ca(root) && enclos_x509_is_ca(ca) && !enclos_x509_is_ca(leaf),
                 ENCLOS_E_VERIFY, "PCK chain basic constraints are wrong");
  ENCLOS_TRY(check_cn(leaf, "Intel SGX PCK Certificate", NULL, "PCK certificate"));
  ENCLOS_TRY(check_cn(ca, "Intel SGX PCK Processor CA", "Intel SGX PCK Platform CA", "PCK CA"));
  ENCLOS_TRY(check_p256(leaf, "PCK"));
  ENCLOS_TRY(check_p256(ca, "PCK CA"));
  ENCLOS_TRY(cert_valid_at(root, s->at, "Intel root", s));
  ENCLOS_TRY(cert_valid_at(ca, s->at, "PCK CA", s));
  ENCLOS_TRY(cert_valid_at(leaf, s->at, "PCK certificate", s));
  s->root = root;
  return ENCLOS_OK;
}

static enclos_err check_qe_signature(ictx *s) {
  enclos_pkey *k = NULL;
  ENCLOS_TRY(enclos_x509_pubkey(s->chain[0], &k));
  enclos_err rc = enclos_pkey_verify(k, ENCLOS_SHA256, s->q->qe_report_raw, 384, s->q->qe_report_sig,
                                     64, ENCLOS_SIG_RAW);
  enclos_pkey_free(k);
  if (rc != ENCLOS_OK) ENCLOS_FAILF(ENCLOS_E_VERIFY, "QE report signature by the PCK key is invalid");
  return ENCLOS_OK;
}

static enclos_err check_pck_ext(ictx *s) {
  const uint8_t *v;
  size_t n;
  bool crit;
  ENCLOS_TRY(enclos_x509_extension(s->chain[0], SGX_EXT_OID, &v, &n, &crit));
  return enclos_pck_ext_parse(v, n, &s->r->pck);
}

static enclos_err crl_fresh(ictx *s, const enclos_x509_crl *crl, const char *what) {
  int64_t tu, nu;
  ENCLOS_TRY(enclos_x509_crl_times(crl, &tu, &nu));
  if (s->p->relax_crl_freshness) return ENCLOS_OK;
  char a[21], b[21];
  enclos_time_format(tu, a);
  enclos_time_format(nu, b);
  ENCLOS_ENSUREF(tu <= s->at, ENCLOS_E_EXPIRED, "%s not yet valid (thisUpdate %s)", what, a);
  ENCLOS_ENSUREF(nu == INT64_MAX || s->at <= nu + s->p->grace_seconds, ENCLOS_E_EXPIRED,
                 "%s expired (thisUpdate %s, nextUpdate %s)", what, a, b);
  verify__window(s->r, tu, nu);
  return ENCLOS_OK;
}

/* Finds a CRL issued by \p issuer (name match and signature); prefers one fresh at s->at.
 * *bad_sig is set when a CRL names this issuer but its signature does not verify. */
static const enclos_x509_crl *find_crl(ictx *s, const enclos_x509 *issuer, bool *bad_sig) {
  const enclos_x509_crl *best = NULL;
  for (size_t i = 0; i < s->c->n_crls; i++) {
    const enclos_x509_crl *crl = s->c->crls[i];
    if (!enclos_x509_crl_issued_by(crl, issuer)) continue;
    if (enclos_x509_crl_check_signature(crl, issuer) != ENCLOS_OK) {
      *bad_sig = true;
      continue;
    }
    int64_t tu, nu;
    if (enclos_x509_crl_times(crl, &tu, &nu) != ENCLOS_OK) continue;
    if (best == NULL || (tu <= s->at && s->at <= nu)) best = crl;
  }
  enclos_err_clear();
  return best;
}

static enclos_err check_crls(ictx *s) {
  bool bad_sig = false;
  const enclos_x509_crl *root_crl = find_crl(s, s->chain[2], &bad_sig);
  const enclos_x509_crl *pck_crl = find_crl(s, s->chain[1], &bad_sig);
  if (root_crl == NULL || pck_crl == NULL) {
    ENCLOS_ENSUREF(!bad_sig, ENCLOS_E_VERIFY, "a CRL for this chain has an invalid signature");
    ENCLOS_ENSUREF(s->p->allow_missing_crls, ENCLOS_E_NOT_FOUND, "collateral missing: %s CRL",
                   root_crl == NULL ? "Intel root" : "PCK CA");
  }
  s->root_crl = root_crl;
  if (root_crl != NULL) {
    ENCLOS_TRY(crl_fresh(s, root_crl, "root CA CRL"));
    ENCLOS_ENSUREF(!enclos_x509_crl_lists(root_crl, s->chain[1]), ENCLOS_E_REVOKED,
                   "PCK CA certificate is revoked by the root CA CRL");
  }
  if (pck_crl != NULL) {
    ENCLOS_TRY(crl_fresh(s, pck_crl, "PCK CRL"));
    ENCLOS_ENSUREF(!enclos_x509_crl_lists(pck_crl, s->chain[0]), ENCLOS_E_REVOKED,
                   "PCK certificate is revoked by the PCK CRL");
  }
  return ENCLOS_OK;
}

/* ---- Signed JSON (TCB Info, QE Identity) ---- */

static enclos_err json_time(json_t *o, const char *key, int64_t *out) {
  const char *v = json_string_value(json_object_get(o, key));
  ENCLOS_ENSUREF(v != NULL, ENCLOS_E_MALFORMED, "JSON lacks %s", key);
  return enclos_time_parse(v, out);
}

/* Verifies \p d's signature with a TCB Signing certificate from the collateral that chains to the
 * pinned root and is valid at s->at (either issue of the certificate works when valid). */
static enclos_err check_doc_signature(ictx *s, const verify_doc *d) {
  enclos_err last = ENCLOS_E_NOT_FOUND;
  bool found = false;
  for (size_t i = 0; i < s->c->n_certs; i++) {
    const enclos_x509 *x = s->c->certs[i];
    if (is_pinned_root(x) || enclos_x509_is_ca(x)) continue;
    if (verify__cert_sig(s->c, x, s->root) != ENCLOS_OK) continue;
    enclos_buf cn = ENCLOS_BUF_INIT;
    bool tcb_signer = enclos_x509_subject_attr(x, "CN", &cn) == ENCLOS_OK && cn.len >= 21 &&
                      memcmp(cn.data, "Intel SGX TCB Signing", 21) == 0;
    enclos_buf_free(&cn);
    if (!tcb_signer) continue;
    found = true;
    int64_t nb, na;
    if (enclos_x509_validity(x, &nb, &na) != ENCLOS_OK || nb > s->at || s->at > na) {
      if (last != ENCLOS_E_REVOKED) last = ENCLOS_E_EXPIRED;
      continue;
    }
    /* §3.4 step 6/8: the root CA CRL also covers the TCB Signing certificate (Intel PCS: the
     * root CRL lists revoked certificates the root issued, intermediates and TCB signer alike). */
    if (s->root_crl != NULL && enclos_x509_crl_lists(s->root_crl, x)) {
      last = ENCLOS_E_REVOKED;
      continue;
    }
    enclos_err rc = verify__doc_sig(s->c, x, d->body.data, d->body.len, d->sig);
    if (rc == ENCLOS_OK) {
      verify__window(s->r, nb, na);
      enclos_err_clear();
      return ENCLOS_OK;
    }
    last = ENCLOS_E_VERIFY;
  }
  const char *what = d->is_tcb ? "TCB Info" : "QE Identity";
  ENCLOS_ENSUREF(found, ENCLOS_E_NOT_FOUND, "collateral missing: no TCB Signing certificate chaining "
                 "to the Intel root for the %s", what);
  ENCLOS_ENSUREF(last != ENCLOS_E_REVOKED, ENCLOS_E_REVOKED,
                 "the TCB Signing certificate for the %s is revoked by the root CA CRL", what);
  ENCLOS_ENSUREF(last != ENCLOS_E_EXPIRED, ENCLOS_E_EXPIRED,
                 "no TCB Signing certificate valid at the verification time for the %s", what);
  ENCLOS_FAILF(ENCLOS_E_VERIFY, "%s signature is invalid", what);
}

static enclos_err doc_time(ictx *s, json_t *o, const char *what) {
  int64_t iss, next;
  ENCLOS_TRY(json_time(o, "issueDate", &iss));
  ENCLOS_TRY(json_time(o, "nextUpdate", &next));
  char a[21], b[21];
  enclos_time_format(iss, a);
  enclos_time_format(next, b);
  ENCLOS_ENSUREF(iss <= s->at && s->at <= next + s->p->grace_seconds, ENCLOS_E_EXPIRED,
                 "%s valid %s .. %s, not at the verification time", what, a, b);
  verify__window(s->r, iss, next);
  return ENCLOS_OK;
}

static bool hex_eq(const char *hex, const uint8_t *bin, size_t n) {
  if (hex == NULL || strlen(hex) != 2 * n) return false;
  uint8_t tmp[64];
  if (n > sizeof tmp || enclos_hex_decode_to(tmp, n, hex, 2 * n) != ENCLOS_OK) {
    enclos_err_clear();
    return false;
  }
  return memcmp(tmp, bin, n) == 0;
}

/* Picks the document of the right kind/id (and FMSPC/PCE-ID for TCB Info) that verifies; the
 * error of the best candidate is reported when none does. */
static enclos_err find_doc(ictx *s, bool tcb, const char *id, json_t **out) {
  enclos_err last = ENCLOS_E_NOT_FOUND;
  char detail[200] = "";
  for (size_t i = 0; i < s->c->n_docs; i++) {
    const verify_doc *d = &s->c->docs[i];
    if (d->is_tcb != tcb) continue;
    const char *did = json_string_value(json_object_get(d->json, "id"));
    if (did == NULL) {
      /* TCB Info v2 has no id: SGX only. */
      if (!tcb || strcmp(id, "SGX") != 0) continue;
    } else if (strcmp(did, id) != 0) {
      continue;
    }
    /* Versions this verifier understands (Intel PCS v4 API): TCB Info 3 (2 for SGX only, no id),
     * QE Identity 2; tcbType 0 is the only defined TCB type. */
    json_t *ver = json_object_get(d->json, "version");
    json_int_t vv = json_is_integer(ver) ? json_integer_value(ver) : -1;
    bool ver_ok = tcb ? (vv == 3 || (vv == 2 && !s->tdx)) : vv == 2;
    json_t *tt = json_object_get(d->json, "tcbType");
    if (tcb && tt != NULL && !(json_is_integer(tt) && json_integer_value(tt) == 0)) ver_ok = false;
    if (!ver_ok) {
      if (last == ENCLOS_E_NOT_FOUND) {
        last = ENCLOS_E_UNSUPPORTED;
        snprintf(detail, sizeof detail, "%s version %lld / tcbType not supported",
                 tcb ? "TCB Info" : "QE Identity", (long long)vv);
      }
      continue;
    }
    if (tcb && (!hex_eq(json_string_value(json_object_get(d->json, "fmspc")), s->r->pck.fmspc, 6) ||
                !hex_eq(json_string_value(json_object_get(d->json, "pceId")), s->r->pck.pceid, 2)))
      continue;
    enclos_err rc = check_doc_signature(s, d);
    if (rc == ENCLOS_OK) rc = doc_time(s, d->json, tcb ? "TCB Info" : "QE Identity");
    if (rc == ENCLOS_OK) {
      *out = d->json;
      return ENCLOS_OK;
    }
    if (last == ENCLOS_E_NOT_FOUND || rc == ENCLOS_E_EXPIRED) {
      last = rc;
      snprintf(detail, sizeof detail, "%s", enclos_err_detail());
    }
  }
  if (last == ENCLOS_E_NOT_FOUND) {
    char fm[13];
    enclos_hex_encode_to(fm, s->r->pck.fmspc, 6);
    ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "collateral missing: %s with id %s%s%s",
                 tcb ? "TCB Info" : "QE Identity", id, tcb ? " for FMSPC " : "", tcb ? fm : "");
  }
  ENCLOS_FAILF(last, "%s", detail);
}

static enclos_err level_status(json_t *lvl, enclos_tcb_status *st) {
  return enclos_tcb_status_parse(json_string_value(json_object_get(lvl, "tcbStatus")), st);
}

static void add_advisories(enclos_hw_result *r, json_t *lvl) {
  json_t *a = json_object_get(lvl, "advisoryIDs");
  if (!json_is_array(a)) return;
  for (size_t i = 0; i < json_array_size(a) && i < ADVISORIES_MAX_PER_LEVEL; i++) {
    const char *id = json_string_value(json_array_get(a, i));
    if (id == NULL || strlen(id) >= sizeof r->advisories[0]) continue;
    bool dup = false;
    for (size_t j = 0; j < r->advisory_count; j++) dup |= strcmp(r->advisories[j], id) == 0;
    if (!dup && r->advisory_count < ENCLOS_HW_MAX_ADVISORIES)
      snprintf(r->advisories[r->advisory_count++], sizeof r->advisories[0], "%s", id);
  }
}

/* First level of an isvsvn-keyed tcbLevels list with tcb.isvsvn <= svn. */
static enclos_err isvsvn_level(json_t *levels, unsigned svn, json_t **out) {
  ENCLOS_ENSUREF(json_is_array(levels) && json_array_size(levels) <= TCB_LEVELS_MAX, ENCLOS_E_MALFORMED,
                 "tcbLevels missing or longer than %d", TCB_LEVELS_MAX);
  for (size_t i = 0; i < json_array_size(levels); i++) {
    json_t *l = json_array_get(levels, i);
    json_t *v = json_object_get(json_object_get(l, "tcb"), "isvsvn");
    ENCLOS_ENSUREF(json_is_integer(v), ENCLOS_E_MALFORMED, "tcbLevels[%zu] lacks tcb.isvsvn", i);
    if (json_integer_value(v) <= (json_int_t)svn) {
      *out = l;
      return ENCLOS_OK;
    }
  }
  ENCLOS_FAILF(ENCLOS_E_VERIFY, "TCB not supported: no level for ISVSVN %u", svn);
}

static enclos_err masked_eq(const char *val_hex, const char *mask_hex, const uint8_t *actual,
                            size_t n, const char *what) {
  uint8_t v[32], m[32];
  ENCLOS_ENSUREF(n <= 32 && val_hex != NULL && mask_hex != NULL && strlen(val_hex) == 2 * n &&
                     strlen(mask_hex) == 2 * n,
                 ENCLOS_E_MALFORMED, "%s / mask: want %zu hex digits", what, 2 * n);
  ENCLOS_TRY(enclos_hex_decode_to(v, n, val_hex, 2 * n));
  ENCLOS_TRY(enclos_hex_decode_to(m, n, mask_hex, 2 * n));
  for (size_t i = 0; i < n; i++)
    ENCLOS_ENSUREF((actual[i] & m[i]) == (v[i] & m[i]), ENCLOS_E_VERIFY, "%s mismatch under mask", what);
  return ENCLOS_OK;
}

static enclos_err check_qe_identity(ictx *s, json_t *qi) {
  const enclos_sgx_report *qe = &s->q->qe_report;
  ENCLOS_ENSUREF(hex_eq(json_string_value(json_object_get(qi, "mrsigner")), qe->mrsigner, 32),
                 ENCLOS_E_VERIFY, "QE MRSIGNER differs from the QE Identity");
  json_t *pid = json_object_get(qi, "isvprodid");
  ENCLOS_ENSUREF(json_is_integer(pid) && json_integer_value(pid) == qe->isv_prod_id, ENCLOS_E_VERIFY,
                 "QE ISVPRODID %u differs from the QE Identity", qe->isv_prod_id);
  uint8_t misc[4] = {(uint8_t)(qe->miscselect >> 24), (uint8_t)(qe->miscselect >> 16),
                     (uint8_t)(qe->miscselect >> 8), (uint8_t)qe->miscselect};
  /* Intel PCS prints MISCSELECT as a big-endian 32-bit hex number. */
  ENCLOS_TRY(masked_eq(json_string_value(json_object_get(qi, "miscselect")),
                       json_string_value(json_object_get(qi, "miscselectMask")), misc, 4,
                       "QE MISCSELECT"));
  ENCLOS_TRY(masked_eq(json_string_value(json_object_get(qi, "attributes")),
                       json_string_value(json_object_get(qi, "attributesMask")), qe->attributes, 16,
                       "QE ATTRIBUTES"));
  json_t *lvl;
  ENCLOS_TRY(isvsvn_level(json_object_get(qi, "tcbLevels"), qe->isv_svn, &lvl));
  ENCLOS_TRY(level_status(lvl, &s->r->qe_status));
  add_advisories(s->r, lvl);
  return ENCLOS_OK;
}

static enclos_err comp_ok(json_t *arr, const uint8_t *svn, int from, bool *ok, const char *what) {
  ENCLOS_ENSUREF(json_is_array(arr) && json_array_size(arr) == 16, ENCLOS_E_MALFORMED,
                 "%s: want 16 components", what);
  for (int i = from; i < 16; i++) {
    json_t *v = json_object_get(json_array_get(arr, (size_t)i), "svn");
    ENCLOS_ENSUREF(json_is_integer(v), ENCLOS_E_MALFORMED, "%s[%d] lacks svn", what, i);
    if (svn[i] < json_integer_value(v)) *ok = false;
  }
  return ENCLOS_OK;
}

/* §3.4 step 10: the first level (Intel order, highest first) all of whose components are met. */
static enclos_err platform_level(ictx *s, json_t *ti, json_t **out) {
  json_t *levels = json_object_get(ti, "tcbLevels");
  ENCLOS_ENSUREF(json_is_array(levels) && json_array_size(levels) <= TCB_LEVELS_MAX, ENCLOS_E_MALFORMED,
                 "TCB Info tcbLevels missing or longer than %d", TCB_LEVELS_MAX);
  json_t *ver = json_object_get(ti, "version");
  bool v2 = json_is_integer(ver) && json_integer_value(ver) == 2;
  const uint8_t *tee = s->q->td.tee_tcb_svn;
  for (size_t i = 0; i < json_array_size(levels); i++) {
    json_t *tcb = json_object_get(json_array_get(levels, i), "tcb");
    ENCLOS_ENSUREF(json_is_object(tcb), ENCLOS_E_MALFORMED, "tcbLevels[%zu] lacks tcb", i);
    bool ok = true;
    if (v2) {
      for (int k = 0; k < 16; k++) {
        char key[24];
        snprintf(key, sizeof key, "sgxtcbcomp%02dsvn", k + 1);
        json_t *v = json_object_get(tcb, key);
        ENCLOS_ENSUREF(json_is_integer(v), ENCLOS_E_MALFORMED, "tcbLevels[%zu] lacks %s", i, key);
        if (s->r->pck.comp_svn[k] < json_integer_value(v)) ok = false;
      }
    } else {
      ENCLOS_TRY(comp_ok(json_object_get(tcb, "sgxtcbcomponents"), s->r->pck.comp_svn, 0, &ok,
                         "sgxtcbcomponents"));
    }
    json_t *pce = json_object_get(tcb, "pcesvn");
    ENCLOS_ENSUREF(json_is_integer(pce), ENCLOS_E_MALFORMED, "tcbLevels[%zu] lacks pcesvn", i);
    if (s->r->pck.pcesvn < json_integer_value(pce)) ok = false;
    if (s->tdx)
      ENCLOS_TRY(comp_ok(json_object_get(tcb, "tdxtcbcomponents"), tee, tee[1] > 0 ? 2 : 0, &ok,
                         "tdxtcbcomponents"));
    if (ok) {
      *out = json_array_get(levels, i);
      return ENCLOS_OK;
    }
  }
  ENCLOS_FAILF(ENCLOS_E_VERIFY, "TCB not supported: no TCB level matches the platform (PCESVN %u)",
               s->r->pck.pcesvn);
}

/* §3.4 step 11: TDX module identity and status. */
static enclos_err check_tdx_module(ictx *s, json_t *ti) {
  const enclos_td_report *td = &s->q->td;
  json_t *ident = NULL;
  if (td->tee_tcb_svn[1] > 0) {
    char id[16];
    snprintf(id, sizeof id, "TDX_%02X", td->tee_tcb_svn[1]);
    json_t *ids = json_object_get(ti, "tdxModuleIdentities");
    for (size_t i = 0; json_is_array(ids) && i < json_array_size(ids) && i < TCB_LEVELS_MAX; i++) {
      const char *x = json_string_value(json_object_get(json_array_get(ids, i), "id"));
      if (x != NULL && strcasecmp(x, id) == 0) ident = json_array_get(ids, i);
    }
    ENCLOS_ENSUREF(ident != NULL, ENCLOS_E_VERIFY, "TCB not supported: no TDX module identity %s", id);
  } else {
    ident = json_object_get(ti, "tdxModule");
    ENCLOS_ENSUREF(json_is_object(ident), ENCLOS_E_MALFORMED, "TDX TCB Info lacks tdxModule");
  }
  ENCLOS_ENSUREF(hex_eq(json_string_value(json_object_get(ident, "mrsigner")), td->mrsignerseam, 48),
                 ENCLOS_E_VERIFY, "MRSIGNERSEAM differs from the TDX module identity");
  uint8_t sa[8];
  for (int i = 0; i < 8; i++) sa[i] = (uint8_t)(td->seam_attributes >> (8 * i));
  ENCLOS_TRY(masked_eq(json_string_value(json_object_get(ident, "attributes")),
                       json_string_value(json_object_get(ident, "attributesMask")), sa, 8,
                       "SEAMATTRIBUTES"));
  if (td->tee_tcb_svn[1] > 0) {
    json_t *lvl;
    ENCLOS_TRY(isvsvn_level(json_object_get(ident, "tcbLevels"), td->tee_tcb_svn[0], &lvl));
    ENCLOS_TRY(level_status(lvl, &s->r->module_status));
    add_advisories(s->r, lvl);
  }
  return ENCLOS_OK;
}

/* §3.4 step 12 (QVL convergence). */
static enclos_tcb_status converge(enclos_tcb_status plat, enclos_tcb_status qe, enclos_tcb_status mod) {
  if (plat == ENCLOS_TCB_REVOKED || qe == ENCLOS_TCB_REVOKED || mod == ENCLOS_TCB_REVOKED)
    return ENCLOS_TCB_REVOKED;
  if (qe == ENCLOS_TCB_OUT_OF_DATE || mod == ENCLOS_TCB_OUT_OF_DATE) {
    if (plat == ENCLOS_TCB_UP_TO_DATE || plat == ENCLOS_TCB_SW_HARDENING_NEEDED)
      return ENCLOS_TCB_OUT_OF_DATE;
    if (plat == ENCLOS_TCB_CONFIGURATION_NEEDED ||
        plat == ENCLOS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
      return ENCLOS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
  }
  return plat;
}

static bool status_accepted(const enclos_hw_policy *p, enclos_tcb_status st) {
  for (size_t i = 0; i < p->accepted_count && i < ENCLOS_HW_POLICY_MAX_STATUSES; i++)
    if (p->accepted[i] == st) return true;
  return false;
}

static bool all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

static enclos_err check_policy(ictx *s) {
  const enclos_hw_policy *p = s->p;
  const enclos_intel_quote *q = s->q;
  enclos_hw_result *r = s->r;
  ENCLOS_ENSUREF(status_accepted(p, r->tcb_status), ENCLOS_E_POLICY, "TCB status %s not accepted",
                 enclos_tcb_status_name(r->tcb_status));
  if (!s->tdx) {
    ENCLOS_ENSUREF(!r->debug || p->allow_debug, ENCLOS_E_POLICY, "SGX enclave is in DEBUG mode");
    ENCLOS_ENSUREF(!p->has_mrenclave || memcmp(p->mrenclave, q->enclave.mrenclave, 32) == 0,
                   ENCLOS_E_POLICY, "MRENCLAVE differs from the expected value");
    ENCLOS_ENSUREF(!p->has_mrsigner || memcmp(p->mrsigner, q->enclave.mrsigner, 32) == 0,
                   ENCLOS_E_POLICY, "MRSIGNER differs from the expected value");
    ENCLOS_ENSUREF(!p->has_isvprodid || p->isvprodid == q->enclave.isv_prod_id, ENCLOS_E_POLICY,
                   "ISVPRODID %u differs from the expected %u", q->enclave.isv_prod_id, p->isvprodid);
    ENCLOS_ENSUREF(q->enclave.isv_svn >= p->min_isvsvn, ENCLOS_E_POLICY, "ISVSVN %u below minimum %u",
                   q->enclave.isv_svn, p->min_isvsvn);
  } else {
    ENCLOS_ENSUREF(!r->debug || p->allow_debug, ENCLOS_E_POLICY, "TD is in DEBUG mode (TDATTRIBUTES bit 0)");
    ENCLOS_ENSUREF((q->td.td_attributes & 0xfe) == 0, ENCLOS_E_POLICY,
                   "TDATTRIBUTES reserved TUD bits set");
    ENCLOS_ENSUREF(!p->require_sept_ve_disable || (q->td.td_attributes >> 28 & 1), ENCLOS_E_POLICY,
                   "SEPT_VE_DISABLE is clear");
    ENCLOS_ENSUREF(!q->td.tdx15 || p->allow_mrservicetd || all_zero(q->td.mrservicetd, 48),
                   ENCLOS_E_POLICY, "MRSERVICETD is not zero");
    ENCLOS_ENSUREF(!p->has_mrtd || memcmp(p->mrtd, q->td.mrtd, 48) == 0, ENCLOS_E_POLICY,
                   "MRTD differs from the expected value");
    for (int i = 0; i < 4; i++)
      ENCLOS_ENSUREF(!p->has_rtmr[i] || memcmp(p->rtmr[i], q->td.rtmr[i], 48) == 0, ENCLOS_E_POLICY,
                     "RTMR%d differs from the expected value", i);
  }
  ENCLOS_ENSUREF(!p->has_report_data || memcmp(p->report_data, r->report_data, 64) == 0,
                 ENCLOS_E_POLICY, "REPORTDATA differs from the expected value");
  return ENCLOS_OK;
}

static enclos_err run(ictx *s, const uint8_t *data, size_t size) {
  enclos_hw_result *r = s->r;
  enclos_intel_quote *q = &r->quote;
  VERIFY_CHECK("parse", enclos_intel_quote_parse(data, size, q));
  s->q = q;
  s->tdx = q->body_type != 1;
  r->tee = s->tdx ? ENCLOS_HW_TDX : ENCLOS_HW_SGX;
  if (s->tdx) {
    memcpy(r->report_data, q->td.report_data, 64);
    r->debug = (q->td.td_attributes & 1) != 0;
  } else {
    memcpy(r->report_data, q->enclave.report_data, 64);
    r->debug = (q->enclave.attributes[0] & 2) != 0;
  }
  VERIFY_CHECK("header", memcmp(q->qe_vendor_id, intel_qe_vendor, 16) == 0
                             ? ENCLOS_OK
                             : enclos_err_set(ENCLOS_E_VERIFY, __FILE__, __LINE__, "QE vendor is not Intel"));
  VERIFY_CHECK("quote_signature", check_quote_signature(s));
  VERIFY_CHECK("qe_report_binding", check_qe_binding(s));
  VERIFY_CHECK("pck_chain", check_pck_chain(s));
  VERIFY_CHECK("qe_report_signature", check_qe_signature(s));
  VERIFY_CHECK("pck_extensions", check_pck_ext(s));
  VERIFY_CHECK("crls", check_crls(s));
  json_t *ti, *qi;
  VERIFY_CHECK("tcb_info", find_doc(s, true, s->tdx ? "TDX" : "SGX", &ti));
  VERIFY_CHECK("qe_identity", find_doc(s, false, s->tdx ? "TD_QE" : "QE", &qi));
  VERIFY_CHECK("qe_identity_match", check_qe_identity(s, qi));
  json_t *lvl;
  VERIFY_CHECK("tcb_level", platform_level(s, ti, &lvl));
  VERIFY_CHECK("tcb_status", level_status(lvl, &r->platform_status));
  add_advisories(r, lvl);
  if (s->tdx) VERIFY_CHECK("tdx_module", check_tdx_module(s, ti));
  r->tcb_status = converge(r->platform_status, r->qe_status, r->module_status);
  r->verified = true;
  VERIFY_CHECK("policy", check_policy(s));
  r->accepted = true;
  return ENCLOS_OK;
}

enclos_err verify__intel(const uint8_t *data, size_t size, const enclos_hw_collateral *c, int64_t at,
                         const enclos_hw_policy *p, enclos_hw_result *r) {
  ictx s = {.c = c, .at = at, .p = p, .r = r};
  enclos_err rc = run(&s, data, size);
  enclos_x509_list_free(s.chain, s.n_chain);
  return rc;
}
