/* verify_hw.h: verification of real hardware evidence (issue 6) — Intel SGX DCAP quote v3, Intel TDX
 * quote v4/v5 and AMD SEV-SNP attestation reports v2/v3/v5 — against collateral (Intel PCS TCB Info,
 * QE Identity, CRLs, certificate chains; AMD KDS certificates), a caller-supplied clock and a policy.
 * Layouts and the recipe: shared/design/ATTESTATION-FORMATS.md, Intel DCAP quote headers, AMD SEV-SNP
 * ABI specification (#56860) §7.3. */
#ifndef ENCLOS_VERIFY_HW_H
#define ENCLOS_VERIFY_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Which TEE produced the evidence. */
typedef enum enclos_hw_tee {
  ENCLOS_HW_UNKNOWN = 0,
  ENCLOS_HW_SGX = 1,
  ENCLOS_HW_TDX = 2,
  ENCLOS_HW_SNP = 3,
} enclos_hw_tee;

/** Intel TCB status (spelling of Intel PCS / QVL via enclos_tcb_status_name). */
typedef enum enclos_tcb_status {
  ENCLOS_TCB_UNKNOWN = 0,
  ENCLOS_TCB_UP_TO_DATE = 1,
  ENCLOS_TCB_SW_HARDENING_NEEDED = 2,
  ENCLOS_TCB_CONFIGURATION_NEEDED = 3,
  ENCLOS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED = 4,
  ENCLOS_TCB_OUT_OF_DATE = 5,
  ENCLOS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED = 6,
  ENCLOS_TCB_REVOKED = 7,
} enclos_tcb_status;

/** "UpToDate", "SWHardeningNeeded", ... ("Unknown" for ENCLOS_TCB_UNKNOWN). */
const char *enclos_tcb_status_name(enclos_tcb_status s);
/** Parses Intel's spelling; ENCLOS_E_INVALID for anything else. */
ENCLOS_MUST_USE enclos_err enclos_tcb_status_parse(const char *s, enclos_tcb_status *out);

/* ---- Parsed evidence (pointers point into the caller's buffer, which must outlive them) ---- */

/** SGX REPORT body (384 bytes): the enclave report of a v3/v5-SGX quote and every QE report. */
typedef struct enclos_sgx_report {
  uint8_t cpusvn[16];
  uint32_t miscselect;
  uint8_t isv_ext_prod_id[16];
  uint8_t attributes[16]; /* flags u64 LE (bit1 DEBUG) then XFRM u64 LE */
  uint8_t mrenclave[32];
  uint8_t mrsigner[32];
  uint8_t config_id[64];
  uint16_t isv_prod_id;
  uint16_t isv_svn;
  uint16_t config_svn;
  uint8_t isv_family_id[16];
  uint8_t report_data[64];
} enclos_sgx_report;

/** TD quote body, TDX 1.0 (584 bytes) or 1.5 (648 bytes, last two fields). */
typedef struct enclos_td_report {
  uint8_t tee_tcb_svn[16];
  uint8_t mrseam[48];
  uint8_t mrsignerseam[48];
  uint64_t seam_attributes;
  uint64_t td_attributes;
  uint64_t xfam;
  uint8_t mrtd[48];
  uint8_t mrconfigid[48];
  uint8_t mrowner[48];
  uint8_t mrownerconfig[48];
  uint8_t rtmr[4][48];
  uint8_t report_data[64];
  bool tdx15;
  uint8_t tee_tcb_svn2[16];
  uint8_t mrservicetd[48];
} enclos_td_report;

/** Largest quote accepted (real quotes are ~5 KiB, GCP pads to 8000 bytes). */
#define ENCLOS_QUOTE_MAX_SIZE ((size_t)1 << 20)
/** Largest QE authentication data (u16 length in the quote; 32 in every real sample). */
#define ENCLOS_QUOTE_MAX_AUTH_SIZE 1024u

