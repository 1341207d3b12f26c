/* Fuzz target: the certificate-evidence parser and verifier front end (src/ratls): the
 * extension parser, then the full evidence check (sim path; hardware is refused) against a
 * fixed key, for each evidence OID. */
#include <string.h>

#include <enclos/ratls.h>
#include <enclos/verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static enclos_policy *policy;
  if (!policy && enclos_policy_parse("{\"allow_sim\": true}", 19, &policy) != ENCLOS_OK) return 0;
  enclos_ratls_evidence ev;
  (void)enclos_ratls_evidence_parse(data, size, &ev);
  static const uint8_t spki[] = "fixed subject public key info";
  static const char *const oids[] = {ENCLOS_RATLS_OID_EVIDENCE, ENCLOS_RATLS_OID_GRAMINE_LEGACY,
                                     ENCLOS_RATLS_OID_OE_EVIDENCE};
  enclos_verify_opts vo = {.policy = policy, .now = 1700000000};
  enclos_verify_result r;
  const char *oid = oids[size ? data[size - 1] % 3 : 0];
  (void)enclos_verify_evidence(oid, data, size, spki, sizeof(spki), &vo, &r);
  return 0;
}
