/* hash.c: SHA-2 digests (FIPS 180-4) and randomness. */
#include <openssl/rand.h>

#include <enclos/mem.h>

#include "crypto_int.h"

struct enclos_hash_ctx {
  EVP_MD_CTX *md;
};

const EVP_MD *crypto__md(enclos_hash_alg alg) {
  switch (alg) {
    case ENCLOS_SHA256: return EVP_sha256();
    case ENCLOS_SHA384: return EVP_sha384();
    case ENCLOS_SHA512: return EVP_sha512();
  }
  return NULL;
}

size_t enclos_hash_size(enclos_hash_alg alg) {
  switch (alg) {
    case ENCLOS_SHA256: return 32;
    case ENCLOS_SHA384: return 48;
    case ENCLOS_SHA512: return 64;
  }
  return 0;
}

const char *enclos_hash_name(enclos_hash_alg alg) {
  switch (alg) {
    case ENCLOS_SHA256: return "sha-256";
    case ENCLOS_SHA384: return "sha-384";
    case ENCLOS_SHA512: return "sha-512";
  }
  return "unknown";
}

enclos_err enclos_hash(enclos_hash_alg alg, const void *data, size_t size, uint8_t *out) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm %d", (int)alg);
  unsigned int n = 0;
  CRYPTO_ENSURE(EVP_Digest(data, size, out, &n, md, NULL) == 1, ENCLOS_E_CRYPTO, "EVP_Digest");
  return ENCLOS_OK;
}

enclos_err enclos_hash_new(enclos_hash_alg alg, enclos_hash_ctx **out) {
  const EVP_MD *md = crypto__md(alg);
  ENCLOS_ENSUREF(md != NULL, ENCLOS_E_INVAL, "unknown hash algorithm %d", (int)alg);
  enclos_hash_ctx *c = enclos_calloc(1, sizeof(*c));
  ENCLOS_ENSURE(c != NULL, ENCLOS_E_NOMEM);
  c->md = EVP_MD_CTX_new();
  if (!c->md || EVP_DigestInit_ex(c->md, md, NULL) != 1) {
    enclos_hash_free(c);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "EVP_DigestInit_ex");
  }
  *out = c;
  return ENCLOS_OK;
}

enclos_err enclos_hash_update(enclos_hash_ctx *ctx, const void *data, size_t size) {
  CRYPTO_ENSURE(EVP_DigestUpdate(ctx->md, data, size) == 1, ENCLOS_E_CRYPTO, "EVP_DigestUpdate");
  return ENCLOS_OK;
}

enclos_err enclos_hash_final(enclos_hash_ctx *ctx, uint8_t *out) {
  unsigned int n = 0;
  CRYPTO_ENSURE(EVP_DigestFinal_ex(ctx->md, out, &n) == 1, ENCLOS_E_CRYPTO, "EVP_DigestFinal_ex");
  return ENCLOS_OK;
}

void enclos_hash_free(enclos_hash_ctx *ctx) {
  if (!ctx) return;
  EVP_MD_CTX_free(ctx->md);
  enclos_free(ctx);
}

enclos_err enclos_random(void *out, size_t size) {
  ENCLOS_ENSURE(size <= INT32_MAX, ENCLOS_E_LIMIT);
  CRYPTO_ENSURE(RAND_bytes(out, (int)size) == 1, ENCLOS_E_CRYPTO, "RAND_bytes");
  return ENCLOS_OK;
}
