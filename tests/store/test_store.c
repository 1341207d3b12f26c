/* Sealed store: functional behaviour, limits, tables, transactions (issue 7). */
#include <stdlib.h>
#include <sys/stat.h>

#include "store_test.h"

TEST(store_put_get_delete_roundtrip) {
  const char *dir = store_test_dir("rt");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "alpha", "one"));
  CHECK_OK(store_put_str(s, sys, "beta", ""));
  store_test_expect(s, sys, "alpha", "one");
  store_test_expect(s, sys, "beta", "");
  CHECK_OK(store_put_str(s, sys, "alpha", "uno"));
  store_test_expect(s, sys, "alpha", "uno");
  CHECK_OK(enclos_store_delete(s, NULL, sys, "alpha", 5));
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_store_get(s, NULL, sys, "alpha", 5, &b), ENCLOS_E_NOT_FOUND);
  CHECK_ERR(enclos_store_delete(s, NULL, sys, "alpha", 5), ENCLOS_E_NOT_FOUND);
  enclos_store_close(s);
  /* Persisted, and the full verification at open passes. */
  s = store_test_open(dir);
  CHECK_OK(enclos_store_system(s, &sys));
  store_test_expect(s, sys, "beta", "");
  CHECK_ERR(enclos_store_get(s, NULL, sys, "alpha", 5, &b), ENCLOS_E_NOT_FOUND);
  CHECK_OK(enclos_store_verify(s));
  enclos_store_status st;
  enclos_store_status_get(s, &st);
  CHECK(!st.trusted_monotonic);
  CHECK_CONTAINS(st.anchor_note, "untrusted disk");
  CHECK_EQ_U64(st.version, st.anchor_version);
  enclos_buf_free(&b);
  enclos_store_close(s);
}

TEST(store_open_errors) {
  const char *dir = store_test_dir("oe");
  enclos_store_opts o = store_test_opts(dir);
  enclos_store *s = NULL;
  o.create = false;
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_NOT_FOUND);
  o.seal_key = NULL;
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_INVAL);
  /* A different sealing key cannot unwrap the master key. */
  s = store_test_open(dir);
  enclos_store_close(s);
  char other[1100];
  snprintf(other, sizeof(other), "%s/other", dir);
  CHECK(mkdir(other, 0700) == 0);
  o = store_test_opts(dir);
  o.seal_ctx = other;
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_AUTH);
  CHECK_CONTAINS(enclos_err_detail(), "wrong sealing key");
}

TEST(store_limits) {
  const char *dir = store_test_dir("lim");
  enclos_store_opts o = store_test_opts(dir);
  o.max_value = 100;
  enclos_store *s = NULL;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  uint8_t big[ENCLOS_STORE_MAX_KEY + 1];
  memset(big, 'k', sizeof(big));
  CHECK_OK(enclos_store_put(s, NULL, sys, big, ENCLOS_STORE_MAX_KEY, "v", 1));
  CHECK_ERR(enclos_store_put(s, NULL, sys, big, sizeof(big), "v", 1), ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "1024");
  CHECK_ERR(enclos_store_put(s, NULL, sys, "", 0, "v", 1), ENCLOS_E_INVAL);
  CHECK_OK(enclos_store_put(s, NULL, sys, "k", 1, big, 100));
  CHECK_ERR(enclos_store_put(s, NULL, sys, "k", 1, big, 101), ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "limit of 100");
  enclos_store_close(s);
  o.max_value = ENCLOS_STORE_MAX_VALUE_CEILING + 1;
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_LIMIT);
}

TEST(store_map_full_is_a_limit) {
  const char *dir = store_test_dir("mapfull");
  enclos_store_opts o = store_test_opts(dir);
  o.map_size = 256 * 1024;
  enclos_store *s = NULL;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  static uint8_t v[64 * 1024];
  enclos_err rc = ENCLOS_OK;
  int i = 0;
  for (; i < 20 && rc == ENCLOS_OK; i++) {
    char k[16];
    snprintf(k, sizeof(k), "k%d", i);
    rc = enclos_store_put(s, NULL, sys, k, strlen(k), v, sizeof(v));
  }
  CHECK_ERR(rc, ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "map");
  enclos_store_close(s);
  CHECK_OK(enclos_store_open(dir, &o, &s)); /* still consistent */
  enclos_store_close(s);
}

typedef struct collected {
  char keys[16][32];
  int n;
} collected;

static enclos_err collect(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *value,
                          size_t value_size) {
  collected *c = ctx;
  (void)value;
  (void)value_size;
  if (c->n < 16 && key_size < 32) {
    memcpy(c->keys[c->n], key, key_size);
    c->keys[c->n][key_size] = 0;
  }
  c->n++;
  return ENCLOS_OK;
}

