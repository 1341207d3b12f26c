/* x509_make.c: certificate and CSR creation for RA-TLS (RFC 5280 §4.1, RFC 2986).
 *
 * 1. Shared helpers (names, extensions, digest choice)
 * 2. Certificates
 * 3. CSRs
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <enclos/mem.h>
#include <enclos/x509_make.h>

#include "crypto_int.h"

struct enclos_x509_csr {
  X509_REQ *req;
};

/* 1. Shared helpers ------------------------------------------------------------------ */

/* ECDSA with a digest matching the curve size (RFC 5758 §3.2 / CA/B BR practice). */
static const EVP_MD *sig_md(const enclos_pkey *key) {
  return enclos_pkey_type(key) == ENCLOS_KEY_EC_P384 ? EVP_sha384() : EVP_sha256();
}

static enclos_err build_name(X509_NAME *name, const char *cn, const char *o) {
  ENCLOS_ENSUREF(cn != NULL && cn[0] != '\0' && strlen(cn) <= 64, ENCLOS_E_INVAL,
                 "commonName must be 1..64 bytes (RFC 5280 ub-common-name)");
  if (o) {
    CRYPTO_ENSURE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)o,
                                             -1, -1, 0) == 1,
                  ENCLOS_E_INVAL, "organisation name");
  }
  CRYPTO_ENSURE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                           -1, -1, 0) == 1,
                ENCLOS_E_INVAL, "common name");
  return ENCLOS_OK;
}

static enclos_err make_ext(const enclos_x509_ext *e, X509_EXTENSION **out) {
  ENCLOS_ENSUREF(e->oid != NULL && e->size <= INT32_MAX, ENCLOS_E_INVAL, "extension");
  enclos_err rc = ENCLOS_OK;
  ASN1_OBJECT *obj = OBJ_txt2obj(e->oid, 1);
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  ENCLOS_GUARD_ENSUREF(obj && os, ENCLOS_E_INVAL, "extension OID %s", e->oid);
  ENCLOS_GUARD_ENSUREF(ASN1_OCTET_STRING_set(os, e->value, (int)e->size) == 1, ENCLOS_E_NOMEM,
                       "extension value");
  *out = X509_EXTENSION_create_by_OBJ(NULL, obj, e->critical ? 1 : 0, os);
  ENCLOS_GUARD_ENSUREF(*out != NULL, ENCLOS_E_NOMEM, "extension");
cleanup:
  ASN1_OBJECT_free(obj);
  ASN1_OCTET_STRING_free(os);
  ERR_clear_error();
  return rc;
}

static enclos_err add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
  CRYPTO_ENSURE(ext != NULL, ENCLOS_E_INVAL, value);
  int ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  CRYPTO_ENSURE(ok == 1, ENCLOS_E_NOMEM, "X509_add_ext");
  return ENCLOS_OK;
}

/* 2. Certificates -------------------------------------------------------------------- */

