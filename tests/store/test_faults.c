/* Sealed store: fault injection (issue 7, acceptance 3). Allocation failures through
 * enclos_mem_fail_after and I/O failures through the store's I/O seam (store_int.h) surface as
 * errors; afterwards the store reopens cleanly (full verification) and holds either the old or
 * the new state of every key, never something else. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>

#include <enclos/crypto_keyed.h>
#include <enclos/mem.h>

#include "index_model.h"
#include "store/store_int.h"
#include "store_test.h"

/* A scenario touching every allocating path: open, app create, put, batch, get, list, drop. */
static enclos_err cb_count(void *ctx, const uint8_t *k, size_t ks, const uint8_t *v, size_t vs) {
  (void)k; (void)ks; (void)v; (void)vs;
  (*(int *)ctx)++;
  return ENCLOS_OK;
}

static enclos_err scenario(const char *dir, int round) {
  enclos_err rc = ENCLOS_OK;
  enclos_store *s = NULL;
  enclos_store_table *sys = NULL, *app = NULL;
  enclos_store_txn *x = NULL;
  enclos_buf b = ENCLOS_BUF_INIT;
  enclos_store_opts o = store_test_opts(dir);
  char name[32];
  int count = 0;
  snprintf(name, sizeof(name), "app%d", round);
  ENCLOS_GUARD(enclos_store_open(dir, &o, &s));
  ENCLOS_GUARD(enclos_store_system(s, &sys));
  ENCLOS_GUARD(enclos_store_app_create(s, name, 1000));
  ENCLOS_GUARD(enclos_store_app_table(s, name, &app));
  ENCLOS_GUARD(enclos_store_put(s, NULL, sys, "k", 1, "new-value", 9));
  ENCLOS_GUARD(enclos_store_begin(s, true, &x));
  ENCLOS_GUARD(enclos_store_put(s, x, app, "a", 1, "1", 1));
  ENCLOS_GUARD(enclos_store_put(s, x, sys, "b", 1, "new-value", 9));
  rc = enclos_store_commit(x);
  x = NULL;
  ENCLOS_GUARD(rc);
  ENCLOS_GUARD(enclos_store_get(s, NULL, sys, "k", 1, &b));
  ENCLOS_GUARD(enclos_store_list(s, NULL, sys, NULL, 0, cb_count, &count));
  ENCLOS_GUARD(enclos_store_app_drop(s, name));
cleanup:
  enclos_store_abort(x);
  enclos_buf_free(&b);
  enclos_store_close(s);
  return rc;
}

/* After any failure: opens cleanly; "k" and "b" are absent, old or new, never garbage. */
static void check_consistent(const char *dir) {
  enclos_store *s = store_test_open(dir);
  if (!s) return;
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(enclos_store_verify(s));
  const char *keys[] = {"k", "b"};
  for (int i = 0; i < 2; i++) {
    enclos_buf b = ENCLOS_BUF_INIT;
    enclos_err rc = enclos_store_get(s, NULL, sys, keys[i], 1, &b);
    CHECK(rc == ENCLOS_OK || rc == ENCLOS_E_NOT_FOUND);
    if (rc == ENCLOS_OK)
      CHECK((b.len == 9 && memcmp(b.data, "new-value", 9) == 0) ||
            (b.len == 9 && memcmp(b.data, "old-value", 9) == 0));
    enclos_buf_free(&b);
  }
  enclos_store_close(s);
}

static void seed_store(const char *dir) {
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(enclos_store_put(s, NULL, sys, "k", 1, "old-value", 9));
  enclos_store_close(s);
}

