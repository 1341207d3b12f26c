/* x509.c: X.509 certificates (RFC 5280) on OpenSSL: parsing, accessors, extensions and
 * path validation at a caller-chosen time.
 *
 * Divisions: 1. lifetime and parsing  2. accessors  3. extensions  4. path validation
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <enclos/mem.h>

#include "crypto_int.h"

/* 1. Lifetime and parsing ------------------------------------------------------------ */

typedef struct x509_box {
  struct enclos_x509 pub; /* first: enclos_x509* points here */
  atomic_int refs;
} x509_box;

static enclos_err wrap_x509(X509 *x, enclos_x509 **out) {
  x509_box *b = enclos_calloc(1, sizeof(*b));
  if (!b) {
    X509_free(x);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  b->pub.x509 = x;
  b->pub.der_size = i2d_X509(x, &b->pub.der);
  if (b->pub.der_size <= 0) {
    X509_free(x);
    enclos_free(b);
    CRYPTO_FAIL(ENCLOS_E_MALFORMED, "certificate re-encoding");
  }
  atomic_init(&b->refs, 1);
  *out = &b->pub;
  return ENCLOS_OK;
}

enclos_x509 *enclos_x509_ref(enclos_x509 *cert) {
  if (cert) atomic_fetch_add(&((x509_box *)(void *)cert)->refs, 1);
  return cert;
}

void enclos_x509_free(enclos_x509 *cert) {
  if (!cert) return;
  x509_box *b = (x509_box *)(void *)cert;
  if (atomic_fetch_sub(&b->refs, 1) != 1) return;
  X509_free(cert->x509);
  OPENSSL_free(cert->der);
  enclos_free(b);
}

enclos_err enclos_x509_from_der(const void *der, size_t size, enclos_x509 **out) {
  ENCLOS_ENSUREF(size > 0 && size <= INT32_MAX, ENCLOS_E_MALFORMED, "certificate size %zu", size);
  const unsigned char *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)size);
  CRYPTO_ENSURE(x != NULL, ENCLOS_E_MALFORMED, "DER certificate");
  if (p != (const unsigned char *)der + size) {
    X509_free(x);
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "%zu trailing bytes after DER certificate",
                 size - (size_t)(p - (const unsigned char *)der));
  }
  return wrap_x509(x, out);
}

void enclos_x509_list_free(enclos_x509 **list, size_t count) {
  if (!list) return;
  for (size_t i = 0; i < count; i++) enclos_x509_free(list[i]);
  enclos_free(list);
}

static bool looks_like_pem(const uint8_t *p, size_t size) {
  static const char tag[] = "-----BEGIN";
  for (size_t i = 0; i + sizeof(tag) - 1 <= size; i++)
    if (memcmp(p + i, tag, sizeof(tag) - 1) == 0) return true;
  return false;
}

enclos_err enclos_x509_list_parse(const void *data, size_t size, enclos_x509 ***out,
                                  size_t *count) {
  ENCLOS_ENSURE(size <= INT32_MAX, ENCLOS_E_LIMIT);
  enclos_x509 **list = enclos_calloc(ENCLOS_X509_MAX_CHAIN, sizeof(*list));
  ENCLOS_ENSURE(list != NULL, ENCLOS_E_NOMEM);
  size_t n = 0;
  enclos_err rc = ENCLOS_OK;
  if (!looks_like_pem(data, size)) {
    ENCLOS_GUARD(enclos_x509_from_der(data, size, &list[0]));
    n = 1;
  } else {
    BIO *bio = BIO_new_mem_buf(data, (int)size);
    ENCLOS_GUARD_ENSUREF(bio != NULL, ENCLOS_E_NOMEM, "BIO");
    for (;;) {
      X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
      if (!x) break;
      if (n == ENCLOS_X509_MAX_CHAIN) {
        X509_free(x);
        BIO_free(bio);
        ENCLOS_GUARD_FAILF(ENCLOS_E_LIMIT, "more than %d certificates in PEM bundle",
                           ENCLOS_X509_MAX_CHAIN);
      }
      rc = wrap_x509(x, &list[n]);
      if (rc != ENCLOS_OK) {
        BIO_free(bio);
        goto cleanup;
      }
      n++;
    }
    /* End of input is the only acceptable stop: a PEM block that fails to parse is an error. */
    unsigned long e = ERR_peek_last_error();
    bool clean_end = ERR_GET_REASON(e) == PEM_R_NO_START_LINE || e == 0;
    ERR_clear_error();
    BIO_free(bio);
    ENCLOS_GUARD_ENSUREF(clean_end, ENCLOS_E_MALFORMED, "PEM certificate %zu does not parse",
                         n + 1);
    ENCLOS_GUARD_ENSUREF(n > 0, ENCLOS_E_MALFORMED, "no certificate in PEM text");
  }
  *out = list;
  *count = n;
  return ENCLOS_OK;
cleanup:
  enclos_x509_list_free(list, n);
  return rc;
}

