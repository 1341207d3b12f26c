/* store.c: the sealed store (store.h, ARCHITECTURE.md §6, issue 7).
 *
 * Divisions:
 *   1. keys and names      HKDF subkeys, table identities, LMDB key derivation
 *   2. sealed records      AAD, seal/open, set-digest contributions
 *   3. state and anchor    state record, anchor file, rollback rules
 *   4. open/close/status
 *   5. transactions        begin/commit/abort, the write path's digest and quota bookkeeping
 *   6. records             get/put/delete/list
 *   7. tables              system table, app create/drop, usage, kv wrappers
 *
 * LMDB keys: 0x00 'H' header, 0x00 'S' state, 0x00 'A' ‖ tag8 app record; data records are
 * tag8(table) ‖ AES-256-CMAC(k_index(table), table ‖ 0 ‖ key) (24 bytes), so one table's
 * records are contiguous (listing scans them with a cursor) while names stay hidden from the
 * host. Two keys of a table sharing the 128-bit MAC (docs/store.md §1) is refused by put and
 * delete (they decrypt the record they would replace) and by get (the framing names the key).
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <enclos/crypto.h>
#include <enclos/crypto_keyed.h>
#include <enclos/mem.h>

#include "store_int.h"

#define TAG_SIZE STORE_TABLE_TAG_SIZE
#define DATA_KEY_SIZE STORE_DATA_KEY_SIZE
#define APP_KEY_SIZE (2 + TAG_SIZE)
#define TABLE_ID_MAX (4 + ENCLOS_STORE_MAX_TABLE_NAME)
/* AAD: "ENCLREC1" | store_id | u8 id_len | id | lmdb key | u64 version */
#define AAD_MAX (8 + STORE_ID_SIZE + 1 + TABLE_ID_MAX + DATA_KEY_SIZE + 8)
/* Records up to this plaintext size are decrypted in one piece by a get (then copied). */
#define GET_SMALL_RECORD 512
/* Records up to this size have all their cache lines prefetched before the index check. */
#define GET_PREFETCH_MAX 512

static const uint8_t HEADER_KEY[2] = {0, 'H'};
static const uint8_t STATE_KEY[2] = {0, 'S'};

struct enclos_store_table {
  char id[TABLE_ID_MAX + 1]; /* "sys" or "app/<name>": the identity bound into keys and AAD */
  size_t id_len;
  uint8_t tag[TAG_SIZE];
  bool is_app;
  uint8_t app_key[32]; /* app tables: the app master key (wiped on free) */
  enclos_cmac_key *kindex;
  enclos_aead_key *kvalue;
  uint64_t quota, used;       /* committed */
  uint64_t txn_used, txn_gen; /* inside the write transaction number txn_gen */
  bool dirty;
};

struct enclos_store_txn {
  enclos_store *s;
  MDB_txn *txn;
  bool write, internal;
  bool failed;       /* write: an operation failed after changing the transaction: abort only */
  uint64_t version;  /* write: version of the records written (committed + 1); read: snapshot */
  uint8_t digest[32]; /* write: set digest after this transaction's changes */
};

struct enclos_store {
  char dir[4096];
  MDB_env *env;
  MDB_dbi dbi;
  size_t max_value;
  bool trusted_anchor, read_only, in_write;
  uint8_t store_id[STORE_ID_SIZE];
  uint8_t master[32];
  enclos_hmac_key *k_tag, *k_state, *k_set, *k_anchor;
  enclos_aead_key *k_appwrap;
  uint64_t version, anchor_version, txn_gen;
  uint8_t digest[32];
  enclos_store_table *system;
  enclos_store_table **apps;
  size_t napps;
  MDB_txn *rtxn; /* reused read transaction for single reads: reset/renew, no allocation */
  store_index index; /* trusted per-record (version, tag) index (index.c) */
  char seal_source[32]; /* where the sealing key came from (status reports) */
  bool index_on;     /* false with opts.skip_verify: the index was never authenticated */
  enclos_buf scratch; /* plaintext staging for writes and listing (secret, reused) */
  enclos_store_txn wtxn; /* the single write transaction's storage */
};

/* ---- 1. keys and names --------------------------------------------------------------- */

static enclos_err mdb_fail(int rc, const char *file, int line, const char *what) {
  if (rc == MDB_MAP_FULL)
    return enclos_err_set(ENCLOS_E_LIMIT, file, line,
                          "%s: the store's LMDB map is full (raise opts.map_size)", what);
  return enclos_err_set(ENCLOS_E_IO, file, line, "%s: LMDB: %s", what, mdb_strerror(rc));
}
#define MDB_TRY(call, what)                                                        \
  do {                                                                             \
    int mdb__rc = (call);                                                          \
    if (mdb__rc != MDB_SUCCESS) return mdb_fail(mdb__rc, __FILE__, __LINE__, (what)); \
  } while (0)
#define MDB_GUARD(call, what)                                                      \
  do {                                                                             \
    int mdb__rc = (call);                                                          \
    if (mdb__rc != MDB_SUCCESS) {                                                  \
      rc = mdb_fail(mdb__rc, __FILE__, __LINE__, (what));                          \
      goto cleanup;                                                                \
    }                                                                              \
  } while (0)

static enclos_err subkey(const uint8_t *root, const uint8_t *store_id, const char *purpose,
                         const char *id, size_t id_len, uint8_t out[32]) {
  uint8_t info[128];
  size_t plen = strlen(purpose);
  ENCLOS_ENSUREF(plen + 1 + id_len <= sizeof(info), ENCLOS_E_INTERNAL, "subkey info too long");
  memcpy(info, purpose, plen);
  info[plen] = '/';
  if (id_len) memcpy(info + plen + 1, id, id_len);
  return enclos_hkdf(ENCLOS_SHA256, store_id, STORE_ID_SIZE, root, 32, info, plen + 1 + id_len, out,
                     32);
}

/* A pre-keyed context (crypto_keyed.h) under subkey(\p purpose, \p id): HMAC-SHA256 when
 * \p hmac is set, the key index's CMAC when \p cmac is, else AES-256-GCM. */
typedef struct sub_ctx {
  enclos_hmac_key **hmac;
  enclos_cmac_key **cmac;
  enclos_aead_key **aead;
} sub_ctx;

static enclos_err new_sub(const uint8_t *root, const uint8_t *sid, const char *purpose,
                          const char *id, size_t id_len, sub_ctx out) {
  uint8_t k[32];
  enclos_err rc = subkey(root, sid, purpose, id, id_len, k);
  if (rc == ENCLOS_OK)
    rc = out.hmac ? enclos_hmac_key_new(k, 32, out.hmac)
         : out.cmac ? enclos_cmac_key_new(k, out.cmac)
                    : enclos_aead_key_new(k, out.aead);
  enclos_wipe(k, sizeof(k));
  return rc;
}

static enclos_err hmac1(enclos_hmac_key *k, const void *a, size_t as, const void *b, size_t bs,
                        const void *c, size_t cs, uint8_t out[32]) {
  const void *parts[3] = {a, b, c};
  size_t sizes[3] = {as, bs, cs};
  return enclos_hmac_key_mac(k, parts, sizes, 3, out);
}

static bool app_name_valid(const char *name, size_t *len) {
  size_t n = strnlen(name, ENCLOS_STORE_MAX_TABLE_NAME + 1);
  if (n == 0 || n > ENCLOS_STORE_MAX_TABLE_NAME) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  *len = n;
  return true;
}

static void table_free(enclos_store_table *t) {
  if (!t) return;
  enclos_cmac_key_free(t->kindex);
  enclos_aead_key_free(t->kvalue);
  enclos_free_secret(t, sizeof(*t));
}

/* Builds a table handle: identity, tag, subkeys from \p root (master or app key). */
static enclos_err table_new(enclos_store *s, const char *id, const uint8_t root[32], bool is_app,
                            enclos_store_table **out) {
  enclos_err rc = ENCLOS_OK;
  uint8_t mac[32];
  enclos_store_table *t = enclos_calloc(1, sizeof(*t));
  ENCLOS_ENSUREF(t != NULL, ENCLOS_E_NOMEM, "store table handle");
  t->id_len = strlen(id);
  memcpy(t->id, id, t->id_len + 1);
  t->is_app = is_app;
  if (is_app) memcpy(t->app_key, root, 32);
  ENCLOS_GUARD(hmac1(s->k_tag, t->id, t->id_len, NULL, 0, NULL, 0, mac));
  memcpy(t->tag, mac, TAG_SIZE);
  ENCLOS_GUARD(new_sub(root, s->store_id, "enclos/store/v3/index-cmac", t->id, t->id_len,
                       (sub_ctx){.cmac = &t->kindex}));
  ENCLOS_GUARD(new_sub(root, s->store_id, "enclos/store/v1/value", t->id, t->id_len,
                       (sub_ctx){.aead = &t->kvalue}));
  *out = t;
  t = NULL;
cleanup:
  table_free(t);
  return rc;
}

void (*store__data_key_hook)(uint8_t lkey[STORE_DATA_KEY_SIZE]);

/* The stored key's MAC part is AES-256-CMAC (NIST SP 800-38B), a 128-bit PRF: the host and
 * apps cannot steer it without k_index. It replaced truncated HMAC-SHA256 (store format 2) at a
 * third of the cost for the short keys apps use (docs/store.md §1, §9). */
static enclos_err data_key(enclos_store_table *t, const void *key, size_t key_size,
                           uint8_t out[DATA_KEY_SIZE]) {
  const void *parts[2] = {t->id, key};
  size_t sizes[2] = {t->id_len + 1 /* with NUL: unambiguous split */, key_size};
  memcpy(out, t->tag, TAG_SIZE);
  ENCLOS_TRY(enclos_cmac_key_mac(t->kindex, parts, sizes, 2, out + TAG_SIZE));
  if (store__data_key_hook) store__data_key_hook(out);
  return ENCLOS_OK;
}

