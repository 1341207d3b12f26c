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