/* 2. Accessors ----------------------------------------------------------------------- */

void enclos_x509_der(const enclos_x509 *cert, const uint8_t **der, size_t *size) {
  *der = cert->der;
  *size = (size_t)cert->der_size;
}

enclos_err enclos_x509_spki(const enclos_x509 *cert, enclos_buf *out) {
  unsigned char *der = NULL;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert->x509), &der);
  CRYPTO_ENSURE(n > 0, ENCLOS_E_CRYPTO, "i2d_X509_PUBKEY");
  enclos_err rc = enclos_buf_append(out, der, (size_t)n);
  OPENSSL_free(der);
  return rc;
}

enclos_err enclos_x509_pubkey(const enclos_x509 *cert, enclos_pkey **out) {
  EVP_PKEY *pk = X509_get_pubkey(cert->x509);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_MALFORMED, "certificate public key");
  return crypto__wrap_pkey(pk, out);
}

static enclos_err asn1_time_unix(const ASN1_TIME *t, int64_t *out) {
  struct tm tm;
  CRYPTO_ENSURE(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1, ENCLOS_E_MALFORMED, "ASN.1 time");
  *out = (int64_t)timegm(&tm);
  return ENCLOS_OK;
}

enclos_err enclos_x509_validity(const enclos_x509 *cert, int64_t *not_before, int64_t *not_after) {
  ENCLOS_TRY(asn1_time_unix(X509_get0_notBefore(cert->x509), not_before));
  return asn1_time_unix(X509_get0_notAfter(cert->x509), not_after);
}

static enclos_err name_to_buf(const X509_NAME *name, enclos_buf *out) {
  BIO *bio = BIO_new(BIO_s_mem());
  CRYPTO_ENSURE(bio != NULL, ENCLOS_E_NOMEM, "BIO");
  enclos_err rc = ENCLOS_OK;
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
    rc = crypto__ossl_fail(ENCLOS_E_MALFORMED, __FILE__, __LINE__, "name");
  } else {
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    const char *s;
    rc = enclos_buf_append(out, p, n > 0 ? (size_t)n : 0);
    if (rc == ENCLOS_OK) rc = enclos_buf_cstr(out, &s);
  }
  BIO_free(bio);
  return rc;
}

enclos_err enclos_x509_subject(const enclos_x509 *cert, enclos_buf *out) {
  return name_to_buf(X509_get_subject_name(cert->x509), out);
}

enclos_err enclos_x509_issuer(const enclos_x509 *cert, enclos_buf *out) {
  return name_to_buf(X509_get_issuer_name(cert->x509), out);
}

