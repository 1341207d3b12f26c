/* Sealed store: tamper and rollback evidence (issue 7, acceptance 2). The host is simulated by
 * editing the LMDB file through a raw LMDB handle and by copying files around. */
#include <lmdb.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store_int.h"
#include "store_test.h"

typedef struct raw_db {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
} raw_db;

/* Opens the store's LMDB file as the host would, in one transaction (\p flags: 0 or
 * MDB_RDONLY); non-zero on failure (child processes exit rather than CHECK). */
static int raw_try_open(raw_db *r, const char *dir, unsigned flags) {
  char path[1100];
  snprintf(path, sizeof(path), "%s/store.mdb", dir);
  return mdb_env_create(&r->env) || mdb_env_set_mapsize(r->env, (size_t)64 << 20) ||
         mdb_env_open(r->env, path, MDB_NOSUBDIR | flags, 0600) ||
         mdb_txn_begin(r->env, NULL, flags, &r->txn) || mdb_dbi_open(r->txn, NULL, 0, &r->dbi);
}

static void raw_open(raw_db *r, const char *dir) { CHECK(raw_try_open(r, dir, 0) == 0); }

static void raw_close(raw_db *r) {
  CHECK(mdb_txn_commit(r->txn) == 0);
  mdb_env_close(r->env);
}

/* Copies of the (LMDB key, record) pairs of all data records (24-byte keys), in LMDB order. */
typedef struct raw_rec {
  uint8_t key[64];
  size_t key_size;
  uint8_t val[256];
  size_t val_size;
} raw_rec;

static int raw_records(raw_db *r, raw_rec *out, int max) {
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int n = 0;
  CHECK(mdb_cursor_open(r->txn, r->dbi, &c) == 0);
  for (int g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 24 || v.mv_size > sizeof(out->val) || n == max) continue;
    memcpy(out[n].key, k.mv_data, k.mv_size);
    out[n].key_size = k.mv_size;
    memcpy(out[n].val, v.mv_data, v.mv_size);
    out[n].val_size = v.mv_size;
    n++;
  }
  mdb_cursor_close(c);
  return n;
}

static void raw_put(raw_db *r, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs) {
  MDB_val k = {ks, (void *)(uintptr_t)key}, v = {vs, (void *)(uintptr_t)val};
  CHECK(mdb_put(r->txn, r->dbi, &k, &v, 0) == 0);
}

static enclos_store *open_noverify(const char *dir) {
  enclos_store_opts o = store_test_opts(dir);
  o.skip_verify = true;
  enclos_store *s = NULL;
  CHECK_OK(enclos_store_open(dir, &o, &s));
  return s;
}

static enclos_err open_err(const char *dir) {
  enclos_store_opts o = store_test_opts(dir);
  enclos_store *s = NULL;
  enclos_err rc = enclos_store_open(dir, &o, &s);
  enclos_store_close(s);
  return rc;
}

static void get_err(enclos_store *s, enclos_store_table *t, const char *key, enclos_err want) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_store_get(s, NULL, t, key, strlen(key), &b), want);
  enclos_buf_free(&b);
}

static void setup_one(const char *dir) {
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "k", "a value of some length"));
  enclos_store_close(s);
}

TEST(tamper_bitflip_in_ciphertext) {
  const char *dir = store_test_dir("flipct");
  setup_one(dir);
  raw_db r;
  raw_rec rec[4];
  raw_open(&r, dir);
  CHECK_EQ_INT(raw_records(&r, rec, 4), 1);
  rec[0].val[25] ^= 0x01; /* inside the ciphertext */
  raw_put(&r, rec[0].key, rec[0].key_size, rec[0].val, rec[0].val_size);
  raw_close(&r);
  enclos_store *s = store_test_open(dir); /* the set digest covers tags, not ciphertext bytes */
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  get_err(s, sys, "k", ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "does not authenticate");
  enclos_store_close(s);
}