enclos_err enclos_x509_make(const enclos_pkey *subject_key, const enclos_x509_make_opts *opts,
                            const enclos_x509 *issuer, const enclos_pkey *issuer_key,
                            enclos_x509 **out) {
  ENCLOS_ENSURE_REF(subject_key);
  ENCLOS_ENSURE_REF(opts);
  ENCLOS_ENSURE_REF(issuer_key);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(enclos_pkey_has_private(issuer_key), ENCLOS_E_INVAL, "issuer key has no private half");
  ENCLOS_ENSUREF(opts->not_after > opts->not_before, ENCLOS_E_INVAL, "notAfter must follow notBefore");
  ENCLOS_ENSURE(opts->ext_count <= ENCLOS_X509_MAKE_MAX_EXTS, ENCLOS_E_LIMIT);
  ENCLOS_ENSURE(opts->dns_count <= ENCLOS_X509_MAKE_MAX_DNS, ENCLOS_E_LIMIT);
  enclos_err rc = ENCLOS_OK;
  enclos_buf san = ENCLOS_BUF_INIT;
  unsigned char *der = NULL;
  X509 *x = X509_new();
  BIGNUM *bn = BN_new();
  ENCLOS_GUARD_ENSUREF(x && bn, ENCLOS_E_NOMEM, "X509_new");
  ENCLOS_GUARD_ENSUREF(X509_set_version(x, 2) == 1, ENCLOS_E_CRYPTO, "version");
  /* RFC 5280 §4.1.2.2: positive serial of at most 20 octets; 159 random bits. */
  ENCLOS_GUARD_ENSUREF(BN_rand(bn, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
                           BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL,
                       ENCLOS_E_CRYPTO, "serial");
  ENCLOS_GUARD_ENSUREF(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)opts->not_before) &&
                           ASN1_TIME_set(X509_getm_notAfter(x), (time_t)opts->not_after),
                       ENCLOS_E_RANGE, "validity");
  ENCLOS_GUARD(build_name(X509_get_subject_name(x), opts->subject_cn, opts->subject_o));
  if (issuer) {
    ENCLOS_GUARD_ENSUREF(X509_set_issuer_name(x, X509_get_subject_name(issuer->x509)) == 1,
                         ENCLOS_E_CRYPTO, "issuer name");
  } else {
    ENCLOS_GUARD_ENSUREF(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1, ENCLOS_E_CRYPTO,
                         "issuer name");
  }
  ENCLOS_GUARD_ENSUREF(X509_set_pubkey(x, subject_key->pkey) == 1, ENCLOS_E_CRYPTO, "public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->x509 : x, x, NULL, NULL, 0);
  if (opts->is_ca) {
    char bc[48];
    if (opts->path_len >= 0)
      snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", opts->path_len);
    else
      snprintf(bc, sizeof(bc), "critical,CA:TRUE");
    ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_basic_constraints, bc));
    ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"));
  } else {
    ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_key_usage, "critical,digitalSignature"));
    ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash"));
  if (issuer) ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"));
  for (size_t i = 0; i < opts->dns_count; i++) {
    ENCLOS_GUARD(enclos_buf_printf(&san, "%sDNS:%s", i ? "," : "", opts->dns_names[i]));
  }
  if (opts->dns_count) {
    const char *s;
    ENCLOS_GUARD(enclos_buf_cstr(&san, &s));
    ENCLOS_GUARD(add_conf_ext(x, &ctx, NID_subject_alt_name, s));
  }
  for (size_t i = 0; i < opts->ext_count; i++) {
    X509_EXTENSION *ext = NULL;
    ENCLOS_GUARD(make_ext(&opts->exts[i], &ext));
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ENCLOS_GUARD_ENSUREF(ok == 1, ENCLOS_E_NOMEM, "X509_add_ext");
  }
  ENCLOS_GUARD_ENSUREF(X509_sign(x, issuer_key->pkey, sig_md(issuer_key)) > 0, ENCLOS_E_CRYPTO,
                       "signing the certificate");
  int n = i2d_X509(x, &der);
  ENCLOS_GUARD_ENSUREF(n > 0, ENCLOS_E_CRYPTO, "encoding the certificate");
  ENCLOS_GUARD(enclos_x509_from_der(der, (size_t)n, out));
cleanup:
  OPENSSL_free(der);
  BN_free(bn);
  X509_free(x);
  enclos_buf_free(&san);
  ERR_clear_error();
  return rc;
}

enclos_err enclos_x509_pem(const enclos_x509 *cert, enclos_buf *out) {
  BIO *b = BIO_new(BIO_s_mem());
  CRYPTO_ENSURE(b != NULL, ENCLOS_E_NOMEM, "BIO");
  enclos_err rc = ENCLOS_OK;
  char *p = NULL;
  ENCLOS_GUARD_ENSUREF(PEM_write_bio_X509(b, cert->x509) == 1, ENCLOS_E_CRYPTO, "PEM encoding");
  long n = BIO_get_mem_data(b, &p);
  ENCLOS_GUARD_ENSUREF(n > 0, ENCLOS_E_CRYPTO, "PEM encoding");
  ENCLOS_GUARD(enclos_buf_append(out, p, (size_t)n));
cleanup:
  BIO_free(b);
  return rc;
}

/* 3. CSRs ---------------------------------------------------------------------------- */

enclos_err enclos_x509_csr_make(const enclos_pkey *key, const char *cn, const enclos_x509_ext *exts,
                                size_t ext_count, enclos_buf *der) {
  ENCLOS_ENSURE_REF(key);
  ENCLOS_ENSURE(ext_count <= ENCLOS_X509_MAKE_MAX_EXTS, ENCLOS_E_LIMIT);
  enclos_err rc = ENCLOS_OK;
  unsigned char *enc = NULL;
  X509_REQ *req = X509_REQ_new();
  STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
  ENCLOS_GUARD_ENSUREF(req && sk, ENCLOS_E_NOMEM, "X509_REQ_new");
  ENCLOS_GUARD(build_name(X509_REQ_get_subject_name(req), cn, NULL));
  ENCLOS_GUARD_ENSUREF(X509_REQ_set_pubkey(req, key->pkey) == 1, ENCLOS_E_CRYPTO, "public key");
  for (size_t i = 0; i < ext_count; i++) {
    X509_EXTENSION *ext = NULL;
    ENCLOS_GUARD(make_ext(&exts[i], &ext));
    if (sk_X509_EXTENSION_push(sk, ext) <= 0) {
      X509_EXTENSION_free(ext);
      ENCLOS_GUARD_FAILF(ENCLOS_E_NOMEM, "extension stack");
    }
  }
  if (ext_count)
    ENCLOS_GUARD_ENSUREF(X509_REQ_add_extensions(req, sk) == 1, ENCLOS_E_CRYPTO, "extensionRequest");
  ENCLOS_GUARD_ENSUREF(X509_REQ_sign(req, key->pkey, sig_md(key)) > 0, ENCLOS_E_CRYPTO, "signing CSR");
  int n = i2d_X509_REQ(req, &enc);
  ENCLOS_GUARD_ENSUREF(n > 0, ENCLOS_E_CRYPTO, "encoding CSR");
  ENCLOS_GUARD(enclos_buf_append(der, enc, (size_t)n));
cleanup:
  OPENSSL_free(enc);
  sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
  X509_REQ_free(req);
  ERR_clear_error();
  return rc;
}