/* ---- 2. sealed records ---------------------------------------------------------------- */

static size_t build_aad(const enclos_store *s, const char *id, size_t id_len, const uint8_t *lkey,
                        size_t lkey_size, uint64_t version, uint8_t aad[AAD_MAX]) {
  size_t n = 0;
  memcpy(aad, "ENCLREC1", 8);
  n += 8;
  memcpy(aad + n, s->store_id, STORE_ID_SIZE);
  n += STORE_ID_SIZE;
  aad[n++] = (uint8_t)id_len;
  memcpy(aad + n, id, id_len);
  n += id_len;
  memcpy(aad + n, lkey, lkey_size);
  n += lkey_size;
  for (int i = 0; i < 8; i++) aad[n++] = (uint8_t)(version >> (8 * i));
  return n;
}

/* The record's share of the set digest: HMAC(k_set, lmdb key ‖ version ‖ GCM tag). The tag
 * authenticates IV and ciphertext under the table key, so it stands for the whole record. */
static enclos_err contribution(enclos_store *s, const uint8_t *lkey, size_t lkey_size,
                               const uint8_t *rec, size_t rec_size, uint8_t out[32]) {
  store_record r;
  ENCLOS_TRY(store__record_parse(rec, rec_size, &r));
  return hmac1(s->k_set, lkey, lkey_size, rec + 1, 8, r.tag, 16, out);
}

static void xor32(uint8_t *acc, const uint8_t *v) {
  for (int i = 0; i < 32; i++) acc[i] ^= v[i];
}

/* Which state a read sees: the open write transaction (its own changes included) or a committed
 * snapshot at \p version (the reused read transaction: the current version). */
typedef struct read_view {
  bool in_write;
  uint64_t version;
} read_view;

static read_view view_committed(const enclos_store *s) {
  read_view v = {false, s->version};
  return v;
}

/* Compares what LMDB holds for \p lkey (\p rec NULL: nothing) with the trusted index
 * (index.c). Strict for the write transaction and the current version; a snapshot older than
 * the current version checks only keys unchanged since it (the index keeps no history). */
static enclos_err index_check(const enclos_store *s, read_view view, const uint8_t *lkey,
                              size_t lkey_size, const store_record *rec, const char *what,
                              const char *id) {
  uint8_t fp[STORE_FP_SIZE], tag[STORE_INDEX_TAG_SIZE];
  uint64_t version = 0;
  if (!s->index_on) return ENCLOS_OK;
  store__fp_of(lkey, lkey_size, fp);
  bool have = store__index_lookup(&s->index, view.in_write, fp, &version, tag);
  bool strict = view.in_write || view.version == s->version;
  if (!strict && (!have || version > view.version)) return ENCLOS_OK;
  if (!rec) {
    ENCLOS_ENSUREF(!have, ENCLOS_E_TAMPERED,
                   "%s record in table '%s' was removed from the database behind the store's "
                   "back (the store last wrote version %llu of it)",
                   what, id, (unsigned long long)version);
    return ENCLOS_OK;
  }
  ENCLOS_ENSUREF(have, ENCLOS_E_TAMPERED,
                 "%s record (version %llu) in table '%s' is one the store deleted or never "
                 "wrote: an old record was restored",
                 what, (unsigned long long)rec->version, id);
  ENCLOS_ENSUREF(rec->version == version && enclos_ct_eq(rec->tag, tag, STORE_INDEX_TAG_SIZE),
                 ENCLOS_E_TAMPERED,
                 "%s record in table '%s' is version %llu but the store last wrote version %llu "
                 "of it: an older copy was restored (replay)",
                 what, id, (unsigned long long)rec->version, (unsigned long long)version);
  return ENCLOS_OK;
}

/* Opens a sealed record into \p out (replaced). \p what names it in errors. */
static enclos_err record_open(enclos_store *s, read_view view, enclos_aead_key *k, const char *id,
                              size_t id_len, const uint8_t *lkey, size_t lkey_size,
                              const uint8_t *rec, size_t rec_size, enclos_buf *out,
                              const char *what) {
  store_record r;
  uint8_t aad[AAD_MAX];
  ENCLOS_TRY(store__record_parse(rec, rec_size, &r));
  ENCLOS_ENSUREF(r.version <= s->version || (s->in_write && r.version == s->version + 1),
                 ENCLOS_E_TAMPERED, "%s record version %llu is newer than the store (%llu)", what,
                 (unsigned long long)r.version, (unsigned long long)s->version);
  ENCLOS_TRY(index_check(s, view, lkey, lkey_size, &r, what, id));
  size_t aad_size = build_aad(s, id, id_len, lkey, lkey_size, r.version, aad);
  out->len = 0;
  if (r.ct_size > 0) ENCLOS_TRY(enclos_buf_reserve(out, r.ct_size));
  enclos_err rc = enclos_aead_key_open(k, r.iv, aad, aad_size, r.ct, r.ct_size, r.tag, out->data);
  if (rc == ENCLOS_E_TAMPERED)
    ENCLOS_FAILF(ENCLOS_E_TAMPERED,
                 "%s record in table '%s' does not authenticate: its ciphertext was modified, or "
                 "moved here from another key, table or version",
                 what, id);
  ENCLOS_TRY(rc);
  out->len = r.ct_size;
  return ENCLOS_OK;
}

/* Seals \p pt under \p k as record \p lkey at the transaction's version, straight into LMDB
 * (MDB_RESERVE), and updates the transaction's set digest. \p old_size receives the plaintext
 * size of the record it replaced (SIZE_MAX if none). */
static enclos_err record_write(enclos_store_txn *x, enclos_aead_key *k, const char *id,
                               size_t id_len, const uint8_t *lkey, size_t lkey_size,
                               const void *pt, size_t pt_size, size_t *old_size) {
  enclos_store *s = x->s;
  uint8_t c_old[32], c[32], aad[AAD_MAX], iv[12], fp[STORE_FP_SIZE];
  MDB_val mk = {lkey_size, (void *)(uintptr_t)lkey}, mv = {0, NULL};
  store_record old;
  read_view view = {true, x->version};
  bool had = false;
  *old_size = SIZE_MAX;
  /* Everything that can fail without changing the transaction comes first. */
  int g = mdb_get(x->txn, s->dbi, &mk, &mv);
  if (g == MDB_SUCCESS) {
    ENCLOS_TRY(store__record_parse(mv.mv_data, mv.mv_size, &old));
    ENCLOS_TRY(index_check(s, view, lkey, lkey_size, &old, "previous", id));
    ENCLOS_TRY(contribution(s, lkey, lkey_size, mv.mv_data, mv.mv_size, c_old));
    *old_size = mv.mv_size - STORE_RECORD_OVERHEAD;
    had = true;
  } else if (g == MDB_NOTFOUND) {
    ENCLOS_TRY(index_check(s, view, lkey, lkey_size, NULL, "previous", id));
  } else {
    return mdb_fail(g, __FILE__, __LINE__, "read previous record");
  }
  if (s->index_on) ENCLOS_TRY(store__index_reserve(&s->index, true));
  ENCLOS_TRY(enclos_random(iv, sizeof(iv))); /* fresh IV per write (NIST SP 800-38D §8.2.2) */
  bool was_failed = x->failed;
  x->failed = true; /* from here on a failure leaves the transaction half-changed */
  mv.mv_size = pt_size + STORE_RECORD_OVERHEAD;
  mv.mv_data = NULL;
  MDB_TRY(mdb_put(x->txn, s->dbi, &mk, &mv, MDB_RESERVE), "store record");
  uint8_t *rec = mv.mv_data;
  rec[0] = STORE_RECORD_FORMAT;
  for (int i = 0; i < 8; i++) rec[1 + i] = (uint8_t)(x->version >> (8 * i));
  memcpy(rec + 9, iv, sizeof(iv));
  size_t aad_size = build_aad(s, id, id_len, lkey, lkey_size, x->version, aad);
  ENCLOS_TRY(enclos_aead_key_seal(k, rec + 9, aad, aad_size, pt, pt_size, rec + 21,
                                  rec + 21 + pt_size));
  ENCLOS_TRY(contribution(s, lkey, lkey_size, rec, mv.mv_size, c));
  if (had) xor32(x->digest, c_old);
  xor32(x->digest, c);
  if (s->index_on) {
    store__fp_of(lkey, lkey_size, fp);
    store__index_set(&s->index, true, fp, x->version, rec + 21 + pt_size);
  }
  x->failed = was_failed;
  return ENCLOS_OK;
}

static enclos_err record_delete(enclos_store_txn *x, const char *id, const uint8_t *lkey,
                                size_t lkey_size, size_t *old_size) {
  enclos_store *s = x->s;
  uint8_t c[32], fp[STORE_FP_SIZE];
  MDB_val mk = {lkey_size, (void *)(uintptr_t)lkey}, mv = {0, NULL};
  store_record old;
  read_view view = {true, x->version};
  *old_size = SIZE_MAX;
  int g = mdb_get(x->txn, s->dbi, &mk, &mv);
  if (g == MDB_NOTFOUND) return index_check(s, view, lkey, lkey_size, NULL, "deleted", id);
  if (g != MDB_SUCCESS) return mdb_fail(g, __FILE__, __LINE__, "read record to delete");
  ENCLOS_TRY(store__record_parse(mv.mv_data, mv.mv_size, &old));
  ENCLOS_TRY(index_check(s, view, lkey, lkey_size, &old, "deleted", id));
  ENCLOS_TRY(contribution(s, lkey, lkey_size, mv.mv_data, mv.mv_size, c));
  if (s->index_on) ENCLOS_TRY(store__index_reserve(&s->index, true));
  bool was_failed = x->failed;
  x->failed = true;
  MDB_TRY(mdb_del(x->txn, s->dbi, &mk, NULL), "delete record");
  xor32(x->digest, c);
  *old_size = mv.mv_size - STORE_RECORD_OVERHEAD;
  if (s->index_on) {
    store__fp_of(lkey, lkey_size, fp);
    store__index_del(&s->index, true, fp, x->version);
  }
  x->failed = was_failed;
  return ENCLOS_OK;
}