TEST(faults_every_allocation_failure_is_an_error) {
  const char *dir = store_test_dir("oom");
  seed_store(dir);
  int failures = 0;
  for (uint64_t n = 1; n < 500; n++) {
    enclos_mem_fail_after(n);
    enclos_err rc = scenario(dir, (int)n);
    enclos_mem_fail_after(0);
    if (rc == ENCLOS_OK) break;
    CHECK_MSG(rc == ENCLOS_E_NOMEM, "allocation %llu failed as %s (%s)", (unsigned long long)n,
              enclos_err_name(rc), enclos_err_detail());
    failures++;
    check_consistent(dir);
  }
  CHECK(failures > 5);
  check_consistent(dir);
}

/* The I/O seam: fail the Nth call of any kind. */
static int io_calls, io_fail_at;
static bool io_should_fail(void) {
  return ++io_calls == io_fail_at;
}
static int f_open(const char *p, int fl, mode_t m) {
  if (io_should_fail()) { errno = EACCES; return -1; }
  return open(p, fl, m);
}
static ssize_t f_write(int fd, const void *b, size_t n) {
  if (io_should_fail()) { errno = ENOSPC; return -1; }
  return write(fd, b, n);
}
static ssize_t f_read(int fd, void *b, size_t n) {
  if (io_should_fail()) { errno = EIO; return -1; }
  return read(fd, b, n);
}
static int f_fsync(int fd) {
  if (io_should_fail()) { errno = EIO; return -1; }
  return fsync(fd);
}
static int f_rename(const char *a, const char *b) {
  if (io_should_fail()) { errno = EXDEV; return -1; }
  return rename(a, b);
}
static void io_arm(int n) {
  io_calls = 0;
  io_fail_at = n;
  store__io.open = f_open;
  store__io.write = f_write;
  store__io.read = f_read;
  store__io.fsync = f_fsync;
  store__io.rename = f_rename;
}

TEST(faults_every_io_failure_is_an_error) {
  const char *dir = store_test_dir("io");
  seed_store(dir);
  int failures = 0;
  for (int n = 1; n < 400; n++) {
    io_arm(n);
    enclos_err rc = scenario(dir, n);
    store__io_reset();
    if (rc == ENCLOS_OK) break;
    CHECK_MSG(rc == ENCLOS_E_IO, "I/O call %d failed as %s (%s)", n, enclos_err_name(rc),
              enclos_err_detail());
    failures++;
    check_consistent(dir);
  }
  CHECK(failures > 10);
}

TEST(faults_anchor_failure_after_commit_makes_store_read_only) {
  const char *dir = store_test_dir("ro");
  seed_store(dir);
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  io_arm(3); /* open, write, fsync <- fails: the anchor temp file */
  CHECK_ERR(enclos_store_put(s, NULL, sys, "k", 1, "new-value", 9), ENCLOS_E_IO);
  CHECK_CONTAINS(enclos_err_detail(), "read-only until reopened");
  store__io_reset();
  enclos_store_status st;
  enclos_store_status_get(s, &st);
  CHECK(st.read_only);
  CHECK_EQ_U64(st.anchor_version + 1, st.version);
  CHECK_ERR(enclos_store_put(s, NULL, sys, "b", 1, "new-value", 9), ENCLOS_E_STATE);
  store_test_expect(s, sys, "k", "new-value"); /* reads still work */
  enclos_store_close(s);
  /* Failing again during open's anchor catch-up is an error, not a refusal for rollback. */
  io_arm(4); /* read anchor: open, read, read(EOF), then the catch-up: open <- fails */
  enclos_store_opts o = store_test_opts(dir);
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_IO);
  store__io_reset();
  s = store_test_open(dir); /* one version ahead of the anchor: accepted */
  CHECK_OK(enclos_store_system(s, &sys));
  store_test_expect(s, sys, "k", "new-value");
  enclos_store_status_get(s, &st);
  CHECK(!st.read_only);
  CHECK_EQ_U64(st.anchor_version, st.version);
  enclos_store_close(s);
}

