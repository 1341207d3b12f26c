/* host.c: the `enclos` import module (docs/apps.md, "Host API"; sdk/include/enclos.h).
 *
 * Conventions: every pointer/length pair is an i32 pair into memory 0 and is checked against
 * the memory size in 64-bit arithmetic before use; a result >= 0 is success, a negative result
 * is -code (APP_E* below, the SDK's ENCLOS_E*). Guest buffers are never handed to the crypto
 * library directly when input and output may overlap or when the output must not be seen
 * before it is authenticated: inputs are copied to host memory first, secrets are wiped.
 * Only `log` traps (it has no result to report an error through).
 */
#include <string.h>

#include <enclos/crypto.h>
#include <enclos/mem.h>
#include <enclos/store.h>

#include "app_int.h"

/* Negative results (docs/apps.md; sdk/include/enclos.h ENCLOS_E*). */
enum {
  APP_EINVAL = 1,
  APP_ESPACE = 2,
  APP_EVERIFY = 3,
  APP_EUNSUPPORTED = 4,
  APP_EFAULT = 5,
  APP_EINTERNAL = 6,
  APP_ENOTFOUND = 7,
};

#define APP_MAX_CRYPTO_INPUT ((uint64_t)64 << 20) /* bytes of one crypto input */

#define HOST_FN(name)                                                                    \
  static enclos_err host_##name(enclos_wasm_caller *caller, void *env,                  \
                                const enclos_wasm_val *args, enclos_wasm_val *results)
#define RET(v)                                                                           \
  do {                                                                                   \
    results[0].type = ENCLOS_WASM_I32;                                                   \
    results[0].of.i32 = (uint32_t)(int32_t)(v);                                          \
    return ENCLOS_OK;                                                                    \
  } while (0)
#define A(i) (args[i].of.i32)
#define MEM                                                                              \
  uint8_t *mem;                                                                          \
  size_t msz;                                                                            \
  enclos_wasm_caller_memory(caller, &mem, &msz)
/* p = guest pointer for [ptr, ptr + len) or return -EFAULT. */
#define GUEST(p, ptr, len)                                                               \
  uint8_t *p;                                                                            \
  do {                                                                                   \
    if (!in_bounds(msz, (ptr), (len))) RET(-APP_EFAULT);                                 \
    p = mem + (ptr);                                                                     \
  } while (0)

static bool in_bounds(size_t msz, uint32_t ptr, uint64_t len) {
  return (uint64_t)ptr <= msz && len <= (uint64_t)msz - ptr;
}

static bool hash_alg(uint32_t v, enclos_hash_alg *out) {
  switch (v) {
  case 1: *out = ENCLOS_SHA256; return true;
  case 2: *out = ENCLOS_SHA384; return true;
  case 3: *out = ENCLOS_SHA512; return true;
  default: return false;
  }
}

/* ---- log ------------------------------------------------------------------------------------ */

HOST_FN(log) {
  (void)results;
  app_host *h = env;
  MEM;
  uint32_t level = A(0), ptr = A(1), len = A(2);
  ENCLOS_ENSUREF(in_bounds(msz, ptr, len), ENCLOS_E_RANGE,
                 "enclos.log: message [0x%x, +%u) outside memory of %zu bytes", ptr, len, msz);
  app__log(h->app, level > 3 ? 3 : (int)level, (const char *)mem + ptr, len);
  return ENCLOS_OK;
}

/* ---- digest / hmac -------------------------------------------------------------------------- */

HOST_FN(digest) {
  (void)env;
  MEM;
  enclos_hash_alg alg;
  if (!hash_alg(A(0), &alg)) RET(-APP_EINVAL);
  GUEST(data, A(1), A(2));
  GUEST(out, A(3), A(4));
  size_t n = enclos_hash_size(alg);
  if (A(4) < n) RET(-APP_ESPACE);
  uint8_t d[ENCLOS_HASH_MAX_SIZE];
  if (enclos_hash(alg, data, A(2), d) != ENCLOS_OK) RET(-APP_EINTERNAL);
  memcpy(out, d, n);
  RET(n);
}

