/* rsa.c: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) for JWT RS256 (RFC 7518 §3.3), RSA key
 * generation for tests, and public-key import from JWK members (RFC 7518 §6.2, §6.3).
 *
 * Divisions: 1. RSA keys from (n, e) and generation  2. EC keys from JWK x/y
 *            3. PKCS#1 v1.5 sign/verify  4. key size
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <enclos/mem.h>

#include "crypto_int.h"

/* 1. RSA keys ------------------------------------------------------------------------- */

enclos_err enclos_pkey_from_rsa_ne(const void *n, size_t n_size, const void *e, size_t e_size,
                                   enclos_pkey **out) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE(n != NULL && e != NULL, ENCLOS_E_INVAL);
  /* RFC 7518 §6.3.1.1: n is the unsigned big-endian modulus with no leading zero octet. */
  const uint8_t *nb = n, *eb = e;
  ENCLOS_ENSUREF(n_size > 0 && nb[0] != 0, ENCLOS_E_MALFORMED,
                 "RSA modulus is empty or has a leading zero octet");
  ENCLOS_ENSUREF(n_size * 8 <= ENCLOS_RSA_MAX_BITS, ENCLOS_E_LIMIT,
                 "RSA modulus of %zu bits exceeds ENCLOS_RSA_MAX_BITS (%d)", n_size * 8,
                 ENCLOS_RSA_MAX_BITS);
  ENCLOS_ENSUREF(e_size > 0 && e_size <= 8 && eb[0] != 0, ENCLOS_E_MALFORMED,
                 "RSA exponent must be 1..8 octets without a leading zero, got %zu", e_size);
  /* An even exponent or e = 1 is never a valid RSA public key (RFC 8017 §3.1). */
  ENCLOS_ENSUREF((eb[e_size - 1] & 1) == 1 && !(e_size == 1 && eb[0] == 1), ENCLOS_E_MALFORMED,
                 "RSA exponent must be odd and greater than 1");
  ENCLOS_ENSUREF((nb[n_size - 1] & 1) == 1, ENCLOS_E_MALFORMED, "RSA modulus must be odd");
  enclos_err rc = ENCLOS_OK;
  BIGNUM *bn_n = BN_bin2bn(nb, (int)n_size, NULL);
  BIGNUM *bn_e = BN_bin2bn(eb, (int)e_size, NULL);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *pk = NULL;
  if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)) ||
      !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "RSA public key import");
    goto cleanup;
  }
  rc = crypto__wrap_pkey(pk, out);
  pk = NULL;
cleanup:
  EVP_PKEY_free(pk);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return rc;
}

enclos_err enclos_pkey_generate_rsa(unsigned bits, enclos_pkey **out) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(bits >= ENCLOS_RSA_MIN_BITS && bits <= ENCLOS_RSA_MAX_BITS && bits % 8 == 0,
                 ENCLOS_E_INVAL, "RSA key size %u outside %d..%d", bits, ENCLOS_RSA_MIN_BITS,
                 ENCLOS_RSA_MAX_BITS);
  EVP_PKEY *pk = EVP_RSA_gen(bits);
  CRYPTO_ENSURE(pk != NULL, ENCLOS_E_CRYPTO, "RSA key generation");
  return crypto__wrap_pkey(pk, out);
}

enclos_err enclos_pkey_rsa_ne(const enclos_pkey *key, enclos_buf *n, enclos_buf *e) {
  ENCLOS_ENSURE(key && n && e, ENCLOS_E_INVAL);
  ENCLOS_ENSUREF(enclos_pkey_type(key) == ENCLOS_KEY_RSA, ENCLOS_E_UNSUPPORTED, "not an RSA key");
  enclos_err rc = ENCLOS_OK;
  BIGNUM *bn_n = NULL, *bn_e = NULL;
  if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
      EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1) {
    rc = crypto__ossl_fail(ENCLOS_E_CRYPTO, __FILE__, __LINE__, "RSA key export");
    goto cleanup;
  }
  uint8_t *p;
  ENCLOS_GUARD(enclos_buf_append_zeros(n, (size_t)BN_num_bytes(bn_n), &p));
  BN_bn2bin(bn_n, p);
  ENCLOS_GUARD(enclos_buf_append_zeros(e, (size_t)BN_num_bytes(bn_e), &p));
  BN_bn2bin(bn_e, p);