/** A parsed Intel DCAP quote (v3, v4 or v5). */
typedef struct enclos_intel_quote {
  uint16_t version;
  uint16_t key_type;
  uint32_t tee_type;  /* 0 SGX, 0x81 TDX */
  uint16_t body_type; /* 1 SGX, 2 TD1.0, 3 TD1.5 (derived for v3/v4) */
  uint16_t qe_svn, pce_svn;
  uint8_t qe_vendor_id[16];
  uint8_t user_data[20];
  enclos_sgx_report enclave; /* body_type 1 */
  enclos_td_report td;       /* body_type 2, 3 */
  const uint8_t *signed_region;
  size_t signed_size;
  uint8_t signature[64];  /* r||s big-endian */
  uint8_t attest_key[64]; /* x||y */
  const uint8_t *qe_report_raw; /* 384 bytes */
  enclos_sgx_report qe_report;
  uint8_t qe_report_sig[64];
  const uint8_t *qe_auth;
  size_t qe_auth_size;
  const uint8_t *pck_chain_pem; /* type-5 certification data (NUL terminator excluded) */
  size_t pck_chain_pem_size;
  size_t size;     /* bytes used by the quote */
  size_t trailing; /* ignored bytes after it */
} enclos_intel_quote;

/** Parses an Intel quote. Trailing bytes after the signature data are counted, never signed. */
ENCLOS_MUST_USE enclos_err enclos_intel_quote_parse(const void *data, size_t size,
                                                    enclos_intel_quote *out);

#define ENCLOS_SNP_REPORT_SIZE 1184u

/** A parsed SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI Table 23). */
typedef struct enclos_snp_report {
  uint32_t version;
  uint32_t guest_svn;
  uint64_t policy;
  uint8_t family_id[16];
  uint8_t image_id[16];
  uint32_t vmpl;
  uint32_t signature_algo;
  uint64_t current_tcb;
  uint64_t platform_info;
  uint32_t flags;       /* bits 4:2 signing key: 0 VCEK, 1 VLEK, 7 none */
  uint8_t report_data[64];
  uint8_t measurement[48];
  uint8_t host_data[32];
  uint8_t id_key_digest[48];
  uint8_t author_key_digest[48];
  uint8_t report_id[32];
  uint8_t report_id_ma[32];
  uint64_t reported_tcb;
  uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;
  uint8_t chip_id[64];
  uint64_t committed_tcb;
  uint8_t current_build, current_minor, current_major;
  uint8_t committed_build, committed_minor, committed_major;
  uint64_t launch_tcb;
  uint8_t sig_r[48]; /* big-endian (converted from the little-endian report field) */
  uint8_t sig_s[48];
  const uint8_t *raw; /* 1184 bytes */
} enclos_snp_report;

/* Guest POLICY bits (SEV-SNP ABI #56860 Table 9; ATTESTATION-FORMATS.md §3.5). */
#define ENCLOS_SNP_POLICY_SMT (UINT64_C(1) << 16)
#define ENCLOS_SNP_POLICY_MIGRATE_MA (UINT64_C(1) << 18)
#define ENCLOS_SNP_POLICY_DEBUG (UINT64_C(1) << 19)
#define ENCLOS_SNP_POLICY_SINGLE_SOCKET (UINT64_C(1) << 20)

/** Parses an SNP report (exactly 1184 bytes, VERSION >= 2). */
ENCLOS_MUST_USE enclos_err enclos_snp_report_parse(const void *data, size_t size,
                                                   enclos_snp_report *out);

/** SGX extensions of an Intel PCK certificate (OID 1.2.840.113741.1.13.1). */
typedef struct enclos_pck_ext {
  uint8_t ppid[16];
  uint8_t comp_svn[16];
  uint16_t pcesvn;
  uint8_t cpusvn[16];
  uint8_t pceid[2];
  uint8_t fmspc[6];
  int sgx_type; /* 0 standard, 1 scalable, 2 scalable with integrity */
} enclos_pck_ext;

/** Decodes the SGX extension value (DER of the SEQUENCE) with a bounded DER walker. */
ENCLOS_MUST_USE enclos_err enclos_pck_ext_parse(const void *der, size_t size, enclos_pck_ext *out);

