/* pkey.c: ECDSA P-256/P-384 keys (FIPS 186-4), RSA-PSS verification (RFC 8017), and the
 * DER <-> raw r‖s signature conversions used by quotes and reports.
 *
 * Divisions: 1. handles  2. import/export  3. ECDSA sign/verify  4. RSA-PSS  5. signature forms
 */
#include <stdatomic.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <enclos/mem.h>

#include "crypto_int.h"

/* 1. Handles ------------------------------------------------------------------------- */

typedef struct pkey_box {
  struct enclos_pkey pub; /* must be first: enclos_pkey* points here */
  atomic_int refs;
} pkey_box;

enclos_err crypto__wrap_pkey(EVP_PKEY *pk, enclos_pkey **out) {
  pkey_box *b = enclos_calloc(1, sizeof(*b));
  if (!b) {
    EVP_PKEY_free(pk);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  b->pub.pkey = pk;
  atomic_init(&b->refs, 1);
  *out = &b->pub;
  return ENCLOS_OK;
}

enclos_pkey *enclos_pkey_ref(enclos_pkey *key) {
  if (key) atomic_fetch_add(&((pkey_box *)(void *)key)->refs, 1);
  return key;
}

void enclos_pkey_free(enclos_pkey *key) {
  if (!key) return;
  pkey_box *b = (pkey_box *)(void *)key;
  if (atomic_fetch_sub(&b->refs, 1) != 1) return;
  EVP_PKEY_free(key->pkey); /* OpenSSL clears private key material on free */
  enclos_free(b);
}

static const char *curve_name(enclos_key_type t) {
  switch (t) {
    case ENCLOS_KEY_EC_P256: return "P-256";
    case ENCLOS_KEY_EC_P384: return "P-384";
    default: return NULL;
  }
}

static int curve_nid(enclos_key_type t) {
  return t == ENCLOS_KEY_EC_P256 ? NID_X9_62_prime256v1
         : t == ENCLOS_KEY_EC_P384 ? NID_secp384r1 : NID_undef;
}

static size_t coord_size(enclos_key_type t) {
  return t == ENCLOS_KEY_EC_P256 ? 32 : t == ENCLOS_KEY_EC_P384 ? 48 : 0;
}

enclos_key_type enclos_pkey_type(const enclos_pkey *key) {
  int id = EVP_PKEY_get_base_id(key->pkey);
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) return ENCLOS_KEY_RSA;
  if (id != EVP_PKEY_EC) return ENCLOS_KEY_OTHER;
  char group[64];
  size_t n = 0;
  if (EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &n) != 1)
    return ENCLOS_KEY_OTHER;
  if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) return ENCLOS_KEY_EC_P256;
  if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) return ENCLOS_KEY_EC_P384;
  return ENCLOS_KEY_OTHER;
}

bool enclos_pkey_has_private(const enclos_pkey *key) {
  BIGNUM *d = NULL;
  if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1) {
    BN_clear_free(d);
    return true;
  }
  ERR_clear_error();
  return false;
}

enclos_err enclos_pkey_generate(enclos_key_type type, enclos_pkey **out) {
  const char *curve = curve_name(type);
  ENCLOS_ENSUREF(curve != NULL, ENCLOS_E_UNSUPPORTED, "key generation supports P-256 and P-384");
  EVP_PKEY *pk = EVP_EC_gen(curve);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_CRYPTO, "EC key generation");
  return crypto__wrap_pkey(pk, out);
}

/* 2. Import / export ------------------------------------------------------------------ */

static enclos_err pkey_fromdata(enclos_key_type type, const BIGNUM *priv, const uint8_t *pub,
                                size_t pub_size, enclos_pkey **out) {
  enclos_err rc = ENCLOS_OK;
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL, *check = NULL;
  EVP_PKEY *pk = NULL;
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve_name(type), 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_size) ||
      (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)) ||
      !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "EC key import");
    goto cleanup;
  }
  /* The point must lie on the curve (SEC 1 §3.2.2.1); fromdata alone is not a promise. */
  check = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
  if (!check || EVP_PKEY_public_check(check) != 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "EC public key is not on the curve");
    goto cleanup;
  }
  rc = crypto__wrap_pkey(pk, out);
  pk = NULL;