TEST(faults_sim_secret_write_failure) {
  const char *dir = store_test_dir("secret");
  io_arm(2); /* secret: read-open (ENOENT, counted), create <- fails */
  enclos_store_opts o = store_test_opts(dir);
  enclos_store *s = NULL;
  CHECK_ERR(enclos_store_open(dir, &o, &s), ENCLOS_E_IO);
  store__io_reset();
  s = store_test_open(dir);
  enclos_store_close(s);
}

TEST(keyed_crypto_matches_one_shot) {
  uint8_t key[32], iv[12], pt[100], ct1[100], ct2[100], t1[16], t2[16], m1[32], m2[32], back[100];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  memset(iv, 7, sizeof(iv));
  memset(pt, 'p', sizeof(pt));
  enclos_aead_key *ak = NULL;
  enclos_hmac_key *hk = NULL;
  CHECK_OK(enclos_aead_key_new(key, &ak));
  CHECK_OK(enclos_hmac_key_new(key, 32, &hk));
  for (int round = 0; round < 2; round++) {
    CHECK_OK(enclos_aead_seal(key, iv, "ad", 2, pt, sizeof(pt), ct1, t1));
    CHECK_OK(enclos_aead_key_seal(ak, iv, "ad", 2, pt, sizeof(pt), ct2, t2));
    CHECK_MEM(ct1, ct2, sizeof(ct1));
    CHECK_MEM(t1, t2, 16);
    CHECK_OK(enclos_aead_key_open(ak, iv, "ad", 2, ct2, sizeof(ct2), t2, back));
    CHECK_MEM(back, pt, sizeof(pt));
    t2[0] ^= 1;
    CHECK_ERR(enclos_aead_key_open(ak, iv, "ad", 2, ct2, sizeof(ct2), t2, back), ENCLOS_E_TAMPERED);
    const void *parts[2] = {"hello ", "world"};
    size_t sizes[2] = {6, 5};
    CHECK_OK(enclos_hmac(ENCLOS_SHA256, key, 32, "hello world", 11, m1));
    CHECK_OK(enclos_hmac_key_mac(hk, parts, sizes, 2, m2));
    CHECK_MEM(m1, m2, 32);
  }
  enclos_aead_key_free(ak);
  enclos_hmac_key_free(hk);
  /* RFC 4231 test case 6: a 131-byte key is hashed first. */
  uint8_t longkey[131];
  memset(longkey, 0xaa, sizeof(longkey));
  const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
  const void *p1[1] = {msg};
  size_t s1[1] = {strlen(msg)};
  static const uint8_t want[32] = {0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f, 0x0d, 0x8a, 0x26,
                                   0xaa, 0xcb, 0xf5, 0xb7, 0x7f, 0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28,
                                   0xc5, 0x14, 0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54};
  CHECK_OK(enclos_hmac_key_new(longkey, sizeof(longkey), &hk));
  CHECK_OK(enclos_hmac_key_mac(hk, p1, s1, 1, m2));
  CHECK_MEM(m2, want, 32);
  enclos_hmac_key_free(hk);
}

/* Every key of the table onto one stored key: what a 128-bit key-MAC collision would do. */
static void collide_all(uint8_t lkey[STORE_DATA_KEY_SIZE]) {
  memset(lkey + STORE_TABLE_TAG_SIZE, 0x5a, STORE_KEY_MAC_SIZE);
}