/* ---- 3. state and anchor --------------------------------------------------------------- */

static enclos_err state_mac(enclos_store *s, uint64_t version, const uint8_t digest[32],
                            uint8_t out[32]) {
  uint8_t v[8];
  for (int i = 0; i < 8; i++) v[i] = (uint8_t)(version >> (8 * i));
  return hmac1(s->k_state, s->store_id, STORE_ID_SIZE, v, 8, digest, 32, out);
}

static enclos_err state_write(enclos_store_txn *x) {
  uint8_t rec[STORE_STATE_SIZE];
  memcpy(rec, "ENCLSTA1", 8);
  for (int i = 0; i < 8; i++) rec[8 + i] = (uint8_t)(x->version >> (8 * i));
  memcpy(rec + 16, x->digest, 32);
  ENCLOS_TRY(state_mac(x->s, x->version, x->digest, rec + 48));
  MDB_val mk = {sizeof(STATE_KEY), (void *)(uintptr_t)STATE_KEY}, mv = {sizeof(rec), rec};
  MDB_TRY(mdb_put(x->txn, x->s->dbi, &mk, &mv, 0), "write store state");
  return ENCLOS_OK;
}

static enclos_err anchor_write(enclos_store *s, uint64_t version, const uint8_t digest[32]) {
  uint8_t a[STORE_ANCHOR_SIZE], v[8];
  for (int i = 0; i < 8; i++) v[i] = (uint8_t)(version >> (8 * i));
  memcpy(a, "ENCLANC1", 8);
  memcpy(a + 8, s->store_id, STORE_ID_SIZE);
  memcpy(a + 24, v, 8);
  memcpy(a + 32, digest, 32);
  ENCLOS_TRY(hmac1(s->k_anchor, a, 64, NULL, 0, NULL, 0, a + 64));
  ENCLOS_TRY(store__write_atomic(s->dir, "store.anchor", a, sizeof(a)));
  s->anchor_version = version;
  return ENCLOS_OK;
}

/* Rollback rules (file comment of store.h): the database may be equal to the anchor or exactly
 * one version ahead (a crash between LMDB commit and anchor replace); anything older is a
 * rollback, anything further ahead means the anchor itself was rolled back. */
static enclos_err anchor_check(enclos_store *s) {
  char path[4200];
  uint8_t raw[STORE_ANCHOR_SIZE], mac[32];
  size_t n = 0;
  store_anchor a;
  snprintf(path, sizeof(path), "%s/store.anchor", s->dir);
  enclos_err rc = store__read_file(path, raw, sizeof(raw), &n);
  if (rc == ENCLOS_E_NOT_FOUND) {
    /* Only the creating transaction (version 1) may lack an anchor: crash before its write. */
    ENCLOS_ENSUREF(s->version == 1, ENCLOS_E_ROLLBACK,
                   "rollback anchor %s is missing but the database is at version %llu: refusing "
                   "(the anchor was deleted or the database comes from elsewhere)",
                   path, (unsigned long long)s->version);
    return anchor_write(s, s->version, s->digest);
  }
  ENCLOS_TRY(rc);
  ENCLOS_TRY(store__anchor_parse(raw, n, &a));
  ENCLOS_TRY(hmac1(s->k_anchor, raw, 64, NULL, 0, NULL, 0, mac));
  ENCLOS_ENSUREF(enclos_ct_eq(mac, a.mac, 32), ENCLOS_E_TAMPERED,
                 "rollback anchor %s fails its MAC (modified, or sealed by another store)", path);
  ENCLOS_ENSUREF(memcmp(a.store_id, s->store_id, STORE_ID_SIZE) == 0, ENCLOS_E_TAMPERED,
                 "rollback anchor %s belongs to another store", path);
  s->anchor_version = a.version;
  ENCLOS_ENSUREF(s->version >= a.version, ENCLOS_E_ROLLBACK,
                 "database version %llu is older than the rollback anchor (version %llu): an older "
                 "copy of the database was restored",
                 (unsigned long long)s->version, (unsigned long long)a.version);
  if (s->version == a.version) {
    ENCLOS_ENSUREF(enclos_ct_eq(a.digest, s->digest, 32), ENCLOS_E_ROLLBACK,
                   "database and rollback anchor agree on version %llu but not on the contents: "
                   "the database was replaced by a diverging copy",
                   (unsigned long long)a.version);
    return ENCLOS_OK;
  }
  ENCLOS_ENSUREF(s->version == a.version + 1, ENCLOS_E_ROLLBACK,
                 "database version %llu is %llu versions ahead of the rollback anchor (%llu): the "
                 "anchor file was replaced with an older copy",
                 (unsigned long long)s->version, (unsigned long long)(s->version - a.version),
                 (unsigned long long)a.version);
  /* One ahead: the last commit's anchor write did not happen (crash). Catch up. */
  return anchor_write(s, s->version, s->digest);
}

/* ---- 4. open/close/status -------------------------------------------------------------- */

enclos_err enclos_store_sim_seal_key(void *ctx, uint8_t key[32]) {
  const char *dir = ctx;
  ENCLOS_ENSURE_REF(dir);
  char path[4200];
  uint8_t secret[32];
  size_t n = 0;
  snprintf(path, sizeof(path), "%s/sim-sealing.secret", dir);
  enclos_err rc = store__read_file(path, secret, sizeof(secret), &n);
  if (rc == ENCLOS_E_NOT_FOUND) {
    ENCLOS_TRY(enclos_random(secret, sizeof(secret)));
    rc = store__write_atomic(dir, "sim-sealing.secret", secret, sizeof(secret));
    n = sizeof(secret);
  }
  if (rc == ENCLOS_OK && n != sizeof(secret))
    rc = enclos_err_set(ENCLOS_E_TAMPERED, __FILE__, __LINE__,
                        "sim sealing secret %s is %zu bytes (want 32)", path, n);
  if (rc == ENCLOS_OK)
    rc = enclos_hkdf(ENCLOS_SHA256, NULL, 0, secret, sizeof(secret), "enclos sim sealing key v1",
                     25, key, 32);
  enclos_wipe(secret, sizeof(secret));
  return rc;
}

static enclos_err derive_store_keys(enclos_store *s) {
  ENCLOS_TRY(new_sub(s->master, s->store_id, "enclos/store/v1/tag", "", 0,
                     (sub_ctx){.hmac = &s->k_tag}));
  ENCLOS_TRY(new_sub(s->master, s->store_id, "enclos/store/v1/state", "", 0,
                     (sub_ctx){.hmac = &s->k_state}));
  ENCLOS_TRY(new_sub(s->master, s->store_id, "enclos/store/v1/set", "", 0,
                     (sub_ctx){.hmac = &s->k_set}));
  ENCLOS_TRY(new_sub(s->master, s->store_id, "enclos/store/v1/anchor", "", 0,
                     (sub_ctx){.hmac = &s->k_anchor}));
  ENCLOS_TRY(new_sub(s->master, s->store_id, "enclos/store/v1/appwrap", "", 0,
                     (sub_ctx){.aead = &s->k_appwrap}));
  return ENCLOS_OK;
}

static enclos_err header_encode(enclos_store *s, const uint8_t seal[32], uint8_t out[STORE_HEADER_SIZE]) {
  memcpy(out, STORE_HEADER_MAGIC, 8);
  memcpy(out + 8, s->store_id, STORE_ID_SIZE);
  ENCLOS_TRY(enclos_random(out + 24, 12));
  return enclos_aead_seal(seal, out + 24, out, 24, s->master, 32, out + 36, out + 68);
}

static enclos_err header_put(enclos_store_txn *x, const uint8_t seal[32]) {
  uint8_t hdr[STORE_HEADER_SIZE];
  ENCLOS_TRY(header_encode(x->s, seal, hdr));
  MDB_val mk = {sizeof(HEADER_KEY), (void *)(uintptr_t)HEADER_KEY}, mv = {sizeof(hdr), hdr};
  MDB_TRY(mdb_put(x->txn, x->s->dbi, &mk, &mv, 0), "write store header");
  return ENCLOS_OK;
}

static enclos_err load_state(enclos_store *s, MDB_txn *txn) {
  MDB_val mk = {sizeof(STATE_KEY), (void *)(uintptr_t)STATE_KEY}, mv;
  store_state st;
  uint8_t mac[32];
  int g = mdb_get(txn, s->dbi, &mk, &mv);
  ENCLOS_ENSUREF(g != MDB_NOTFOUND, ENCLOS_E_TAMPERED, "store state record is missing");
  if (g != MDB_SUCCESS) return mdb_fail(g, __FILE__, __LINE__, "read store state");
  ENCLOS_TRY(store__state_parse(mv.mv_data, mv.mv_size, &st));
  ENCLOS_TRY(state_mac(s, st.version, st.digest, mac));
  ENCLOS_ENSUREF(enclos_ct_eq(mac, st.mac, 32), ENCLOS_E_TAMPERED,
                 "store state record fails its MAC (modified or from another store)");
  s->version = st.version;
  memcpy(s->digest, st.digest, 32);
  return ENCLOS_OK;
}

/* Recomputes the set digest over every record (one HMAC each, no decryption). With \p build
 * (open) it fills the record index from the scan, which the digest check then authenticates;
 * otherwise (enclos_store_verify) it also checks every record against the index. */