cleanup:
  EVP_PKEY_free(pk);
  EVP_PKEY_CTX_free(check);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return rc;
}

enclos_err enclos_pkey_from_public_raw(enclos_key_type type, const void *point, size_t size,
                                       enclos_pkey **out) {
  size_t c = coord_size(type);
  ENCLOS_ENSUREF(c != 0, ENCLOS_E_UNSUPPORTED, "raw public keys are EC only");
  uint8_t buf[1 + 2 * 48];
  const uint8_t *p = point;
  if (size == 2 * c) {
    buf[0] = 0x04;
    memcpy(buf + 1, p, size);
  } else {
    ENCLOS_ENSUREF(size == 2 * c + 1 && p[0] == 0x04, ENCLOS_E_MALFORMED,
                   "raw EC point must be x||y (%zu bytes) or 0x04||x||y, got %zu bytes", 2 * c,
                   size);
    memcpy(buf, p, size);
  }
  return pkey_fromdata(type, NULL, buf, 2 * c + 1, out);
}

enclos_err enclos_pkey_from_private_raw(enclos_key_type type, const void *d, size_t size,
                                        enclos_pkey **out) {
  size_t c = coord_size(type);
  ENCLOS_ENSUREF(c != 0 && size == c, ENCLOS_E_INVAL, "private scalar must be %zu bytes", c);
  enclos_err rc = ENCLOS_OK;
  EC_GROUP *group = EC_GROUP_new_by_curve_name(curve_nid(type));
  EC_POINT *pt = group ? EC_POINT_new(group) : NULL;
  BIGNUM *bn = BN_secure_new();
  uint8_t pub[1 + 2 * 48];
  if (!group || !pt || !bn || !BN_bin2bn(d, (int)size, bn) || BN_is_zero(bn) ||
      BN_cmp(bn, EC_GROUP_get0_order(group)) >= 0 ||
      EC_POINT_mul(group, pt, bn, NULL, NULL, NULL) != 1 ||
      EC_POINT_point2oct(group, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL) !=
          2 * c + 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "EC private scalar");
    goto cleanup;
  }
  rc = pkey_fromdata(type, bn, pub, 2 * c + 1, out);
cleanup:
  BN_clear_free(bn);
  EC_POINT_free(pt);
  EC_GROUP_free(group);
  return rc;
}

enclos_err enclos_pkey_from_spki(const void *der, size_t size, enclos_pkey **out) {
  ENCLOS_ENSURE(size <= INT32_MAX, ENCLOS_E_LIMIT);
  const unsigned char *p = der;
  EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)size);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_MALFORMED, "SubjectPublicKeyInfo");
  if (p != (const unsigned char *)der + size) {
    EVP_PKEY_free(pk);
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "trailing bytes after SubjectPublicKeyInfo");
  }
  return crypto__wrap_pkey(pk, out);
}

enclos_err enclos_pkey_from_private(const void *data, size_t size, enclos_pkey **out) {
  ENCLOS_ENSURE(size <= INT32_MAX, ENCLOS_E_LIMIT);
  EVP_PKEY *pk = NULL;
  BIO *bio = BIO_new_mem_buf(data, (int)size);
  CRYPTO_ENSURE(bio != NULL, ENCLOS_E_NOMEM, "BIO");
  pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (!pk) {
    ERR_clear_error();
    const unsigned char *p = data;
    pk = d2i_AutoPrivateKey(NULL, &p, (long)size);
  }
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_MALFORMED, "private key (PEM or DER)");
  return crypto__wrap_pkey(pk, out);
}