TEST(tamper_bitflip_in_tag_iv_or_version) {
  int offsets[] = {-1 /* tag */, 10 /* iv */, 1 /* version */};
  for (int i = 0; i < 3; i++) {
    const char *dir = store_test_dir("fliptag");
    setup_one(dir);
    raw_db r;
    raw_rec rec[4];
    raw_open(&r, dir);
    CHECK_EQ_INT(raw_records(&r, rec, 4), 1);
    size_t off = offsets[i] < 0 ? rec[0].val_size - 1 : (size_t)offsets[i];
    rec[0].val[off] ^= 0x80;
    raw_put(&r, rec[0].key, rec[0].key_size, rec[0].val, rec[0].val_size);
    raw_close(&r);
    enclos_err want = offsets[i] == 10 ? ENCLOS_OK : ENCLOS_E_TAMPERED;
    CHECK_ERR(open_err(dir), want);
    enclos_store *s = open_noverify(dir);
    enclos_store_table *sys = NULL;
    CHECK_OK(enclos_store_system(s, &sys));
    get_err(s, sys, "k", ENCLOS_E_TAMPERED);
    enclos_store_close(s);
  }
}

TEST(tamper_swap_values_between_keys) {
  const char *dir = store_test_dir("swapk");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "alice", "balance=10"));
  CHECK_OK(store_put_str(s, sys, "bob", "balance=99"));
  enclos_store_close(s);
  raw_db r;
  raw_rec rec[4];
  raw_open(&r, dir);
  CHECK_EQ_INT(raw_records(&r, rec, 4), 2);
  raw_put(&r, rec[0].key, rec[0].key_size, rec[1].val, rec[1].val_size);
  raw_put(&r, rec[1].key, rec[1].key_size, rec[0].val, rec[0].val_size);
  raw_close(&r);
  CHECK_ERR(open_err(dir), ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "set digest mismatch");
  s = open_noverify(dir);
  CHECK_OK(enclos_store_system(s, &sys));
  get_err(s, sys, "alice", ENCLOS_E_TAMPERED);
  get_err(s, sys, "bob", ENCLOS_E_TAMPERED);
  CHECK_ERR(enclos_store_verify(s), ENCLOS_E_TAMPERED);
  enclos_store_close(s);
}

TEST(tamper_swap_values_between_tables) {
  const char *dir = store_test_dir("swapt");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL, *app = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(enclos_store_app_create(s, "one", 0));
  CHECK_OK(enclos_store_app_table(s, "one", &app));
  CHECK_OK(store_put_str(s, sys, "k", "system value"));
  CHECK_OK(store_put_str(s, app, "k", "app value"));
  enclos_store_close(s);
  raw_db r;
  raw_rec rec[4];
  raw_open(&r, dir);
  CHECK_EQ_INT(raw_records(&r, rec, 4), 2);
  raw_put(&r, rec[0].key, rec[0].key_size, rec[1].val, rec[1].val_size);
  raw_put(&r, rec[1].key, rec[1].key_size, rec[0].val, rec[0].val_size);
  raw_close(&r);
  CHECK_ERR(open_err(dir), ENCLOS_E_TAMPERED);
  s = open_noverify(dir);
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(enclos_store_app_table(s, "one", &app));
  get_err(s, sys, "k", ENCLOS_E_TAMPERED);
  get_err(s, app, "k", ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "moved here from another key, table or version");
  enclos_store_close(s);
}

TEST(tamper_replay_older_value_of_same_key) {
  const char *dir = store_test_dir("replay");
  setup_one(dir);
  raw_db r;
  raw_rec old[4];
  raw_open(&r, dir);
  CHECK_EQ_INT(raw_records(&r, old, 4), 1);
  raw_close(&r);
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "k", "the newer value"));
  enclos_store_close(s);
  raw_open(&r, dir);
  raw_put(&r, old[0].key, old[0].key_size, old[0].val, old[0].val_size);
  raw_close(&r);
  CHECK_ERR(open_err(dir), ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "replayed");
}