TEST(key_mac_collision_fails_closed) {
  const char *dir = store_test_dir("collision");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  enclos_store_txn *x = NULL;
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_store_system(s, &sys));
  store__data_key_hook = collide_all;
  CHECK_OK(store_put_str(s, sys, "alpha", "first"));
  CHECK_OK(store_put_str(s, sys, "alpha", "second")); /* the same key still overwrites */
  /* Another key on the same stored key: put and delete refuse, get does not return alpha's. */
  CHECK_ERR(store_put_str(s, sys, "beta", "other"), ENCLOS_E_EXISTS);
  CHECK_CONTAINS(enclos_err_detail(), "collision");
  CHECK_ERR(enclos_store_delete(s, NULL, sys, "beta", 4), ENCLOS_E_EXISTS);
  CHECK_ERR(enclos_store_get(s, NULL, sys, "beta", 4, &b), ENCLOS_E_TAMPERED);
  CHECK_EQ_INT(b.len, 0);
  store_test_expect(s, sys, "alpha", "second");
  /* Refused before changing anything: the write transaction stays usable. */
  CHECK_OK(enclos_store_begin(s, true, &x));
  CHECK_ERR(enclos_store_put(s, x, sys, "gamma", 5, "g", 1), ENCLOS_E_EXISTS);
  CHECK_OK(enclos_store_put(s, x, sys, "alpha", 5, "third", 5));
  CHECK_OK(enclos_store_commit(x));
  store_test_expect(s, sys, "alpha", "third");
  /* Once alpha is gone the stored key is free for beta. */
  CHECK_OK(enclos_store_delete(s, NULL, sys, "alpha", 5));
  CHECK_OK(store_put_str(s, sys, "beta", "now free"));
  store_test_expect(s, sys, "beta", "now free");
  CHECK_OK(enclos_store_verify(s));
  store__data_key_hook = NULL;
  CHECK_ERR(enclos_store_get(s, NULL, sys, "beta", 4, &b), ENCLOS_E_NOT_FOUND);
  enclos_buf_free(&b);
  enclos_store_close(s);
  s = store_test_open(dir); /* full verification at open */
  enclos_store_close(s);
}

TEST(decoders_reject_malformed_bytes) {
  uint8_t buf[200];
  memset(buf, 0, sizeof(buf));
  store_record r;
  CHECK_ERR(store__record_parse(buf, STORE_RECORD_OVERHEAD - 1, &r), ENCLOS_E_TAMPERED);
  CHECK_ERR(store__record_parse(buf, STORE_RECORD_OVERHEAD, &r), ENCLOS_E_TAMPERED); /* format 0 */
  buf[0] = STORE_RECORD_FORMAT;
  buf[1] = 5;
  CHECK_OK(store__record_parse(buf, STORE_RECORD_OVERHEAD + 3, &r));
  CHECK_EQ_U64(r.version, 5);
  CHECK_EQ_INT(r.ct_size, 3);
  const uint8_t *k = NULL, *v = NULL;
  size_t ks = 0, vs = 0;
  uint8_t pt[16] = {3, 0, 0, 0, 'a', 'b', 'c', 'x', 'y'};
  CHECK_OK(store__data_parse(pt, 9, 100, &k, &ks, &v, &vs));
  CHECK(ks == 3 && vs == 2 && memcmp(k, "abc", 3) == 0);
  CHECK_ERR(store__data_parse(pt, 6, 100, &k, &ks, &v, &vs), ENCLOS_E_TAMPERED);
  CHECK_ERR(store__data_parse(pt, 3, 100, &k, &ks, &v, &vs), ENCLOS_E_TRUNCATED);
  CHECK_ERR(store__data_parse(pt, 9, 1, &k, &ks, &v, &vs), ENCLOS_E_LIMIT);
  pt[0] = 0;
  CHECK_ERR(store__data_parse(pt, 9, 100, &k, &ks, &v, &vs), ENCLOS_E_TAMPERED);
  store_header h;
  store_state st;
  store_anchor a;
  CHECK_ERR(store__header_parse(buf, STORE_HEADER_SIZE - 1, &h), ENCLOS_E_TAMPERED);
  CHECK_ERR(store__header_parse(buf, STORE_HEADER_SIZE, &h), ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "bad magic");
  CHECK_ERR(store__state_parse(buf, STORE_STATE_SIZE + 1, &st), ENCLOS_E_TAMPERED);
  memcpy(buf, "ENCLSTA1", 8);
  CHECK_OK(store__state_parse(buf, STORE_STATE_SIZE, &st));
  CHECK_ERR(store__anchor_parse(buf, STORE_ANCHOR_SIZE, &a), ENCLOS_E_TAMPERED);
  memcpy(buf, "ENCLANC1", 8);
  CHECK_OK(store__anchor_parse(buf, STORE_ANCHOR_SIZE, &a));
}