enclos_err enclos_pkey_spki(const enclos_pkey *key, enclos_buf *out) {
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(key->pkey, &der);
  CRYPTO_ENSURE(n > 0, ENCLOS_E_CRYPTO, "i2d_PUBKEY");
  enclos_err rc = enclos_buf_append(out, der, (size_t)n);
  OPENSSL_free(der);
  return rc;
}

enclos_err enclos_pkey_public_raw(const enclos_pkey *key, enclos_buf *out) {
  uint8_t pub[1 + 2 * 66];
  size_t n = 0;
  CRYPTO_ENSURE(EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                                sizeof(pub), &n) == 1 && n > 1 && pub[0] == 0x04,
                ENCLOS_E_UNSUPPORTED, "public key is not an uncompressed EC point");
  return enclos_buf_append(out, pub + 1, n - 1);
}

static enclos_err bio_to_buf(BIO *bio, enclos_buf *out) {
  char *p = NULL;
  long n = BIO_get_mem_data(bio, &p);
  ENCLOS_ENSURE(n > 0, ENCLOS_E_CRYPTO);
  out->secret = true;
  return enclos_buf_append(out, p, (size_t)n);
}

enclos_err enclos_pkey_private_der(const enclos_pkey *key, enclos_buf *out) {
  BIO *bio = BIO_new(BIO_s_secmem());
  CRYPTO_ENSURE(bio != NULL, ENCLOS_E_NOMEM, "BIO");
  enclos_err rc = ENCLOS_OK;
  if (i2d_PKCS8PrivateKey_bio(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "PKCS#8 encode");
  else
    rc = bio_to_buf(bio, out);
  BIO_free(bio);
  return rc;
}

enclos_err enclos_pkey_private_pem(const enclos_pkey *key, enclos_buf *out) {
  BIO *bio = BIO_new(BIO_s_secmem());
  CRYPTO_ENSURE(bio != NULL, ENCLOS_E_NOMEM, "BIO");
  enclos_err rc = ENCLOS_OK;
  if (PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "PKCS#8 PEM encode");
  else
    rc = bio_to_buf(bio, out);
  BIO_free(bio);
  return rc;
}

/* 3. ECDSA ---------------------------------------------------------------------------- */

enclos_err enclos_pkey_sign(const enclos_pkey *key, enclos_hash_alg alg, const void *msg,
                            size_t size, enclos_sig_form form, enclos_buf *sig) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm");
  enclos_key_type type = enclos_pkey_type(key);
  ENCLOS_ENSUREF(type == ENCLOS_KEY_EC_P256 || type == ENCLOS_KEY_EC_P384, ENCLOS_E_UNSUPPORTED,
                 "signing supports ECDSA P-256/P-384 keys");
  uint8_t der[160];
  size_t der_size = sizeof(der);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestSignInit(c, NULL, md, NULL, key->pkey) == 1 &&
           EVP_DigestSign(c, der, &der_size, msg, size) == 1;
  EVP_MD_CTX_free(c);
  CRYPTO_ENSURE(ok, ENCLOS_E_CRYPTO, "ECDSA sign");
  if (form == ENCLOS_SIG_RAW) return enclos_sig_der_to_raw(der, der_size, coord_size(type), sig);
  return enclos_buf_append(sig, der, der_size);
}

enclos_err enclos_pkey_verify(const enclos_pkey *key, enclos_hash_alg alg, const void *msg,
                              size_t size, const void *sig, size_t sig_size,
                              enclos_sig_form form) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm");
  enclos_key_type type = enclos_pkey_type(key);
  ENCLOS_ENSUREF(type == ENCLOS_KEY_EC_P256 || type == ENCLOS_KEY_EC_P384, ENCLOS_E_UNSUPPORTED,
                 "ECDSA verification needs a P-256/P-384 key");
  enclos_buf der = ENCLOS_BUF_INIT;
  const void *d = sig;
  size_t dsize = sig_size;
  if (form == ENCLOS_SIG_RAW) {
    ENCLOS_ENSUREF(sig_size == 2 * coord_size(type), ENCLOS_E_VERIFY,
                   "raw signature is %zu bytes, want %zu", sig_size, 2 * coord_size(type));
    ENCLOS_TRY(enclos_sig_raw_to_der(sig, sig_size, &der));
    d = der.data;
    dsize = der.len;
  }
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int r = c && EVP_DigestVerifyInit(c, NULL, md, NULL, key->pkey) == 1
              ? EVP_DigestVerify(c, d, dsize, msg, size)
              : -1;
  EVP_MD_CTX_free(c);
  enclos_buf_free(&der);
  ERR_clear_error();
  ENCLOS_ENSUREF(r == 1, ENCLOS_E_VERIFY, "ECDSA signature does not verify");
  return ENCLOS_OK;
}

