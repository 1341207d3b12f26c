/**
 * \file ratls.h
 * \brief RA-TLS producer side: evidence extensions, leaf certificates, the in-TEE intermediate CA
 * (docs/attestation.md §5-§6).
 */
#ifndef ENCLOS_RATLS_H
#define ENCLOS_RATLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/attest.h>
#include <enclos/buf.h>
#include <enclos/crypto.h>
#include <enclos/error.h>
#include <enclos/tee.h>
#include <enclos/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/** TCG DICE tagged-evidence OID carrying our evidence (non-critical). */
#define ENCLOS_RATLS_OID_EVIDENCE "2.23.133.5.4.9"
/** Gramine's legacy RA-TLS OID (raw SGX quote). */
#define ENCLOS_RATLS_OID_GRAMINE_LEGACY "1.2.840.113741.1337.6"
/** Open Enclave attestation OIDs (old report, new evidence). */
#define ENCLOS_RATLS_OID_OE_REPORT "1.3.6.1.4.1.311.105.1"
#define ENCLOS_RATLS_OID_OE_EVIDENCE "1.3.6.1.4.1.311.105.2"

/** CBOR tag of tag(60000)[quote, claims] (Intel quotes, as Gramine >= 1.8 and Intel's TLS library). */
#define ENCLOS_CBOR_TAG_INTEL 60000
/** CBOR tag of our typed record tag(60001)[tee, evidence, claims, endorsements] (SNP and sim). */
#define ENCLOS_CBOR_TAG_TYPED 60001

#define ENCLOS_RATLS_MAX_EXT (128u * 1024u)     /**< largest evidence extension accepted */
#define ENCLOS_RATLS_DEFAULT_LIFETIME (24 * 3600) /**< leaf lifetime, seconds */
#define ENCLOS_RATLS_MAX_LIFETIME (7 * 24 * 3600)

/** A parsed evidence extension; pointers alias the input. */
typedef struct enclos_ratls_evidence {
  enclos_tee_kind tee;        /**< sgx/tdx (from the quote header) for the Intel form */
  const uint8_t *evidence;
  size_t evidence_size;
  const uint8_t *claims;
  size_t claims_size;
  const uint8_t *endorsements; /**< typed form only; may be empty */
  size_t endorsements_size;
} enclos_ratls_evidence;

/** Encodes the extension value for \p ev (Intel form for sgx/tdx, typed form otherwise). */
ENCLOS_MUST_USE enclos_err enclos_ratls_evidence_encode(const enclos_ratls_evidence *ev,
                                                        enclos_buf *out);
/** Strictly parses an extension value. Pointers in \p out alias \p data. */
ENCLOS_MUST_USE enclos_err enclos_ratls_evidence_parse(const void *data, size_t size,
                                                       enclos_ratls_evidence *out);

/**
 * Encodes \p claims, asks \p tee for evidence over H(claims), and returns the extension value
 * (appended to \p ext). Used for certificates, CSRs and fresh evidence alike.
 */
ENCLOS_MUST_USE enclos_err enclos_ratls_make_evidence(enclos_tee *tee, const enclos_claims *claims,
                                                      enclos_buf *ext);

/** What goes into a leaf. */
typedef struct enclos_ratls_leaf_opts {
  const char *cn;                   /**< subject CN (default "enclos") */
  const char *const *dns_names;     /**< subjectAltName entries */
  size_t dns_count;
  int64_t now;                      /**< 0: the current time */
  int64_t lifetime_s;               /**< 0: ENCLOS_RATLS_DEFAULT_LIFETIME */
  const uint8_t *config_root;       /**< optional 32-byte configuration root claim */
  const char *app_name;             /**< optional app identity (app certificates) */
  const uint8_t *app_code_hash;     /**< 32 bytes, with app_name */
  const uint8_t *app_config_root;   /**< 32 bytes, with app_name */
} enclos_ratls_leaf_opts;

/**
 * Mints a fresh P-256 leaf key and certificate carrying evidence over its claims.
 * \param issuer, issuer_key  NULL, NULL: self-signed (zero-setup mode); else the intermediate CA
 * \param[out] key, cert      caller frees
 */
ENCLOS_MUST_USE enclos_err enclos_ratls_mint_leaf(enclos_tee *tee, const enclos_ratls_leaf_opts *opts,
                                                  const enclos_x509 *issuer,
                                                  const enclos_pkey *issuer_key, enclos_pkey **key,
                                                  enclos_x509 **cert);

/**
 * True when \p leaf should be re-minted at time \p now: less than a third of its lifetime is left
 * (8 h of the default 24 h), or its validity cannot be read.
 */
bool enclos_ratls_leaf_due(const enclos_x509 *leaf, int64_t now);

/** The intermediate CA's key generated in the TEE and its CSR (DER) carrying evidence. */
ENCLOS_MUST_USE enclos_err enclos_ratls_ca_request(enclos_tee *tee, const uint8_t *config_root,
                                                   enclos_pkey **key, enclos_buf *csr_der);

/** Seals the intermediate CA key + certificate under the TEE sealing key (AES-256-GCM) to \p path. */
ENCLOS_MUST_USE enclos_err enclos_ratls_ca_seal(enclos_tee *tee, const enclos_pkey *key,
                                                const enclos_x509 *cert, const char *path);
/** Reloads what enclos_ratls_ca_seal wrote; ENCLOS_E_TAMPERED if it was altered or sealed elsewhere. */
ENCLOS_MUST_USE enclos_err enclos_ratls_ca_unseal(enclos_tee *tee, const char *path, enclos_pkey **key,
                                                  enclos_x509 **cert);

/**
 * Creates an offline root CA in \p dir (made 0700 if absent): a P-384 key in root.key (0600)
 * and its self-signed certificate (subject CN \p cn, O \p org, 10 years, path length 1) in
 * root.crt. Refuses (ENCLOS_E_IO naming the file) if either file exists.
 */
ENCLOS_MUST_USE enclos_err enclos_ratls_root_create(const char *dir, const char *cn, const char *org);

/* ---- Freshness bound to the TLS session (docs/attestation.md §9) ----------------------- */

#define ENCLOS_RATLS_FRESH_PATH "/.well-known/enclos/attestation"

struct enclos_tls_conn;

/**
 * Server side: evidence whose claims hold the leaf's pubkey-hash, the client's \p nonce, this
 * connection's exporter value (label ENCLOS_TLS_EXPORTER_LABEL, 32 bytes) and the optional config
 * root; the extension-value encoding is appended to \p ext.
 */
ENCLOS_MUST_USE enclos_err enclos_ratls_fresh_evidence(enclos_tee *tee, struct enclos_tls_conn *conn,
                                                       const enclos_x509 *leaf, const uint8_t *nonce,
                                                       size_t nonce_size, const uint8_t *config_root,
                                                       enclos_buf *ext);

#ifdef __cplusplus
}
#endif
#endif
