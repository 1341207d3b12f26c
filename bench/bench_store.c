/* bench_store: the sealed store vs raw LMDB, same machine, same run (issue 7, acceptance 4).
 * A reported figure, not a test. Run it with scripts/bench-store (bench/README.md).
 *
 *   enclos-bench-store [--quick] [--runs N] [--only 100|10240] [--dir DIR]
 *
 * For 100-byte and 10-KiB values, in one process, sealed store first and raw LMDB second:
 *   - batch puts: 1000 puts per write transaction (one durable commit, and for the sealed store
 *     one anchor replace, per batch);
 *   - single puts: one durable commit per put (sealed: + anchor temp file, fsync, rename, fsync);
 *   - gets: every key once in a shuffled order, each in its own read transaction (LMDB
 *     renew/reset), the value copied into a reused caller buffer. The sealed store does the same
 *     plus the key HMAC, the AES-GCM open and the per-key version check. --runs passes; the
 *     median pass is reported (the machine is shared, so single passes are noisy).
 * Raw LMDB stores the plaintext key and value, same environment flags, same map size.
 * The functions sealed_gets_pass and raw_gets_pass are kept out of line so that
 *   valgrind --tool=callgrind --toggle-collect=sealed_gets_pass enclos-bench-store --quick
 * counts only the get path.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
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
    fprintf(stderr, "bench-store: " __VA_ARGS__);                                  \
    fprintf(stderr, " (%s)\n", enclos_err_detail());                               \
    exit(1);                                                                       \
  } while (0)

#define MDB_OK(call)                                                               \
  do {                                                                             \
    int rc_ = (call);                                                              \
    if (rc_) {                                                                     \
      fprintf(stderr, "bench-store: %s: %s\n", #call, mdb_strerror(rc_));          \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

#define MAX_RUNS 51

static void key_of(int i, char *k, size_t size) { snprintf(k, size, "bench/key/%08d", i); }

typedef struct result {
  double batch_puts, single_puts, gets;
} result;

static unsigned *shuffled(int n) {
  unsigned *o = malloc((size_t)n * sizeof(*o));
  if (!o) DIE("out of memory");
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

static int dcmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), dcmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

__attribute__((noinline)) static void sealed_gets_pass(enclos_store *s, enclos_store_table *t,
                                                       const unsigned *order, int n, size_t vsize,
                                                       enclos_buf *b) {
  char k[64];
  for (int i = 0; i < n; i++) {
    key_of((int)order[i], k, sizeof(k));
    if (enclos_store_get(s, NULL, t, k, strlen(k), b) != ENCLOS_OK || b->len != vsize) DIE("get");
  }
}

static result bench_sealed(const char *dir, int n, size_t vsize, int singles, int runs) {
  result r = {0};
  enclos_store_opts o;
  memset(&o, 0, sizeof(o));
  o.seal_key = enclos_store_sim_seal_key;
  o.seal_ctx = (void *)(uintptr_t)dir;
  o.create = true;
  o.map_size = (size_t)4 << 30;
  enclos_store *s = NULL;
  enclos_store_table *t = NULL;
  if (enclos_store_open(dir, &o, &s) != ENCLOS_OK) DIE("open sealed store in %s", dir);
  if (enclos_store_system(s, &t) != ENCLOS_OK) DIE("system table");
  uint8_t *val = malloc(vsize);
  if (!val) DIE("out of memory");
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
  double rates[MAX_RUNS];
  sealed_gets_pass(s, t, order, n < 1000 ? n : 1000, vsize, &b); /* warm-up */
  for (int p = 0; p < runs; p++) {
    t0 = now();
    sealed_gets_pass(s, t, order, n, vsize, &b);
    rates[p] = n / (now() - t0);
  }
  r.gets = median(rates, runs);
  enclos_buf_free(&b);
  free(order);
  free(val);
  enclos_store_close(s);
  return r;
}