static enclos_err stop_early(void *ctx, const uint8_t *k, size_t ks, const uint8_t *v, size_t vs) {
  (void)ctx; (void)k; (void)ks; (void)v; (void)vs;
  return ENCLOS_E_INTERRUPTED;
}

TEST(store_list_prefix_ordered) {
  const char *dir = store_test_dir("list");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL, *app = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(enclos_store_app_create(s, "shop", 0));
  CHECK_OK(enclos_store_app_table(s, "shop", &app));
  const char *names[] = {"user/zed", "user/amy", "cfg", "user/", "user/bob", "usex"};
  for (int i = 0; i < 6; i++) CHECK_OK(store_put_str(s, sys, names[i], "x"));
  CHECK_OK(store_put_str(s, app, "user/app-only", "x"));
  collected c = {0};
  CHECK_OK(enclos_store_list(s, NULL, sys, "user/", 5, collect, &c));
  CHECK_EQ_INT(c.n, 4);
  CHECK_STR(c.keys[0], "user/");
  CHECK_STR(c.keys[1], "user/amy");
  CHECK_STR(c.keys[2], "user/bob");
  CHECK_STR(c.keys[3], "user/zed");
  memset(&c, 0, sizeof(c));
  CHECK_OK(enclos_store_list(s, NULL, sys, NULL, 0, collect, &c));
  CHECK_EQ_INT(c.n, 6);
  CHECK_STR(c.keys[0], "cfg");
  memset(&c, 0, sizeof(c));
  CHECK_OK(enclos_store_kv_list(s, app, "", 0, collect, &c));
  CHECK_EQ_INT(c.n, 1);
  CHECK_STR(c.keys[0], "user/app-only");
  CHECK_ERR(enclos_store_list(s, NULL, sys, NULL, 0, stop_early, NULL), ENCLOS_E_INTERRUPTED);
  enclos_store_close(s);
}

TEST(store_batch_is_atomic_and_snapshots_are_stable) {
  const char *dir = store_test_dir("txn");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "a", "0"));
  enclos_store_txn *snap = NULL, *w = NULL, *w2 = NULL;
  CHECK_OK(enclos_store_begin(s, false, &snap));
  CHECK_OK(enclos_store_begin(s, true, &w));
  CHECK_ERR(enclos_store_begin(s, true, &w2), ENCLOS_E_STATE);
  CHECK_OK(enclos_store_put(s, w, sys, "a", 1, "1", 1));
  CHECK_OK(enclos_store_put(s, w, sys, "b", 1, "1", 1));
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_store_get(s, w, sys, "b", 1, &b)); /* own writes visible */
  enclos_store_abort(w);
  CHECK_ERR(enclos_store_get(s, NULL, sys, "b", 1, &b), ENCLOS_E_NOT_FOUND);
  store_test_expect(s, sys, "a", "0");
  CHECK_OK(enclos_store_begin(s, true, &w));
  CHECK_OK(enclos_store_put(s, w, sys, "a", 1, "2", 1));
  CHECK_OK(enclos_store_put(s, w, sys, "b", 1, "2", 1));
  CHECK_OK(enclos_store_commit(w));
  store_test_expect(s, sys, "a", "2");
  store_test_expect(s, sys, "b", "2");
  /* The snapshot still sees the old state. */
  CHECK_OK(enclos_store_get(s, snap, sys, "a", 1, &b));
  CHECK(b.len == 1 && b.data[0] == '0');
  CHECK_ERR(enclos_store_get(s, snap, sys, "b", 1, &b), ENCLOS_E_NOT_FOUND);
  CHECK_ERR(enclos_store_put(s, snap, sys, "c", 1, "x", 1), ENCLOS_E_INVAL);
  CHECK_OK(enclos_store_commit(snap));
  enclos_buf_free(&b);
  enclos_store_close(s);
  s = store_test_open(dir);
  CHECK_OK(enclos_store_system(s, &sys));
  store_test_expect(s, sys, "b", "2");
  enclos_store_close(s);
}

