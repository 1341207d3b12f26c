/**
 * \file x509.h
 * \brief X.509 certificates (RFC 5280): parsing, chain verification at a chosen time,
 *        extensions. Part of the crypto module (backed by OpenSSL).
 *
 * Times are seconds since the Unix epoch (UTC). The verifier's clock is always a parameter,
 * never the system clock implicitly, so verification is reproducible.
 */
#ifndef ENCLOS_X509_H
#define ENCLOS_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/crypto.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Sanity limit on certificates in one PEM bundle or chain. */
#define ENCLOS_X509_MAX_CHAIN 16

typedef struct enclos_x509 enclos_x509;

/** Parses one DER certificate (trailing bytes are an error). */
ENCLOS_MUST_USE enclos_err enclos_x509_from_der(const void *der, size_t size, enclos_x509 **out);
/**
 * Parses every certificate in a PEM text (or a single DER certificate), in order.
 * \param[out] out  array of \p *count certificates; free with enclos_x509_list_free.
 */
ENCLOS_MUST_USE enclos_err enclos_x509_list_parse(const void *data, size_t size,
                                                  enclos_x509 ***out, size_t *count);
void enclos_x509_list_free(enclos_x509 **list, size_t count);
enclos_x509 *enclos_x509_ref(enclos_x509 *cert);
void enclos_x509_free(enclos_x509 *cert);

/** The certificate's DER encoding (valid while \p cert lives). */
void enclos_x509_der(const enclos_x509 *cert, const uint8_t **der, size_t *size);
/** Appends the SubjectPublicKeyInfo DER. */
ENCLOS_MUST_USE enclos_err enclos_x509_spki(const enclos_x509 *cert, enclos_buf *out);
/** The public key (caller frees with enclos_pkey_free). */
ENCLOS_MUST_USE enclos_err enclos_x509_pubkey(const enclos_x509 *cert, enclos_pkey **out);
/** notBefore and notAfter as Unix times. */
ENCLOS_MUST_USE enclos_err enclos_x509_validity(const enclos_x509 *cert, int64_t *not_before,
                                                int64_t *not_after);
/** Subject / issuer as a one-line RFC 2253 string, appended NUL-terminated. */
ENCLOS_MUST_USE enclos_err enclos_x509_subject(const enclos_x509 *cert, enclos_buf *out);
ENCLOS_MUST_USE enclos_err enclos_x509_issuer(const enclos_x509 *cert, enclos_buf *out);
/** Value of the first subject attribute with this dotted OID or short name (e.g. "CN"). */
ENCLOS_MUST_USE enclos_err enclos_x509_subject_attr(const enclos_x509 *cert, const char *name,
                                                    enclos_buf *out);
/** Serial number as big-endian bytes without leading zeros. */
ENCLOS_MUST_USE enclos_err enclos_x509_serial(const enclos_x509 *cert, enclos_buf *out);
/** SHA-256 of the DER encoding (32 bytes). */
ENCLOS_MUST_USE enclos_err enclos_x509_fingerprint(const enclos_x509 *cert, uint8_t out[32]);

/**
 * Finds the extension with dotted OID \p oid; points \p value at its extnValue contents
 * (the bytes inside the OCTET STRING). ENCLOS_E_NOT_FOUND if absent, ENCLOS_E_MALFORMED if
 * it appears twice (RFC 5280 §4.2).
 */
ENCLOS_MUST_USE enclos_err enclos_x509_extension(const enclos_x509 *cert, const char *oid,
                                                 const uint8_t **value, size_t *size,
                                                 bool *critical);
/** Number of extensions, and the dotted OID / criticality of extension \p i. */
size_t enclos_x509_extension_count(const enclos_x509 *cert);
ENCLOS_MUST_USE enclos_err enclos_x509_extension_at(const enclos_x509 *cert, size_t i,
                                                    char *oid, size_t oid_size, bool *critical);
/** True when basicConstraints says cA. */
bool enclos_x509_is_ca(const enclos_x509 *cert);

/** Verifies that \p issuer's key signed \p cert (signature only; no time or name checks). */
ENCLOS_MUST_USE enclos_err enclos_x509_check_signature(const enclos_x509 *cert,
                                                       const enclos_x509 *issuer);

/** Chain verification options. */
typedef struct enclos_x509_verify_opts {
  int64_t at;                 /* verification time (Unix seconds) */
  bool allow_unknown_critical; /* false: an unknown critical extension fails (RFC 5280 §4.2) */
  /* Dotted OIDs of critical extensions the caller handles itself (accepted as known). */
  const char *const *known_critical;
  size_t known_critical_count;
} enclos_x509_verify_opts;

/**
 * Builds and verifies a path from \p leaf through \p intermediates to one of \p roots
 * (RFC 5280 §6: signatures, validity at opts->at, CA constraints, path length, critical
 * extensions). Failures: ENCLOS_E_EXPIRED (time), ENCLOS_E_VERIFY (anything else), with
 * the failing certificate's subject in the detail.
 */
ENCLOS_MUST_USE enclos_err enclos_x509_verify_chain(const enclos_x509 *leaf,
                                                    enclos_x509 *const *intermediates,
                                                    size_t n_intermediates,
                                                    enclos_x509 *const *roots, size_t n_roots,
                                                    const enclos_x509_verify_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