/* 4. RSASSA-PSS ---------------------------------------------------------------------- */

enclos_err enclos_pkey_verify_rsa_pss(const enclos_pkey *key, enclos_hash_alg alg,
                                      size_t salt_size, const void *msg, size_t size,
                                      const void *sig, size_t sig_size) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm");
  ENCLOS_ENSUREF(enclos_pkey_type(key) == ENCLOS_KEY_RSA, ENCLOS_E_UNSUPPORTED,
                 "RSA-PSS verification needs an RSA key");
  ENCLOS_ENSURE(salt_size <= 1024, ENCLOS_E_INVAL);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  int r = -1;
  if (c && EVP_DigestVerifyInit(c, &pctx, md, NULL, key->pkey) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)salt_size) == 1)
    r = EVP_DigestVerify(c, sig, sig_size, msg, size);
  EVP_MD_CTX_free(c);
  ERR_clear_error();
  ENCLOS_ENSUREF(r == 1, ENCLOS_E_VERIFY, "RSA-PSS signature does not verify");
  return ENCLOS_OK;
}

/* 5. Signature forms ----------------------------------------------------------------- */

enclos_err enclos_sig_der_to_raw(const void *der, size_t size, size_t coord, enclos_buf *out) {
  ENCLOS_ENSURE(coord > 0 && coord <= 66 && size <= 256, ENCLOS_E_INVAL);
  const unsigned char *p = der;
  ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)size);
  CRYPTO_ENSURE(s != NULL, ENCLOS_E_MALFORMED, "DER ECDSA signature");
  enclos_err rc = ENCLOS_OK;
  uint8_t raw[2 * 66];
  if (p != (const unsigned char *)der + size ||
      BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, (int)coord) != (int)coord ||
      BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + coord, (int)coord) != (int)coord)
    rc = enclos_err_set(ENCLOS_E_MALFORMED, __FILE__, __LINE__,
                        "ECDSA signature does not fit %zu-byte coordinates", coord);
  else
    rc = enclos_buf_append(out, raw, 2 * coord);
  ECDSA_SIG_free(s);
  ERR_clear_error();
  return rc;
}

enclos_err enclos_sig_raw_to_der(const void *raw, size_t size, enclos_buf *out) {
  ENCLOS_ENSUREF(size > 0 && size % 2 == 0 && size <= 2 * 66, ENCLOS_E_MALFORMED,
                 "raw ECDSA signature of %zu bytes", size);
  const uint8_t *p = raw;
  int half = (int)(size / 2);
  ECDSA_SIG *s = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(p, half, NULL), *sv = BN_bin2bn(p + half, half, NULL);
  if (!s || !r || !sv || ECDSA_SIG_set0(s, r, sv) != 1) {
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    CRYPTO_FAIL(ENCLOS_E_NOMEM, "ECDSA_SIG");
  }
  unsigned char *der = NULL;
  int n = i2d_ECDSA_SIG(s, &der);
  ECDSA_SIG_free(s);
  CRYPTO_ENSURE(n > 0, ENCLOS_E_CRYPTO, "i2d_ECDSA_SIG");
  enclos_err rc = enclos_buf_append(out, der, (size_t)n);
  OPENSSL_free(der);
  return rc;
}
