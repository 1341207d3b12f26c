/* verify.c: the RA-TLS client verifier (docs/attestation.md §7).
 *
 * 1. Hardware evidence (SGX/TDX/SNP through src/verify with the caller's collateral)
 * 2. sim evidence
 * 3. Evidence formats and key binding (ours, Intel/Gramine DICE, Gramine legacy, Open Enclave)
 * 4. Chains and fresh evidence
 */
#include <stdio.h>
#include <string.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/time.h>

#include "ratls_int.h"

/* 1. Hardware evidence ---------------------------------------------------------------- */

/* What verified evidence says, whatever produced it. */
typedef struct raw_result {
  uint8_t report_data[64];
  uint8_t measurement[ENCLOS_MEASUREMENT_MAX];
  size_t measurement_size;
  char tcb_status[ENCLOS_TCB_STATUS_MAX];
} raw_result;

/* SGX quote, TDX quote or SNP report, checked by src/verify against the caller's collateral (or
 * collateral fetched for it) at \p now with the policy's hardware settings. */
static enclos_err verify_hw(enclos_tee_kind kind, const uint8_t *ev, size_t n, const enclos_verify_opts *opts,
                            int64_t now, raw_result *out) {
  const char *name = enclos_tee_kind_name(kind);
  const enclos_hw_collateral *coll = opts->collateral;
  enclos_hw_collateral *fetched = NULL;
  enclos_hw_result *hr = NULL;
  enclos_err rc = ENCLOS_OK;
  if (coll == NULL) {
    ENCLOS_ENSUREF(opts->fetch != NULL, ENCLOS_E_NOT_FOUND,
                   "collateral missing: %s evidence is verified against collateral (give a collateral "
                   "directory or allow fetching it)", name);
    ENCLOS_TRY(enclos_hw_collateral_new(&fetched));
    ENCLOS_GUARD(enclos_hw_collateral_fetch(fetched, ev, n, opts->fetch));
    coll = fetched;
  }
  /* The result holds the parsed quote and report (a few KiB): kept off the stack. */
  hr = enclos_malloc(sizeof(*hr));
  ENCLOS_GUARD_ENSUREF(hr != NULL, ENCLOS_E_NOMEM, "hardware result");
  /* Without a policy (enclos_verify_evidence used alone) the hardware verifier's strict default. */
  rc = enclos_hw_verify(ev, n, coll, now, opts->policy ? ratls__policy_hw(opts->policy) : NULL, hr);
  if (rc != ENCLOS_OK) {
    char why[sizeof(hr->reason)];
    snprintf(why, sizeof(why), "%s", hr->reason[0] ? hr->reason : enclos_err_detail());
    ENCLOS_GUARD_FAILF(rc, "%s evidence refused by the hardware verifier at check '%s': %s", name,
                       hr->failed_check ? hr->failed_check : "?", why);
  }
  enclos_hw_tee want = kind == ENCLOS_TEE_SGX ? ENCLOS_HW_SGX : kind == ENCLOS_TEE_TDX ? ENCLOS_HW_TDX : ENCLOS_HW_SNP;
  ENCLOS_GUARD_ENSUREF(hr->tee == want, ENCLOS_E_VERIFY, "evidence labelled %s is not %s evidence", name, name);
  memcpy(out->report_data, hr->report_data, 64);
  if (hr->tee == ENCLOS_HW_SGX) {
    memcpy(out->measurement, hr->quote.enclave.mrenclave, 32);
    out->measurement_size = 32;
  } else if (hr->tee == ENCLOS_HW_TDX) {
    memcpy(out->measurement, hr->quote.td.mrtd, 48);
    out->measurement_size = 48;
  } else {
    memcpy(out->measurement, hr->snp.measurement, 48);
    out->measurement_size = 48;
  }
  /* Intel status names; SNP has no status (empty). */
  if (hr->tee != ENCLOS_HW_SNP)
    snprintf(out->tcb_status, sizeof(out->tcb_status), "%s", enclos_tcb_status_name(hr->tcb_status));
cleanup:
  enclos_free(hr);
  enclos_hw_collateral_free(fetched);
  return rc;
}

const char *enclos_evidence_format_name(enclos_evidence_format f) {
  switch (f) {
    case ENCLOS_FMT_ENCLOS_TYPED: return "enclos typed evidence (2.23.133.5.4.9, tag 60001)";
    case ENCLOS_FMT_INTEL_DICE: return "TCG DICE tagged evidence (2.23.133.5.4.9, tag 60000)";
    case ENCLOS_FMT_GRAMINE_LEGACY: return "Gramine legacy RA-TLS (1.2.840.113741.1337.6)";
    case ENCLOS_FMT_OPEN_ENCLAVE: return "Open Enclave (1.3.6.1.4.1.311.105.x)";
    case ENCLOS_FMT_NONE: break;
  }
  return "none";
}