enclos_err enclos_x509_csr_parse(const void *data, size_t size, enclos_x509_csr **out) {
  ENCLOS_ENSURE_REF(data);
  ENCLOS_ENSUREF(size > 0 && size <= ENCLOS_X509_CSR_MAX_SIZE, ENCLOS_E_LIMIT,
                 "CSR size %zu outside 1..%u", size, ENCLOS_X509_CSR_MAX_SIZE);
  X509_REQ *req = NULL;
  if (size > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
    BIO *b = BIO_new_mem_buf(data, (int)size);
    CRYPTO_ENSURE(b != NULL, ENCLOS_E_NOMEM, "BIO");
    req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
  } else {
    const unsigned char *p = data;
    req = d2i_X509_REQ(NULL, &p, (long)size);
    if (req && p != (const unsigned char *)data + size) {
      X509_REQ_free(req);
      ENCLOS_FAILF(ENCLOS_E_MALFORMED, "trailing bytes after the CSR");
    }
  }
  CRYPTO_ENSURE(req != NULL, ENCLOS_E_MALFORMED, "CSR does not parse (RFC 2986)");
  EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
  if (pk == NULL || X509_REQ_verify(req, pk) != 1) {
    X509_REQ_free(req);
    ERR_clear_error();
    ENCLOS_FAILF(ENCLOS_E_VERIFY, "CSR self-signature does not verify (no proof of possession)");
  }
  enclos_x509_csr *c = enclos_calloc(1, sizeof(*c));
  if (!c) {
    X509_REQ_free(req);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  c->req = req;
  *out = c;
  return ENCLOS_OK;
}

enclos_err enclos_x509_csr_pubkey(const enclos_x509_csr *csr, enclos_pkey **out) {
  EVP_PKEY *pk = X509_REQ_get0_pubkey(csr->req);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_MALFORMED, "CSR public key");
  CRYPTO_ENSURE(EVP_PKEY_up_ref(pk) == 1, ENCLOS_E_CRYPTO, "up_ref");
  return crypto__wrap_pkey(pk, out);
}

enclos_err enclos_x509_csr_cn(const enclos_x509_csr *csr, enclos_buf *out) {
  X509_NAME *n = X509_REQ_get_subject_name(csr->req);
  int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
  ENCLOS_ENSUREF(i >= 0, ENCLOS_E_NOT_FOUND, "CSR subject has no commonName");
  ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  return enclos_buf_append(out, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
}

enclos_err enclos_x509_csr_extension(const enclos_x509_csr *csr, const char *oid, enclos_buf *out,
                                     bool *critical) {
  STACK_OF(X509_EXTENSION) *sk = X509_REQ_get_extensions(csr->req);
  ERR_clear_error();
  ENCLOS_ENSUREF(sk != NULL, ENCLOS_E_NOT_FOUND, "CSR has no extensionRequest");
  enclos_err rc = ENCLOS_OK;
  ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
  ENCLOS_GUARD_ENSUREF(want != NULL, ENCLOS_E_INVAL, "OID %s", oid);
  int found = -1;
  for (int i = 0; i < sk_X509_EXTENSION_num(sk); i++) {
    if (OBJ_cmp(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(sk, i)), want) == 0) {
      ENCLOS_GUARD_ENSUREF(found < 0, ENCLOS_E_MALFORMED, "CSR requests extension %s twice", oid);
      found = i;
    }
  }
  ENCLOS_GUARD_ENSUREF(found >= 0, ENCLOS_E_NOT_FOUND, "CSR has no extension %s", oid);
  X509_EXTENSION *ext = sk_X509_EXTENSION_value(sk, found);
  const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
  if (critical) *critical = X509_EXTENSION_get_critical(ext) != 0;
  ENCLOS_GUARD(enclos_buf_append(out, ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d)));
cleanup:
  ASN1_OBJECT_free(want);
  sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
  return rc;
}

void enclos_x509_csr_free(enclos_x509_csr *csr) {
  if (!csr) return;
  X509_REQ_free(csr->req);
  enclos_free(csr);
}
