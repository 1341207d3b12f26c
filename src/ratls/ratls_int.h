/* ratls_int.h: private to src/ratls. */
#ifndef ENCLOS_RATLS_INT_H
#define ENCLOS_RATLS_INT_H

#include <enclos/ratls.h>
#include <enclos/reader.h>
#include <enclos/verify.h>
#include <enclos/verify_hw.h>

/* The hardware verifier settings a policy carries (policy.c). */
const enclos_hw_policy *ratls__policy_hw(const enclos_policy *p);

/* Reads the TEE kind from an Intel quote header (§3.1 of ATTESTATION-FORMATS). */
enclos_err ratls__quote_tee(const uint8_t *q, size_t n, enclos_tee_kind *out);

/* Offsets of report data in raw evidence. */
#define RATLS__SGX_RD_OFF (48 + 320)
#define RATLS__TDX4_RD_OFF (48 + 520)
#define RATLS__TDX5_RD_OFF (48 + 6 + 520)
#define RATLS__SNP_RD_OFF 0x50
#define RATLS__SNP_MEAS_OFF 0x90
#define RATLS__SGX_MRENCLAVE_OFF (48 + 64)
#define RATLS__TDX4_MRTD_OFF (48 + 136)

#endif
