/* Fuzz target: the certificate-evidence parser and verifier front end (src/ratls): the extension
 * parser, then the full evidence check against a fixed key, for each evidence OID: sim records,
 * and SGX/TDX quotes and SNP reports through the hardware verifier with real collateral loaded
 * (shared/testdata/attestation), at a time when that collateral is valid. */
#include <string.h>

#include <enclos/ratls.h>
#include <enclos/verify.h>
#include <enclos/verify_hw.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static enclos_policy *policy;
  static enclos_hw_collateral *coll;
  if (!policy) {
    static const char pol[] = "{\"allow_sim\": true, \"tcb_status\": [\"UpToDate\", "
                              "\"ConfigurationAndSWHardeningNeeded\"], \"hardware\": {\"allow_debug\": true}}";
    if (enclos_policy_parse(pol, sizeof(pol) - 1, &policy) != ENCLOS_OK) return 0;
    if (enclos_hw_collateral_new(&coll) != ENCLOS_OK) return 0;
    /* Missing directories only make the hardware path refuse earlier. */
    (void)enclos_hw_collateral_add_dir(coll, ENCLOS_SHARED_DIR "/testdata/attestation/sgx/phala-dcap-qvl");
    (void)enclos_hw_collateral_add_dir(coll, ENCLOS_SHARED_DIR "/testdata/attestation/tdx/phala-dcap-qvl");
    (void)enclos_hw_collateral_add_dir(coll, ENCLOS_SHARED_DIR "/testdata/attestation/snp/confidential-containers-trustee");
  }
  enclos_ratls_evidence ev;
  (void)enclos_ratls_evidence_parse(data, size, &ev);
  static const uint8_t spki[] = "fixed subject public key info";
  static const char *const oids[] = {ENCLOS_RATLS_OID_EVIDENCE, ENCLOS_RATLS_OID_GRAMINE_LEGACY,
                                     ENCLOS_RATLS_OID_OE_EVIDENCE};
  /* 2025-07-01T00:00:00Z: the SGX/TDX sets and the SNP VCEK are all valid. */
  enclos_verify_opts vo = {.policy = policy, .now = 1751328000, .collateral = coll};
  enclos_verify_result r;
  const char *oid = oids[size % 3]; /* real quotes tolerate zero padding, so seeds can pick */
  (void)enclos_verify_evidence(oid, data, size, spki, sizeof(spki), &vo, &r);
  return 0;
}
