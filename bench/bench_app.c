/* enclos-bench-app: the cost of a fresh instance per call (issue 4, bench/README.md).
 *
 *   enclos-bench-app [-n N] [--dir DIR] [--echo ECHO.wasm] [--only engine|dirty|app|scratch|echo]
 *
 * For each of DIR/inst-p1.wasm and DIR/inst-p16.wasm (the ~105 KB module of
 * ../shared/bench/wasm/instantiate/, 1 and 16 pages of memory), N times (default 10,000):
 *   engine  restore the snapshot (the fresh instance) + call `noop` (enclos_wasm_call);
 *   app     enclos_app_call(app, "noop", "[]"): take a pooled runner, arm the deadline, parse the
 *           JSON, call, format the result, reset the runner to the snapshot, pool it;
 *   dirty   restore + write one byte into each of 16 4-KiB pages, with the pagemap restore and
 *           with the MADV_DONTNEED one (1 MiB memory of inst-p16 only: copy-on-write);
 *   scratch for reference, without snapshots: new store + instantiate + call + free (N/10 times).
 * With --echo, also enclos_app_call(echo, "echo", [<1 KiB string>]) (examples/echo).
 * Prints the median, 10th and 90th percentile and mean of each, in microseconds. --only runs
 * one kind (for instruction counts under callgrind: run N and 2N, divide the difference by N).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <enclos/app.h>
#include <enclos/wasm.h>

#include "wasm/wasm_int.h" /* wasm__mem_restore_mode: both restore paths for --only dirty */

static const char *g_only; /* NULL: everything */
static clockid_t g_clock = CLOCK_MONOTONIC;

static bool run_kind(const char *k) { return !g_only || strcmp(g_only, k) == 0; }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(g_clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *t, size_t n) {
  qsort(t, n, sizeof(*t), cmp_u64);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += (double)t[i];
  printf("%-34s median %8.2f us  p10 %8.2f  p90 %8.2f  mean %8.2f  (n=%zu)\n", what,
         (double)t[n / 2] / 1e3, (double)t[n / 10] / 1e3, (double)t[n * 9 / 10] / 1e3,
         sum / (double)n / 1e3, n);
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return b;
}

static int die(const char *what, enclos_err rc) {
  fprintf(stderr, "enclos-bench-app: %s: %s (%s)\n", what, enclos_strerror(rc), enclos_err_detail());
  return 70;
}

static int bench_module(const char *path, const char *label, size_t n) {
  size_t size;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes) {
    fprintf(stderr, "enclos-bench-app: cannot read %s\n", path);
    return 66;
  }
  uint64_t *t = malloc(n * sizeof(*t));
  enclos_wasm_module *m = NULL;
  enclos_wasm_store *s = NULL;
  enclos_wasm_instance *inst = NULL;
  enclos_wasm_snapshot *snap = NULL;
  enclos_app *app = NULL;
  enclos_err rc;
  char what[96];
  int ret = 0;
  static const char noop[] = "noop";
  enclos_wasm_extern f;
  enclos_wasm_val r;

  /* engine: snapshot restore + call */
  if ((rc = enclos_wasm_module_load(bytes, size, &m)) || (rc = enclos_wasm_store_new(NULL, &s)) ||
      (rc = enclos_wasm_instantiate(s, m, NULL, &inst)) ||
      (rc = enclos_wasm_snapshot_take(inst, &snap)) ||
      (rc = enclos_wasm_instance_export(inst, (enclos_wasm_name){noop, 4}, &f))) {
    ret = die("engine setup", rc);
    goto done;
  }
  for (size_t i = 0; i < n && run_kind("engine"); i++) {
    uint64_t t0 = now_ns();
    rc = enclos_wasm_snapshot_restore(inst, snap);
    if (rc == ENCLOS_OK) rc = enclos_wasm_call(s, f, NULL, 0, &r, 1);
    t[i] = now_ns() - t0;
    if (rc != ENCLOS_OK || r.of.i32 != 42) {
      ret = die("engine call", rc);
      goto done;
    }
  }
  snprintf(what, sizeof(what), "%s engine restore+call", label);
  if (run_kind("engine")) report(what, t, n);

  /* dirty: restore + one byte written into each of 16 4-KiB pages (what a call that uses 64 KiB
   * of memory leaves behind), for both restores of copy-on-write images (memory.c, "Snapshot
   * images"): pagemap (pages copied back, stay mapped) and drop (MADV_DONTNEED, re-faulted). */
  enclos_wasm_extern mem;
  uint8_t *mb;
  size_t msz;
  if (run_kind("dirty") &&
      enclos_wasm_instance_export(inst, (enclos_wasm_name){"memory", 6}, &mem) == ENCLOS_OK &&
      enclos_wasm_memory_data(mem, &mb, &msz) == ENCLOS_OK && msz > WASM_SNAPSHOT_COPY_MAX) {
    for (int mode = 0; mode < 2; mode++) {
      wasm__mem_restore_mode(mode ? WASM_RESTORE_DROP : WASM_RESTORE_AUTO);
      for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        rc = enclos_wasm_snapshot_restore(inst, snap);
        if (rc == ENCLOS_OK) rc = enclos_wasm_memory_data(mem, &mb, &msz);
        if (rc != ENCLOS_OK) {
          ret = die("dirty restore", rc);
          goto done;
        }
        for (size_t k = 0; k < 16; k++) mb[msz - (k + 1) * 4096 + i % 4096] ^= 1;
        t[i] = now_ns() - t0;
      }
      snprintf(what, sizeof(what), "%s restore+16 pages %s", label, mode ? "drop" : "pagemap");
      report(what, t, n);
    }
    wasm__mem_restore_mode(WASM_RESTORE_AUTO);
    if ((rc = enclos_wasm_snapshot_restore(inst, snap))) {
      ret = die("dirty restore", rc);
      goto done;
    }
  }

  /* app: enclos_app_call */
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  if ((rc = enclos_app_load("bench", bytes, size, &lim, NULL, &app))) {
    ret = die("app load", rc);
    goto done;
  }
  enclos_buf out = ENCLOS_BUF_INIT;
  for (size_t i = 0; i < n && run_kind("app"); i++) {
    out.len = 0;
    uint64_t t0 = now_ns();
    rc = enclos_app_call(app, "noop", "[]", 2, &out, NULL);
    t[i] = now_ns() - t0;
    if (rc != ENCLOS_OK || out.len != 4 || memcmp(out.data, "[42]", 4) != 0) {
      ret = die("app call", rc);
      goto done;
    }
  }
  enclos_buf_free(&out);
  snprintf(what, sizeof(what), "%s enclos_app_call noop", label);
  if (run_kind("app")) report(what, t, n);

  /* scratch: no snapshot */
  size_t ns = n / 10 ? n / 10 : 1;
  for (size_t i = 0; i < ns && run_kind("scratch"); i++) {
    enclos_wasm_store *s2 = NULL;
    enclos_wasm_instance *i2;
    enclos_wasm_extern f2;
    uint64_t t0 = now_ns();
    rc = enclos_wasm_store_new(NULL, &s2);
    if (!rc) rc = enclos_wasm_instantiate(s2, m, NULL, &i2);
    if (!rc) rc = enclos_wasm_instance_export(i2, (enclos_wasm_name){noop, 4}, &f2);
    if (!rc) rc = enclos_wasm_call(s2, f2, NULL, 0, &r, 1);
    enclos_wasm_store_free(s2);
    t[i] = now_ns() - t0;
    if (rc) {
      ret = die("scratch instantiate", rc);
      goto done;
    }
  }
  snprintf(what, sizeof(what), "%s instantiate from scratch", label);
  if (run_kind("scratch")) report(what, t, ns);
