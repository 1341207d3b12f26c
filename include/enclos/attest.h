/**
 * \file attest.h
 * \brief Claims bound into hardware evidence, and the configuration tree (docs/attestation.md).
 *
 * Claims are a deterministically encoded CBOR map (RFC 8949 §4.2.1); the TEE's report data is
 * H(claims bytes) zero-padded to 64 bytes. The configuration tree is a Merkle tree over named
 * leaves with RFC 9162-shaped splits and domain-separated hashing.
 */
#ifndef ENCLOS_ATTEST_H
#define ENCLOS_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/crypto.h>
#include <enclos/error.h>
#include <enclos/tee.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Claims ------------------------------------------------------------------------ */

#define ENCLOS_CLAIMS_MAX_SIZE 4096     /**< largest claims encoding accepted */
#define ENCLOS_CLAIMS_MAX_NONCE 64      /**< largest nonce / tls-exporter value */
#define ENCLOS_CLAIMS_MAX_APP_NAME 128  /**< longest app name */
#define ENCLOS_CONFIG_HASH_SIZE 32      /**< SHA-256 */

/** IANA "Named Information Hash Algorithm" identifiers used in pubkey-hash (RFC 6920 §9.4). */
#define ENCLOS_NI_SHA256 1
#define ENCLOS_NI_SHA384 7
#define ENCLOS_NI_SHA512 8

typedef struct enclos_claims {
  enclos_hash_alg pubkey_alg;         /**< hash of the SPKI DER */
  uint8_t pubkey_hash[ENCLOS_HASH_MAX_SIZE];
  bool has_nonce;
  uint8_t nonce[ENCLOS_CLAIMS_MAX_NONCE];
  size_t nonce_size;                  /**< 1..64 */
  bool has_tls_exporter;
  uint8_t tls_exporter[ENCLOS_CLAIMS_MAX_NONCE];
  size_t tls_exporter_size;           /**< 1..64 */
  bool has_config_root;
  uint8_t config_root[ENCLOS_CONFIG_HASH_SIZE];
  bool has_app;
  char app_name[ENCLOS_CLAIMS_MAX_APP_NAME + 1];
  uint8_t app_code_hash[ENCLOS_CONFIG_HASH_SIZE];
  uint8_t app_config_root[ENCLOS_CONFIG_HASH_SIZE];
} enclos_claims;

/** Sets pubkey_alg = SHA-256 and pubkey_hash = SHA-256(\p spki). */
ENCLOS_MUST_USE enclos_err enclos_claims_set_pubkey(enclos_claims *c, const void *spki, size_t size);

/** Deterministic CBOR encoding (appended to \p out). */
ENCLOS_MUST_USE enclos_err enclos_claims_encode(const enclos_claims *c, enclos_buf *out);

/**
 * Strict decoder: a definite-length map, only the known keys, each at most once, values of the
 * right type and size, and the input must be exactly the deterministic encoding of the result.
 */
ENCLOS_MUST_USE enclos_err enclos_claims_decode(const void *data, size_t size, enclos_claims *out);

/** The hash a producer of \p kind uses for report data: SHA-256 sgx, SHA-384 tdx, SHA-512 snp/sim. */
enclos_hash_alg enclos_claims_rd_alg(enclos_tee_kind kind);

/** report_data = H(claims) ‖ zeros, H = enclos_claims_rd_alg(kind). */
ENCLOS_MUST_USE enclos_err enclos_claims_report_data(enclos_tee_kind kind, const void *claims,
                                                     size_t size, uint8_t rd[64]);

/**
 * Checks that \p rd is SHA-256, SHA-384 or SHA-512 of \p claims zero-padded; ENCLOS_E_VERIFY if
 * none matches. \p which (optional) receives the one that did.
 */
ENCLOS_MUST_USE enclos_err enclos_claims_check_report_data(const void *claims, size_t size,
                                                           const uint8_t rd[64],
                                                           enclos_hash_alg *which);

/* ---- Configuration tree ------------------------------------------------------------ */

#define ENCLOS_CONFIG_MAX_LEAVES 4096
#define ENCLOS_CONFIG_MAX_NAME 255
#define ENCLOS_CONFIG_MAX_PROOF 16      /**< ceil(log2(MAX_LEAVES)) + slack */
#define ENCLOS_CONFIG_MAX_MANIFEST (1u << 20)

typedef struct enclos_config_tree enclos_config_tree;

ENCLOS_MUST_USE enclos_err enclos_config_new(enclos_config_tree **out);
void enclos_config_free(enclos_config_tree *t);

/** Adds leaf \p name with value \p value (hashed with SHA-256). Names are unique, 1..255 bytes. */
ENCLOS_MUST_USE enclos_err enclos_config_add(enclos_config_tree *t, const char *name,
                                             const void *value, size_t size);
/** Adds a leaf by the SHA-256 of its value. */
ENCLOS_MUST_USE enclos_err enclos_config_add_hash(enclos_config_tree *t, const char *name,
                                                  const uint8_t value_hash[32]);
size_t enclos_config_count(const enclos_config_tree *t);

/** Leaf hash: SHA-256(0x00 ‖ u32be(len name) ‖ name ‖ SHA-256(value)). */
ENCLOS_MUST_USE enclos_err enclos_config_leaf_hash(const char *name, const uint8_t value_hash[32],
                                                   uint8_t out[32]);

/** The root (SHA-256 of the empty string for an empty tree). */
ENCLOS_MUST_USE enclos_err enclos_config_root(enclos_config_tree *t, uint8_t out[32]);

/** Inclusion proof for \p name: its index, and the audit path (32-byte hashes, appended to \p path). */
ENCLOS_MUST_USE enclos_err enclos_config_prove(enclos_config_tree *t, const char *name,
                                               size_t *index, enclos_buf *path);

/** Verifies an inclusion proof (RFC 9162 §2.1.3.2) against \p root; ENCLOS_E_VERIFY on mismatch. */
ENCLOS_MUST_USE enclos_err enclos_config_verify(const char *name, const uint8_t value_hash[32],
                                                size_t index, size_t count, const uint8_t *path,
                                                size_t path_size, const uint8_t root[32]);

/** Canonical manifest: CBOR array of [name, value-hash] in leaf order (appended to \p out). */
ENCLOS_MUST_USE enclos_err enclos_config_manifest(enclos_config_tree *t, enclos_buf *out);
/** Parses a manifest strictly (sorted, unique, canonical) into a new tree. */
ENCLOS_MUST_USE enclos_err enclos_config_from_manifest(const void *data, size_t size,
                                                       enclos_config_tree **out);

#ifdef __cplusplus
}
#endif
#endif
