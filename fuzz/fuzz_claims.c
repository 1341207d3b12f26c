/* Fuzz target: the strict claims decoder (src/attest/claims.c). Anything it accepts must
 * re-encode to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include <enclos/attest.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enclos_claims c;
  if (enclos_claims_decode(data, size, &c) == ENCLOS_OK) {
    enclos_buf b = ENCLOS_BUF_INIT;
    if (enclos_claims_encode(&c, &b) != ENCLOS_OK || b.len != size || memcmp(b.data, data, size) != 0) abort();
    enclos_buf_free(&b);
  }
  return 0;
}
