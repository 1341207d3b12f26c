/* crl.c: X.509 CRLs (RFC 5280 §5) for the hardware-evidence verifier (issue 6). */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/x509_crl.h>

#include "crypto_int.h"

/* Intel PCS CRLs are a few hundred bytes; revocation lists from AMD KDS are small too. */
#define CRL_MAX_INPUT_SIZE ((size_t)4 << 20)

struct enclos_x509_crl {
  X509_CRL *crl;
};

static bool all_hex(const uint8_t *p, size_t n) {
  size_t digits = 0;
  for (size_t i = 0; i < n; i++) {
    if (isxdigit(p[i])) digits++;
    else if (!isspace(p[i])) return false;
  }
  return digits > 0 && digits % 2 == 0;
}

enclos_err enclos_x509_crl_parse(const void *data, size_t size, enclos_x509_crl **out) {
  ENCLOS_ENSUREF(data != NULL && out != NULL, ENCLOS_E_INVAL, "CRL parse: NULL argument");
  ENCLOS_ENSUREF(size > 0 && size <= CRL_MAX_INPUT_SIZE, ENCLOS_E_LIMIT, "CRL size %zu", size);
  const uint8_t *p = data;
  X509_CRL *c = NULL;
  enclos_buf hex = ENCLOS_BUF_INIT;
  if (size > 10 && memmem(p, size, "-----BEGIN X509 CRL-----", 24) != NULL) {
    BIO *bio = BIO_new_mem_buf(p, (int)size);
    CRYPTO_ENSURE(bio != NULL, ENCLOS_E_NOMEM, "BIO");
    c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    BIO_free(bio);
  } else if (all_hex(p, size)) {
    enclos_buf compact = ENCLOS_BUF_INIT;
    for (size_t i = 0; i < size; i++) {
      if (isxdigit(p[i])) {
        enclos_err e = enclos_buf_append_u8(&compact, p[i]);
        if (e != ENCLOS_OK) {
          enclos_buf_free(&compact);
          return e;
        }
      }
    }
    enclos_err e = enclos_hex_decode(&hex, (const char *)compact.data, compact.len);
    enclos_buf_free(&compact);
    ENCLOS_TRY(e);
    const unsigned char *q = hex.data;
    c = d2i_X509_CRL(NULL, &q, (long)hex.len);
    if (c != NULL && q != hex.data + hex.len) {
      X509_CRL_free(c);
      c = NULL;
    }
  } else {
    const unsigned char *q = p;
    c = d2i_X509_CRL(NULL, &q, (long)size);
    if (c != NULL && q != p + size) {
      X509_CRL_free(c);
      c = NULL;
    }
  }
  enclos_buf_free(&hex);
  CRYPTO_ENSURE(c != NULL, ENCLOS_E_MALFORMED, "CRL is not valid DER/PEM/hex");
  enclos_x509_crl *r = enclos_calloc(1, sizeof *r);
  if (r == NULL) {
    X509_CRL_free(c);
    ENCLOS_FAILF(ENCLOS_E_NOMEM, "CRL");
  }
  r->crl = c;
  *out = r;
  return ENCLOS_OK;
}

void enclos_x509_crl_free(enclos_x509_crl *crl) {
  if (crl == NULL) return;
  X509_CRL_free(crl->crl);
  enclos_free(crl);
}

enclos_err enclos_x509_crl_check_signature(const enclos_x509_crl *crl, const enclos_x509 *issuer) {
  EVP_PKEY *pk = X509_get0_pubkey(issuer->x509);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_MALFORMED, "CRL issuer public key");
  int r = X509_CRL_verify(crl->crl, pk);
  ERR_clear_error();
  ENCLOS_ENSUREF(r == 1, ENCLOS_E_VERIFY, "CRL signature does not verify with the issuer key");
  return ENCLOS_OK;
}

bool enclos_x509_crl_issued_by(const enclos_x509_crl *crl, const enclos_x509 *cert) {
  return X509_NAME_cmp(X509_CRL_get_issuer(crl->crl), X509_get_subject_name(cert->x509)) == 0;
}

static enclos_err crl_time(const ASN1_TIME *t, int64_t *out) {
  struct tm tm;
  CRYPTO_ENSURE(ASN1_TIME_to_tm(t, &tm) == 1, ENCLOS_E_MALFORMED, "CRL time");
  *out = (int64_t)timegm(&tm);
  return ENCLOS_OK;
}

enclos_err enclos_x509_crl_times(const enclos_x509_crl *crl, int64_t *this_update,
                                 int64_t *next_update) {
  const ASN1_TIME *tu = X509_CRL_get0_lastUpdate(crl->crl);
  const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl->crl);
  ENCLOS_ENSUREF(tu != NULL, ENCLOS_E_MALFORMED, "CRL without thisUpdate");
  ENCLOS_TRY(crl_time(tu, this_update));
  if (nu == NULL) *next_update = INT64_MAX;
  else ENCLOS_TRY(crl_time(nu, next_update));
  return ENCLOS_OK;
}

bool enclos_x509_crl_lists(const enclos_x509_crl *crl, const enclos_x509 *cert) {
  X509_REVOKED *rev = NULL;
  int r = X509_CRL_get0_by_serial(crl->crl, &rev, X509_get0_serialNumber(cert->x509));
  ERR_clear_error();
  return r == 1;
}

size_t enclos_x509_crl_count(const enclos_x509_crl *crl) {
  STACK_OF(X509_REVOKED) *s = X509_CRL_get_REVOKED(crl->crl);
  return s == NULL ? 0 : (size_t)sk_X509_REVOKED_num(s);
}