HOST_FN(hmac) {
  (void)env;
  MEM;
  enclos_hash_alg alg;
  if (!hash_alg(A(0), &alg)) RET(-APP_EINVAL);
  GUEST(key, A(1), A(2));
  GUEST(data, A(3), A(4));
  GUEST(out, A(5), A(6));
  size_t n = enclos_hash_size(alg);
  if (A(6) < n) RET(-APP_ESPACE);
  uint8_t d[ENCLOS_HASH_MAX_SIZE];
  enclos_err rc = enclos_hmac(alg, key, A(2), data, A(4), d);
  if (rc != ENCLOS_OK) RET(-APP_EINTERNAL);
  memcpy(out, d, n);
  enclos_wipe(d, sizeof(d));
  RET(n);
}

/* ---- AES-256-GCM -------------------------------------------------------------------------------- */

/* args: key, klen, nonce, nlen, aad, alen, in, inlen, out, cap */
static enclos_err aead(enclos_wasm_caller *caller, const enclos_wasm_val *args,
                       enclos_wasm_val *results, bool seal) {
  MEM;
  GUEST(key, A(0), A(1));
  GUEST(nonce, A(2), A(3));
  GUEST(aad, A(4), A(5));
  GUEST(in, A(6), A(7));
  GUEST(out, A(8), A(9));
  if (A(1) != ENCLOS_AEAD_KEY_SIZE || A(3) != ENCLOS_AEAD_IV_SIZE) RET(-APP_EINVAL);
  if (A(7) > APP_MAX_CRYPTO_INPUT) RET(-APP_EINVAL);
  if (!seal && A(7) < ENCLOS_AEAD_TAG_SIZE) RET(-APP_EVERIFY);
  uint64_t outlen = seal ? (uint64_t)A(7) + ENCLOS_AEAD_TAG_SIZE : (uint64_t)A(7) - ENCLOS_AEAD_TAG_SIZE;
  if (outlen > INT32_MAX) RET(-APP_EINVAL);
  if (A(9) < outlen) RET(-APP_ESPACE);
  uint8_t k[ENCLOS_AEAD_KEY_SIZE], iv[ENCLOS_AEAD_IV_SIZE];
  memcpy(k, key, sizeof(k));
  memcpy(iv, nonce, sizeof(iv));
  /* Host copies: the guest may pass overlapping buffers, and an opened plaintext must not reach
   * guest memory before the tag is checked. */
  size_t inlen = A(7);
  uint8_t *tmp_in = enclos_malloc(inlen ? inlen : 1);
  uint8_t *tmp_out = enclos_malloc(outlen ? (size_t)outlen : 1);
  int32_t ret;
  if (!tmp_in || !tmp_out) {
    ret = -APP_EINTERNAL;
    goto done;
  }
  if (inlen) memcpy(tmp_in, in, inlen);
  if (seal) {
    enclos_err rc = enclos_aead_seal(k, iv, aad, A(5), tmp_in, inlen, tmp_out, tmp_out + inlen);
    ret = rc == ENCLOS_OK ? (int32_t)outlen : -APP_EINTERNAL;
  } else {
    size_t ptlen = inlen - ENCLOS_AEAD_TAG_SIZE;
    enclos_err rc = enclos_aead_open(k, iv, aad, A(5), tmp_in, ptlen, tmp_in + ptlen, tmp_out);
    ret = rc == ENCLOS_OK ? (int32_t)ptlen : rc == ENCLOS_E_TAMPERED ? -APP_EVERIFY : -APP_EINTERNAL;
  }
  if (ret >= 0 && outlen) memcpy(out, tmp_out, (size_t)outlen);
done:
  enclos_wipe(k, sizeof(k));
  if (tmp_in) enclos_free_secret(tmp_in, inlen ? inlen : 1);
  if (tmp_out) enclos_free_secret(tmp_out, outlen ? (size_t)outlen : 1);
  RET(ret);
}

HOST_FN(aead_seal) {
  (void)env;
  return aead(caller, args, results, true);
}

HOST_FN(aead_open) {
  (void)env;
  return aead(caller, args, results, false);
}

/* ---- ECDSA P-256 ---------------------------------------------------------------------------------- */

