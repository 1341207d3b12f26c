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
 *     plus the key HMAC, the record-index check and the AES-GCM open. After one warm-up pass
 *     each, --runs (default 9) sealed and raw passes alternate; the median rates are printed and
 *     the gets ratio is the median of the per-pair ratios (a shared machine's load shifts
 *     between passes; pairing cancels most of it). Gets are timed in thread CPU time
 *     (gets/cpu-s, the figure the goal is judged on) and in wall time (gets/s wall).
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

#include <enclos/crypto_keyed.h>
#include <enclos/store.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: gets are CPU-bound (the data is in the page cache), and on a shared
 * machine wall time mostly measures how long the scheduler kept us waiting. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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
  double batch_puts, single_puts, gets, gets_wall;
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

typedef struct sealed_bench {
  enclos_store *s;
  enclos_store_table *t;
  enclos_buf b;
} sealed_bench;

static void sealed_puts(sealed_bench *sb, const char *dir, int n, size_t vsize, int singles,
                        result *r) {
  enclos_store_opts o;
  memset(&o, 0, sizeof(o));
  o.seal_key = enclos_store_sim_seal_key;
  o.seal_ctx = (void *)(uintptr_t)dir;
  o.create = true;
  o.map_size = (size_t)4 << 30;
  if (enclos_store_open(dir, &o, &sb->s) != ENCLOS_OK) DIE("open sealed store in %s", dir);
  if (enclos_store_system(sb->s, &sb->t) != ENCLOS_OK) DIE("system table");
  uint8_t *val = malloc(vsize);
  if (!val) DIE("out of memory");
  memset(val, 'v', vsize);
  char k[64];
  double t0 = now();
  for (int i = 0; i < n; i += 1000) {
    enclos_store_txn *x = NULL;
    if (enclos_store_begin(sb->s, true, &x) != ENCLOS_OK) DIE("begin");
    for (int j = i; j < n && j < i + 1000; j++) {
      key_of(j, k, sizeof(k));
      if (enclos_store_put(sb->s, x, sb->t, k, strlen(k), val, vsize) != ENCLOS_OK) DIE("put");
    }
    if (enclos_store_commit(x) != ENCLOS_OK) DIE("commit");
  }
  r->batch_puts = n / (now() - t0);
  t0 = now();
  for (int i = 0; i < singles; i++) {
    key_of(i, k, sizeof(k));
    if (enclos_store_put(sb->s, NULL, sb->t, k, strlen(k), val, vsize) != ENCLOS_OK)
      DIE("single put");
  }
  r->single_puts = singles / (now() - t0);
  free(val);
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

/* What AES-256-GCM alone costs per get: the CPU time of opening one record's ciphertext (the
 * 4-byte key size, the key and the value) with the store's pre-keyed context, and of copying the
 * value (what a raw get does instead), in seconds, medians of \p runs. A sealed get does a LMDB
 * lookup in a larger tree than raw LMDB's plus this open instead of the copy, so
 * raw / (raw - copy + open) bounds its ratio from above whatever else the store does. */
static void gcm_floor(size_t vsize, int runs, double *open_s, double *copy_s) {
  size_t size = 4 + 18 + vsize;
  int reps = vsize > 1000 ? 2000 : 20000;
  uint8_t key[32] = {7}, iv[12] = {1}, tag[16], aad[80] = {0};
  uint8_t *pt = calloc(1, size), *ct = malloc(size), *out = malloc(size);
  enclos_aead_key *k = NULL;
  if (!pt || !ct || !out) DIE("out of memory");
  if (enclos_aead_key_new(key, &k) != ENCLOS_OK ||
      enclos_aead_key_seal(k, iv, aad, sizeof(aad), pt, size, ct, tag) != ENCLOS_OK)
    DIE("AES-GCM setup");
  double o[MAX_RUNS], c[MAX_RUNS];
  for (int p = 0; p < runs; p++) {
    double c0 = cpu_now();
    for (int i = 0; i < reps; i++)
      if (enclos_aead_key_open(k, iv, aad, sizeof(aad), ct, size, tag, out) != ENCLOS_OK)
        DIE("AES-GCM open");
    o[p] = (cpu_now() - c0) / reps;
    c0 = cpu_now();
    for (int i = 0; i < reps; i++) {
      memcpy(out, ct, vsize);
      __asm__ volatile("" : : "r"(out) : "memory"); /* keep the copy */
    }
    c[p] = (cpu_now() - c0) / reps;
  }
  *open_s = median(o, runs);
  *copy_s = median(c, runs);
  enclos_aead_key_free(k);
  free(pt);
  free(ct);
  free(out);
}

typedef struct raw_bench {
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *rt;
  uint8_t *out;
} raw_bench;

static void raw_puts(raw_bench *rb, const char *dir, int n, size_t vsize, int singles, result *r) {
  char path[4200];
  MDB_txn *txn = NULL;
  snprintf(path, sizeof(path), "%s/raw.mdb", dir);
  MDB_OK(mdb_env_create(&rb->env));
  MDB_OK(mdb_env_set_mapsize(rb->env, (size_t)4 << 30));
  MDB_OK(mdb_env_open(rb->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600));
  MDB_OK(mdb_txn_begin(rb->env, NULL, 0, &txn));
  MDB_OK(mdb_dbi_open(txn, NULL, 0, &rb->dbi));
  MDB_OK(mdb_txn_commit(txn));
  uint8_t *val = malloc(vsize);
  rb->out = malloc(vsize);
  if (!val || !rb->out) DIE("out of memory");
  memset(val, 'v', vsize);
  char k[64];
  double t0 = now();
  for (int i = 0; i < n; i += 1000) {
    MDB_OK(mdb_txn_begin(rb->env, NULL, 0, &txn));
    for (int j = i; j < n && j < i + 1000; j++) {
      key_of(j, k, sizeof(k));
      MDB_val mk = {strlen(k), k}, mv = {vsize, val};
      MDB_OK(mdb_put(txn, rb->dbi, &mk, &mv, 0));
    }
    MDB_OK(mdb_txn_commit(txn));
  }
  r->batch_puts = n / (now() - t0);
  t0 = now();
  for (int i = 0; i < singles; i++) {
    key_of(i, k, sizeof(k));
    MDB_OK(mdb_txn_begin(rb->env, NULL, 0, &txn));
    MDB_val mk = {strlen(k), k}, mv = {vsize, val};
    MDB_OK(mdb_put(txn, rb->dbi, &mk, &mv, 0));
    MDB_OK(mdb_txn_commit(txn));
  }
  r->single_puts = singles / (now() - t0);
  MDB_OK(mdb_txn_begin(rb->env, NULL, MDB_RDONLY, &rb->rt));
  mdb_txn_reset(rb->rt);
  free(val);
}

static void usage(void) {
  fprintf(stderr, "usage: enclos-bench-store [--quick] [--runs N (1..%d)] [--only 100|10240] [--dir DIR]\n", MAX_RUNS);
  exit(2);
}

int main(int argc, char **argv) {
  char base[4096] = "";
  int runs = 9;
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
  printf("%-8s %-10s %13s %13s %13s %13s\n", "value", "store", "batch puts/s", "single puts/s",
         "gets/cpu-s", "gets/s wall");
  for (int c = 0; c < 2; c++) {
    if (only && cases[c].vsize != only) continue;
    int n = quick ? cases[c].n / 10 : cases[c].n, singles = quick ? 20 : cases[c].singles;
    char d1[4200], d2[4200];
    snprintf(d1, sizeof(d1), "%s/sealed-%zu", base, cases[c].vsize);
    snprintf(d2, sizeof(d2), "%s/raw-%zu", base, cases[c].vsize);
    if ((mkdir(d1, 0700) != 0 && errno != EEXIST) || (mkdir(d2, 0700) != 0 && errno != EEXIST))
      DIE("mkdir in %s: %s", base, strerror(errno));
    result s = {0}, r = {0};
    sealed_bench sb = {NULL, NULL, ENCLOS_BUF_INIT};
    raw_bench rb = {NULL, 0, NULL, NULL};
    sealed_puts(&sb, d1, n, cases[c].vsize, singles, &s);
    raw_puts(&rb, d2, n, cases[c].vsize, singles, &r);
    /* Gets: sealed and raw passes alternate, so both see the same machine load; the ratio is
     * the median of the per-pair ratios. */
    unsigned *order = shuffled(n);
    double srate[MAX_RUNS], rrate[MAX_RUNS], ratio[MAX_RUNS], swall[MAX_RUNS], rwall[MAX_RUNS],
        wratio[MAX_RUNS];
    sealed_gets_pass(sb.s, sb.t, order, n, cases[c].vsize, &sb.b); /* warm-up: map the pages */
    raw_gets_pass(rb.env, rb.dbi, rb.rt, order, n, rb.out);
    for (int p = 0; p < runs; p++) {
      double t0 = now(), c0 = cpu_now();
      sealed_gets_pass(sb.s, sb.t, order, n, cases[c].vsize, &sb.b);
      srate[p] = n / (cpu_now() - c0);
      swall[p] = n / (now() - t0);
      t0 = now();
      c0 = cpu_now();
      raw_gets_pass(rb.env, rb.dbi, rb.rt, order, n, rb.out);
      rrate[p] = n / (cpu_now() - c0);
      rwall[p] = n / (now() - t0);
      ratio[p] = 100 * srate[p] / rrate[p];
      wratio[p] = 100 * swall[p] / rwall[p];
    }
    s.gets = median(srate, runs);
    r.gets = median(rrate, runs);
    s.gets_wall = median(swall, runs);
    r.gets_wall = median(rwall, runs);
    free(order);
    enclos_buf_free(&sb.b);
    enclos_store_close(sb.s);
    mdb_txn_abort(rb.rt);
    mdb_env_close(rb.env);
    free(rb.out);
    const char *label = cases[c].label;
    printf("%-8s %-10s %13.0f %13.0f %13.0f %13.0f\n", label, "sealed", s.batch_puts,
           s.single_puts, s.gets, s.gets_wall);
    printf("%-8s %-10s %13.0f %13.0f %13.0f %13.0f\n", label, "raw LMDB", r.batch_puts,
           r.single_puts, r.gets, r.gets_wall);
    printf("%-8s %-10s %12.0f%% %12.0f%% %12.0f%% %12.0f%%\n", label, "sealed/raw",
           100 * s.batch_puts / r.batch_puts, 100 * s.single_puts / r.single_puts,
           median(ratio, runs), median(wratio, runs));
    get_ratio[c] = median(ratio, runs);
    double open_s = 0, copy_s = 0;
    gcm_floor(cases[c].vsize, runs, &open_s, &copy_s);
    double raw_s = 1 / r.gets;
    printf("%-8s AES-256-GCM open of one record alone %.0f ns (a raw get %.0f ns, its copy %.0f ns):"
           " ceiling for sealed/raw %.0f%%\n",
           label, open_s * 1e9, raw_s * 1e9, copy_s * 1e9, 100 * raw_s / (raw_s - copy_s + open_s));
  }
  printf("goal sealed gets >= 50%% of raw LMDB (per CPU second):");
  for (int c = 0; c < 2; c++)
    if (!only || cases[c].vsize == only)
      printf(" %s %.0f%% (%s)", cases[c].label, get_ratio[c], get_ratio[c] >= 50 ? "met" : "NOT met");
  printf("\n");
  printf("gets: median of %d alternating sealed/raw passes, ratio = median of the pair ratios; "
         "gets/cpu-s counts thread CPU time, gets/s wall elapsed time (noisy on a shared "
         "machine); puts are wall time (fsync-bound)\ndata in %s\n",
         runs, base);
  return 0;
}