enclos_err enclos_x509_subject_attr(const enclos_x509 *cert, const char *name, enclos_buf *out) {
  int nid = OBJ_txt2nid(name);
  ENCLOS_ENSUREF(nid != NID_undef, ENCLOS_E_INVAL, "unknown attribute %s", name);
  const X509_NAME *subj = X509_get_subject_name(cert->x509);
  int idx = X509_NAME_get_index_by_NID(subj, nid, -1);
  ENCLOS_ENSUREF(idx >= 0, ENCLOS_E_NOT_FOUND, "subject has no %s", name);
  const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
  unsigned char *utf8 = NULL;
  int n = ASN1_STRING_to_UTF8(&utf8, v);
  CRYPTO_ENSURE(n >= 0, ENCLOS_E_MALFORMED, "subject attribute");
  const char *s;
  enclos_err rc = enclos_buf_append(out, utf8, (size_t)n);
  if (rc == ENCLOS_OK) rc = enclos_buf_cstr(out, &s);
  OPENSSL_free(utf8);
  return rc;
}

enclos_err enclos_x509_serial(const enclos_x509 *cert, enclos_buf *out) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->x509), NULL);
  CRYPTO_ENSURE(bn != NULL, ENCLOS_E_MALFORMED, "serial number");
  uint8_t tmp[64];
  int n = BN_num_bytes(bn);
  enclos_err rc = ENCLOS_OK;
  if (n > (int)sizeof(tmp)) {
    rc = enclos_err_set(ENCLOS_E_LIMIT, __FILE__, __LINE__, "serial number longer than 64 bytes");
  } else {
    BN_bn2bin(bn, tmp);
    rc = enclos_buf_append(out, tmp, (size_t)n);
  }
  BN_free(bn);
  return rc;
}

enclos_err enclos_x509_fingerprint(const enclos_x509 *cert, uint8_t out[32]) {
  return enclos_hash(ENCLOS_SHA256, cert->der, (size_t)cert->der_size, out);
}

/* 3. Extensions ---------------------------------------------------------------------- */

size_t enclos_x509_extension_count(const enclos_x509 *cert) {
  int n = X509_get_ext_count(cert->x509);
  return n > 0 ? (size_t)n : 0;
}

enclos_err enclos_x509_extension_at(const enclos_x509 *cert, size_t i, char *oid, size_t oid_size,
                                    bool *critical) {
  ENCLOS_ENSURE(i < enclos_x509_extension_count(cert), ENCLOS_E_RANGE);
  X509_EXTENSION *ext = X509_get_ext(cert->x509, (int)i);
  int n = OBJ_obj2txt(oid, (int)oid_size, X509_EXTENSION_get_object(ext), 1);
  ENCLOS_ENSUREF(n > 0 && (size_t)n < oid_size, ENCLOS_E_LIMIT, "extension OID too long");
  if (critical) *critical = X509_EXTENSION_get_critical(ext) != 0;
  return ENCLOS_OK;
}

enclos_err enclos_x509_extension(const enclos_x509 *cert, const char *oid, const uint8_t **value,
                                 size_t *size, bool *critical) {
  ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
  CRYPTO_ENSURE(want != NULL, ENCLOS_E_INVAL, "extension OID");
  int count = X509_get_ext_count(cert->x509);
  int found = -1;
  for (int i = 0; i < count; i++) {
    if (OBJ_cmp(X509_EXTENSION_get_object(X509_get_ext(cert->x509, i)), want) == 0) {
      if (found >= 0) {
        ASN1_OBJECT_free(want);
        ENCLOS_FAILF(ENCLOS_E_MALFORMED, "extension %s appears twice (RFC 5280 §4.2)", oid);
      }
      found = i;
    }
  }
  ASN1_OBJECT_free(want);
  ENCLOS_ENSUREF(found >= 0, ENCLOS_E_NOT_FOUND, "certificate has no extension %s", oid);
  X509_EXTENSION *ext = X509_get_ext(cert->x509, found);
  const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
  *value = ASN1_STRING_get0_data(data);
  *size = (size_t)ASN1_STRING_length(data);
  if (critical) *critical = X509_EXTENSION_get_critical(ext) != 0;
  return ENCLOS_OK;
}

bool enclos_x509_is_ca(const enclos_x509 *cert) {
  return X509_check_ca(cert->x509) >= 1 && (X509_get_extension_flags(cert->x509) & EXFLAG_CA);
}

/* 4. Path validation ----------------------------------------------------------------- */

