/* fuzz_verify_snp: SEV-SNP report parser (issue 6), plus hex evidence decoding. */
#include <stddef.h>
#include <stdint.h>

#include <enclos/verify_hw.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enclos_snp_report r;
  if (enclos_snp_report_parse(data, size, &r) == ENCLOS_OK && r.version < 2) __builtin_trap();
  enclos_buf b = ENCLOS_BUF_INIT;
  if (enclos_hw_evidence_decode(data, size, &b) == ENCLOS_OK) {
    if (b.len > size) __builtin_trap();
    (void)enclos_snp_report_parse(b.data, b.len, &r);
  }
  enclos_buf_free(&b);
  return 0;
}
