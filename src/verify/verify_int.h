/* verify_int.h: private to src/verify (issue 6). */
#ifndef ENCLOS_VERIFY_INT_H
#define ENCLOS_VERIFY_INT_H

#include <jansson.h>

#include <enclos/buf.h>
#include <enclos/verify_hw.h>
#include <enclos/x509.h>
#include <enclos/x509_crl.h>

/* Collateral limits: a folder of real collateral holds a handful of each. */
#define VERIFY_MAX_CERTS 64
#define VERIFY_MAX_CRLS 16
#define VERIFY_MAX_DOCS 16
#define VERIFY_MAX_FILE_SIZE ((size_t)4 << 20)
#define VERIFY_MAX_DIR_ENTRIES 256

/* A signed Intel JSON document (TCB Info or QE Identity). */
typedef struct verify_doc {
  enclos_buf body; /* exact received bytes of the inner object: what the signature covers */
  uint8_t sig[64]; /* r||s */
  json_t *json;    /* parsed body */
  bool is_tcb;     /* TCB Info (else QE Identity) */
} verify_doc;

/* Positive signature results over exact bytes (SHA-256 keys), so collateral loaded once is checked
 * once: a verification then costs the evidence's own signatures. */
#define VERIFY_MEMO_SLOTS 128
typedef struct verify_memo verify_memo;

struct enclos_hw_collateral {
  verify_memo *memo;
  enclos_x509 *certs[VERIFY_MAX_CERTS];
  size_t n_certs;
  enclos_x509_crl *crls[VERIFY_MAX_CRLS];
  size_t n_crls;
  verify_doc docs[VERIFY_MAX_DOCS];
  size_t n_docs;
};

/* enclos_x509_check_signature, memoised in \p c. */
enclos_err verify__cert_sig(const enclos_hw_collateral *c, const enclos_x509 *cert,
                            const enclos_x509 *issuer);
/* ECDSA P-256 raw signature by \p signer over \p msg, memoised in \p c. */
enclos_err verify__doc_sig(const enclos_hw_collateral *c, const enclos_x509 *signer, const void *msg,
                           size_t size, const uint8_t sig[64]);

/* The pinned Intel root fingerprint (enclos_intel_root_fingerprint); a test seam. */
extern const uint8_t *verify__intel_root_pin;
/* When non-NULL, replaces the per-product ARK fingerprints (AMD); a test seam. */
extern const uint8_t *verify__ark_pin_override;

/* SNP product family named by the v3+ CPUID fields: "Milan", "Genoa", "Turin" or "unknown". */
const char *verify__snp_cpuid_product(const enclos_snp_report *rep);

/* Result bookkeeping. */
void verify__pass(enclos_hw_result *r, const char *check);
enclos_err verify__fail(enclos_hw_result *r, const char *check, enclos_err err);
void verify__window(enclos_hw_result *r, int64_t from, int64_t until);
/* Runs one named step of a verification: records it as passed in the result `r` in scope, or
 * as the failed check and returns its error. */
#define VERIFY_CHECK(name, expr)                                                   \
  do {                                                                             \
    enclos_err check__rc = (expr);                                                 \
    if (check__rc != ENCLOS_OK) return verify__fail(r, (name), check__rc);         \
    verify__pass(r, (name));                                                       \
  } while (0)

enclos_err verify__intel(const uint8_t *data, size_t size, const enclos_hw_collateral *c, int64_t at,
                         const enclos_hw_policy *p, enclos_hw_result *r);
enclos_err verify__snp(const uint8_t *data, size_t size, const enclos_hw_collateral *c, int64_t at,
                       const enclos_hw_policy *p, enclos_hw_result *r);

#endif
