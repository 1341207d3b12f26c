/**
 * \file x509_make.h
 * \brief Building X.509 certificates and PKCS#10 CSRs (RFC 5280, RFC 2986) for RA-TLS.
 *
 * Certificates are X.509 v3, signed with ECDSA (SHA-256 for P-256 issuers, SHA-384 for P-384).
 * Private extensions are passed as (OID, extnValue contents, critical).
 */
#ifndef ENCLOS_X509_MAKE_H
#define ENCLOS_X509_MAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/crypto.h>
#include <enclos/error.h>
#include <enclos/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Upper bound on extensions and DNS names given to one certificate or CSR. */
#define ENCLOS_X509_MAKE_MAX_EXTS 16
#define ENCLOS_X509_MAKE_MAX_DNS 16
/** Upper bound on the size of a CSR accepted by enclos_x509_csr_parse. */
#define ENCLOS_X509_CSR_MAX_SIZE (1u << 20)

/** One private extension: \c value is the DER-free payload placed in extnValue's OCTET STRING. */
typedef struct enclos_x509_ext {
  const char *oid;      /**< dotted OID */
  const uint8_t *value; /**< extnValue contents */
  size_t size;
  bool critical;
} enclos_x509_ext;

/** What goes into a certificate. */
typedef struct enclos_x509_make_opts {
  const char *subject_cn;  /**< required */
  const char *subject_o;   /**< optional organisation */
  int64_t not_before;      /**< Unix seconds */
  int64_t not_after;       /**< Unix seconds, > not_before */
  bool is_ca;              /**< basicConstraints cA (critical) + keyCertSign */
  int path_len;            /**< for CAs: pathLenConstraint, or -1 for none */
  const char *const *dns_names; /**< subjectAltName dNSName entries (optional) */
  size_t dns_count;
  const enclos_x509_ext *exts;  /**< private extensions (optional) */
  size_t ext_count;
} enclos_x509_make_opts;

/**
 * Builds and signs a certificate for \p subject_key (only its public half is used).
 * \param issuer      issuer certificate, or NULL for a self-signed certificate
 * \param issuer_key  private key that signs (the subject key itself when self-signed)
 * \param[out] out    new certificate; caller frees with enclos_x509_free
 */
ENCLOS_MUST_USE enclos_err enclos_x509_make(const enclos_pkey *subject_key,
                                            const enclos_x509_make_opts *opts,
                                            const enclos_x509 *issuer,
                                            const enclos_pkey *issuer_key, enclos_x509 **out);

/** PEM encoding of \p cert (appended to \p out). */
ENCLOS_MUST_USE enclos_err enclos_x509_pem(const enclos_x509 *cert, enclos_buf *out);

/** Builds a CSR (DER, appended to \p der) for \p key carrying \p exts in an extensionRequest. */
ENCLOS_MUST_USE enclos_err enclos_x509_csr_make(const enclos_pkey *key, const char *cn,
                                                const enclos_x509_ext *exts, size_t ext_count,
                                                enclos_buf *der);

typedef struct enclos_x509_csr enclos_x509_csr;

/** Parses a CSR (DER or PEM) and checks its self-signature (proof of possession). */
ENCLOS_MUST_USE enclos_err enclos_x509_csr_parse(const void *data, size_t size,
                                                 enclos_x509_csr **out);
/** The CSR's public key (caller frees). */
ENCLOS_MUST_USE enclos_err enclos_x509_csr_pubkey(const enclos_x509_csr *csr, enclos_pkey **out);
/** The CSR subject's commonName (appended to \p out, NUL-terminated via enclos_buf_cstr). */
ENCLOS_MUST_USE enclos_err enclos_x509_csr_cn(const enclos_x509_csr *csr, enclos_buf *out);
/** The requested extension \p oid's extnValue contents (appended); ENCLOS_E_NOT_FOUND if absent. */
ENCLOS_MUST_USE enclos_err enclos_x509_csr_extension(const enclos_x509_csr *csr, const char *oid,
                                                     enclos_buf *out, bool *critical);
void enclos_x509_csr_free(enclos_x509_csr *csr);

#ifdef __cplusplus
}
#endif
#endif