/* 2. sim evidence -------------------------------------------------------------------- */

static enclos_err verify_sim(const uint8_t *ev, size_t n, const uint8_t *end, size_t end_size,
                             const enclos_verify_opts *opts, raw_result *out) {
  enclos_sim_evidence se;
  ENCLOS_TRY(enclos_sim_evidence_parse(ev, n, &se));
  enclos_err rc = ENCLOS_OK;
  enclos_x509 *root = NULL;
  enclos_pkey *pk = NULL;
  enclos_buf spki = ENCLOS_BUF_INIT;
  uint8_t kid[32];
  ENCLOS_GUARD_ENSUREF(end_size > 0, ENCLOS_E_VERIFY, "sim evidence comes without its platform root certificate");
  rc = enclos_x509_from_der(end, end_size, &root);
  ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_VERIFY, "sim platform root certificate does not parse");
  if (opts->n_sim_roots) {
    bool known = false;
    const uint8_t *d;
    size_t ds;
    for (size_t i = 0; i < opts->n_sim_roots; i++) {
      enclos_x509_der(opts->sim_roots[i], &d, &ds);
      known |= ds == end_size && memcmp(d, end, ds) == 0;
    }
    ENCLOS_GUARD_ENSUREF(known, ENCLOS_E_VERIFY, "sim platform root is not one of the trusted sim roots");
  }
  rc = enclos_x509_check_signature(root, root);
  ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_VERIFY, "sim platform root certificate is not validly self-signed");
  ENCLOS_GUARD(enclos_x509_spki(root, &spki));
  ENCLOS_GUARD(enclos_hash(ENCLOS_SHA256, spki.data, spki.len, kid));
  ENCLOS_GUARD_ENSUREF(memcmp(kid, se.key_id, 32) == 0, ENCLOS_E_VERIFY,
                       "sim evidence names platform key id that is not the enclosed root's key");
  ENCLOS_GUARD(enclos_x509_pubkey(root, &pk));
  rc = enclos_pkey_verify(pk, ENCLOS_SHA384, se.signed_part, se.signed_size, se.sig, se.sig_size, ENCLOS_SIG_DER);
  ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_VERIFY, "sim evidence signature does not verify with the platform key");
  memcpy(out->report_data, se.report_data, 64);
  memcpy(out->measurement, se.measurement, ENCLOS_SIM_MEASUREMENT_SIZE);
  out->measurement_size = ENCLOS_SIM_MEASUREMENT_SIZE;
  out->tcb_status[0] = '\0';
cleanup:
  enclos_x509_free(root);
  enclos_pkey_free(pk);
  enclos_buf_free(&spki);
  return rc;
}

static enclos_err verify_raw(enclos_tee_kind kind, const uint8_t *ev, size_t n, const uint8_t *end,
                             size_t end_size, const enclos_verify_opts *opts, int64_t now, raw_result *out) {
  memset(out, 0, sizeof(*out));
  if (kind == ENCLOS_TEE_SIM) return verify_sim(ev, n, end, end_size, opts, out);
  ENCLOS_ENSUREF(kind == ENCLOS_TEE_SGX || kind == ENCLOS_TEE_TDX || kind == ENCLOS_TEE_SNP, ENCLOS_E_UNSUPPORTED,
                 "no verifier for %s evidence", enclos_tee_kind_name(kind));
  /* SNP endorsements in the typed record are not used: the VCEK/VLEK comes from the collateral
   * (docs/attestation.md §5), so a producer cannot choose the key its report is checked with. */
  return verify_hw(kind, ev, n, opts, now, out);
}

/* Copies what the evidence says into the result (before the binding is checked, so that a caller
 * can see that the evidence itself verified when the binding does not). */
static void take(enclos_verify_result *out, const raw_result *hw) {
  memcpy(out->measurement, hw->measurement, sizeof(hw->measurement));
  out->measurement_size = hw->measurement_size;
  memcpy(out->tcb_status, hw->tcb_status, sizeof(hw->tcb_status));
  memcpy(out->report_data, hw->report_data, 64);
  out->hw_verified = out->tee != ENCLOS_TEE_SIM;
}

/* 3. Formats and key binding --------------------------------------------------------- */

