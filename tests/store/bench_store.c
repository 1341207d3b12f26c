/* bench_store: sealed store vs raw LMDB on the same machine in the same run (issue 7,
 * acceptance 4). Not a ctest test.
 *
 * Run (Release build):
 *   CC=clang cmake -S . -B build/store-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
 *   cmake --build build/store-rel --target bench_store -j2
 *   build/store-rel/tests/store/bench_store [dir]      (dir defaults to a fresh /tmp directory)
 *
 * For 100-byte and 10-KiB values it measures:
 *   - batched puts: 1000 puts per write transaction (one durable commit, and for the sealed
 *     store one anchor replace, per batch);
 *   - single puts: one durable commit per put (sealed: + anchor temp/fsync/rename/fsync dir);
 *   - gets: random keys, each in its own read transaction (LMDB renew/reset) and copied out into
 *     a reused buffer — the sealed store does exactly this plus HMAC of the key and AES-GCM open.
 * Raw LMDB stores the plaintext key and value, same environment flags, same map size.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <enclos/store.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define DIE(...)                                                                   \
  do {                                                                             \
    fprintf(stderr, __VA_ARGS__);                                                  \
    fprintf(stderr, " (%s)\n", enclos_err_detail());                               \
    exit(1);                                                                       \
  } while (0)

static void key_of(int i, char *k, size_t size) { snprintf(k, size, "bench/key/%08d", i); }

typedef struct result {
  double batch_puts, single_puts, gets;
} result;

static unsigned *shuffled(int n) {
  unsigned *o = malloc((size_t)n * sizeof(*o));
  if (!o) DIE("oom");
  for (int i = 0; i < n; i++) o[i] = (unsigned)i;
  srand(42);
  for (int i = n - 1; i > 0; i--) {
    int j = rand() % (i + 1);
    unsigned t = o[i];
    o[i] = o[j];
    o[j] = t;
  }
  return o;
}

static result bench_sealed(const char *dir, int n, size_t vsize, int singles, int passes) {
  result r = {0};
  enclos_store_opts o;
  memset(&o, 0, sizeof(o));
  o.seal_key = enclos_store_sim_seal_key;
  o.seal_ctx = (void *)(uintptr_t)dir;
  o.create = true;
  o.map_size = (size_t)4 << 30;
  enclos_store *s = NULL;
  enclos_store_table *t = NULL;
  if (enclos_store_open(dir, &o, &s) != ENCLOS_OK) DIE("open sealed store");
  if (enclos_store_system(s, &t) != ENCLOS_OK) DIE("system table");
  uint8_t *val = malloc(vsize);
  memset(val, 'v', vsize);
  char k[64];
  double t0 = now();
  for (int i = 0; i < n; i += 1000) {
    enclos_store_txn *x = NULL;
    if (enclos_store_begin(s, true, &x) != ENCLOS_OK) DIE("begin");
    for (int j = i; j < n && j < i + 1000; j++) {
      key_of(j, k, sizeof(k));
      if (enclos_store_put(s, x, t, k, strlen(k), val, vsize) != ENCLOS_OK) DIE("put");
    }
    if (enclos_store_commit(x) != ENCLOS_OK) DIE("commit");
  }
  r.batch_puts = n / (now() - t0);
  t0 = now();
  for (int i = 0; i < singles; i++) {
    key_of(i, k, sizeof(k));
    if (enclos_store_put(s, NULL, t, k, strlen(k), val, vsize) != ENCLOS_OK) DIE("single put");
  }
  r.single_puts = singles / (now() - t0);
  unsigned *order = shuffled(n);
  enclos_buf b = ENCLOS_BUF_INIT;
  t0 = now();
  for (int p = 0; p < passes; p++)
    for (int i = 0; i < n; i++) {
      key_of((int)order[i], k, sizeof(k));
      if (enclos_store_get(s, NULL, t, k, strlen(k), &b) != ENCLOS_OK || b.len != vsize) DIE("get");
    }
  r.gets = (double)n * passes / (now() - t0);
  enclos_buf_free(&b);
  free(order);
  free(val);
  enclos_store_close(s);
  return r;
}

#define MDB_OK(call)                                                               \
  do {                                                                             \
    int rc_ = (call);                                                              \
    if (rc_) {                                                                     \
      fprintf(stderr, "%s: %s\n", #call, mdb_strerror(rc_));                       \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

static result bench_raw(const char *dir, int n, size_t vsize, int singles, int passes) {
  result r = {0};
  char path[4200];
  snprintf(path, sizeof(path), "%s/raw.mdb", dir);
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_OK(mdb_env_create(&env));
  MDB_OK(mdb_env_set_mapsize(env, (size_t)4 << 30));
  MDB_OK(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600));
  MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
  MDB_OK(mdb_dbi_open(txn, NULL, 0, &dbi));
  MDB_OK(mdb_txn_commit(txn));
  uint8_t *val = malloc(vsize), *out = malloc(vsize);
  memset(val, 'v', vsize);
  char k[64];
  double t0 = now();
  for (int i = 0; i < n; i += 1000) {
    MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
    for (int j = i; j < n && j < i + 1000; j++) {
      key_of(j, k, sizeof(k));
      MDB_val mk = {strlen(k), k}, mv = {vsize, val};
      MDB_OK(mdb_put(txn, dbi, &mk, &mv, 0));
    }
    MDB_OK(mdb_txn_commit(txn));
  }
  r.batch_puts = n / (now() - t0);
  t0 = now();
  for (int i = 0; i < singles; i++) {
    key_of(i, k, sizeof(k));
    MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
    MDB_val mk = {strlen(k), k}, mv = {vsize, val};
    MDB_OK(mdb_put(txn, dbi, &mk, &mv, 0));
    MDB_OK(mdb_txn_commit(txn));
  }
  r.single_puts = singles / (now() - t0);
  unsigned *order = shuffled(n);
  MDB_txn *rt = NULL;
  MDB_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &rt));
  mdb_txn_reset(rt);
  t0 = now();
  for (int p = 0; p < passes; p++)
    for (int i = 0; i < n; i++) {
      key_of((int)order[i], k, sizeof(k));
      MDB_OK(mdb_txn_renew(rt));
      MDB_val mk = {strlen(k), k}, mv;
      MDB_OK(mdb_get(rt, dbi, &mk, &mv));
      memcpy(out, mv.mv_data, mv.mv_size);
      mdb_txn_reset(rt);
    }
  r.gets = (double)n * passes / (now() - t0);
  mdb_txn_abort(rt);
  free(order);
  free(val);
  free(out);
  mdb_env_close(env);
  return r;
}

int main(int argc, char **argv) {
  char base[4096];
  if (argc > 1) {
    snprintf(base, sizeof(base), "%s", argv[1]);
  } else {
    snprintf(base, sizeof(base), "/tmp/enclos-bench-XXXXXX");
    if (!mkdtemp(base)) DIE("mkdtemp");
  }
  struct { size_t vsize; int n, singles, passes; } cases[] = {{100, 100000, 200, 5}, {10240, 20000, 100, 5}};
  printf("%-8s %-7s %14s %14s %14s\n", "value", "store", "batch puts/s", "single puts/s", "gets/s");
  for (int c = 0; c < 2; c++) {
    char d1[4200], d2[4200];
    snprintf(d1, sizeof(d1), "%s/sealed-%zu", base, cases[c].vsize);
    snprintf(d2, sizeof(d2), "%s/raw-%zu", base, cases[c].vsize);
    mkdir(d1, 0700);
    mkdir(d2, 0700);
    result s = bench_sealed(d1, cases[c].n, cases[c].vsize, cases[c].singles, cases[c].passes);
    result r = bench_raw(d2, cases[c].n, cases[c].vsize, cases[c].singles, cases[c].passes);
    const char *label = cases[c].vsize == 100 ? "100 B" : "10 KiB";
    printf("%-8s %-7s %14.0f %14.0f %14.0f\n", label, "sealed", s.batch_puts, s.single_puts, s.gets);
    printf("%-8s %-7s %14.0f %14.0f %14.0f\n", label, "raw", r.batch_puts, r.single_puts, r.gets);
    printf("%-8s %-7s %13.0f%% %13.0f%% %13.0f%%\n", label, "ratio", 100 * s.batch_puts / r.batch_puts,
           100 * s.single_puts / r.single_puts, 100 * s.gets / r.gets);
  }
  printf("data in %s (remove when done)\n", base);
  return 0;
}