__attribute__((noinline)) static void raw_gets_pass(MDB_env *env, MDB_dbi dbi, MDB_txn *rt,
                                                    const unsigned *order, int n, uint8_t *out) {
  (void)env;
  char k[64];
  for (int i = 0; i < n; i++) {
    key_of((int)order[i], k, sizeof(k));
    MDB_OK(mdb_txn_renew(rt));
    MDB_val mk = {strlen(k), k}, mv;
    MDB_OK(mdb_get(rt, dbi, &mk, &mv));
    memcpy(out, mv.mv_data, mv.mv_size);
    mdb_txn_reset(rt);
  }
}

static result bench_raw(const char *dir, int n, size_t vsize, int singles, int runs) {
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
  if (!val || !out) DIE("out of memory");
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
  double rates[MAX_RUNS];
  raw_gets_pass(env, dbi, rt, order, n < 1000 ? n : 1000, out); /* warm-up */
  for (int p = 0; p < runs; p++) {
    t0 = now();
    raw_gets_pass(env, dbi, rt, order, n, out);
    rates[p] = n / (now() - t0);
  }
  r.gets = median(rates, runs);
  mdb_txn_abort(rt);
  free(order);
  free(val);
  free(out);
  mdb_env_close(env);
  return r;
}

static void usage(void) {
  fprintf(stderr, "usage: enclos-bench-store [--quick] [--runs N (1..%d)] [--only 100|10240] [--dir DIR]\n", MAX_RUNS);
  exit(2);
}

int main(int argc, char **argv) {
  char base[4096] = "";
  int runs = 5;
  bool quick = false;
  size_t only = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
      if (runs < 1 || runs > MAX_RUNS) usage();
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = strtoul(argv[++i], NULL, 10);
      if (only != 100 && only != 10240) usage();
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      snprintf(base, sizeof(base), "%s", argv[++i]);
    } else {
      usage();
    }
  }
  if (!base[0]) {
    snprintf(base, sizeof(base), "/tmp/enclos-bench-store-XXXXXX");
    if (!mkdtemp(base)) DIE("mkdtemp");
  }
  struct {
    size_t vsize;
    int n, singles;
    const char *label;
  } cases[] = {{100, 100000, 200, "100 B"}, {10240, 20000, 100, "10 KiB"}};
  double get_ratio[2] = {0, 0};
  printf("%-8s %-7s %14s %14s %14s\n", "value", "store", "batch puts/s", "single puts/s",
         "gets/s");
  for (int c = 0; c < 2; c++) {
    if (only && cases[c].vsize != only) continue;
    int n = quick ? cases[c].n / 10 : cases[c].n, singles = quick ? 20 : cases[c].singles;
    char d1[4200], d2[4200];
    snprintf(d1, sizeof(d1), "%s/sealed-%zu", base, cases[c].vsize);
    snprintf(d2, sizeof(d2), "%s/raw-%zu", base, cases[c].vsize);
    if ((mkdir(d1, 0700) != 0 && errno != EEXIST) || (mkdir(d2, 0700) != 0 && errno != EEXIST))
      DIE("mkdir in %s: %s", base, strerror(errno));
    result s = bench_sealed(d1, n, cases[c].vsize, singles, runs);
    result r = bench_raw(d2, n, cases[c].vsize, singles, runs);
    const char *label = cases[c].label;
    printf("%-8s %-7s %14.0f %14.0f %14.0f\n", label, "sealed", s.batch_puts, s.single_puts, s.gets);
    printf("%-8s %-7s %14.0f %14.0f %14.0f\n", label, "raw", r.batch_puts, r.single_puts, r.gets);
    printf("%-8s %-7s %13.0f%% %13.0f%% %13.0f%%\n", label, "sealed/raw",
           100 * s.batch_puts / r.batch_puts, 100 * s.single_puts / r.single_puts,
           100 * s.gets / r.gets);
    get_ratio[c] = 100 * s.gets / r.gets;
  }
  printf("goal sealed gets >= 50%% of raw LMDB:");
  for (int c = 0; c < 2; c++)
    if (!only || cases[c].vsize == only)
      printf(" %s %.0f%% (%s)", cases[c].label, get_ratio[c], get_ratio[c] >= 50 ? "met" : "NOT met");
  printf("\n");
  printf("gets: median of %d passes; data in %s (remove when done)\n", runs, base);
  return 0;
}