/* The record index against a reference model: random operation scripts (sets, deletes,
 * commits, aborts) over 256 keys in probe chains of eight, so that growth, wrap-around and
 * backward-shift deletion all run. The fuzz target runs the same model on fuzzed scripts. */
TEST(index_matches_reference_model) {
  static uint8_t ops[3 * 1500];
  srand(7);
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < sizeof(ops); i++) ops[i] = (uint8_t)rand();
    /* Bias: mostly sets and commits early, so the table grows past its first size. */
    for (size_t i = 0; i < sizeof(ops) / 3 / 2; i++) ops[3 * i] = (uint8_t)(rand() % 3 == 0 ? 2 : rand() % 2 ? 0 : 4);
    CHECK_MSG(index_model_run(ops, round % 2 ? sizeof(ops) : 3 * 400), "round %d", round);
  }
  /* A script that deletes inside a full chain, then looks the rest up. */
  uint8_t chain[3 * 20];
  for (int k = 0; k < 8; k++) {
    chain[3 * k] = 4, chain[3 * k + 1] = (uint8_t)(8 * k), chain[3 * k + 2] = 2; /* same home */
  }
  for (int k = 0; k < 8; k++) {
    chain[24 + 3 * k] = 4, chain[24 + 3 * k + 1] = (uint8_t)(8 * (7 - k)), chain[24 + 3 * k + 2] = 1;
  }
  for (int k = 48; k < 60; k++) chain[k] = 5;
  CHECK(index_model_run(chain, sizeof(chain)));
}

/* Scattered open (the get path): every split of a 100-byte ciphertext gives the plaintext back;
 * parts that do not add up are refused; a bad tag wipes every part. */
TEST(keyed_open_parts_splits_and_fails_closed) {
  uint8_t key[32] = {9}, iv[12] = {3}, pt[100], ct[100], tag[16], a[100], b[100];
  for (int i = 0; i < 100; i++) pt[i] = (uint8_t)(i * 7);
  enclos_aead_key *ak = NULL;
  CHECK_OK(enclos_aead_key_new(key, &ak));
  CHECK_OK(enclos_aead_key_seal(ak, iv, "aad", 3, pt, sizeof(pt), ct, tag));
  for (size_t cut = 0; cut <= 100; cut += 7) {
    uint8_t *outs[2] = {a, b};
    size_t sizes[2] = {cut, 100 - cut};
    CHECK_OK(enclos_aead_key_open_parts(ak, iv, "aad", 3, ct, 100, tag, outs, sizes, 2));
    CHECK_MEM(a, pt, cut);
    CHECK_MEM(b, pt + cut, 100 - cut);
  }
  uint8_t *outs[2] = {a, b};
  size_t short_sizes[2] = {40, 50}, long_sizes[2] = {60, 50}, sizes[2] = {30, 70};
  CHECK_ERR(enclos_aead_key_open_parts(ak, iv, "aad", 3, ct, 100, tag, outs, short_sizes, 2),
            ENCLOS_E_INVAL);
  CHECK_ERR(enclos_aead_key_open_parts(ak, iv, "aad", 3, ct, 100, tag, outs, long_sizes, 2),
            ENCLOS_E_INVAL);
  ct[50] ^= 0x80;
  CHECK_ERR(enclos_aead_key_open_parts(ak, iv, "aad", 3, ct, 100, tag, outs, sizes, 2),
            ENCLOS_E_TAMPERED);
  static const uint8_t zero[100];
  CHECK_MEM(a, zero, 30);
  CHECK_MEM(b, zero, 70);
  enclos_aead_key_free(ak);
}