static enclos_err verify_txn(enclos_store *s, MDB_txn *txn, bool build) {
  enclos_err rc = ENCLOS_OK;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  uint8_t acc[32] = {0}, c[32];
  uint64_t count = 0;
  uint8_t fp[STORE_FP_SIZE];
  if (build) store__index_reset(&s->index);
  MDB_GUARD(mdb_cursor_open(txn, s->dbi, &cur), "open cursor");
  for (int g = mdb_cursor_get(cur, &k, &v, MDB_FIRST); g != MDB_NOTFOUND;
       g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    MDB_GUARD(g, "scan records");
    const uint8_t *kb = k.mv_data;
    if (k.mv_size == 2 && kb[0] == 0 && (kb[1] == 'H' || kb[1] == 'S')) continue;
    ENCLOS_GUARD_ENSUREF(k.mv_size == DATA_KEY_SIZE || (k.mv_size == APP_KEY_SIZE && kb[0] == 0 && kb[1] == 'A'),
                         ENCLOS_E_TAMPERED, "unexpected LMDB key of %zu bytes in the store", k.mv_size);
    store_record r;
    ENCLOS_GUARD(store__record_parse(v.mv_data, v.mv_size, &r));
    ENCLOS_GUARD_ENSUREF(r.version <= s->version, ENCLOS_E_TAMPERED,
                         "a record has version %llu, newer than the store (%llu)",
                         (unsigned long long)r.version, (unsigned long long)s->version);
    ENCLOS_GUARD(contribution(s, kb, k.mv_size, v.mv_data, v.mv_size, c));
    xor32(acc, c);
    count++;
    if (build) {
      ENCLOS_GUARD(store__index_reserve(&s->index, false));
      store__fp_of(kb, k.mv_size, fp);
      store__index_set(&s->index, false, fp, r.version, r.tag);
    } else {
      ENCLOS_GUARD(index_check(s, view_committed(s), kb, k.mv_size, &r, "a scanned",
                               k.mv_size == DATA_KEY_SIZE ? "(hidden)" : "(app keys)"));
    }
  }
  ENCLOS_GUARD_ENSUREF(enclos_ct_eq(acc, s->digest, 32), ENCLOS_E_TAMPERED,
                       "store set digest mismatch over %llu records: a record was replayed, "
                       "swapped, removed or inserted by someone without the store key",
                       (unsigned long long)count);
  ENCLOS_GUARD_ENSUREF(build || !s->index_on || count == store__index_count(&s->index),
                       ENCLOS_E_TAMPERED,
                       "the database holds %llu records but the store's index %zu: a record was "
                       "removed or added behind the store's back",
                       (unsigned long long)count, store__index_count(&s->index));
cleanup:
  mdb_cursor_close(cur);
  return rc;
}

enclos_err enclos_store_verify(enclos_store *s) {
  ENCLOS_ENSURE_REF(s);
  MDB_txn *txn = NULL;
  MDB_TRY(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin read");
  enclos_store saved_view = *s; /* verify against what this snapshot says */
  enclos_err rc = load_state(&saved_view, txn);
  if (rc == ENCLOS_OK && saved_view.version != s->version)
    rc = enclos_err_set(ENCLOS_E_TAMPERED, __FILE__, __LINE__,
                        "the database is at version %llu but this store handle committed %llu: "
                        "another writer, or the database was replaced while open",
                        (unsigned long long)saved_view.version, (unsigned long long)s->version);
  if (rc == ENCLOS_OK) rc = verify_txn(&saved_view, txn, false);
  enclos_wipe(&saved_view, sizeof(saved_view));
  mdb_txn_abort(txn);
  return rc;
}

static enclos_err create_store(enclos_store *s, const uint8_t seal[32]) {
  enclos_err rc = ENCLOS_OK;
  enclos_store_txn *x = &s->wtxn;
  ENCLOS_TRY(enclos_random(s->master, 32));
  ENCLOS_TRY(enclos_random(s->store_id, STORE_ID_SIZE));
  s->index_on = true; /* empty, and every later change is this handle's own */
  ENCLOS_TRY(derive_store_keys(s));
  memset(x, 0, sizeof(*x));
  x->s = s;
  x->write = true;
  x->version = 1;
  MDB_TRY(mdb_txn_begin(s->env, NULL, 0, &x->txn), "begin create");
  ENCLOS_GUARD(header_put(x, seal));
  ENCLOS_GUARD(state_write(x));
  {
    int c = mdb_txn_commit(x->txn);
    x->txn = NULL;
    if (c != MDB_SUCCESS) return mdb_fail(c, __FILE__, __LINE__, "commit new store");
  }
  s->version = 1;
  memset(s->digest, 0, 32);
  return anchor_write(s, 1, s->digest);
cleanup:
  mdb_txn_abort(x->txn);
  x->txn = NULL;
  return rc;
}

enclos_err enclos_store_open(const char *dir, const enclos_store_opts *opts, enclos_store **out) {
  enclos_err rc = ENCLOS_OK;
  enclos_store *s = NULL;
  MDB_txn *txn = NULL;
  uint8_t seal[32];
  char path[4200];
  struct stat st;
  ENCLOS_ENSURE_REF(dir);
  ENCLOS_ENSURE_REF(opts);
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  ENCLOS_ENSUREF(opts->seal_key != NULL, ENCLOS_E_INVAL, "store options need a sealing key provider");
  ENCLOS_ENSUREF(strlen(dir) < 4000, ENCLOS_E_LIMIT, "store directory path too long");
  ENCLOS_ENSUREF(opts->max_value <= ENCLOS_STORE_MAX_VALUE_CEILING, ENCLOS_E_LIMIT,
                 "max_value %zu above the ceiling %zu", opts->max_value,
                 ENCLOS_STORE_MAX_VALUE_CEILING);
  snprintf(path, sizeof(path), "%s/store.mdb", dir);
  bool exists = stat(path, &st) == 0;
  ENCLOS_ENSUREF(exists || opts->create, ENCLOS_E_NOT_FOUND, "no store in %s (%s missing)", dir, path);

  s = enclos_calloc(1, sizeof(*s));
  ENCLOS_ENSUREF(s != NULL, ENCLOS_E_NOMEM, "store handle");
  s->scratch.secret = true;
  memcpy(s->dir, dir, strlen(dir) + 1);
  s->max_value = opts->max_value ? opts->max_value : ENCLOS_STORE_DEFAULT_MAX_VALUE;
  s->trusted_anchor = opts->trusted_anchor;
  snprintf(s->seal_source, sizeof(s->seal_source), "%s",
           opts->seal_source ? opts->seal_source : "caller-supplied");
  MDB_GUARD(mdb_env_create(&s->env), "create environment");
  MDB_GUARD(mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : ENCLOS_STORE_DEFAULT_MAP_SIZE),
            "set map size");
  /* MDB_NOTLS: snapshots and the reused read transaction may coexist in one thread. */
  MDB_GUARD(mdb_env_open(s->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600), path);
  ENCLOS_GUARD(opts->seal_key(opts->seal_ctx, seal));

  MDB_GUARD(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin open");
  MDB_GUARD(mdb_dbi_open(txn, NULL, 0, &s->dbi), "open database");
  MDB_val mk = {sizeof(HEADER_KEY), (void *)(uintptr_t)HEADER_KEY}, mv;
  int g = mdb_get(txn, s->dbi, &mk, &mv);
  if (g == MDB_NOTFOUND) {
    mdb_txn_abort(txn);
    txn = NULL;
    ENCLOS_GUARD_ENSUREF(opts->create, ENCLOS_E_NOT_FOUND, "%s holds no store header", path);
    ENCLOS_GUARD(create_store(s, seal));
  } else {
    MDB_GUARD(g, "read store header");
    store_header h;
    ENCLOS_GUARD(store__header_parse(mv.mv_data, mv.mv_size, &h));
    memcpy(s->store_id, h.store_id, STORE_ID_SIZE);
    rc = enclos_aead_open(seal, h.iv, mv.mv_data, 24, h.wrapped, 32, h.tag, s->master);
    ENCLOS_GUARD_ENSUREF(rc != ENCLOS_E_TAMPERED, ENCLOS_E_AUTH,
                         "cannot unwrap the store master key in %s: wrong sealing key (other "
                         "machine/TEE identity) or a tampered header record", path);
    ENCLOS_GUARD(rc);
    ENCLOS_GUARD(derive_store_keys(s));
    ENCLOS_GUARD(load_state(s, txn));
    if (!opts->skip_verify) {
      ENCLOS_GUARD(verify_txn(s, txn, true));
      s->index_on = true;
    }
    mdb_txn_abort(txn);
    txn = NULL;
    rc = anchor_check(s);
    if (rc == ENCLOS_E_IO) s->read_only = true; /* could not catch the anchor up */
    ENCLOS_GUARD(rc);
  }
  ENCLOS_GUARD(table_new(s, "sys", s->master, false, &s->system));
  MDB_GUARD(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn), "begin read");
  mdb_txn_reset(s->rtxn);
  *out = s;
  s = NULL;
cleanup:
  enclos_wipe(seal, sizeof(seal));
  mdb_txn_abort(txn);
  enclos_store_close(s);
  return rc;
}

void enclos_store_close(enclos_store *s) {
  if (!s) return;
  if (s->rtxn) mdb_txn_abort(s->rtxn);
  if (s->wtxn.txn) mdb_txn_abort(s->wtxn.txn);
  if (s->env) mdb_env_close(s->env);
  for (size_t i = 0; i < s->napps; i++) table_free(s->apps[i]);
  enclos_free(s->apps);
  table_free(s->system);
  enclos_hmac_key_free(s->k_tag);
  enclos_hmac_key_free(s->k_state);
  enclos_hmac_key_free(s->k_set);
  enclos_hmac_key_free(s->k_anchor);
  enclos_aead_key_free(s->k_appwrap);
  enclos_buf_free(&s->scratch);
  store__index_free(&s->index);
  enclos_free_secret(s, sizeof(*s));
}

