/* store_test.h: helpers shared by the store tests. */
#ifndef STORE_TEST_H
#define STORE_TEST_H

#include <stdio.h>
#include <string.h>

#include <enclos/store.h>

#include "test.h"

static inline enclos_store_opts store_test_opts(const char *dir) {
  enclos_store_opts o;
  memset(&o, 0, sizeof(o));
  o.seal_key = enclos_store_sim_seal_key;
  o.seal_ctx = (void *)(uintptr_t)dir;
  o.create = true;
  o.map_size = (size_t)64 << 20;
  return o;
}

/* A fresh directory under the test's tmpdir. */
static inline const char *store_test_dir(const char *name) {
  static char path[1024];
  snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", path, path);
  CHECK(system(cmd) == 0);
  return path;
}

static inline enclos_store *store_test_open(const char *dir) {
  enclos_store_opts o = store_test_opts(dir);
  enclos_store *s = NULL;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  return s;
}

static inline void store_test_expect(enclos_store *s, enclos_store_table *t, const char *key,
                                     const char *value) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_store_get(s, NULL, t, key, strlen(key), &b));
  CHECK_EQ_INT(b.len, strlen(value));
  if (b.len == strlen(value)) CHECK_MEM(b.data, value, b.len);
  enclos_buf_free(&b);
}

static inline enclos_err store_put_str(enclos_store *s, enclos_store_table *t, const char *k,
                                       const char *v) {
  return enclos_store_put(s, NULL, t, k, strlen(k), v, strlen(v));
}

#endif