static enclos_err check_pubkey(const enclos_claims *c, const uint8_t *spki, size_t spki_size) {
  uint8_t h[ENCLOS_HASH_MAX_SIZE];
  ENCLOS_TRY(enclos_hash(c->pubkey_alg, spki, spki_size, h));
  ENCLOS_ENSUREF(enclos_ct_eq(h, c->pubkey_hash, enclos_hash_size(c->pubkey_alg)), ENCLOS_E_VERIFY,
                 "evidence binds another key: claims pubkey-hash is not the hash of the certificate's key");
  return ENCLOS_OK;
}

static enclos_err verify_dice(const uint8_t *v, size_t n, const uint8_t *spki, size_t spki_size,
                              const enclos_verify_opts *opts, int64_t now, enclos_verify_result *out) {
  enclos_ratls_evidence ev;
  ENCLOS_TRY(enclos_ratls_evidence_parse(v, n, &ev));
  out->format = ev.tee == ENCLOS_TEE_SGX || ev.tee == ENCLOS_TEE_TDX ? ENCLOS_FMT_INTEL_DICE : ENCLOS_FMT_ENCLOS_TYPED;
  out->tee = ev.tee;
  ENCLOS_TRY(enclos_claims_decode(ev.claims, ev.claims_size, &out->claims));
  out->has_claims = true;
  ENCLOS_TRY(check_pubkey(&out->claims, spki, spki_size));
  raw_result hw;
  ENCLOS_TRY(verify_raw(ev.tee, ev.evidence, ev.evidence_size, ev.endorsements, ev.endorsements_size, opts, now, &hw));
  take(out, &hw);
  /* The binding: report data = H(claims) ‖ zeros, H = SHA-256, -384 or -512 (docs §3). */
  if (enclos_claims_check_report_data(ev.claims, ev.claims_size, hw.report_data, &out->rd_alg) != ENCLOS_OK) {
    char h[129];
    enclos_hex_encode_to(h, hw.report_data, 64);
    ENCLOS_FAILF(ENCLOS_E_VERIFY,
                 "report data mismatch: the %s evidence verified but its report data %s is not "
                 "SHA-256/384/512 of the claims (evidence made for other claims: another key, nonce or session)",
                 enclos_tee_kind_name(ev.tee), h);
  }
  return ENCLOS_OK;
}

/* Gramine legacy: the extension is a raw SGX quote whose report data is
 * SHA-256(SubjectPublicKeyInfo DER) ‖ 32 zero bytes (Gramine ra_tls_attest.c). */
static enclos_err verify_legacy_quote(enclos_evidence_format fmt, size_t bind, const uint8_t *q, size_t n,
                                      const uint8_t *spki,
                                      size_t spki_size, const enclos_verify_opts *opts, int64_t now,
                                      enclos_verify_result *out) {
  out->format = fmt;
  ENCLOS_TRY(ratls__quote_tee(q, n, &out->tee));
  ENCLOS_ENSUREF(out->tee == ENCLOS_TEE_SGX && n >= RATLS__SGX_RD_OFF + 64, ENCLOS_E_MALFORMED,
                 "%s: not an SGX quote of sufficient size", enclos_evidence_format_name(fmt));
  uint8_t want[64] = {0};
  ENCLOS_TRY(enclos_hash(ENCLOS_SHA256, spki, spki_size, want));
  /* The quote is verified first, then the binding is read from the verified report data. */
  raw_result hw;
  ENCLOS_TRY(verify_raw(ENCLOS_TEE_SGX, q, n, NULL, 0, opts, now, &hw));
  take(out, &hw);
  ENCLOS_ENSUREF(memcmp(hw.report_data, want, bind) == 0, ENCLOS_E_VERIFY,
                 "report data mismatch: the SGX quote verified but evidence binds another key (report data "
                 "is not SHA-256 of the certificate's key%s)", bind == 64 ? " followed by zeros" : "");
  out->rd_alg = ENCLOS_SHA256;
  return ENCLOS_OK;
}

/* Open Enclave: oe_report_header_t {u32 version = 1; u32 report_type = 2 (remote);
 * u64 report_size} followed by the SGX quote (OE include/openenclave/bits/report.h). Binding: the
 * first 32 bytes of report data = SHA-256(SPKI DER); OE leaves the rest to the producer, so only
 * those are compared (as third-party OE verifiers do). The .2 OID is read the same way; see
 * docs/attestation.md §7 for what was not checked against OE itself. */
