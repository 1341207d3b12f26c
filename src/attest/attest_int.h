/* attest_int.h: private to src/attest. */
#ifndef ENCLOS_ATTEST_INT_H
#define ENCLOS_ATTEST_INT_H

#include <enclos/attest.h>
#include <enclos/reader.h>

#define ATTEST_CBOR_MAX_DEPTH 8

/* Structural pre-pass (definite lengths, counts within the input, depth) before cbor_load. */
enclos_err attest__cbor_check(const void *data, size_t size);

#endif