HOST_FN(sign) {
  (void)env;
  MEM;
  GUEST(priv, A(0), A(1));
  GUEST(msg, A(2), A(3));
  GUEST(sig, A(4), A(5));
  if (A(1) != 32) RET(-APP_EINVAL);
  if (A(5) < 64) RET(-APP_ESPACE);
  uint8_t d[32];
  memcpy(d, priv, sizeof(d));
  enclos_pkey *key = NULL;
  enclos_buf out = ENCLOS_BUF_INIT;
  int32_t ret;
  if (enclos_pkey_from_private_raw(ENCLOS_KEY_EC_P256, d, sizeof(d), &key) != ENCLOS_OK) {
    ret = -APP_EINVAL; /* zero or a scalar >= the group order */
  } else if (enclos_pkey_sign(key, ENCLOS_SHA256, msg, A(3), ENCLOS_SIG_RAW, &out) != ENCLOS_OK ||
             out.len != 64) {
    ret = -APP_EINTERNAL;
  } else {
    memcpy(sig, out.data, 64);
    ret = 64;
  }
  enclos_wipe(d, sizeof(d));
  enclos_pkey_free(key);
  enclos_buf_free(&out);
  RET(ret);
}

HOST_FN(verify) {
  (void)env;
  MEM;
  GUEST(pub, A(0), A(1));
  GUEST(msg, A(2), A(3));
  GUEST(sig, A(4), A(5));
  if (A(1) != 65 || pub[0] != 0x04 || A(5) != 64) RET(-APP_EINVAL);
  enclos_pkey *key = NULL;
  if (enclos_pkey_from_public_raw(ENCLOS_KEY_EC_P256, pub, 65, &key) != ENCLOS_OK)
    RET(-APP_EINVAL); /* not a point on the curve */
  enclos_err rc = enclos_pkey_verify(key, ENCLOS_SHA256, msg, A(3), sig, 64, ENCLOS_SIG_RAW);
  enclos_pkey_free(key);
  if (rc == ENCLOS_OK) RET(0);
  RET(rc == ENCLOS_E_VERIFY ? -APP_EVERIFY : -APP_EINVAL);
}

HOST_FN(random) {
  (void)env;
  MEM;
  GUEST(out, A(0), A(1));
  if (A(1) > INT32_MAX) RET(-APP_EINVAL);
  if (A(1) && enclos_random(out, A(1)) != ENCLOS_OK) RET(-APP_EINTERNAL);
  RET(A(1));
}

/* ---- kv on the app's own store table ------------------------------------------------------------ */

static bool kv_available(const app_host *h) {
  return h->app->has_svc && h->app->svc.store && h->app->svc.table;
}

static int32_t kv_error(enclos_err rc) {
  switch (rc) {
  case ENCLOS_E_NOT_FOUND: return -APP_ENOTFOUND;
  case ENCLOS_E_INVAL:
  case ENCLOS_E_INVALID:
  case ENCLOS_E_RANGE: return -APP_EINVAL;
  case ENCLOS_E_LIMIT: return -APP_ESPACE; /* value too large or quota exhausted */
  default: return -APP_EINTERNAL;
  }
}

/* kv_get(key, klen, out, cap) -> value size (copied only when it fits in cap) or -ENOTFOUND */
HOST_FN(kv_get) {
  app_host *h = env;
  if (!kv_available(h)) RET(-APP_EUNSUPPORTED);
  MEM;
  GUEST(key, A(0), A(1));
  GUEST(out, A(2), A(3));
  if (A(1) == 0 || A(1) > ENCLOS_STORE_MAX_KEY) RET(-APP_EINVAL);
  enclos_buf v = ENCLOS_BUF_INIT;
  v.secret = true;
  app__store_lock();
  enclos_err rc = enclos_store_kv_get(h->app->svc.store, h->app->svc.table, key, A(1), &v);
  app__store_unlock();
  int32_t ret;
  if (rc != ENCLOS_OK) ret = kv_error(rc);
  else if (v.len > INT32_MAX) ret = -APP_EINTERNAL;
  else {
    ret = (int32_t)v.len;
    if (v.len <= A(3) && v.len) memcpy(out, v.data, v.len);
  }
  enclos_buf_free(&v);
  RET(ret);
}