/** AMD VCEK/VLEK certificate extensions (OID 1.3.6.1.4.1.3704.1.*, AMD KDS spec #57230 §3). */
typedef struct enclos_amd_cert_ext {
  char product[16]; /* productName as given, e.g. "Milan-B0", "Turin", "Milan" */
  int bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl; /* -1 when absent */
  uint8_t hwid[64];
  size_t hwid_size; /* 64, 8 (Turin) or 0 (VLEK: none) */
  bool has_csp_id;  /* VLEK only */
} enclos_amd_cert_ext;

struct enclos_x509;
/** Reads the AMD extensions of a VCEK/VLEK; hwID raw or OCTET STRING-wrapped. */
ENCLOS_MUST_USE enclos_err enclos_amd_cert_ext_parse(const struct enclos_x509 *cert,
                                                     enclos_amd_cert_ext *out);

/* ---- Collateral ---- */

/** An opaque set of collateral: certificates, CRLs, TCB Info and QE Identity documents. */
typedef struct enclos_hw_collateral enclos_hw_collateral;

/** What a collateral item was recognised as. */
typedef enum enclos_coll_kind {
  ENCLOS_COLL_NONE = 0, /* not collateral (e.g. a quote): ignored */
  ENCLOS_COLL_TCB_INFO = 1,
  ENCLOS_COLL_QE_IDENTITY = 2,
  ENCLOS_COLL_BUNDLE = 3, /* dcap-qvl single-JSON collateral */
  ENCLOS_COLL_CRL = 4,
  ENCLOS_COLL_CERTS = 5,
} enclos_coll_kind;

ENCLOS_MUST_USE enclos_err enclos_hw_collateral_new(enclos_hw_collateral **out);
void enclos_hw_collateral_free(enclos_hw_collateral *c);
/** Classifies \p data by content and adds it. *kind (optional) gets what it was;
 * ENCLOS_COLL_NONE with ENCLOS_OK means "not collateral" (nothing added). */
ENCLOS_MUST_USE enclos_err enclos_hw_collateral_add(enclos_hw_collateral *c, const void *data,
                                                    size_t size, enclos_coll_kind *kind);
/** Adds every regular file of \p dir (by content; unrecognised files are skipped). */
ENCLOS_MUST_USE enclos_err enclos_hw_collateral_add_dir(enclos_hw_collateral *c, const char *dir);

/** Online collateral sources (NULL URLs: the public Intel PCS / AMD KDS endpoints). */
typedef struct enclos_hw_fetch_opts {
  const char *intel_pcs_url;      /* "https://api.trustedservices.intel.com" */
  const char *intel_root_crl_url; /* ".../IntelSGXRootCA.der" */
  const char *amd_kds_url;        /* "https://kdsintf.amd.com" */
  const char *amd_product;        /* product for v2 SNP reports (no CPUID fields): "Milan", ... */
  const char *cache_dir;          /* NULL: no cache */
  int64_t now;                    /* cached items are reused while fresh at this time */
  long timeout_seconds;           /* per request; 0: 20 s */
} enclos_hw_fetch_opts;

/** Fetches the collateral for \p evidence (Intel PCS v4 or AMD KDS) into \p c, using the cache. */
ENCLOS_MUST_USE enclos_err enclos_hw_collateral_fetch(enclos_hw_collateral *c, const void *evidence,
                                                      size_t size, const enclos_hw_fetch_opts *o);

/* ---- Policy ---- */

/** Largest number of expected values the policy holds for one field. */
#define ENCLOS_HW_POLICY_MAX_STATUSES 8