TEST(store_apps_quota_drop_and_names) {
  const char *dir = store_test_dir("apps");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *a = NULL, *sys = NULL;
  CHECK_ERR(enclos_store_app_create(s, "Bad Name", 0), ENCLOS_E_INVALID);
  CHECK_ERR(enclos_store_app_create(s, "-x", 0), ENCLOS_E_INVALID);
  CHECK_ERR(enclos_store_app_create(s, "", 0), ENCLOS_E_INVALID);
  CHECK_ERR(enclos_store_app_table(s, "nope", &a), ENCLOS_E_NOT_FOUND);
  CHECK_OK(enclos_store_app_create(s, "pay.v1", 20));
  CHECK_ERR(enclos_store_app_create(s, "pay.v1", 20), ENCLOS_E_EXISTS);
  CHECK_OK(enclos_store_app_table(s, "pay.v1", &a));
  CHECK_OK(enclos_store_kv_put(s, a, "k1", 2, "12345678", 8)); /* 10 bytes */
  CHECK_OK(enclos_store_kv_put(s, a, "k2", 2, "12345678", 8)); /* 20 bytes */
  CHECK_ERR(enclos_store_kv_put(s, a, "k3", 2, "1", 1), ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "quota");
  CHECK_OK(enclos_store_kv_put(s, a, "k2", 2, "1234", 4)); /* overwrite shrinks: 16 */
  uint64_t used = 0, quota = 0;
  CHECK_OK(enclos_store_table_usage(s, a, &used, &quota));
  CHECK_EQ_U64(used, 16);
  CHECK_EQ_U64(quota, 20);
  CHECK_OK(enclos_store_kv_delete(s, a, "k1", 2));
  CHECK_OK(enclos_store_table_usage(s, a, &used, &quota));
  CHECK_EQ_U64(used, 6);
  /* kv calls refuse the system table. */
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_ERR(enclos_store_kv_put(s, sys, "k", 1, "v", 1), ENCLOS_E_DENIED);
  /* Same key in two tables: separate records. */
  CHECK_OK(store_put_str(s, sys, "k2", "system"));
  store_test_expect(s, a, "k2", "1234");
  enclos_store_close(s);

  s = store_test_open(dir); /* usage survives reopen */
  CHECK_OK(enclos_store_app_table(s, "pay.v1", &a));
  CHECK_OK(enclos_store_table_usage(s, a, &used, &quota));
  CHECK_EQ_U64(used, 6);
  CHECK_OK(enclos_store_app_drop(s, "pay.v1"));
  CHECK_ERR(enclos_store_app_table(s, "pay.v1", &a), ENCLOS_E_NOT_FOUND);
  CHECK_OK(enclos_store_system(s, &sys));
  store_test_expect(s, sys, "k2", "system");
  CHECK_OK(enclos_store_verify(s));
  /* Re-creating the app gives a fresh key and an empty table. */
  CHECK_OK(enclos_store_app_create(s, "pay.v1", 0));
  CHECK_OK(enclos_store_app_table(s, "pay.v1", &a));
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_store_kv_get(s, a, "k2", 2, &b), ENCLOS_E_NOT_FOUND);
  enclos_store_close(s);
  s = store_test_open(dir);
  enclos_store_close(s);
}

static enclos_err fixed_key(void *ctx, uint8_t key[32]) {
  memset(key, *(const int *)ctx, 32);
  return ENCLOS_OK;
}

TEST(store_rotate_sealing_key) {
  const char *dir = store_test_dir("rot");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "secret", "kept"));
  int seven = 7;
  CHECK_OK(enclos_store_rotate_seal_key(s, fixed_key, &seven));
  enclos_store_close(s);
  enclos_store_opts o = store_test_opts(dir);
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_AUTH); /* old key no longer works */
  o.seal_key = fixed_key;
  o.seal_ctx = &seven;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  CHECK_OK(enclos_store_system(s, &sys));
  store_test_expect(s, sys, "secret", "kept");
  enclos_store_close(s);
}

TEST(store_quota_refusal_keeps_the_batch_usable) {
  const char *dir = store_test_dir("quota-txn");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *a = NULL;
  CHECK_OK(enclos_store_app_create(s, "q", 10));
  CHECK_OK(enclos_store_app_table(s, "q", &a));
  enclos_store_txn *x = NULL;
  CHECK_OK(enclos_store_begin(s, true, &x));
  CHECK_OK(enclos_store_put(s, x, a, "k1", 2, "1234", 4));                    /* 6 bytes */
  CHECK_ERR(enclos_store_put(s, x, a, "k2", 2, "123456", 6), ENCLOS_E_LIMIT); /* 14 > 10 */
  CHECK_OK(enclos_store_put(s, x, a, "k1", 2, "12345678", 8));                /* replaces: 10 */
  CHECK_OK(enclos_store_commit(x));
  uint64_t used = 0, quota = 0;
  CHECK_OK(enclos_store_table_usage(s, a, &used, &quota));
  CHECK_EQ_U64(used, 10);
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_store_get(s, NULL, a, "k2", 2, &b), ENCLOS_E_NOT_FOUND);
  enclos_buf_free(&b);
  store_test_expect(s, a, "k1", "12345678");
  enclos_store_close(s);
  s = store_test_open(dir); /* the committed state verifies */
  enclos_store_close(s);
}