static enclos_err verify_oe(const uint8_t *v, size_t n, const uint8_t *spki, size_t spki_size,
                            const enclos_verify_opts *opts, int64_t now, enclos_verify_result *out) {
  enclos_reader r;
  enclos_rd_init(&r, v, n);
  uint32_t ver, type;
  uint64_t size;
  ENCLOS_TRY(enclos_rd_u32le(&r, &ver));
  ENCLOS_TRY(enclos_rd_u32le(&r, &type));
  ENCLOS_TRY(enclos_rd_u64le(&r, &size));
  ENCLOS_ENSUREF(ver == 1 && type == 2, ENCLOS_E_UNSUPPORTED,
                 "Open Enclave report header version %u type %u (want 1, 2 = remote SGX)", ver, type);
  ENCLOS_ENSUREF(size == enclos_rd_remaining(&r), ENCLOS_E_MALFORMED,
                 "Open Enclave report size %llu but %zu bytes follow", (unsigned long long)size,
                 enclos_rd_remaining(&r));
  return verify_legacy_quote(ENCLOS_FMT_OPEN_ENCLAVE, 32, r.cur, (size_t)size, spki, spki_size, opts, now, out);
}

enclos_err enclos_verify_evidence(const char *oid, const uint8_t *value, size_t size, const uint8_t *spki,
                                  size_t spki_size, const enclos_verify_opts *opts, enclos_verify_result *out) {
  ENCLOS_ENSURE_REF(oid);
  ENCLOS_ENSURE_REF(opts);
  memset(out, 0, sizeof(*out));
  ENCLOS_ENSUREF(size <= ENCLOS_RATLS_MAX_EXT, ENCLOS_E_LIMIT, "evidence extension of %zu bytes", size);
  int64_t now = opts->now ? opts->now : enclos_time_now();
  if (strcmp(oid, ENCLOS_RATLS_OID_EVIDENCE) == 0) return verify_dice(value, size, spki, spki_size, opts, now, out);
  if (strcmp(oid, ENCLOS_RATLS_OID_GRAMINE_LEGACY) == 0)
    return verify_legacy_quote(ENCLOS_FMT_GRAMINE_LEGACY, 64, value, size, spki, spki_size, opts, now, out);
  if (strcmp(oid, ENCLOS_RATLS_OID_OE_REPORT) == 0 || strcmp(oid, ENCLOS_RATLS_OID_OE_EVIDENCE) == 0)
    return verify_oe(value, size, spki, spki_size, opts, now, out);
  ENCLOS_FAILF(ENCLOS_E_UNSUPPORTED, "no verifier for evidence OID %s", oid);
}

/* 4. Chains and fresh evidence ------------------------------------------------------- */

static const char *const evidence_oids[] = {ENCLOS_RATLS_OID_EVIDENCE, ENCLOS_RATLS_OID_GRAMINE_LEGACY,
                                            ENCLOS_RATLS_OID_OE_EVIDENCE, ENCLOS_RATLS_OID_OE_REPORT};

enclos_err enclos_verify_chain(enclos_x509 *const *chain, size_t n, const enclos_verify_opts *opts,
                               enclos_verify_result *out) {
  ENCLOS_ENSURE_REF(chain);
  ENCLOS_ENSURE_REF(opts);
  ENCLOS_ENSUREF(opts->policy != NULL, ENCLOS_E_INVAL, "no policy given");
  ENCLOS_ENSUREF(n >= 1 && n <= ENCLOS_X509_MAX_CHAIN, ENCLOS_E_LIMIT, "chain of %zu certificates", n);
  int64_t now = opts->now ? opts->now : enclos_time_now();
  const enclos_x509 *leaf = chain[0];
  /* Evidence OIDs are non-critical; listing them lets producers that mark them critical pass. */
  enclos_x509_verify_opts vo = {.at = now, .known_critical = evidence_oids, .known_critical_count = 4};
  if (opts->n_roots) {
    ENCLOS_TRY(enclos_x509_verify_chain(leaf, chain + 1, n - 1, opts->roots, opts->n_roots, &vo));
  } else {
    /* Zero-setup mode: the leaf stands alone and must be validly self-signed. */
    ENCLOS_ENSUREF(n == 1, ENCLOS_E_VERIFY, "no trust anchors given but the peer sent %zu certificates", n);
    enclos_err rc = enclos_x509_check_signature(leaf, leaf);
    ENCLOS_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_VERIFY, "self-signed leaf: certificate signature does not verify");
    ENCLOS_TRY(enclos_x509_verify_chain(leaf, NULL, 0, chain, 1, &vo));
  }
  const char *oid = NULL;
  const uint8_t *val = NULL;
  size_t vsize = 0;
  for (size_t i = 0; i < 4 && !oid; i++) {
    enclos_err rc = enclos_x509_extension(leaf, evidence_oids[i], &val, &vsize, NULL);
    if (rc == ENCLOS_OK) oid = evidence_oids[i];
    else if (rc != ENCLOS_E_NOT_FOUND) return rc;
  }
  enclos_err_clear();
  ENCLOS_ENSUREF(oid != NULL, ENCLOS_E_VERIFY, "certificate carries no attestation evidence extension");
  enclos_buf spki = ENCLOS_BUF_INIT;
  ENCLOS_TRY(enclos_x509_spki(leaf, &spki));
  enclos_err rc = enclos_verify_evidence(oid, val, vsize, spki.data, spki.len, opts, out);
  enclos_buf_free(&spki);
  ENCLOS_TRY(rc);
  ENCLOS_TRY(enclos_x509_validity(leaf, &out->not_before, &out->not_after));
  return enclos_policy_check(opts->policy, out, now);
}

