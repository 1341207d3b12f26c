/* verify.c: the RA-TLS client verifier (docs/attestation.md §7).
 *
 * 1. Hardware backends (function pointers filled in by the verify module)
 * 2. sim evidence
 * 3. Evidence formats and key binding (ours, Intel/Gramine DICE, Gramine legacy, Open Enclave)
 * 4. Chains and fresh evidence
 */
#include <string.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/time.h>

#include "ratls_int.h"

/* 1. Hardware backends --------------------------------------------------------------- */

static enclos_hw_verify_fn backends[ENCLOS_TEE_SNP + 1];

enclos_err enclos_verify_register_backend(enclos_tee_kind kind, enclos_hw_verify_fn fn) {
  ENCLOS_ENSUREF(kind == ENCLOS_TEE_SGX || kind == ENCLOS_TEE_TDX || kind == ENCLOS_TEE_SNP, ENCLOS_E_INVAL,
                 "only sgx, tdx and sev-snp take hardware backends");
  backends[kind] = fn;
  return ENCLOS_OK;
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
                             const enclos_verify_opts *opts, enclos_hw_result *out) {
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
                             size_t end_size, const enclos_verify_opts *opts, int64_t now, enclos_hw_result *out) {
  memset(out, 0, sizeof(*out));
  if (kind == ENCLOS_TEE_SIM) return verify_sim(ev, n, end, end_size, opts, out);
  enclos_hw_verify_fn fn = (kind >= ENCLOS_TEE_SGX && kind <= ENCLOS_TEE_SNP) ? backends[kind] : NULL;
  ENCLOS_ENSUREF(fn != NULL, ENCLOS_E_UNSUPPORTED,
                 "hardware evidence verification not available in this build (%s evidence)",
                 enclos_tee_kind_name(kind));
  return fn(kind, ev, n, end, end_size, now, out);
}

/* 3. Formats and key binding --------------------------------------------------------- */

static enclos_err check_pubkey(const enclos_claims *c, const uint8_t *spki, size_t spki_size) {
  uint8_t h[ENCLOS_HASH_MAX_SIZE];
  ENCLOS_TRY(enclos_hash(c->pubkey_alg, spki, spki_size, h));
  ENCLOS_ENSUREF(memcmp(h, c->pubkey_hash, enclos_hash_size(c->pubkey_alg)) == 0, ENCLOS_E_VERIFY,
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
  enclos_hw_result hw;
  ENCLOS_TRY(verify_raw(ev.tee, ev.evidence, ev.evidence_size, ev.endorsements, ev.endorsements_size, opts, now, &hw));
  ENCLOS_TRY(enclos_claims_check_report_data(ev.claims, ev.claims_size, hw.report_data, &out->rd_alg));
  memcpy(out->measurement, hw.measurement, sizeof(hw.measurement));
  out->measurement_size = hw.measurement_size;
  memcpy(out->tcb_status, hw.tcb_status, sizeof(hw.tcb_status));
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
  ENCLOS_ENSUREF(memcmp(q + RATLS__SGX_RD_OFF, want, bind) == 0, ENCLOS_E_VERIFY,
                 "evidence binds another key: quote report data is not SHA-256 of the certificate's key");
  enclos_hw_result hw;
  ENCLOS_TRY(verify_raw(ENCLOS_TEE_SGX, q, n, NULL, 0, opts, now, &hw));
  ENCLOS_ENSUREF(memcmp(hw.report_data, want, bind) == 0, ENCLOS_E_VERIFY, "verified report data differs");
  out->rd_alg = ENCLOS_SHA256;
  memcpy(out->measurement, hw.measurement, sizeof(hw.measurement));
  out->measurement_size = hw.measurement_size;
  memcpy(out->tcb_status, hw.tcb_status, sizeof(hw.tcb_status));
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