done:
  enclos_app_unref(app);
  enclos_wasm_snapshot_free(snap);
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  free(t);
  free(bytes);
  return ret;
}

static int bench_echo(const char *path, size_t n) {
  size_t size;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes) {
    fprintf(stderr, "enclos-bench-app: cannot read %s\n", path);
    return 66;
  }
  enclos_app *app = NULL;
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  if (getenv("BENCH_NO_TIMEOUT")) lim.timeout_ms = 0;
  enclos_err rc = enclos_app_load("echo", bytes, size, &lim, NULL, &app);
  free(bytes);
  if (rc) return die("echo load", rc);
  char args[1100];
  size_t k = 0;
  args[k++] = '[';
  args[k++] = '"';
  for (int i = 0; i < 1024; i++) args[k++] = (char)('a' + i % 26);
  args[k++] = '"';
  args[k++] = ']';
  uint64_t *t = malloc(n * sizeof(*t));
  enclos_buf out = ENCLOS_BUF_INIT;
  int ret = 0;
  for (size_t i = 0; i < n; i++) {
    out.len = 0;
    uint64_t t0 = now_ns();
    rc = enclos_app_call(app, "echo", args, k, &out, NULL);
    t[i] = now_ns() - t0;
    if (rc != ENCLOS_OK || out.len < 1024) {
      ret = die("echo call", rc);
      goto done;
    }
  }
  report("echo 1 KiB JSON enclos_app_call", t, n);
  enclos_app_call_info info;
  out.len = 0;
  if (enclos_app_call(app, "echo", args, k, &out, &info) == ENCLOS_OK)
    printf("echo 1 KiB: %" PRIu64 " wasm instructions (fuel) per call, result %zu bytes\n",
           info.fuel_used, out.len);
done:
  enclos_buf_free(&out);
  enclos_app_unref(app);
  free(t);
  return ret;
}

int main(int argc, char **argv) {
  size_t n = 10000;
  const char *dir = ENCLOS_BENCH_SHARED "/bench/wasm/prebuilt/instantiate";
  const char *echo = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) n = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
    else if (strcmp(argv[i], "--echo") == 0 && i + 1 < argc) echo = argv[++i];
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) g_only = argv[++i];
    else {
      fprintf(stderr, "usage: enclos-bench-app [-n N] [--dir DIR] [--echo ECHO.wasm] "
                      "[--only engine|dirty|app|scratch|echo]\n");
      return 64;
    }
  }
  if (n < 10) n = 10;
  if (getenv("BENCH_CPU")) g_clock = CLOCK_THREAD_CPUTIME_ID;
  static const char *const pages[] = {"1", "16"};
  for (size_t i = 0; i < 2 && !(g_only && strcmp(g_only, "echo") == 0); i++) {
    char path[4096], label[32];
    snprintf(path, sizeof(path), "%s/inst-p%s.wasm", dir, pages[i]);
    snprintf(label, sizeof(label), "inst-p%s", pages[i]);
    int rc = bench_module(path, label, n);
    if (rc) return rc;
  }
  if (echo && run_kind("echo")) return bench_echo(echo, n);
  return 0;
}
