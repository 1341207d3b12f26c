/**
 * \file tee.h
 * \brief TEE backends behind one interface: evidence for 64 bytes of report data, a sealing key,
 * and a platform description (design brief §2).
 *
 * Backends: \c sim (software, insecure, for laptops and tests), \c tdx and \c sev-snp (Linux
 * configfs-tsm; SNP also /dev/sev-guest), \c sgx (Gramine's /dev/attestation). Every root path
 * is configurable so tests can point a backend at a directory served by a fake provider.
 */
#ifndef ENCLOS_TEE_H
#define ENCLOS_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_TEE_REPORT_DATA_SIZE 64
#define ENCLOS_TEE_SEAL_KEY_SIZE 32
/** Largest evidence blob read from a provider (a TDX quote with its PCK chain is ~5-8 KiB). */
#define ENCLOS_TEE_MAX_EVIDENCE (64u * 1024u)

typedef enum enclos_tee_kind {
  ENCLOS_TEE_NONE = 0,
  ENCLOS_TEE_SIM = 1,
  ENCLOS_TEE_SGX = 2,
  ENCLOS_TEE_TDX = 3,
  ENCLOS_TEE_SNP = 4,
} enclos_tee_kind;

/** Paths; NULL fields take the defaults shown. */
typedef struct enclos_tee_config {
  const char *sim_state_dir; /**< sim: $XDG_STATE_HOME/enclos/sim or ~/.local/state/enclos/sim */
  const char *sim_exe;       /**< sim: binary whose SHA-384 is the measurement; /proc/self/exe */
  const char *tsm_root;      /**< /sys/kernel/config/tsm/report */
  const char *sev_guest;     /**< /dev/sev-guest */
  const char *gramine_root;  /**< /dev/attestation */
  /** Fault-injection seam (STYLE.md §20) for /dev/sev-guest: called instead of ioctl(2) with
   * SNP_GET_REPORT / SNP_GET_DERIVED_KEY and \c sev_ioctl_ctx; NULL: the real system call. */
  int (*sev_ioctl)(int fd, unsigned long request, void *arg, void *ctx);
  void *sev_ioctl_ctx;
} enclos_tee_config;

typedef struct enclos_tee enclos_tee;

/** "sim", "sgx", "tdx", "sev-snp" (or "none"). */
const char *enclos_tee_kind_name(enclos_tee_kind kind);
/** Parses a kind name as printed by enclos_tee_kind_name. */
ENCLOS_MUST_USE enclos_err enclos_tee_kind_parse(const char *name, enclos_tee_kind *out);

/**
 * Picks the backend available here: sgx if \c gramine_root/quote exists, else tdx or sev-snp
 * from configfs-tsm's \c provider file (or /dev/sev-guest), else sim.
 */
ENCLOS_MUST_USE enclos_err enclos_tee_detect(const enclos_tee_config *cfg, enclos_tee_kind *out);

/** Opens backend \p kind (ENCLOS_TEE_NONE: detect). Logs a warning when the backend is sim. */
ENCLOS_MUST_USE enclos_err enclos_tee_open(enclos_tee_kind kind, const enclos_tee_config *cfg,
                                           enclos_tee **out);
void enclos_tee_free(enclos_tee *tee);

enclos_tee_kind enclos_tee_get_kind(const enclos_tee *tee);

/**
 * Hardware (or sim) evidence binding \p report_data: a raw SGX/TDX quote, a raw SNP report
 * (1184 bytes), or a sim evidence record (docs/attestation.md §2). Appended to \p out.
 */
ENCLOS_MUST_USE enclos_err enclos_tee_evidence(enclos_tee *tee,
                                               const uint8_t report_data[ENCLOS_TEE_REPORT_DATA_SIZE],
                                               enclos_buf *out);

/**
 * Endorsements the verifier needs besides the evidence, appended to \p out (may append nothing):
 * for sim the DER of the simulated platform's root certificate.
 */
ENCLOS_MUST_USE enclos_err enclos_tee_endorsements(enclos_tee *tee, enclos_buf *out);

/** The sealing key bound to this TEE's identity (32 bytes). TDX has none: ENCLOS_E_UNSUPPORTED. */
ENCLOS_MUST_USE enclos_err enclos_tee_sealing_key(enclos_tee *tee,
                                                  uint8_t out[ENCLOS_TEE_SEAL_KEY_SIZE]);

/** One human-readable line describing the platform (appended to \p out). */
ENCLOS_MUST_USE enclos_err enclos_tee_describe(enclos_tee *tee, enclos_buf *out);

/* ---- sim evidence record (docs/attestation.md §2), shared with the verifier ---------------- */

#define ENCLOS_SIM_MAGIC "ENCLSIM1"
#define ENCLOS_SIM_VERSION 1
#define ENCLOS_SIM_MEASUREMENT_SIZE 48
#define ENCLOS_SIM_KEY_ID_SIZE 32
#define ENCLOS_SIM_MAX_SIG 128

/** A parsed sim evidence record; pointers alias the input. */
typedef struct enclos_sim_evidence {
  uint16_t version;
  const uint8_t *measurement; /**< 48 bytes: SHA-384 of the running binary */
  const uint8_t *report_data; /**< 64 bytes */
  const uint8_t *key_id;      /**< 32 bytes: SHA-256 of the platform key's SPKI DER */
  const uint8_t *signed_part; /**< bytes covered by the signature */
  size_t signed_size;
  const uint8_t *sig; /**< ECDSA P-384 / SHA-384, DER */
  size_t sig_size;
} enclos_sim_evidence;

/** Parses (does not verify) a sim evidence record strictly. */
ENCLOS_MUST_USE enclos_err enclos_sim_evidence_parse(const void *data, size_t size,
                                                     enclos_sim_evidence *out);

#ifdef __cplusplus
}
#endif
#endif