TEST(store_failed_write_poisons_the_batch) {
  const char *dir = store_test_dir("poison");
  enclos_store_opts o = store_test_opts(dir);
  o.map_size = 256 * 1024;
  enclos_store *s = NULL;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "before", "1"));
  static uint8_t v[64 * 1024];
  enclos_store_txn *x = NULL;
  CHECK_OK(enclos_store_begin(s, true, &x));
  enclos_err rc = ENCLOS_OK;
  for (int i = 0; i < 20 && rc == ENCLOS_OK; i++) {
    char k[16];
    snprintf(k, sizeof(k), "k%d", i);
    rc = enclos_store_put(s, x, sys, k, strlen(k), v, sizeof(v));
  }
  CHECK_ERR(rc, ENCLOS_E_LIMIT); /* the map filled up in the middle of a put */
  CHECK_ERR(enclos_store_commit(x), ENCLOS_E_STATE);
  CHECK_CONTAINS(enclos_err_detail(), "aborted");
  store_test_expect(s, sys, "before", "1");
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_store_get(s, NULL, sys, "k0", 2, &b), ENCLOS_E_NOT_FOUND);
  enclos_buf_free(&b);
  CHECK_OK(store_put_str(s, sys, "after", "2")); /* the store itself is fine */
  CHECK_OK(enclos_store_verify(s));
  enclos_store_close(s);
}

TEST(store_sealing_key_from_tee_backend) {
  const char *dir = store_test_dir("tee-key");
  char state[1200], state2[1200], cmd[2600];
  snprintf(state, sizeof(state), "%s/sim-state", dir);
  snprintf(state2, sizeof(state2), "%s/sim-state2", dir);
  snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s'", state, state2);
  CHECK(system(cmd) == 0);
  enclos_tee_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.sim_state_dir = state;
  enclos_tee *tee = NULL, *tee2 = NULL, *tdx = NULL;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &tee));
  enclos_store_opts o;
  memset(&o, 0, sizeof(o));
  o.create = true;
  o.map_size = (size_t)64 << 20;
  CHECK_OK(enclos_store_opts_for_tee(tee, &o));
  CHECK(o.seal_key == enclos_store_tee_seal_key && o.seal_ctx == tee);
  CHECK_STR(o.seal_source, "sim");
  CHECK(!o.trusted_anchor);
  /* The adapter hands out exactly the backend's key. */
  uint8_t k1[32], k2[32];
  CHECK_OK(enclos_store_tee_seal_key(tee, k1));
  CHECK_OK(enclos_tee_sealing_key(tee, k2));
  CHECK_MEM(k1, k2, 32);
  enclos_store *s = NULL;
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "k", "sealed by the sim TEE"));
  enclos_buf txt = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_store_status_text(s, &txt));
  CHECK_OK(enclos_buf_append_u8(&txt, 0));
  CHECK_CONTAINS((const char *)txt.data, "sealing key:      sim");
  CHECK_CONTAINS((const char *)txt.data, "no trusted monotonic state");
  CHECK_CONTAINS((const char *)txt.data, "replay on read:   detected");
  enclos_buf_free(&txt);
  enclos_store_close(s);
  o.create = false;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  CHECK_OK(enclos_store_system(s, &sys));
  store_test_expect(s, sys, "k", "sealed by the sim TEE");
  /* Another TEE identity cannot open it, until the key is rotated to it. */
  cfg.sim_state_dir = state2;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &tee2));
  CHECK_OK(enclos_store_rotate_seal_key(s, enclos_store_tee_seal_key, tee2));
  enclos_store_close(s);
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_AUTH);
  CHECK_OK(enclos_store_opts_for_tee(tee2, &o));
  CHECK_OK(enclos_store_open(dir, &o, &s));
  enclos_store_close(s);
  /* TDX: no sealing key, and no silent fallback. */
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_TDX, &cfg, &tdx));
  enclos_store_opts o2;
  memset(&o2, 0, sizeof(o2));
  CHECK_ERR(enclos_store_opts_for_tee(tdx, &o2), ENCLOS_E_UNSUPPORTED);
  CHECK_CONTAINS(enclos_err_detail(), "peer TEE's key vault");
  CHECK(o2.seal_key == NULL);
  CHECK_ERR(enclos_store_tee_seal_key(tdx, k1), ENCLOS_E_UNSUPPORTED);
  CHECK_ERR(enclos_store_tee_seal_key(NULL, k1), ENCLOS_E_INVAL);
  enclos_tee_free(tee);
  enclos_tee_free(tee2);
  enclos_tee_free(tdx);
}