/* kv_put(key, klen, val, vlen) -> 0 */
HOST_FN(kv_put) {
  app_host *h = env;
  if (!kv_available(h)) RET(-APP_EUNSUPPORTED);
  MEM;
  GUEST(key, A(0), A(1));
  GUEST(val, A(2), A(3));
  if (A(1) == 0 || A(1) > ENCLOS_STORE_MAX_KEY) RET(-APP_EINVAL);
  if (A(3) > APP_MAX_KV_VALUE) RET(-APP_ESPACE);
  app__store_lock();
  enclos_err rc = enclos_store_kv_put(h->app->svc.store, h->app->svc.table, key, A(1), val, A(3));
  app__store_unlock();
  RET(rc == ENCLOS_OK ? 0 : kv_error(rc));
}

/* kv_delete(key, klen) -> 0 or -ENOTFOUND */
HOST_FN(kv_delete) {
  app_host *h = env;
  if (!kv_available(h)) RET(-APP_EUNSUPPORTED);
  MEM;
  GUEST(key, A(0), A(1));
  if (A(1) == 0 || A(1) > ENCLOS_STORE_MAX_KEY) RET(-APP_EINVAL);
  app__store_lock();
  enclos_err rc = enclos_store_kv_delete(h->app->svc.store, h->app->svc.table, key, A(1));
  app__store_unlock();
  RET(rc == ENCLOS_OK ? 0 : kv_error(rc));
}

typedef struct kv_list_ctx {
  enclos_buf out;
} kv_list_ctx;

static enclos_err kv_list_one(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *value,
                              size_t value_size) {
  (void)value;
  (void)value_size;
  kv_list_ctx *c = ctx;
  ENCLOS_ENSUREF(c->out.len + 4 + key_size <= INT32_MAX, ENCLOS_E_LIMIT, "kv_list result too large");
  ENCLOS_TRY(enclos_buf_append_u32le(&c->out, (uint32_t)key_size));
  return enclos_buf_append(&c->out, key, key_size);
}

/* kv_list(prefix, plen, out, cap) -> bytes of the listing (u32 le key length, key bytes)*, in key
 * order; copied only when it fits in cap. */
HOST_FN(kv_list) {
  app_host *h = env;
  if (!kv_available(h)) RET(-APP_EUNSUPPORTED);
  MEM;
  GUEST(prefix, A(0), A(1));
  GUEST(out, A(2), A(3));
  if (A(1) > ENCLOS_STORE_MAX_KEY) RET(-APP_EINVAL);
  kv_list_ctx c = {ENCLOS_BUF_INIT};
  app__store_lock();
  enclos_err rc = enclos_store_kv_list(h->app->svc.store, h->app->svc.table, prefix, A(1),
                                       kv_list_one, &c);
  app__store_unlock();
  int32_t ret;
  if (rc != ENCLOS_OK) ret = kv_error(rc);
  else {
    ret = (int32_t)c.out.len;
    if (c.out.len <= A(3) && c.out.len) memcpy(out, c.out.data, c.out.len);
  }
  enclos_buf_free(&c.out);
  RET(ret);
}

/* ---- registration ------------------------------------------------------------------------------ */

enclos_err app__host_add_imports(app_runner *r, enclos_wasm_imports *imp) {
  static const struct {
    const char *name, *sig;
    enclos_wasm_host_fn fn;
  } fns[] = {
      {"log", "iii:", host_log},
      {"digest", "iiiii:i", host_digest},
      {"hmac", "iiiiiii:i", host_hmac},
      {"aead_seal", "iiiiiiiiii:i", host_aead_seal},
      {"aead_open", "iiiiiiiiii:i", host_aead_open},
      {"sign", "iiiiii:i", host_sign},
      {"verify", "iiiiii:i", host_verify},
      {"random", "ii:i", host_random},
      {"kv_get", "iiii:i", host_kv_get},
      {"kv_put", "iiii:i", host_kv_put},
      {"kv_delete", "ii:i", host_kv_delete},
      {"kv_list", "iiii:i", host_kv_list},
  };
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
    ENCLOS_TRY(enclos_wasm_imports_add_func(imp, "enclos", fns[i].name, fns[i].sig, fns[i].fn,
                                            &r->host));
  return ENCLOS_OK;
}