void enclos_store_status_get(const enclos_store *s, enclos_store_status *out) {
  memset(out, 0, sizeof(*out));
  if (!s) return;
  out->version = s->version;
  out->anchor_version = s->anchor_version;
  out->trusted_monotonic = s->trusted_anchor;
  out->read_only = s->read_only;
  out->record_index = s->index_on;
  out->records = s->index_on ? store__index_count(&s->index) : 0;
  out->apps_loaded = s->napps;
  out->anchor_note =
      s->trusted_anchor
          ? "rollback anchor in trusted monotonic storage"
          : "no trusted monotonic state: the rollback anchor is a sealed file on the untrusted "
            "disk, so a host that restores an old database together with its old anchor is not "
            "detected";
}

enclos_err enclos_store_status_text(const enclos_store *s, enclos_buf *out) {
  enclos_store_status st;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  enclos_store_status_get(s, &st);
  ENCLOS_TRY(enclos_buf_printf(out, "store:            %s\n", s->dir));
  ENCLOS_TRY(enclos_buf_printf(out, "version:          %llu (anchor %llu)\n",
                               (unsigned long long)st.version,
                               (unsigned long long)st.anchor_version));
  ENCLOS_TRY(enclos_buf_printf(out, "sealing key:      %s\n", s->seal_source));
  if (st.record_index)
    ENCLOS_TRY(enclos_buf_printf(out, "records:          %llu (verified at open)\n",
                                 (unsigned long long)st.records));
  ENCLOS_TRY(enclos_buf_printf(
      out, "tamper evidence:  every record is AES-256-GCM with its table, key and version in the "
           "AAD; the set digest over all records is checked at open and by verify\n"));
  if (st.record_index)
    ENCLOS_TRY(enclos_buf_printf(
        out, "replay on read:   detected: each read checks the record against the index of the "
             "versions this store wrote (a restored older or deleted record, a removed record)\n"));
  else
    ENCLOS_TRY(enclos_buf_printf(
        out, "replay on read:   NOT checked: opened without the verification scan (skip_verify), "
             "so no record index; a replayed older record is caught only by the next open or "
             "verify\n"));
  if (st.trusted_monotonic)
    ENCLOS_TRY(enclos_buf_printf(out, "rollback:         %s\n", st.anchor_note));
  else
    ENCLOS_TRY(enclos_buf_printf(
        out,
        "rollback:         WARNING: this backend offers no trusted monotonic state. The "
        "rollback anchor is a sealed file on the untrusted disk: restoring an older database "
        "alone is detected, but a host that restores an older database together with its "
        "anchor is NOT detected (whole-store rollback).\n"));
  ENCLOS_TRY(enclos_buf_printf(out, "mode:             %s\n",
                               st.read_only ? "READ-ONLY: a rollback-anchor write failed after a "
                                              "commit; reopen the store"
                                            : "read-write"));
  return ENCLOS_OK;
}

enclos_err enclos_store_tee_seal_key(void *ctx, uint8_t key[32]) {
  ENCLOS_ENSUREF(ctx != NULL, ENCLOS_E_INVAL, "store sealing key: no TEE backend given");
  return enclos_tee_sealing_key((enclos_tee *)ctx, key);
}

enclos_err enclos_store_opts_for_tee(enclos_tee *tee, enclos_store_opts *opts) {
  uint8_t key[32];
  ENCLOS_ENSURE_REF(tee);
  ENCLOS_ENSURE_REF(opts);
  enclos_tee_kind kind = enclos_tee_get_kind(tee);
  ENCLOS_ENSUREF(kind != ENCLOS_TEE_TDX, ENCLOS_E_UNSUPPORTED,
                 "the sealed store cannot run on TDX yet: TDX has no hardware sealing key, so the "
                 "store master key must come from a peer TEE's key vault over mutual RA-TLS, "
                 "which is not built yet; refusing to fall back to a weaker key");
  enclos_err rc = enclos_tee_sealing_key(tee, key);
  enclos_wipe(key, sizeof(key));
  if (rc != ENCLOS_OK) {
    char why[256];
    snprintf(why, sizeof(why), "%s", enclos_err_detail()); /* the detail buffer is reused */
    ENCLOS_FAILF(rc, "the sealed store needs the %s backend's sealing key, which is unavailable: %s",
                 enclos_tee_kind_name(kind), why);
  }
  opts->seal_key = enclos_store_tee_seal_key;
  opts->seal_ctx = tee;
  opts->seal_source = enclos_tee_kind_name(kind);
  /* SGX's monotonic counters are gone from current platforms, TDX and SEV-SNP have none:
   * no backend gives the anchor trusted monotonic storage. */
  opts->trusted_anchor = false;
  return ENCLOS_OK;
}

/* ---- 5. transactions ------------------------------------------------------------------ */

static enclos_err write_begin(enclos_store *s, bool internal, enclos_store_txn **out) {
  ENCLOS_ENSUREF(!s->read_only, ENCLOS_E_STATE,
                 "store is read-only: an earlier rollback-anchor write failed; reopen the store");
  ENCLOS_ENSUREF(!s->in_write, ENCLOS_E_STATE, "a write transaction is already open on this store");
  enclos_store_txn *x = &s->wtxn;
  memset(x, 0, sizeof(*x));
  MDB_TRY(mdb_txn_begin(s->env, NULL, 0, &x->txn), "begin write");
  x->s = s;
  x->write = true;
  x->internal = internal;
  x->version = s->version + 1;
  memcpy(x->digest, s->digest, 32);
  s->in_write = true;
  s->txn_gen++;
  *out = x;
  return ENCLOS_OK;
}

static void txn_table_enter(enclos_store *s, enclos_store_table *t) {
  if (t->txn_gen != s->txn_gen) {
    t->txn_gen = s->txn_gen;
    t->txn_used = t->used;
    t->dirty = false;
  }
}

static enclos_err app_record_put(enclos_store_txn *x, enclos_store_table *t, uint64_t used) {
  uint8_t pt[STORE_APP_PLAIN_SIZE], lkey[APP_KEY_SIZE];
  size_t old = 0;
  memcpy(pt, t->app_key, 32);
  for (int i = 0; i < 8; i++) pt[32 + i] = (uint8_t)(t->quota >> (8 * i));
  for (int i = 0; i < 8; i++) pt[40 + i] = (uint8_t)(used >> (8 * i));
  lkey[0] = 0;
  lkey[1] = 'A';
  memcpy(lkey + 2, t->tag, TAG_SIZE);
  enclos_err rc = record_write(x, x->s->k_appwrap, t->id, t->id_len, lkey, sizeof(lkey), pt,
                               sizeof(pt), &old);
  enclos_wipe(pt, sizeof(pt));
  return rc;
}

static void write_end(enclos_store *s) {
  s->in_write = false;
  s->wtxn.txn = NULL;
}

enclos_err enclos_store_begin(enclos_store *s, bool write, enclos_store_txn **out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  if (write) return write_begin(s, false, out);
  enclos_store_txn *x = enclos_calloc(1, sizeof(*x));
  ENCLOS_ENSUREF(x != NULL, ENCLOS_E_NOMEM, "read transaction");
  int b = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &x->txn);
  if (b != MDB_SUCCESS) {
    enclos_free(x);
    return mdb_fail(b, __FILE__, __LINE__, "begin read snapshot");
  }
  x->s = s;
  x->version = s->version; /* the snapshot's version (single writer: this handle) */
  *out = x;
  return ENCLOS_OK;
}

void enclos_store_abort(enclos_store_txn *x) {
  if (!x) return;
  mdb_txn_abort(x->txn);
  x->txn = NULL;
  if (x->write) {
    store__index_abort(&x->s->index);
    write_end(x->s);
  } else {
    enclos_free(x);
  }
}

enclos_err enclos_store_commit(enclos_store_txn *x) {
  enclos_err rc = ENCLOS_OK;
  ENCLOS_ENSURE_REF(x);
  enclos_store *s = x->s;
  if (!x->write) {
    enclos_store_abort(x);
    return ENCLOS_OK;
  }
  ENCLOS_GUARD_ENSUREF(!x->failed, ENCLOS_E_STATE,
                       "an operation of this write transaction failed after changing it; the "
                       "transaction was aborted");
  /* Quota bookkeeping of app tables changed in this transaction, then the state record. */
  for (size_t i = 0; i < s->napps; i++) {
    enclos_store_table *t = s->apps[i];
    if (t->txn_gen == s->txn_gen && t->dirty) ENCLOS_GUARD(app_record_put(x, t, t->txn_used));
  }
  ENCLOS_GUARD(state_write(x));
  if (s->index_on) ENCLOS_GUARD(store__index_prepare_commit(&s->index));
  {
    int c = mdb_txn_commit(x->txn);
    x->txn = NULL;
    if (c != MDB_SUCCESS) {
      rc = mdb_fail(c, __FILE__, __LINE__, "commit");
      goto cleanup;
    }
  }
  if (s->index_on) store__index_commit(&s->index); /* cannot fail: room was reserved */
  s->version = x->version;
  memcpy(s->digest, x->digest, 32);
  for (size_t i = 0; i < s->napps; i++) {
    enclos_store_table *t = s->apps[i];
    if (t->txn_gen == s->txn_gen) t->used = t->txn_used;
  }
  /* Committed. Now the anchor; if it cannot be written, no further write may start (the
   * database must never run more than one version ahead of the anchor). */
  rc = anchor_write(s, s->version, s->digest);
  if (rc != ENCLOS_OK) {
    char why[256];
    snprintf(why, sizeof(why), "%s", enclos_err_detail()); /* the detail buffer is reused */
    s->read_only = true;
    rc = enclos_err_set(ENCLOS_E_IO, __FILE__, __LINE__,
                        "transaction %llu is committed but the rollback anchor could not be "
                        "updated (%s); the store is read-only until reopened",
                        (unsigned long long)s->version, why);
  }
cleanup:
  if (x->txn) mdb_txn_abort(x->txn);
  x->txn = NULL;
  store__index_abort(&s->index); /* no-op after a successful commit */
  write_end(s);
  return rc;
}

