/* Every shared attestation set gives the outcome its README states at its fixed time (issue 6). */
#include "vh.h"

static enclos_err run(const char *evidence, const char *const *dirs, const char *at,
                      const enclos_hw_policy *pol, enclos_hw_result *r) {
  enclos_buf ev = vh_evidence(evidence);
  enclos_hw_collateral *c = vh_coll(dirs);
  enclos_err rc = enclos_hw_verify(ev.data, ev.len, c, vh_time(at), pol, r);
  vh_dump(r);
  enclos_hw_collateral_free(c);
  enclos_buf_free(&ev);
  return rc;
}

static void accept_all(enclos_hw_policy *p) {
  enclos_hw_policy_default(p);
  for (int i = 1; i <= 7; i++) p->accepted[i - 1] = (enclos_tcb_status)i;
  p->accepted_count = 7;
}

static bool has_adv(const enclos_hw_result *r, const char *id) {
  for (size_t i = 0; i < r->advisory_count; i++)
    if (strcmp(r->advisories[i], id) == 0) return true;
  return false;
}

TEST(sgx_phala_config_and_sw_hardening_needed) {
  static const char *const dirs[] = {ATT("sgx/phala-dcap-qvl"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  CHECK_OK(run(ATT("sgx/phala-dcap-qvl/sgx_quote"), dirs, "2025-07-01T00:00:00Z", &p, &r));
  CHECK_EQ_INT(r.tee, ENCLOS_HW_SGX);
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
  CHECK_STR(enclos_tcb_status_name(r.tcb_status), "ConfigurationAndSWHardeningNeeded");
  CHECK_EQ_INT(r.qe_status, ENCLOS_TCB_UP_TO_DATE);
  CHECK(has_adv(&r, "INTEL-SA-00289") && has_adv(&r, "INTEL-SA-00615"));
  CHECK_EQ_INT(r.advisory_count, 2);
  CHECK(!r.debug);
  CHECK(memcmp(r.report_data, "Hello, world!", 13) == 0);
  CHECK_EQ_INT(r.quote.enclave.mrenclave[0], 0x33);
  CHECK_EQ_INT(r.pck.pcesvn, 13);
  CHECK_EQ_INT(r.pck.comp_svn[4], 255);
  CHECK_EQ_U64((uint64_t)r.valid_from, (uint64_t)vh_time("2025-06-19T10:56:11Z"));
  CHECK_EQ_U64((uint64_t)r.valid_until, (uint64_t)vh_time("2025-07-19T10:01:18Z"));
  /* The default policy (UpToDate only) refuses this status. */
  CHECK_ERR(run(ATT("sgx/phala-dcap-qvl/sgx_quote"), dirs, "2025-07-01T00:00:00Z", NULL, &r),
            ENCLOS_E_POLICY);
  CHECK(r.verified && !r.accepted);
  CHECK_STR(r.failed_check, "policy");
}

TEST(sgx_mobilecoin_strict_refuses_expired_pck_crl) {
  static const char *const dirs[] = {ATT("sgx/mobilecoin-attestation"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  CHECK_ERR(run(ATT("sgx/mobilecoin-attestation/hw_quote.dat"), dirs, "2023-07-20T00:00:00Z", &p, &r),
            ENCLOS_E_EXPIRED);
  CHECK_STR(r.failed_check, "crls");
  CHECK_CONTAINS(r.reason, "PCK CRL expired");
  CHECK(!r.verified);
}

TEST(sgx_mobilecoin_relaxed_crl_sw_hardening_needed) {
  static const char *const dirs[] = {ATT("sgx/mobilecoin-attestation"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  p.relax_crl_freshness = true;
  CHECK_OK(run(ATT("sgx/mobilecoin-attestation/hw_quote.dat"), dirs, "2023-07-20T00:00:00Z", &p, &r));
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_SW_HARDENING_NEEDED);
  CHECK_EQ_INT(r.qe_status, ENCLOS_TCB_UP_TO_DATE);
  CHECK(has_adv(&r, "INTEL-SA-00334") && has_adv(&r, "INTEL-SA-00615"));
  /* After 2025-05-21 the TCB signer in this folder has expired. */
  p.grace_seconds = INT64_C(10) * 365 * 86400;
  CHECK(run(ATT("sgx/mobilecoin-attestation/hw_quote.dat"), dirs, "2025-06-01T00:00:00Z", &p, &r) !=
        ENCLOS_OK);
}

TEST(tdx_phala_v4_up_to_date) {
  static const char *const dirs[] = {ATT("tdx/phala-dcap-qvl"), NULL};
  enclos_hw_result r;
  CHECK_OK(run(ATT("tdx/phala-dcap-qvl/tdx_quote"), dirs, "2025-07-01T00:00:00Z", NULL, &r));
  CHECK_EQ_INT(r.tee, ENCLOS_HW_TDX);
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_UP_TO_DATE);
  CHECK(r.accepted);
  CHECK_EQ_U64((uint64_t)r.valid_from, (uint64_t)vh_time("2025-06-19T10:32:27Z"));
  CHECK_EQ_U64((uint64_t)r.valid_until, (uint64_t)vh_time("2025-07-19T10:00:35Z"));
}

TEST(tdx_phala_v5_outdated_no_tcb_level) {
  static const char *const dirs[] = {ATT("tdx/phala-dcap-qvl"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  CHECK_ERR(run(ATT("tdx/phala-dcap-qvl/tdx_quote_outdated"), dirs, "2026-03-01T00:00:00Z", &p, &r),
            ENCLOS_E_VERIFY);
  CHECK_STR(r.failed_check, "tcb_level");
  CHECK_CONTAINS(r.reason, "TCB not supported");
  CHECK_EQ_INT(r.quote.version, 5);
  CHECK_EQ_INT(r.quote.body_type, 3);
}

TEST(tdx_phala_other_platform_quotes_no_tcb_level) {
  static const char *const dirs[] = {ATT("tdx/phala-dcap-qvl"), NULL};
  static const char *const q[] = {ATT("tdx/phala-dcap-qvl/tdx-quote.hex"),
                                  ATT("tdx/phala-dcap-qvl/quote-from-tappd.hex")};
  enclos_hw_policy p;
  accept_all(&p);
  for (int i = 0; i < 2; i++) {
    enclos_hw_result r;
    enclos_err rc = run(q[i], dirs, "2025-07-01T00:00:00Z", &p, &r);
    CHECK_MSG(rc != ENCLOS_OK, "%s accepted", q[i]);
    CHECK_MSG(r.failed_check != NULL && strcmp(r.failed_check, "tcb_level") == 0,
              "%s: failed %s", q[i], r.failed_check ? r.failed_check : "-");
    /* Crypto checks passed before the TCB step. */
    CHECK_EQ_INT(r.checks[2] != NULL && strcmp(r.checks[2], "quote_signature") == 0, 1);
  }
}

TEST(tdx_go_tdx_guest_spr_no_tcb_level) {
  static const char *const dirs[] = {ATT("tdx/google-go-tdx-guest"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  CHECK_ERR(run(ATT("tdx/google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), dirs, "2023-07-01T01:00:00Z",
                &p, &r),
            ENCLOS_E_VERIFY);
  CHECK_STR(r.failed_check, "tcb_level");
  CHECK_EQ_INT(r.quote.trailing, 39);
  CHECK_EQ_INT((r.quote.td.td_attributes >> 28) & 1, 0); /* SEPT_VE_DISABLE clear */
}

TEST(tdx_go_tdx_guest_v5_up_to_date_with_2026_collateral) {
  /* README: the v5 quote with the 2026 TCB Info of this folder and Phala's 2026 QE identity,
   * CRLs and TCB-signer chain. */
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  vh_add_file(c, ATT("tdx/google-go-tdx-guest/sample_tcbinfo_response_v5"));
  vh_add_file(c, ATT("tdx/phala-dcap-qvl/tdx_quote_outdated_collateral.json"));
  enclos_buf ev = vh_evidence(ATT("tdx/google-go-tdx-guest/quote_v5_sample.dat"));
  enclos_hw_result r;
  CHECK_OK(enclos_hw_verify(ev.data, ev.len, c, vh_time("2026-02-25T00:00:00Z"), NULL, &r));
  vh_dump(&r);
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_UP_TO_DATE);
  CHECK_EQ_U64((uint64_t)r.valid_from, (uint64_t)vh_time("2026-02-18T10:42:15Z"));
  CHECK_EQ_U64((uint64_t)r.valid_until, (uint64_t)vh_time("2026-03-03T14:49:26Z"));
  enclos_buf_free(&ev);
  enclos_hw_collateral_free(c);
}

TEST(tdx_go_tdx_guest_gcp_crypto_only) {
  /* No collateral: the quote parses (8000-byte buffer), its signatures and chain verify, and the
   * verifier stops at the missing CRLs. */
  static const char *const dirs[] = {NULL};
  enclos_hw_result r;
  CHECK_ERR(run(ATT("tdx/google-go-tdx-guest/cos-113-tdx-quote.dat"), dirs, "2025-01-01T00:00:00Z", NULL,
                &r),
            ENCLOS_E_NOT_FOUND);
  CHECK_STR(r.failed_check, "crls");
  CHECK_CONTAINS(r.reason, "collateral missing");
  CHECK_EQ_INT(r.quote.size + r.quote.trailing, 8000);
  CHECK_EQ_INT(r.check_count, 7); /* parse header quote_sig binding chain qe_sig pck_ext */
}

TEST(tdx_trustee_quote6_out_of_date) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  CHECK_OK(enclos_hw_collateral_add_dir(c, ATT("tdx/confidential-containers-trustee")));
  /* The TCB Signing certificate (2025 issue) and root from the Phala bundle; no CRLs in this set. */
  enclos_buf chain = vh_json_str(ATT("tdx/phala-dcap-qvl/tdx_quote_outdated_collateral.json"),
                                 "tcb_info_issuer_chain");
  enclos_coll_kind k;
  CHECK_OK(enclos_hw_collateral_add(c, chain.data, chain.len, &k));
  CHECK_EQ_INT(k, ENCLOS_COLL_CERTS);
  enclos_buf_free(&chain);
  enclos_buf ev = vh_evidence(ATT("tdx/confidential-containers-trustee/tdx_quote_6.dat"));
  enclos_hw_policy p;
  accept_all(&p);
  p.allow_missing_crls = true;
  enclos_hw_result r;
  CHECK_OK(enclos_hw_verify(ev.data, ev.len, c, vh_time("2025-11-10T00:00:00Z"), &p, &r));
  vh_dump(&r);
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_OUT_OF_DATE);
  CHECK_EQ_INT(r.pck.pcesvn, 11);
  enclos_buf_free(&ev);
  enclos_hw_collateral_free(c);
}

TEST(tdx_trustee_quote6_collateral_missing_when_crls_mandatory) {
  static const char *const dirs[] = {ATT("tdx/confidential-containers-trustee"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  CHECK_ERR(run(ATT("tdx/confidential-containers-trustee/tdx_quote_6.dat"), dirs, "2025-11-10T00:00:00Z",
                &p, &r),
            ENCLOS_E_NOT_FOUND);
  CHECK_CONTAINS(r.reason, "collateral missing");
}

TEST(tdx_trustee_quote4_debug_refused_by_policy) {
  static const char *const dirs[] = {ATT("tdx/google-go-tdx-guest"), NULL};
  enclos_hw_result r;
  CHECK_ERR(run(ATT("tdx/confidential-containers-trustee/tdx_quote_4.dat"), dirs, "2023-07-01T01:00:00Z",
                NULL, &r),
            ENCLOS_E_POLICY);
  CHECK(r.verified && r.debug);
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_UP_TO_DATE);
  CHECK_CONTAINS(r.reason, "DEBUG");
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  p.allow_debug = true;
  CHECK_OK(run(ATT("tdx/confidential-containers-trustee/tdx_quote_4.dat"), dirs, "2023-07-01T01:00:00Z",
               &p, &r));
}

TEST(tdx_trustee_quote5_no_tcb_level) {
  static const char *const dirs[] = {ATT("tdx/phala-dcap-qvl"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  accept_all(&p);
  p.allow_mrservicetd = true;
  CHECK_ERR(run(ATT("tdx/confidential-containers-trustee/tdx_quote_5.dat"), dirs, "2026-03-01T00:00:00Z",
                &p, &r),
            ENCLOS_E_VERIFY);
  CHECK_STR(r.failed_check, "tcb_level");
  CHECK(r.quote.td.tdx15);
}

/* ---- SEV-SNP ---- */

TEST(snp_go_sev_guest_valid_but_debug_policy) {
  static const char *const dirs[] = {ATT("snp/google-go-sev-guest"), NULL};
  enclos_hw_result r;
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  p.allow_debug = true;
  CHECK_OK(run(ATT("snp/google-go-sev-guest/attestation.bin"), dirs, "2022-09-24T01:00:00Z", &p, &r));
  CHECK_EQ_INT(r.tee, ENCLOS_HW_SNP);
  CHECK_STR(r.snp_product, "Milan");
  CHECK_EQ_INT(r.snp.version, 2);
  CHECK_EQ_INT(r.snp.measurement[0], 0xb0);
  CHECK_ERR(run(ATT("snp/google-go-sev-guest/attestation.bin"), dirs, "2022-09-24T01:00:00Z", NULL, &r),
            ENCLOS_E_POLICY);
  CHECK(r.verified && r.debug);
}

TEST(snp_virtee_milan_valid) {
  static const char *const dirs[] = {ATT("snp/virtee-sev"), NULL};
  enclos_hw_result r;
  CHECK_OK(run(ATT("snp/virtee-sev/report_milan.hex"), dirs, "2024-01-01T00:00:00Z", NULL, &r));
  CHECK(r.accepted && !r.snp_vlek);
  CHECK_EQ_INT(r.snp.report_data[0], 0xd4);
}

TEST(snp_trustee_vcek_and_vlek_valid) {
  static const char *const dirs[] = {ATT("snp/confidential-containers-trustee"), NULL};
  enclos_hw_result r;
  CHECK_OK(run(ATT("snp/confidential-containers-trustee/test-report.bin"), dirs, "2025-06-01T00:00:00Z",
               NULL, &r));
  CHECK(!r.snp_vlek);
  CHECK_OK(run(ATT("snp/confidential-containers-trustee/test-vlek-report.bin"), dirs,
               "2025-06-01T00:00:00Z", NULL, &r));
  CHECK(r.snp_vlek);
  CHECK_EQ_INT(r.snp.version, 3);
  /* The VLEK is short-lived. */
  CHECK_ERR(run(ATT("snp/confidential-containers-trustee/test-vlek-report.bin"), dirs,
                "2026-01-01T00:00:00Z", NULL, &r),
            ENCLOS_E_EXPIRED);
}

TEST(snp_teekit_v5_reports_valid) {
  static const char *const dirs[] = {ATT("snp/teekit-qvl"), NULL};
  static const char *const reps[] = {ATT("snp/teekit-qvl/sev-gcp.bin"), ATT("snp/teekit-qvl/sev-gcp.hex"),
                                     ATT("snp/teekit-qvl/sev-gcp-reportdata.bin"),
                                     ATT("snp/teekit-qvl/sev-gcp-x25519-bound.bin")};
  for (int i = 0; i < 4; i++) {
    enclos_hw_result r;
    CHECK_OK(run(reps[i], dirs, "2026-01-01T00:00:00Z", NULL, &r));
    CHECK_EQ_INT(r.snp.version, 5);
  }
}
