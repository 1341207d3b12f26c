/**
 * \file verify.h
 * \brief The RA-TLS client verifier and its JSON policy (docs/attestation.md §7-§8).
 *
 * Implemented in src/ratls. Hardware evidence (SGX/TDX/SNP) found in a certificate is verified by
 * the hardware verifier (verify_hw.h, src/verify) against the collateral named in the options, at
 * the options' time; the claims are then bound to it (report data = H(claims)).
 */
#ifndef ENCLOS_VERIFY_H
#define ENCLOS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/attest.h>
#include <enclos/error.h>
#include <enclos/tee.h>
#include <enclos/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_POLICY_MAX_SIZE (64u * 1024u)
#define ENCLOS_POLICY_MAX_LIST 64
#define ENCLOS_MEASUREMENT_MAX 64
#define ENCLOS_TCB_STATUS_MAX 48

struct enclos_hw_collateral;
struct enclos_hw_fetch_opts;

typedef struct enclos_policy enclos_policy;

/**
 * Parses a policy. Keys: allow_sim (bool, default false), tee ([names]), measurements ([hex]),
 * config_root (hex), app ({name, code_hash}), tcb_status ([Intel status names], default
 * ["UpToDate"]; SGX/TDX only), max_age_s (int), hardware ({...}: the hardware verifier's settings,
 * enclos_hw_policy_load_json keys, e.g. allow_debug, snp_min_tcb, vmpl).
 * Unknown keys and wrong types are errors naming the key.
 */
ENCLOS_MUST_USE enclos_err enclos_policy_parse(const char *json, size_t size, enclos_policy **out);
ENCLOS_MUST_USE enclos_err enclos_policy_load(const char *path, enclos_policy **out);
void enclos_policy_free(enclos_policy *p);

/** Which producer format the evidence came in. */
typedef enum enclos_evidence_format {
  ENCLOS_FMT_NONE = 0,
  ENCLOS_FMT_ENCLOS_TYPED,   /**< 2.23.133.5.4.9 tag(60001) */
  ENCLOS_FMT_INTEL_DICE,     /**< 2.23.133.5.4.9 tag(60000), ours, Gramine's or Intel's */
  ENCLOS_FMT_GRAMINE_LEGACY, /**< 1.2.840.113741.1337.6 */
  ENCLOS_FMT_OPEN_ENCLAVE,   /**< 1.3.6.1.4.1.311.105.1 / .2 */
} enclos_evidence_format;

const char *enclos_evidence_format_name(enclos_evidence_format f);

typedef struct enclos_verify_result {
  enclos_evidence_format format;
  enclos_tee_kind tee;
  uint8_t measurement[ENCLOS_MEASUREMENT_MAX];
  size_t measurement_size;
  char tcb_status[ENCLOS_TCB_STATUS_MAX]; /**< Intel TCB status (SGX/TDX); empty for sim and SNP */
  bool has_claims;                        /**< false for legacy formats (key hash only) */
  enclos_claims claims;
  enclos_hash_alg rd_alg;                 /**< hash that bound the claims */
  int64_t not_before, not_after;          /**< of the leaf */
  bool hw_verified;                       /**< hardware evidence passed the hardware verifier */
  uint8_t report_data[64];                /**< as found in the verified evidence */
} enclos_verify_result;

typedef struct enclos_verify_opts {
  const enclos_policy *policy;   /**< required */
  int64_t now;                   /**< 0: current time */
  enclos_x509 *const *roots;     /**< operator roots; none: the leaf must be self-signed */
  size_t n_roots;
  const uint8_t *nonce;          /**< fresh evidence: the nonce the client sent */
  size_t nonce_size;
  const uint8_t *tls_exporter;   /**< fresh evidence: this connection's exporter value */
  size_t tls_exporter_size;
  enclos_x509 *const *sim_roots; /**< optional: accept sim evidence only from these platform roots */
  size_t n_sim_roots;
  /** Hardware evidence (SGX/TDX/SEV-SNP) is checked against this collateral (certificates, CRLs,
   * TCB Info, QE Identity; enclos_hw_collateral_add_dir) at time \p now. */
  const struct enclos_hw_collateral *collateral;
  /** When \p collateral is NULL: fetch what the evidence needs (Intel PCS / AMD KDS, with the
   * fetcher's cache). Both NULL: hardware evidence is refused ("collateral missing"). */
  const struct enclos_hw_fetch_opts *fetch;
} enclos_verify_opts;

/**
 * Verifies a peer chain (leaf first): path to \p opts->roots (or a valid self-signed leaf),
 * unknown critical extensions, the evidence in the leaf and its binding to the leaf's key,
 * the evidence itself (sim here, SGX/TDX/SNP by the hardware verifier with \p opts->collateral),
 * then the policy.
 * Every refusal names its reason in enclos_err_detail().
 */
ENCLOS_MUST_USE enclos_err enclos_verify_chain(enclos_x509 *const *chain, size_t n,
                                               const enclos_verify_opts *opts,
                                               enclos_verify_result *out);

/**
 * Verifies fresh evidence (an extension value from enclos_ratls_make_evidence) for \p leaf:
 * claims must bind the leaf's key, \p opts->nonce and \p opts->tls_exporter, then the policy.
 */
ENCLOS_MUST_USE enclos_err enclos_verify_fresh(const uint8_t *ext, size_t size, const enclos_x509 *leaf,
                                               const enclos_verify_opts *opts,
                                               enclos_verify_result *out);

/**
 * Lower level: verifies one evidence extension value of format \p oid against \p spki (the key
 * it must bind) without policy. Used by enclos_verify_chain and by `enclos ca sign`.
 */
ENCLOS_MUST_USE enclos_err enclos_verify_evidence(const char *oid, const uint8_t *value, size_t size,
                                                  const uint8_t *spki, size_t spki_size,
                                                  const enclos_verify_opts *opts,
                                                  enclos_verify_result *out);

/** Applies the policy to a verified result. */
ENCLOS_MUST_USE enclos_err enclos_policy_check(const enclos_policy *p, const enclos_verify_result *r,
                                               int64_t now);

#ifdef __cplusplus
}
#endif
#endif