/** Caller policy. enclos_hw_policy_default() gives the strict default. */
typedef struct enclos_hw_policy {
  enclos_tcb_status accepted[ENCLOS_HW_POLICY_MAX_STATUSES]; /* default {UpToDate} */
  size_t accepted_count;
  bool allow_debug;           /* SGX DEBUG, TD DEBUG, SNP policy DEBUG; default false */
  bool allow_mrservicetd;     /* accept non-zero MRSERVICETD (TD 1.5); default false */
  bool require_sept_ve_disable; /* default false */
  bool relax_crl_freshness;   /* accept CRLs outside thisUpdate..nextUpdate; default false */
  bool allow_missing_crls;    /* accept Intel quotes without CRLs; default false */
  int64_t grace_seconds;      /* accepted time past TCB Info / QE Identity / CRL nextUpdate */
  /* Expected values (checked when the has_ flag is set). */
  bool has_mrenclave, has_mrsigner, has_isvprodid, has_mrtd, has_report_data, has_measurement,
      has_host_data;
  bool has_rtmr[4];
  uint8_t mrenclave[32], mrsigner[32];
  uint16_t isvprodid;
  uint8_t mrtd[48], rtmr[4][48];
  uint8_t report_data[64];
  uint8_t measurement[48], host_data[32];
  uint16_t min_isvsvn;   /* SGX */
  uint32_t min_guest_svn; /* SNP */
  /* SEV-SNP (ATTESTATION-FORMATS.md §3.6 step 6). */
  bool allow_migration;       /* accept guest POLICY.MIGRATE_MA (bit 18); default false */
  bool require_single_socket; /* require POLICY.SINGLE_SOCKET (bit 20); default false */
  bool forbid_smt;            /* refuse POLICY.SMT (bit 16); default false */
  bool require_amd_crl;       /* refuse without an ARK-signed CRL in the collateral; default false */
  bool has_vmpl, has_id_key_digest, has_author_key_digest;
  uint32_t vmpl; /* expected VMPL */
  uint8_t id_key_digest[48], author_key_digest[48];
  /* Minimum REPORTED_TCB components (the TCB the VCEK/VLEK certifies); -1: no minimum. */
  int snp_min_bootloader, snp_min_tee, snp_min_snp, snp_min_microcode, snp_min_fmc;
} enclos_hw_policy;

void enclos_hw_policy_default(enclos_hw_policy *p);
/** Loads a JSON policy on top of \p p (keys: docs/attestation.md "Hardware verifier policy"; unknown
 * keys and wrong types are errors naming the key). */
ENCLOS_MUST_USE enclos_err enclos_hw_policy_load_json(const void *data, size_t size,
                                                      enclos_hw_policy *p);

/* ---- Result ---- */

#define ENCLOS_HW_MAX_ADVISORIES 64
#define ENCLOS_HW_MAX_CHECKS 40

typedef struct enclos_hw_result {
  enclos_hw_tee tee;
  bool verified; /* every cryptographic/collateral check passed and a TCB level was found */
  bool accepted; /* verified and the policy accepts it */
  enclos_tcb_status tcb_status;
  enclos_tcb_status platform_status, qe_status, module_status;
  char advisories[ENCLOS_HW_MAX_ADVISORIES][24];
  size_t advisory_count;
  int64_t valid_from;  /* latest notBefore / thisUpdate / issueDate */
  int64_t valid_until; /* earliest notAfter / nextUpdate */
  const char *checks[ENCLOS_HW_MAX_CHECKS]; /* names of the checks that passed, in order */
  size_t check_count;
  const char *failed_check; /* NULL when everything passed */
  char reason[256];
  enclos_err error;
  bool debug;
  /* Evidence contents. */
  enclos_intel_quote quote; /* SGX/TDX */
  enclos_snp_report snp;    /* SNP */
  enclos_pck_ext pck;       /* SGX/TDX */
  uint8_t report_data[64];
  char snp_product[16];
  bool snp_vlek;
} enclos_hw_result;

/** Verifies an Intel quote or SNP report (auto-detected) at Unix time \p at. Returns ENCLOS_OK only
 * when everything verifies and the policy accepts; \p res is filled in either case (res->error,
 * res->failed_check, res->reason). \p evidence must outlive \p res. */
ENCLOS_MUST_USE enclos_err enclos_hw_verify(const void *evidence, size_t size,
                                            const enclos_hw_collateral *coll, int64_t at,
                                            const enclos_hw_policy *policy, enclos_hw_result *res);

/** Evidence as stored in files: binary, or ASCII hex (optional "0x" prefix, whitespace ignored).
 *  Appends the binary evidence to \p out. */
ENCLOS_MUST_USE enclos_err enclos_hw_evidence_decode(const void *data, size_t size, enclos_buf *out);

/** SHA-256 fingerprint of the Intel SGX Root CA DER (pinned). */
extern const uint8_t enclos_intel_root_fingerprint[32];

#ifdef __cplusplus
}
#endif

#endif
