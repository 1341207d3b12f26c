/* x509_crl.h: X.509 certificate revocation lists (RFC 5280 §5), parsed and checked with OpenSSL
 * inside src/crypto. Used by the hardware-evidence verifier (issue 6) for Intel PCS CRLs. */
#ifndef ENCLOS_X509_CRL_H
#define ENCLOS_X509_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/error.h>
#include <enclos/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed CRL (opaque). */
typedef struct enclos_x509_crl enclos_x509_crl;

/** Parses a CRL from DER, PEM ("X509 CRL") or ASCII hex of DER (Intel PCS/dcap-qvl form). */
ENCLOS_MUST_USE enclos_err enclos_x509_crl_parse(const void *data, size_t size, enclos_x509_crl **out);
/** Frees \p crl (NULL is fine). */
void enclos_x509_crl_free(enclos_x509_crl *crl);
/** Checks the CRL signature with \p issuer's key (ENCLOS_E_VERIFY on mismatch). */
ENCLOS_MUST_USE enclos_err enclos_x509_crl_check_signature(const enclos_x509_crl *crl,
                                                           const enclos_x509 *issuer);
/** True if the CRL's issuer name equals \p cert's subject name (RFC 5280 §5.1.2.3). */
bool enclos_x509_crl_issued_by(const enclos_x509_crl *crl, const enclos_x509 *cert);
/** thisUpdate and nextUpdate (nextUpdate = INT64_MAX when absent), Unix seconds. */
ENCLOS_MUST_USE enclos_err enclos_x509_crl_times(const enclos_x509_crl *crl, int64_t *this_update,
                                                 int64_t *next_update);
/** True if \p cert's serial number is listed in \p crl. */
bool enclos_x509_crl_lists(const enclos_x509_crl *crl, const enclos_x509 *cert);
/** Number of revoked entries. */
size_t enclos_x509_crl_count(const enclos_x509_crl *crl);

#ifdef __cplusplus
}
#endif

#endif