enclos_err enclos_verify_fresh(const uint8_t *ext, size_t size, const enclos_x509 *leaf,
                               const enclos_verify_opts *opts, enclos_verify_result *out) {
  ENCLOS_ENSURE_REF(leaf);
  ENCLOS_ENSURE_REF(opts);
  ENCLOS_ENSUREF(opts->policy != NULL, ENCLOS_E_INVAL, "no policy given");
  ENCLOS_ENSUREF(opts->nonce && opts->tls_exporter, ENCLOS_E_INVAL, "fresh evidence needs a nonce and an exporter value");
  int64_t now = opts->now ? opts->now : enclos_time_now();
  enclos_buf spki = ENCLOS_BUF_INIT;
  ENCLOS_TRY(enclos_x509_spki(leaf, &spki));
  enclos_err rc = enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, ext, size, spki.data, spki.len, opts, out);
  enclos_buf_free(&spki);
  ENCLOS_TRY(rc);
  const enclos_claims *c = &out->claims;
  ENCLOS_ENSUREF(c->has_nonce && c->nonce_size == opts->nonce_size &&
                     enclos_ct_eq(c->nonce, opts->nonce, opts->nonce_size),
                 ENCLOS_E_VERIFY, "fresh evidence is for another nonce");
  ENCLOS_ENSUREF(c->has_tls_exporter && c->tls_exporter_size == opts->tls_exporter_size &&
                     enclos_ct_eq(c->tls_exporter, opts->tls_exporter, opts->tls_exporter_size),
                 ENCLOS_E_VERIFY, "fresh evidence is for another TLS session (exporter value differs)");
  ENCLOS_TRY(enclos_x509_validity(leaf, &out->not_before, &out->not_after));
  out->not_before = now; /* freshly produced: age 0 */
  /* Identity claims (app, configuration root) live in the leaf's own evidence; take those the
   * fresh claims do not repeat from there, after checking that both come from the same TEE. */
  const uint8_t *v;
  size_t vs;
  if (enclos_x509_extension(leaf, ENCLOS_RATLS_OID_EVIDENCE, &v, &vs, NULL) == ENCLOS_OK) {
    enclos_verify_result lr;
    ENCLOS_TRY(enclos_x509_spki(leaf, &spki));
    rc = enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, v, vs, spki.data, spki.len, opts, &lr);
    enclos_buf_free(&spki);
    ENCLOS_TRY(rc);
    ENCLOS_ENSUREF(lr.tee == out->tee && lr.measurement_size == out->measurement_size &&
                       memcmp(lr.measurement, out->measurement, lr.measurement_size) == 0,
                   ENCLOS_E_VERIFY, "fresh evidence comes from another TEE or measurement than the certificate's");
    if (!out->claims.has_app && lr.claims.has_app) {
      out->claims.has_app = true;
      memcpy(out->claims.app_name, lr.claims.app_name, sizeof(lr.claims.app_name));
      memcpy(out->claims.app_code_hash, lr.claims.app_code_hash, 32);
      memcpy(out->claims.app_config_root, lr.claims.app_config_root, 32);
    }
    if (!out->claims.has_config_root && lr.claims.has_config_root) {
      out->claims.has_config_root = true;
      memcpy(out->claims.config_root, lr.claims.config_root, 32);
    }
  }
  enclos_err_clear();
  return enclos_policy_check(opts->policy, out, now);
}