/* ---- 6. records ------------------------------------------------------------------------ */

static enclos_err check_key(const void *key, size_t key_size) {
  ENCLOS_ENSUREF(key != NULL || key_size == 0, ENCLOS_E_INVAL, "key is NULL");
  ENCLOS_ENSUREF(key_size >= 1, ENCLOS_E_INVAL, "empty key");
  ENCLOS_ENSUREF(key_size <= ENCLOS_STORE_MAX_KEY, ENCLOS_E_LIMIT,
                 "key of %zu bytes exceeds the limit of %d bytes", key_size, ENCLOS_STORE_MAX_KEY);
  return ENCLOS_OK;
}

static enclos_err read_txn(enclos_store *s, enclos_store_txn *txn, MDB_txn **out, bool *renewed,
                           read_view *view) {
  *renewed = false;
  if (txn) {
    ENCLOS_ENSUREF(txn->s == s && txn->txn != NULL, ENCLOS_E_INVAL, "transaction of another store or finished");
    *out = txn->txn;
    view->in_write = txn->write;
    view->version = txn->version;
    return ENCLOS_OK;
  }
  MDB_TRY(mdb_txn_renew(s->rtxn), "renew read transaction");
  *renewed = true;
  *out = s->rtxn;
  *view = view_committed(s);
  return ENCLOS_OK;
}

/* Starts loading a small record's cache lines at once. The index check reads the tag at its
 * end, the parse its start and the AES-GCM open everything between; issued together the misses
 * overlap instead of arriving one after another (a tenth of a 100-byte get, bench/README.md). */
static void record_prefetch(const MDB_val *mv) {
  const char *p = mv->mv_data;
  size_t n = mv->mv_size < GET_PREFETCH_MAX ? mv->mv_size : GET_PREFETCH_MAX;
  for (size_t o = 0; o < n; o += 64) __builtin_prefetch(p + o);
  if (n) __builtin_prefetch(p + mv->mv_size - 1);
}

/* The get path (docs/store.md §4, §9): key HMAC, one LMDB lookup, the index check, then one AES-GCM
 * pass that decrypts the record's key framing into a stack buffer and the value straight into the
 * caller's buffer. No allocation once \p out has grown to the value size. */
enclos_err enclos_store_get(enclos_store *s, enclos_store_txn *txn, enclos_store_table *t,
                            const void *key, size_t key_size, enclos_buf *out) {
  enclos_err rc = ENCLOS_OK;
  uint8_t lkey[DATA_KEY_SIZE], aad[AAD_MAX], head[(4 + ENCLOS_STORE_MAX_KEY + 15) & ~15];
  MDB_txn *mt = NULL;
  bool renewed = false;
  read_view view;
  store_record r;
  size_t head_size = 4 + key_size, value_size = 0;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(t);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_TRY(check_key(key, key_size));
  ENCLOS_TRY(data_key(t, key, key_size, lkey));
  if (s->index_on) {
    uint8_t fp[STORE_FP_SIZE];
    store__fp_of(lkey, sizeof(lkey), fp);
    store__index_prefetch(&s->index, fp);
  }
  out->len = 0;
  ENCLOS_TRY(read_txn(s, txn, &mt, &renewed, &view));
  MDB_val mk = {sizeof(lkey), lkey}, mv;
  int g = mdb_get(mt, s->dbi, &mk, &mv);
  if (g == MDB_NOTFOUND) {
    ENCLOS_GUARD(index_check(s, view, lkey, sizeof(lkey), NULL, "data", t->id));
    ENCLOS_GUARD_FAILF(ENCLOS_E_NOT_FOUND, "no key of %zu bytes in table '%s'", key_size, t->id);
  }
  MDB_GUARD(g, "read record");
  record_prefetch(&mv);
  ENCLOS_GUARD(store__record_parse(mv.mv_data, mv.mv_size, &r));
  ENCLOS_GUARD_ENSUREF(r.version <= s->version || (s->in_write && r.version == s->version + 1),
                       ENCLOS_E_TAMPERED, "data record version %llu is newer than the store (%llu)",
                       (unsigned long long)r.version, (unsigned long long)s->version);
  ENCLOS_GUARD(index_check(s, view, lkey, sizeof(lkey), &r, "data", t->id));
  /* A record under HMAC(key) whose plaintext cannot frame this key cannot be ours. */
  ENCLOS_GUARD_ENSUREF(r.ct_size >= head_size, ENCLOS_E_TAMPERED,
                       "record in table '%s' is too short (%zu bytes) for a key of %zu bytes",
                       t->id, r.ct_size, key_size);
  value_size = r.ct_size - head_size;
  ENCLOS_GUARD_ENSUREF(value_size <= s->max_value, ENCLOS_E_LIMIT,
                       "record value of %zu bytes > limit %zu", value_size, s->max_value);
  /* Never NULL, even for an empty value (callers may memcmp it). */
  if (value_size > out->cap || !out->data)
    ENCLOS_GUARD(enclos_buf_reserve(out, value_size ? value_size : 1));
  {
    /* The first part ends on a 16-byte boundary so that the bulk of the value decrypts on
     * OpenSSL's block-aligned (stitched AES-NI/GHASH) path; its tail is the value's start.
     * A small record is decrypted whole into the stack buffer (one EVP update, one copy). */
    size_t head_dec = (head_size + 15) & ~(size_t)15;
    if (r.ct_size <= sizeof(head) && r.ct_size <= GET_SMALL_RECORD) head_dec = r.ct_size;
    if (head_dec > r.ct_size) head_dec = r.ct_size;
    size_t lead = head_dec - head_size; /* value bytes decrypted into head */
    size_t aad_size = build_aad(s, t->id, t->id_len, lkey, sizeof(lkey), r.version, aad);
    uint8_t *outs[2] = {head, out->data + lead};
    size_t sizes[2] = {head_dec, r.ct_size - head_dec};
    rc = enclos_aead_key_open_parts(t->kvalue, r.iv, aad, aad_size, r.ct, r.ct_size, r.tag, outs,
                                    sizes, 2);
    if (rc == ENCLOS_OK && lead) memcpy(out->data, head + head_size, lead);
  }
  if (rc == ENCLOS_E_TAMPERED)
    ENCLOS_GUARD_FAILF(ENCLOS_E_TAMPERED,
                       "data record in table '%s' does not authenticate: its ciphertext was "
                       "modified, or moved here from another key, table or version",
                       t->id);
  ENCLOS_GUARD(rc);
  /* Authenticated: the framing must name exactly the requested key. */
  uint32_t ks = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 |
                (uint32_t)head[3] << 24;
  ENCLOS_GUARD_ENSUREF(ks == key_size && enclos_ct_eq(head + 4, key, key_size), ENCLOS_E_TAMPERED,
                       "record in table '%s' names a different key", t->id);
  out->len = value_size;
cleanup:
  if (renewed) mdb_txn_reset(mt);
  enclos_wipe(head, sizeof(head) < head_size + 16 ? sizeof(head) : head_size + 16);
  if (rc != ENCLOS_OK && out->data) {
    enclos_wipe(out->data, value_size <= out->cap ? value_size : out->cap);
    out->len = 0;
  }
  return rc;
}

static enclos_err write_txn(enclos_store *s, enclos_store_txn *txn, enclos_store_txn **out) {
  if (txn) {
    ENCLOS_ENSUREF(txn->s == s && txn->write && txn->txn != NULL, ENCLOS_E_INVAL,
                   "not an open write transaction of this store");
    *out = txn;
    return ENCLOS_OK;
  }
  return write_begin(s, true, out);
}

/* Ends an operation's own transaction: commit on success, abort on failure. */
static enclos_err finish(enclos_store_txn *x, enclos_err rc) {
  if (!x->internal) return rc;
  if (rc != ENCLOS_OK) {
    enclos_store_abort(x);
    return rc;
  }
  return enclos_store_commit(x);
}

/* Before a put or delete replaces the record at \p lkey (\p mv, read in the write
 * transaction): decrypts it and checks that it is this key's. Another key there means the two
 * share the 128-bit stored key (docs/store.md §1); the other key's record is never replaced. */
static enclos_err same_key_check(enclos_store_txn *x, enclos_store_table *t, const uint8_t *lkey,
                                 const MDB_val *mv, const void *key, size_t key_size) {
  enclos_store *s = x->s;
  read_view view = {true, x->version};
  const uint8_t *rk = NULL, *rv = NULL;
  size_t rks = 0, rvs = 0;
  enclos_err rc = record_open(s, view, t->kvalue, t->id, t->id_len, lkey, DATA_KEY_SIZE,
                              mv->mv_data, mv->mv_size, &s->scratch, "previous");
  if (rc == ENCLOS_OK)
    rc = store__data_parse(s->scratch.data, s->scratch.len, ENCLOS_STORE_MAX_VALUE_CEILING, &rk,
                           &rks, &rv, &rvs);
  if (rc == ENCLOS_OK && (rks != key_size || memcmp(rk, key, key_size) != 0))
    rc = enclos_err_set(ENCLOS_E_EXISTS, __FILE__, __LINE__,
                        "key of %zu bytes in table '%s' shares its %d-bit stored key with "
                        "another key of %zu bytes (a key MAC collision, probability below "
                        "2^-59 for the < 2^35 records the index can hold); refusing to replace the other "
                        "key's record",
                        key_size, t->id, 8 * STORE_KEY_MAC_SIZE, rks);
  if (s->scratch.data) enclos_wipe(s->scratch.data, s->scratch.len);
  s->scratch.len = 0;
  return rc;
}