cleanup:
  BN_free(bn_n);
  BN_free(bn_e);
  return rc;
}

/* 2. EC keys from JWK members ---------------------------------------------------------- */

enclos_err enclos_pkey_from_jwk_ec(enclos_key_type type, const void *x, size_t x_size,
                                   const void *y, size_t y_size, enclos_pkey **out) {
  ENCLOS_ENSURE(x != NULL && y != NULL, ENCLOS_E_INVAL);
  size_t c = type == ENCLOS_KEY_EC_P256 ? 32 : type == ENCLOS_KEY_EC_P384 ? 48 : 0;
  ENCLOS_ENSUREF(c != 0, ENCLOS_E_UNSUPPORTED, "JWK EC keys must be P-256 or P-384");
  /* RFC 7518 §6.2.1.2/§6.2.1.3: x and y MUST be the full coordinate size, zero-padded. */
  ENCLOS_ENSUREF(x_size == c && y_size == c, ENCLOS_E_MALFORMED,
                 "JWK EC coordinates must be %zu octets each, got x=%zu y=%zu", c, x_size, y_size);
  uint8_t point[96];
  memcpy(point, x, c);
  memcpy(point + c, y, c);
  return enclos_pkey_from_public_raw(type, point, 2 * c, out);
}

/* 3. RSASSA-PKCS1-v1_5 ------------------------------------------------------------------ */

enclos_err enclos_pkey_sign_rsa_pkcs1(const enclos_pkey *key, enclos_hash_alg alg,
                                      const void *msg, size_t size, enclos_buf *sig) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm");
  ENCLOS_ENSUREF(key && enclos_pkey_type(key) == ENCLOS_KEY_RSA, ENCLOS_E_UNSUPPORTED,
                 "RSASSA-PKCS1-v1_5 signing needs an RSA key");
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  size_t sig_size = 0;
  uint8_t *p = NULL;
  int ok = c && EVP_DigestSignInit(c, &pctx, md, NULL, key->pkey) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
           EVP_DigestSign(c, NULL, &sig_size, msg, size) == 1;
  if (ok && enclos_buf_append_zeros(sig, sig_size, &p) != ENCLOS_OK) {
    EVP_MD_CTX_free(c);
    return ENCLOS_E_NOMEM;
  }
  size_t before = sig->len - sig_size;
  ok = ok && EVP_DigestSign(c, p, &sig_size, msg, size) == 1;
  EVP_MD_CTX_free(c);
  if (p) sig->len = before + (ok ? sig_size : 0);
  CRYPTO_ENSURE(ok, ENCLOS_E_CRYPTO, "RSASSA-PKCS1-v1_5 sign");
  return ENCLOS_OK;
}

enclos_err enclos_pkey_verify_rsa_pkcs1(const enclos_pkey *key, enclos_hash_alg alg,
                                        const void *msg, size_t size, const void *sig,
                                        size_t sig_size) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm");
  ENCLOS_ENSUREF(key && enclos_pkey_type(key) == ENCLOS_KEY_RSA, ENCLOS_E_UNSUPPORTED,
                 "RSASSA-PKCS1-v1_5 verification needs an RSA key");
  /* RFC 8017 §8.2.2 step 1: the signature is exactly k octets (the modulus size). */
  size_t k = (size_t)EVP_PKEY_get_size(key->pkey);
  ENCLOS_ENSUREF(sig_size == k, ENCLOS_E_VERIFY, "RSA signature is %zu bytes, want %zu",
                 sig_size, k);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  int r = -1;
  if (c && EVP_DigestVerifyInit(c, &pctx, md, NULL, key->pkey) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1)
    r = EVP_DigestVerify(c, sig, sig_size, msg, size);
  EVP_MD_CTX_free(c);
  ERR_clear_error();
  ENCLOS_ENSUREF(r == 1, ENCLOS_E_VERIFY, "RSASSA-PKCS1-v1_5 signature does not verify");
  return ENCLOS_OK;
}

/* 4. Key size ----------------------------------------------------------------------------- */

size_t enclos_pkey_bits(const enclos_pkey *key) {
  if (!key) return 0;
  int b = EVP_PKEY_get_bits(key->pkey);
  return b > 0 ? (size_t)b : 0;
}
