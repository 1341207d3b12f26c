/* fuzz_verify_quote: Intel DCAP quote parser (v3/v4/v5) and the PCK SGX-extension DER walker
 * (issue 6). First byte selects the parser. Invariants: a parsed quote lies inside the input. */
#include <stddef.h>
#include <stdint.h>

#include <enclos/verify_hw.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t which = data[0];
  data++;
  size--;
  if (which & 1) {
    enclos_pck_ext e;
    (void)enclos_pck_ext_parse(data, size, &e);
    return 0;
  }
  enclos_intel_quote q;
  if (enclos_intel_quote_parse(data, size, &q) != ENCLOS_OK) return 0;
  if (q.size + q.trailing != size || q.signed_size > q.size) __builtin_trap();
  if (q.pck_chain_pem < data || q.pck_chain_pem + q.pck_chain_pem_size > data + size) __builtin_trap();
  if (q.qe_auth + q.qe_auth_size > data + size) __builtin_trap();
  return 0;
}