static enclos_err put_in(enclos_store_txn *x, enclos_store_table *t, const void *key,
                         size_t key_size, const void *value, size_t value_size) {
  enclos_store *s = x->s;
  uint8_t lkey[DATA_KEY_SIZE];
  size_t old = 0, pt_size = 4 + key_size + value_size;
  ENCLOS_TRY(data_key(t, key, key_size, lkey));
  txn_table_enter(s, t);
  uint64_t used = 0;
  /* Everything that can refuse the put comes before anything changes, so a refused put leaves
   * the transaction usable. */
  MDB_val mk = {sizeof(lkey), lkey}, mv;
  int g = mdb_get(x->txn, s->dbi, &mk, &mv);
  if (g != MDB_SUCCESS && g != MDB_NOTFOUND) return mdb_fail(g, __FILE__, __LINE__, "read record");
  if (g == MDB_SUCCESS) ENCLOS_TRY(same_key_check(x, t, lkey, &mv, key, key_size));
  if (t->is_app) {
    /* The size of the record replaced was authenticated by same_key_check. */
    uint64_t freed = 0;
    if (g == MDB_SUCCESS && mv.mv_size >= STORE_RECORD_OVERHEAD + 4)
      freed = mv.mv_size - STORE_RECORD_OVERHEAD - 4;
    used = (t->txn_used >= freed ? t->txn_used - freed : 0) + key_size + value_size;
    ENCLOS_ENSUREF(t->quota == 0 || used <= t->quota, ENCLOS_E_LIMIT,
                   "table '%s' would hold %llu bytes, over its quota of %llu bytes", t->id,
                   (unsigned long long)used, (unsigned long long)t->quota);
  }
  /* Plaintext staging in the handle's scratch buffer (no allocation once it has grown). */
  s->scratch.len = 0;
  ENCLOS_TRY(enclos_buf_reserve(&s->scratch, pt_size));
  uint8_t *pt = s->scratch.data;
  for (int i = 0; i < 4; i++) pt[i] = (uint8_t)(key_size >> (8 * i));
  memcpy(pt + 4, key, key_size);
  if (value_size) memcpy(pt + 4 + key_size, value, value_size);
  enclos_err rc = record_write(x, t->kvalue, t->id, t->id_len, lkey, sizeof(lkey), pt, pt_size, &old);
  enclos_wipe(pt, pt_size);
  ENCLOS_TRY(rc);
  if (t->is_app) {
    t->txn_used = used;
    t->dirty = true;
  }
  return ENCLOS_OK;
}

enclos_err enclos_store_put(enclos_store *s, enclos_store_txn *txn, enclos_store_table *t,
                            const void *key, size_t key_size, const void *value,
                            size_t value_size) {
  enclos_store_txn *x = NULL;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(t);
  ENCLOS_TRY(check_key(key, key_size));
  ENCLOS_ENSUREF(value != NULL || value_size == 0, ENCLOS_E_INVAL, "value is NULL");
  ENCLOS_ENSUREF(value_size <= s->max_value, ENCLOS_E_LIMIT,
                 "value of %zu bytes exceeds the store's limit of %zu bytes", value_size,
                 s->max_value);
  ENCLOS_TRY(write_txn(s, txn, &x));
  return finish(x, put_in(x, t, key, key_size, value, value_size));
}

static enclos_err delete_in(enclos_store_txn *x, enclos_store_table *t, const void *key,
                            size_t key_size) {
  uint8_t lkey[DATA_KEY_SIZE];
  size_t old = 0;
  ENCLOS_TRY(data_key(t, key, key_size, lkey));
  MDB_val mk = {sizeof(lkey), lkey}, mv;
  int g = mdb_get(x->txn, x->s->dbi, &mk, &mv);
  if (g != MDB_SUCCESS && g != MDB_NOTFOUND) return mdb_fail(g, __FILE__, __LINE__, "read record");
  if (g == MDB_SUCCESS) ENCLOS_TRY(same_key_check(x, t, lkey, &mv, key, key_size));
  ENCLOS_TRY(record_delete(x, t->id, lkey, sizeof(lkey), &old));
  ENCLOS_ENSUREF(old != SIZE_MAX, ENCLOS_E_NOT_FOUND, "no key of %zu bytes in table '%s'",
                 key_size, t->id);
  if (t->is_app) {
    txn_table_enter(x->s, t);
    uint64_t freed = old - 4;
    t->txn_used = t->txn_used >= freed ? t->txn_used - freed : 0;
    t->dirty = true;
  }
  return ENCLOS_OK;
}

enclos_err enclos_store_delete(enclos_store *s, enclos_store_txn *txn, enclos_store_table *t,
                               const void *key, size_t key_size) {
  enclos_store_txn *x = NULL;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(t);
  ENCLOS_TRY(check_key(key, key_size));
  ENCLOS_TRY(write_txn(s, txn, &x));
  return finish(x, delete_in(x, t, key, key_size));
}

typedef struct list_item {
  uint8_t *data; /* key then value */
  size_t key_size, value_size;
} list_item;

static int list_cmp(const void *a, const void *b) {
  const list_item *x = a, *y = b;
  size_t n = x->key_size < y->key_size ? x->key_size : y->key_size;
  int c = memcmp(x->data, y->data, n);
  if (c) return c;
  return (x->key_size > y->key_size) - (x->key_size < y->key_size);
}

enclos_err enclos_store_list(enclos_store *s, enclos_store_txn *txn, enclos_store_table *t,
                             const void *prefix, size_t prefix_size, enclos_store_list_fn fn,
                             void *ctx) {
  enclos_err rc = ENCLOS_OK;
  MDB_txn *mt = NULL;
  MDB_cursor *cur = NULL;
  bool renewed = false;
  read_view view;
  list_item *items = NULL;
  size_t n = 0, cap = 0;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(t);
  ENCLOS_ENSURE_REF(fn);
  ENCLOS_ENSUREF(prefix != NULL || prefix_size == 0, ENCLOS_E_INVAL, "prefix is NULL");
  ENCLOS_ENSUREF(prefix_size <= ENCLOS_STORE_MAX_KEY, ENCLOS_E_LIMIT, "prefix of %zu bytes",
                 prefix_size);
  if (txn && txn->write) {
    ENCLOS_ENSUREF(txn->s == s && txn->txn, ENCLOS_E_INVAL, "finished transaction");
    mt = txn->txn;
    view.in_write = true;
    view.version = txn->version;
  } else {
    ENCLOS_TRY(read_txn(s, txn, &mt, &renewed, &view));
  }
  MDB_GUARD(mdb_cursor_open(mt, s->dbi, &cur), "open cursor");
  MDB_val k = {TAG_SIZE, t->tag}, v;
  for (int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); g != MDB_NOTFOUND;
       g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    MDB_GUARD(g, "scan table");
    if (k.mv_size < TAG_SIZE || memcmp(k.mv_data, t->tag, TAG_SIZE) != 0) break;
    ENCLOS_GUARD_ENSUREF(k.mv_size == DATA_KEY_SIZE, ENCLOS_E_TAMPERED,
                         "table '%s' holds an LMDB key of %zu bytes", t->id, k.mv_size);
    const uint8_t *rk = NULL, *rv = NULL;
    size_t rks = 0, rvs = 0;
    ENCLOS_GUARD(record_open(s, view, t->kvalue, t->id, t->id_len, k.mv_data, k.mv_size, v.mv_data,
                             v.mv_size, &s->scratch, "data"));
    ENCLOS_GUARD(store__data_parse(s->scratch.data, s->scratch.len, s->max_value, &rk, &rks, &rv, &rvs));
    if (rks < prefix_size || (prefix_size && memcmp(rk, prefix, prefix_size) != 0)) continue;
    ENCLOS_GUARD_ENSUREF(n < ENCLOS_STORE_MAX_LIST, ENCLOS_E_LIMIT,
                         "more than %d records match in table '%s'", ENCLOS_STORE_MAX_LIST, t->id);
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      list_item *ni = enclos_realloc(items, nc * sizeof(*ni));
      ENCLOS_GUARD_ENSUREF(ni != NULL, ENCLOS_E_NOMEM, "list of %zu records", nc);
      items = ni;
      cap = nc;
    }
    items[n].data = enclos_malloc(rks + rvs);
    ENCLOS_GUARD_ENSUREF(items[n].data != NULL, ENCLOS_E_NOMEM, "list record copy");
    memcpy(items[n].data, rk, rks);
    if (rvs) memcpy(items[n].data + rks, rv, rvs);
    items[n].key_size = rks;
    items[n].value_size = rvs;
    n++;
  }
  mdb_cursor_close(cur);
  cur = NULL;
  if (renewed) mdb_txn_reset(mt);
  renewed = false;
  if (n) qsort(items, n, sizeof(*items), list_cmp);
  for (size_t i = 0; i < n; i++)
    ENCLOS_GUARD(fn(ctx, items[i].data, items[i].key_size, items[i].data + items[i].key_size,
                    items[i].value_size));
cleanup:
  if (s->scratch.data) enclos_wipe(s->scratch.data, s->scratch.len);
  s->scratch.len = 0;
  mdb_cursor_close(cur);
  if (renewed) mdb_txn_reset(mt);
  for (size_t i = 0; i < n; i++) enclos_free_secret(items[i].data, items[i].key_size + items[i].value_size);
  enclos_free(items);
  return rc;
}

/* ---- 7. tables ------------------------------------------------------------------------- */

enclos_err enclos_store_system(enclos_store *s, enclos_store_table **out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  *out = s->system;
  return ENCLOS_OK;
}

static enclos_err app_id(const char *app, char id[TABLE_ID_MAX + 1]) {
  size_t n = 0;
  ENCLOS_ENSURE_REF(app);
  ENCLOS_ENSUREF(app_name_valid(app, &n), ENCLOS_E_INVALID,
                 "app table name '%.80s' is not 1..%d characters of [a-z0-9._-] starting with a "
                 "letter or digit", app, ENCLOS_STORE_MAX_TABLE_NAME);
  memcpy(id, "app/", 4);
  memcpy(id + 4, app, n + 1);
  return ENCLOS_OK;
}