static void copy_file(const char *from, const char *to) {
  char cmd[2400];
  snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", from, to);
  CHECK(system(cmd) == 0);
}

static void path_in(char *out, size_t size, const char *dir, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

TEST(tamper_restore_older_database_copy) {
  const char *dir = store_test_dir("restore");
  char db[1100], anchor[1100], old_db[1100], old_anchor[1100], new_db[1100], one_anchor[1100];
  path_in(db, sizeof(db), dir, "store.mdb");
  path_in(anchor, sizeof(anchor), dir, "store.anchor");
  path_in(old_db, sizeof(old_db), dir, "old.mdb");
  path_in(old_anchor, sizeof(old_anchor), dir, "old.anchor");
  path_in(new_db, sizeof(new_db), dir, "new.mdb");
  path_in(one_anchor, sizeof(one_anchor), dir, "one.anchor");
  setup_one(dir);
  copy_file(db, old_db);
  copy_file(anchor, old_anchor);
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(store_put_str(s, sys, "k2", "more"));
  copy_file(anchor, one_anchor);
  CHECK_OK(store_put_str(s, sys, "k3", "more"));
  enclos_store_close(s);
  copy_file(db, new_db);

  /* The whole database restored from the older copy: refused. */
  copy_file(old_db, db);
  CHECK_ERR(open_err(dir), ENCLOS_E_ROLLBACK);
  CHECK_CONTAINS(enclos_err_detail(), "older than the rollback anchor");

  /* The anchor rolled back instead (two versions behind): refused too. */
  copy_file(new_db, db);
  copy_file(old_anchor, anchor);
  CHECK_ERR(open_err(dir), ENCLOS_E_ROLLBACK);
  CHECK_CONTAINS(enclos_err_detail(), "anchor file was replaced");

  /* The anchor deleted: refused. */
  CHECK(remove(anchor) == 0);
  CHECK_ERR(open_err(dir), ENCLOS_E_ROLLBACK);
  CHECK_CONTAINS(enclos_err_detail(), "missing");

  /* One version behind = a crash between LMDB commit and anchor write: accepted, caught up. */
  copy_file(one_anchor, anchor);
  s = store_test_open(dir);
  enclos_store_status st;
  enclos_store_status_get(s, &st);
  CHECK_EQ_U64(st.anchor_version, st.version);
  enclos_store_close(s);

  /* Known limit of the sim backend (status says so): database and anchor restored together. */
  copy_file(old_db, db);
  copy_file(old_anchor, anchor);
  s = store_test_open(dir);
  enclos_store_status_get(s, &st);
  CHECK(!st.trusted_monotonic);
  enclos_store_close(s);
}

TEST(tamper_anchor_and_state_records) {
  const char *dir = store_test_dir("anchor");
  setup_one(dir);
  char anchor[1100];
  path_in(anchor, sizeof(anchor), dir, "store.anchor");
  FILE *f = fopen(anchor, "r+b");
  CHECK(f != NULL);
  CHECK(fseek(f, 30, SEEK_SET) == 0);
  CHECK(fputc(0x55, f) != EOF);
  CHECK(fclose(f) == 0);
  CHECK_ERR(open_err(dir), ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "anchor");
  f = fopen(anchor, "wb"); /* truncated anchor */
  CHECK(f != NULL && fclose(f) == 0);
  CHECK_ERR(open_err(dir), ENCLOS_E_TAMPERED);

  dir = store_test_dir("state");
  setup_one(dir);
  raw_db r;
  raw_open(&r, dir);
  MDB_val k = {2, (void *)(uintptr_t)"\0S"}, v;
  CHECK(mdb_get(r.txn, r.dbi, &k, &v) == 0);
  uint8_t st[128];
  CHECK(v.mv_size <= sizeof(st));
  memcpy(st, v.mv_data, v.mv_size);
  st[8] ^= 1; /* version */
  raw_put(&r, k.mv_data, 2, st, v.mv_size);
  raw_close(&r);
  CHECK_ERR(open_err(dir), ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "state record");

  dir = store_test_dir("header");
  setup_one(dir);
  raw_open(&r, dir);
  MDB_val hk = {2, (void *)(uintptr_t)"\0H"};
  CHECK(mdb_get(r.txn, r.dbi, &hk, &v) == 0);
  memcpy(st, v.mv_data, v.mv_size);
  st[40] ^= 1; /* wrapped master key */
  raw_put(&r, hk.mv_data, 2, st, v.mv_size);
  raw_close(&r);
  CHECK_ERR(open_err(dir), ENCLOS_E_AUTH);
  CHECK_CONTAINS(enclos_err_detail(), "tampered header");
}

/* A store written in format 1 (40-byte data keys) is refused by name, not misread. */
TEST(store_format_1_is_refused) {
  const char *dir = store_test_dir("format1");
  setup_one(dir);
  raw_db r;
  raw_open(&r, dir);
  MDB_val hk = {2, (void *)(uintptr_t)"\0H"}, v;
  uint8_t hdr[128];
  CHECK(mdb_get(r.txn, r.dbi, &hk, &v) == 0);
  CHECK(v.mv_size <= sizeof(hdr));
  memcpy(hdr, v.mv_data, v.mv_size);
  CHECK_MEM(hdr, STORE_HEADER_MAGIC, 8);
  memcpy(hdr, "ENCLHDR1", 8);
  raw_put(&r, hk.mv_data, 2, hdr, v.mv_size);
  raw_close(&r);
  CHECK_ERR(open_err(dir), ENCLOS_E_UNSUPPORTED);
  CHECK_CONTAINS(enclos_err_detail(), "store format 1 is not read");
}

/* The host edits the database while the store is open (a child process, as LMDB allows):
 * reads check every record against the store's trusted index, so a replayed older record, a
 * restored deleted record and a removed record are each refused on the next read. */
static void host_edit(const char *dir, const raw_rec *put, int nput, const raw_rec *del) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    raw_db r;
    if (raw_try_open(&r, dir, 0)) _exit(2);
    for (int i = 0; i < nput; i++) {
      MDB_val k = {put[i].key_size, (void *)(uintptr_t)put[i].key};
      MDB_val v = {put[i].val_size, (void *)(uintptr_t)put[i].val};
      if (mdb_put(r.txn, r.dbi, &k, &v, 0)) _exit(3);
    }
    if (del) {
      MDB_val k = {del->key_size, (void *)(uintptr_t)del->key};
      if (mdb_del(r.txn, r.dbi, &k, NULL)) _exit(4);
    }
    if (mdb_txn_commit(r.txn)) _exit(5);
    mdb_env_close(r.env);
    _exit(0);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The raw record whose plaintext is \p key: found by writing it alone first. */
static raw_rec capture(const char *dir, enclos_store *s, enclos_store_table *t, const char *key,
                       const char *value, raw_rec *before, int nbefore) {
  raw_rec now[16], out;
  memset(&out, 0, sizeof(out));
  CHECK_OK(store_put_str(s, t, key, value));
  /* Read the LMDB file from a child so the open store is not disturbed. */
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    raw_db r;
    if (raw_try_open(&r, dir, MDB_RDONLY)) _exit(2);
    int n = raw_records(&r, now, 16);
    if (write(p[1], &n, sizeof(n)) != sizeof(n) ||
        write(p[1], now, sizeof(now)) != (ssize_t)sizeof(now))
      _exit(3);
    _exit(0);
  }
  close(p[1]);
  int n = 0, st = 0;
  size_t got = 0;
  CHECK(read(p[0], &n, sizeof(n)) == sizeof(n));
  while (got < sizeof(now)) {
    ssize_t r = read(p[0], (uint8_t *)now + got, sizeof(now) - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(p[0]);
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* The new or changed record is the one not in \p before with the same bytes. */
  for (int i = 0; i < n; i++) {
    bool seen = false;
    for (int j = 0; j < nbefore; j++)
      if (before[j].key_size == now[i].key_size && before[j].val_size == now[i].val_size &&
          memcmp(before[j].key, now[i].key, now[i].key_size) == 0 &&
          memcmp(before[j].val, now[i].val, now[i].val_size) == 0)
        seen = true;
    if (!seen) out = now[i];
  }
  for (int i = 0; i < n && i < 16; i++) before[i] = now[i];
  CHECK(out.key_size == 24);
  return out;
}

TEST(tamper_replay_removal_and_resurrection_caught_on_read) {
  const char *dir = store_test_dir("replay-read");
  enclos_store *s = store_test_open(dir);
  enclos_store_table *sys = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  static raw_rec seen[16];
  raw_rec k_old = capture(dir, s, sys, "k", "old value", seen, 0);
  raw_rec k_new = capture(dir, s, sys, "k", "new value", seen, 1);
  raw_rec gone = capture(dir, s, sys, "gone", "deleted later", seen, 1);
  raw_rec kept = capture(dir, s, sys, "kept", "stays", seen, 2);
  CHECK(memcmp(k_old.key, k_new.key, 24) == 0);
  CHECK_OK(enclos_store_delete(s, NULL, sys, "gone", 4));

  /* 1. The older ciphertext of "k" put back: authentic (AEAD) but not the current record. */
  host_edit(dir, &k_old, 1, NULL);
  get_err(s, sys, "k", ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "replay");
  /* A write over the replayed record is refused too (its digest share would be wrong). */
  CHECK_ERR(store_put_str(s, sys, "k", "x"), ENCLOS_E_TAMPERED);
  host_edit(dir, &k_new, 1, NULL); /* the host puts the right one back: reads work again */
  store_test_expect(s, sys, "k", "new value");

  /* 2. A deleted record restored. */
  host_edit(dir, &gone, 1, NULL);
  get_err(s, sys, "gone", ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "deleted");
  host_edit(dir, NULL, 0, &gone);
  get_err(s, sys, "gone", ENCLOS_E_NOT_FOUND);

  /* 3. A live record removed. */
  host_edit(dir, NULL, 0, &kept);
  get_err(s, sys, "kept", ENCLOS_E_TAMPERED);
  CHECK_CONTAINS(enclos_err_detail(), "removed");
  CHECK_ERR(enclos_store_verify(s), ENCLOS_E_TAMPERED);
  host_edit(dir, &kept, 1, NULL);
  store_test_expect(s, sys, "kept", "stays");
  CHECK_OK(enclos_store_verify(s));

  /* 4. Snapshots older than the last commit check only keys unchanged since (no history). */
  enclos_store_txn *snap = NULL;
  CHECK_OK(enclos_store_begin(s, false, &snap));
  CHECK_OK(store_put_str(s, sys, "k", "newest"));
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_store_get(s, snap, sys, "k", 1, &b));
  CHECK(b.len == 9 && memcmp(b.data, "new value", 9) == 0);
  CHECK_OK(enclos_store_get(s, snap, sys, "kept", 4, &b));
  enclos_buf_free(&b);
  enclos_store_abort(snap);
  enclos_store_close(s);

  /* 5. Without the verification scan there is no index: status says reads are unchecked. */
  s = open_noverify(dir);
  enclos_store_status st;
  enclos_store_status_get(s, &st);
  CHECK(!st.record_index);
  enclos_buf txt = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_store_status_text(s, &txt));
  CHECK_OK(enclos_buf_append_u8(&txt, 0));
  CHECK_CONTAINS((const char *)txt.data, "NOT checked");
  enclos_buf_free(&txt);
  enclos_store_close(s);
}