enclos_err enclos_x509_check_signature(const enclos_x509 *cert, const enclos_x509 *issuer) {
  EVP_PKEY *pk = X509_get0_pubkey(issuer->x509);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_MALFORMED, "issuer public key");
  int r = X509_verify(cert->x509, pk);
  ERR_clear_error();
  ENCLOS_ENSUREF(r == 1, ENCLOS_E_VERIFY, "certificate signature does not verify with the issuer key");
  return ENCLOS_OK;
}

/* RFC 5280 §4.2: a verifier must reject a certificate with a critical extension it does not
 * process. OpenSSL knows the standard ones; callers name the private ones they process. */
static enclos_err check_critical(X509 *x, const enclos_x509_verify_opts *opts) {
  int count = X509_get_ext_count(x);
  for (int i = 0; i < count; i++) {
    X509_EXTENSION *ext = X509_get_ext(x, i);
    if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext)) continue;
    char oid[128];
    OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
    bool known = false;
    for (size_t k = 0; k < opts->known_critical_count; k++)
      if (strcmp(opts->known_critical[k], oid) == 0) known = true;
    if (!known && !opts->allow_unknown_critical) {
      char subj[256];
      X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
      ENCLOS_FAILF(ENCLOS_E_VERIFY, "certificate %s has unknown critical extension %s", subj, oid);
    }
  }
  return ENCLOS_OK;
}

enclos_err enclos_x509_verify_chain(const enclos_x509 *leaf, enclos_x509 *const *intermediates,
                                    size_t n_intermediates, enclos_x509 *const *roots,
                                    size_t n_roots, const enclos_x509_verify_opts *opts) {
  ENCLOS_ENSURE_REF(leaf);
  ENCLOS_ENSURE_REF(opts);
  ENCLOS_ENSUREF(n_roots > 0, ENCLOS_E_INVAL, "no trust anchor given");
  ENCLOS_ENSURE(n_intermediates <= ENCLOS_X509_MAX_CHAIN && n_roots <= ENCLOS_X509_MAX_CHAIN,
                ENCLOS_E_LIMIT);
  enclos_err rc = ENCLOS_OK;
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  STACK_OF(X509) *untrusted = sk_X509_new_null();
  ENCLOS_GUARD_ENSUREF(store && ctx && untrusted, ENCLOS_E_NOMEM, "X509 store");
  for (size_t i = 0; i < n_roots; i++)
    ENCLOS_GUARD_ENSUREF(X509_STORE_add_cert(store, roots[i]->x509) == 1, ENCLOS_E_CRYPTO,
                         "adding trust anchor");
  for (size_t i = 0; i < n_intermediates; i++)
    ENCLOS_GUARD_ENSUREF(sk_X509_push(untrusted, intermediates[i]->x509) > 0, ENCLOS_E_NOMEM,
                         "chain");
  ENCLOS_GUARD_ENSUREF(X509_STORE_CTX_init(ctx, store, leaf->x509, untrusted) == 1,
                       ENCLOS_E_CRYPTO, "X509_STORE_CTX_init");
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(param, (time_t)opts->at);
  /* Critical extensions are checked below with the caller's list of known private ones. */
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_IGNORE_CRITICAL);
  if (X509_verify_cert(ctx) != 1) {
    int err = X509_STORE_CTX_get_error(ctx);
    X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
    char subj[256] = "?";
    if (bad) X509_NAME_oneline(X509_get_subject_name(bad), subj, sizeof(subj));
    enclos_err code = (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
                          ? ENCLOS_E_EXPIRED
                          : ENCLOS_E_VERIFY;
    ERR_clear_error();
    ENCLOS_GUARD_FAILF(code, "certificate %s: %s", subj, X509_verify_cert_error_string(err));
  }
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
  for (int i = 0; i < sk_X509_num(chain); i++)
    ENCLOS_GUARD(check_critical(sk_X509_value(chain, i), opts));
cleanup:
  sk_X509_free(untrusted);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return rc;
}
