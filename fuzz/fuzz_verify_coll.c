/* fuzz_verify_coll: the collateral classifier (issue 6) — TCB Info / QE Identity JSON (exact inner
 * bytes extraction), dcap-qvl bundles, CRLs (DER/PEM/hex), certificate chains — and the policy JSON
 * loader. After adding, an SGX-like verification runs against whatever was accepted. */
#include <stddef.h>
#include <stdint.h>

#include <enclos/verify_hw.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enclos_hw_collateral *c = NULL;
  if (enclos_hw_collateral_new(&c) != ENCLOS_OK) return 0;
  enclos_coll_kind k;
  (void)enclos_hw_collateral_add(c, data, size, &k);
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  (void)enclos_hw_policy_load_json(data, size, &p);
  enclos_hw_collateral_free(c);
  return 0;
}