static enclos_store_table *app_find(enclos_store *s, const char *id) {
  for (size_t i = 0; i < s->napps; i++)
    if (strcmp(s->apps[i]->id, id) == 0) return s->apps[i];
  return NULL;
}

static enclos_err app_add(enclos_store *s, enclos_store_table *t) {
  enclos_store_table **na = enclos_realloc(s->apps, (s->napps + 1) * sizeof(*na));
  ENCLOS_ENSUREF(na != NULL, ENCLOS_E_NOMEM, "app table list");
  s->apps = na;
  s->apps[s->napps++] = t;
  return ENCLOS_OK;
}

/* Reads app record \p id; ENCLOS_E_NOT_FOUND if absent. */
static enclos_err app_load(enclos_store *s, MDB_txn *mt, read_view view, const char *id,
                           enclos_store_table **out) {
  enclos_err rc = ENCLOS_OK;
  uint8_t mac[32], lkey[APP_KEY_SIZE];
  enclos_buf pt = ENCLOS_BUF_INIT;
  pt.secret = true;
  *out = NULL;
  ENCLOS_TRY(hmac1(s->k_tag, id, strlen(id), NULL, 0, NULL, 0, mac));
  lkey[0] = 0;
  lkey[1] = 'A';
  memcpy(lkey + 2, mac, TAG_SIZE);
  MDB_val mk = {sizeof(lkey), lkey}, mv;
  int g = mdb_get(mt, s->dbi, &mk, &mv);
  if (g == MDB_NOTFOUND) {
    ENCLOS_TRY(index_check(s, view, lkey, sizeof(lkey), NULL, "app key", id));
    ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "no app table '%s'", id + 4);
  }
  if (g != MDB_SUCCESS) return mdb_fail(g, __FILE__, __LINE__, "read app record");
  ENCLOS_GUARD(record_open(s, view, s->k_appwrap, id, strlen(id), lkey, sizeof(lkey), mv.mv_data,
                           mv.mv_size, &pt, "app key"));
  ENCLOS_GUARD_ENSUREF(pt.len == STORE_APP_PLAIN_SIZE, ENCLOS_E_TAMPERED, "app record of %zu bytes",
                       pt.len);
  ENCLOS_GUARD(table_new(s, id, pt.data, true, out));
  for (int i = 7; i >= 0; i--) (*out)->quota = ((*out)->quota << 8) | pt.data[32 + i];
  for (int i = 7; i >= 0; i--) (*out)->used = ((*out)->used << 8) | pt.data[40 + i];
cleanup:
  enclos_buf_free(&pt);
  return rc;
}

enclos_err enclos_store_app_table(enclos_store *s, const char *app, enclos_store_table **out) {
  char id[TABLE_ID_MAX + 1];
  bool renewed = false;
  MDB_txn *mt = NULL;
  read_view view;
  enclos_store_table *t = NULL;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  ENCLOS_TRY(app_id(app, id));
  if ((*out = app_find(s, id)) != NULL) return ENCLOS_OK;
  ENCLOS_TRY(read_txn(s, NULL, &mt, &renewed, &view));
  enclos_err rc = app_load(s, mt, view, id, &t);
  mdb_txn_reset(mt);
  ENCLOS_TRY(rc);
  rc = app_add(s, t);
  if (rc != ENCLOS_OK) {
    table_free(t);
    return rc;
  }
  *out = t;
  return ENCLOS_OK;
}

enclos_err enclos_store_app_create(enclos_store *s, const char *app, uint64_t quota_bytes) {
  enclos_err rc = ENCLOS_OK;
  char id[TABLE_ID_MAX + 1];
  uint8_t key[32];
  enclos_store_table *t = NULL, *existing = NULL;
  enclos_store_txn *x = NULL;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_TRY(app_id(app, id));
  ENCLOS_TRY(write_begin(s, true, &x));
  {
    read_view wv = {true, x->version};
    rc = app_load(s, x->txn, wv, id, &existing);
  }
  table_free(existing);
  if (rc == ENCLOS_OK) ENCLOS_GUARD_FAILF(ENCLOS_E_EXISTS, "app table '%s' already exists", app);
  if (rc != ENCLOS_E_NOT_FOUND) goto cleanup;
  rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_random(key, sizeof(key)));
  ENCLOS_GUARD(table_new(s, id, key, true, &t));
  t->quota = quota_bytes;
  ENCLOS_GUARD(app_record_put(x, t, 0));
  ENCLOS_GUARD(app_add(s, t));
  t = NULL;
  rc = enclos_store_commit(x);
  x = NULL;
  if (rc != ENCLOS_OK && !s->read_only) {
    /* Not committed: forget the handle again. */
    table_free(s->apps[--s->napps]);
  }
cleanup:
  enclos_wipe(key, sizeof(key));
  table_free(t);
  if (x) enclos_store_abort(x);
  return rc;
}

enclos_err enclos_store_app_drop(enclos_store *s, const char *app) {
  enclos_err rc = ENCLOS_OK;
  char id[TABLE_ID_MAX + 1];
  enclos_store_table *t = NULL;
  enclos_store_txn *x = NULL;
  MDB_cursor *cur = NULL;
  size_t old = 0;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_TRY(app_id(app, id));
  ENCLOS_TRY(enclos_store_app_table(s, app, &t));
  ENCLOS_TRY(write_begin(s, true, &x));
  /* The wrapped app key first: once it is gone the records are unreadable (crypto-erase). */
  uint8_t lkey[APP_KEY_SIZE] = {0, 'A'};
  memcpy(lkey + 2, t->tag, TAG_SIZE);
  ENCLOS_GUARD(record_delete(x, t->id, lkey, sizeof(lkey), &old));
  MDB_GUARD(mdb_cursor_open(x->txn, s->dbi, &cur), "open cursor");
  MDB_val k = {TAG_SIZE, t->tag}, v;
  for (int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); g != MDB_NOTFOUND;
       g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
    MDB_GUARD(g, "scan app table");
    if (k.mv_size < TAG_SIZE || memcmp(k.mv_data, t->tag, TAG_SIZE) != 0) break;
    uint8_t c[32], fp[STORE_FP_SIZE];
    store_record r;
    read_view wv = {true, x->version};
    ENCLOS_GUARD(store__record_parse(v.mv_data, v.mv_size, &r));
    ENCLOS_GUARD(index_check(s, wv, k.mv_data, k.mv_size, &r, "data", t->id));
    ENCLOS_GUARD(contribution(s, k.mv_data, k.mv_size, v.mv_data, v.mv_size, c));
    if (s->index_on) ENCLOS_GUARD(store__index_reserve(&s->index, true));
    store__fp_of(k.mv_data, k.mv_size, fp);
    x->failed = true;
    MDB_GUARD(mdb_cursor_del(cur, 0), "delete app record");
    x->failed = false;
    xor32(x->digest, c);
    if (s->index_on) store__index_del(&s->index, true, fp, x->version);
    k.mv_size = TAG_SIZE;
    k.mv_data = t->tag;
  }
  mdb_cursor_close(cur);
  cur = NULL;
  t->dirty = false;
  t->txn_gen = 0;
  rc = enclos_store_commit(x);
  x = NULL;
  if (rc == ENCLOS_OK || s->read_only) {
    for (size_t i = 0; i < s->napps; i++)
      if (s->apps[i] == t) {
        s->apps[i] = s->apps[--s->napps];
        table_free(t);
        break;
      }
  }
cleanup:
  mdb_cursor_close(cur);
  if (x) enclos_store_abort(x);
  return rc;
}

enclos_err enclos_store_table_usage(enclos_store *s, enclos_store_table *t, uint64_t *used,
                                    uint64_t *quota) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(t);
  *used = t->used;
  *quota = t->quota;
  return ENCLOS_OK;
}

enclos_err enclos_store_rotate_seal_key(enclos_store *s, enclos_store_seal_key_fn seal_key,
                                        void *seal_ctx) {
  enclos_err rc = ENCLOS_OK;
  uint8_t seal[32];
  enclos_store_txn *x = NULL;
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(seal_key);
  ENCLOS_TRY(seal_key(seal_ctx, seal));
  ENCLOS_GUARD(write_begin(s, true, &x));
  ENCLOS_GUARD(header_put(x, seal));
  rc = enclos_store_commit(x);
  x = NULL;
cleanup:
  enclos_wipe(seal, sizeof(seal));
  if (x) enclos_store_abort(x);
  return rc;
}

static enclos_err need_app(enclos_store_table *t) {
  ENCLOS_ENSURE_REF(t);
  ENCLOS_ENSUREF(t->is_app, ENCLOS_E_DENIED, "kv calls act on an app table, not '%s'", t->id);
  return ENCLOS_OK;
}

enclos_err enclos_store_kv_get(enclos_store *s, enclos_store_table *t, const void *key,
                               size_t key_size, enclos_buf *out) {
  ENCLOS_TRY(need_app(t));
  return enclos_store_get(s, NULL, t, key, key_size, out);
}

enclos_err enclos_store_kv_put(enclos_store *s, enclos_store_table *t, const void *key,
                               size_t key_size, const void *value, size_t value_size) {
  ENCLOS_TRY(need_app(t));
  return enclos_store_put(s, NULL, t, key, key_size, value, value_size);
}

enclos_err enclos_store_kv_delete(enclos_store *s, enclos_store_table *t, const void *key,
                                  size_t key_size) {
  ENCLOS_TRY(need_app(t));
  return enclos_store_delete(s, NULL, t, key, key_size);
}

enclos_err enclos_store_kv_list(enclos_store *s, enclos_store_table *t, const void *prefix,
                                size_t prefix_size, enclos_store_list_fn fn, void *ctx) {
  ENCLOS_TRY(need_app(t));
  return enclos_store_list(s, NULL, t, prefix, prefix_size, fn, ctx);
}
