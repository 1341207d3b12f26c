/* enclos-bench-wasm: runs one wasm32-wasi command module (a benchmark workload of
 * ../shared/bench/wasm/) in the enclos engine, with the 7 WASI preview1 calls those programs
 * import: args_get, args_sizes_get, fd_close, fd_fdstat_get, fd_seek, fd_write, proc_exit.
 * The full WASI layer lives in src/wasi; this host is the minimum the workloads need (stdout
 * and stderr only, no files).
 *
 *   enclos-bench-wasm [--fuel N] [--no-guard] [--stats] FILE.wasm [ARG...]
 *
 * The guest's argv is FILE.wasm followed by ARG...; its stdout/stderr go to ours. Exit status:
 * the guest's exit code, or 70 when the engine fails (the reason is printed on stderr).
 * --fuel N meters the call with a budget of N (0 = unmetered, the default); --stats prints
 * load/instantiate/run times and the fuel used on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <enclos/error.h>
#include <enclos/mem.h>
#include <enclos/wasm.h>

#define BENCH_MODULE_MAX (256u << 20) /* largest .wasm file we read */
#define BENCH_EX_SOFTWARE 70          /* sysexits.h EX_SOFTWARE: the engine failed */

/* WASI preview1 errno values (wasi_snapshot_preview1.witx, "errno"). */
#define WASI_ESUCCESS 0
#define WASI_EBADF 8
#define WASI_EFAULT 21
#define WASI_EINVAL 28
#define WASI_ESPIPE 70

struct host {
  int argc;
  char **argv;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Guest memory access: every pointer and length is checked against the memory size. */
static bool guest_range(enclos_wasm_caller *c, uint32_t ptr, uint64_t len, uint8_t **out) {
  uint8_t *data;
  size_t size;
  enclos_wasm_caller_memory(c, &data, &size);
  if (!data || (uint64_t)ptr > size || len > size - (uint64_t)ptr) return false;
  *out = data + ptr;
  return true;
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void ret_errno(enclos_wasm_val *results, uint32_t e) {
  results[0].type = ENCLOS_WASM_I32;
  results[0].of.i32 = e;
}

/* args_sizes_get(argc_ptr, argv_buf_size_ptr) -> errno */
static enclos_err wasi_args_sizes_get(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                                      enclos_wasm_val *r) {
  const struct host *h = env;
  uint64_t bytes = 0;
  for (int i = 0; i < h->argc; i++) bytes += strlen(h->argv[i]) + 1;
  uint8_t *pc, *pb;
  if (!guest_range(c, a[0].of.i32, 4, &pc) || !guest_range(c, a[1].of.i32, 4, &pb)) {
    ret_errno(r, WASI_EFAULT);
    return ENCLOS_OK;
  }
  put32(pc, (uint32_t)h->argc);
  put32(pb, (uint32_t)bytes);
  ret_errno(r, WASI_ESUCCESS);
  return ENCLOS_OK;
}

/* args_get(argv_ptr, argv_buf_ptr) -> errno: pointers into argv_buf, NUL-terminated strings. */
static enclos_err wasi_args_get(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                                enclos_wasm_val *r) {
  const struct host *h = env;
  uint32_t argv_ptr = a[0].of.i32, buf_ptr = a[1].of.i32;
  for (int i = 0; i < h->argc; i++) {
    size_t len = strlen(h->argv[i]) + 1;
    uint8_t *slot, *dst;
    if (!guest_range(c, argv_ptr + 4u * (uint32_t)i, 4, &slot) || !guest_range(c, buf_ptr, len, &dst) ||
        len > UINT32_MAX - buf_ptr) {
      ret_errno(r, WASI_EFAULT);
      return ENCLOS_OK;
    }
    put32(slot, buf_ptr);
    memcpy(dst, h->argv[i], len);
    buf_ptr += (uint32_t)len;
  }
  ret_errno(r, WASI_ESUCCESS);
  return ENCLOS_OK;
}

/* fd_close(fd) -> errno: nothing is open besides stdio, which we keep open. */
static enclos_err wasi_fd_close(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                                enclos_wasm_val *r) {
  ret_errno(r, a[0].of.i32 <= 2 ? WASI_ESUCCESS : WASI_EBADF);
  return ENCLOS_OK;
}

/* fd_fdstat_get(fd, stat_ptr) -> errno. fdstat: u8 filetype @0, u16 flags @2, u64 rights_base @8,
 * u64 rights_inheriting @16 (24 bytes). stdio are character devices (filetype 2). */
static enclos_err wasi_fd_fdstat_get(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                                     enclos_wasm_val *r) {
  uint8_t *p;
  if (a[0].of.i32 > 2) {
    ret_errno(r, WASI_EBADF);
    return ENCLOS_OK;
  }
  if (!guest_range(c, a[1].of.i32, 24, &p)) {
    ret_errno(r, WASI_EFAULT);
    return ENCLOS_OK;
  }
  memset(p, 0, 24);
  p[0] = 2; /* character_device */
  /* rights_base: fd_read (bit 1) for stdin, fd_write (bit 6) for stdout/stderr */
  p[8] = a[0].of.i32 == 0 ? 0x02 : 0x40;
  ret_errno(r, WASI_ESUCCESS);
  return ENCLOS_OK;
}

/* fd_seek(fd, offset i64, whence, newoffset_ptr) -> errno: stdio cannot seek. */
static enclos_err wasi_fd_seek(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                               enclos_wasm_val *r) {
  ret_errno(r, a[0].of.i32 <= 2 ? WASI_ESPIPE : WASI_EBADF);
  return ENCLOS_OK;
}

/* fd_write(fd, iovs_ptr, iovs_len, nwritten_ptr) -> errno; iovec = {u32 buf, u32 len}. */
#define WASI_IOVS_MAX 1024
static enclos_err wasi_fd_write(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                                enclos_wasm_val *r) {
  uint32_t fd = a[0].of.i32, iovs = a[1].of.i32, n = a[2].of.i32;
  FILE *out = fd == 1 ? stdout : fd == 2 ? stderr : NULL;
  if (!out) {
    ret_errno(r, WASI_EBADF);
    return ENCLOS_OK;
  }
  if (n > WASI_IOVS_MAX) {
    ret_errno(r, WASI_EINVAL);
    return ENCLOS_OK;
  }
  uint8_t *vec, *pn;
  if (!guest_range(c, iovs, (uint64_t)n * 8, &vec) || !guest_range(c, a[3].of.i32, 4, &pn)) {
    ret_errno(r, WASI_EFAULT);
    return ENCLOS_OK;
  }
  uint32_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *buf;
    uint32_t len = get32(vec + 8 * i + 4);
    if (!guest_range(c, get32(vec + 8 * i), len, &buf) || len > UINT32_MAX - total) {
      ret_errno(r, WASI_EFAULT);
      return ENCLOS_OK;
    }
    if (fwrite(buf, 1, len, out) != len) {
      ret_errno(r, WASI_EINVAL);
      return ENCLOS_OK;
    }
    total += len;
  }
  put32(pn, total);
  ret_errno(r, WASI_ESUCCESS);
  return ENCLOS_OK;
}

/* proc_exit(code): ends the top-level call. */
static enclos_err wasi_proc_exit(enclos_wasm_caller *c, void *env, const enclos_wasm_val *a,
                                 enclos_wasm_val *r) {
  return enclos_wasm_caller_exit(c, a[0].of.i32);
}

static const struct {
  const char *name;
  const char *sig;
  enclos_wasm_host_fn fn;
} wasi_funcs[] = {
    {"args_get", "ii:i", wasi_args_get},
    {"args_sizes_get", "ii:i", wasi_args_sizes_get},
    {"fd_close", "i:i", wasi_fd_close},
    {"fd_fdstat_get", "ii:i", wasi_fd_fdstat_get},
    {"fd_seek", "iIii:i", wasi_fd_seek},
    {"fd_write", "iiii:i", wasi_fd_write},
    {"proc_exit", "i:", wasi_proc_exit},
};

static enclos_err read_file(const char *path, uint8_t **data, size_t *size) {
  enclos_err rc = ENCLOS_OK;
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f, ENCLOS_E_IO, "cannot open %s: %s", path, strerror(errno));
  for (;;) {
    if (len == cap) {
      ENCLOS_GUARD_ENSUREF(cap < BENCH_MODULE_MAX, ENCLOS_E_LIMIT, "%s is larger than %u bytes", path,
                    BENCH_MODULE_MAX);
      cap = cap ? cap * 2 : 65536;
      uint8_t *nb = enclos_realloc(buf, cap);
      ENCLOS_GUARD_ENSUREF(nb, ENCLOS_E_NOMEM, "reading %s", path);
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  ENCLOS_GUARD_ENSUREF(!ferror(f), ENCLOS_E_IO, "cannot read %s", path);
  *data = buf;
  *size = len;
  buf = NULL;
cleanup:
  if (f) fclose(f);
  enclos_free(buf);
  return rc;
}

static void usage(void) {
  fprintf(stderr, "usage: enclos-bench-wasm [--fuel N] [--no-guard] [--stats] FILE.wasm [ARG...]\n");
}

int main(int argc, char **argv) {
  uint64_t fuel = 0;
  bool stats = false, no_guard = false;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--fuel") == 0 && i + 1 < argc) {
      fuel = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--stats") == 0) {
      stats = true;
    } else if (strcmp(argv[i], "--no-guard") == 0) {
      no_guard = true;
    } else {
      usage();
      return 2;
    }
  }
  if (i >= argc) {
    usage();
    return 2;
  }
  const char *path = argv[i];
  struct host host = {.argc = argc - i, .argv = argv + i};

  int status = BENCH_EX_SOFTWARE;
  const char *step = "reading the module";
  uint8_t *bytes = NULL;
  size_t size = 0;
  enclos_wasm_module *mod = NULL;
  enclos_wasm_store *store = NULL;
  enclos_wasm_imports *imp = NULL;
  enclos_wasm_instance *inst = NULL;
  double t0 = now_ms(), t1 = t0, t2 = t0, t3 = t0;

  enclos_err rc = read_file(path, &bytes, &size);
  if (rc != ENCLOS_OK) goto fail;
  t0 = now_ms();
  step = "loading (decode, validate, compile)";
  rc = enclos_wasm_module_load(bytes, size, &mod);
  if (rc != ENCLOS_OK) goto fail;
  t1 = now_ms();

  step = "creating the store";
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = fuel;
  if (no_guard) lim.guard_pages = false;
  rc = enclos_wasm_store_new(&lim, &store);
  if (rc != ENCLOS_OK) goto fail;
  step = "registering the WASI imports";
  rc = enclos_wasm_imports_new(&imp);
  if (rc != ENCLOS_OK) goto fail;
  for (size_t k = 0; k < sizeof wasi_funcs / sizeof wasi_funcs[0]; k++) {
    rc = enclos_wasm_imports_add_func(imp, "wasi_snapshot_preview1", wasi_funcs[k].name,
                                      wasi_funcs[k].sig, wasi_funcs[k].fn, &host);
    if (rc != ENCLOS_OK) goto fail;
  }
  step = "instantiating";
  rc = enclos_wasm_instantiate(store, mod, imp, &inst);
  if (rc != ENCLOS_OK) goto fail;
  t2 = now_ms();

  step = "finding the _start export";
  enclos_wasm_extern start;
  rc = enclos_wasm_instance_export(inst, (enclos_wasm_name){"_start", 6}, &start);
  if (rc != ENCLOS_OK) goto fail;
  step = "running _start";
  rc = enclos_wasm_call(store, start, NULL, 0, NULL, 0);
  t3 = now_ms();
  fflush(stdout);
  if (rc == ENCLOS_OK) {
    status = 0;
  } else {
    enclos_wasm_trap trap;
    enclos_wasm_store_trap(store, &trap);
    if (trap.kind != ENCLOS_WASM_TRAP_EXIT) goto fail;
    status = (int)(trap.exit_code & 0xff);
  }
  if (stats)
    fprintf(stderr,
            "enclos-bench-wasm: %s: load %.3f ms, instantiate %.3f ms, run %.3f ms, fuel used %" PRIu64
            "\n",
            path, t1 - t0, t2 - t1, t3 - t2, enclos_wasm_store_fuel_used(store));
  goto out;

fail:
  fflush(stdout);
  fprintf(stderr, "enclos-bench-wasm: %s: %s failed: %s: %s\n", path, step, enclos_strerror(rc),
          enclos_err_detail());
  if (store && (rc == ENCLOS_E_TRAP || rc == ENCLOS_E_FUEL || rc == ENCLOS_E_INTERRUPTED)) {
    enclos_wasm_trap trap;
    enclos_wasm_store_trap(store, &trap);
    fprintf(stderr, "enclos-bench-wasm: trap: %s in function %" PRIu32 " (%.*s) at offset 0x%" PRIx32
                    "\n",
            enclos_wasm_trap_message(trap.kind), trap.func_index, (int)trap.func_name.len,
            trap.func_name.data ? trap.func_name.data : "", trap.code_offset);
  }
  status = BENCH_EX_SOFTWARE;
out:
  enclos_wasm_imports_free(imp);
  enclos_wasm_store_free(store);
  enclos_wasm_module_free(mod);
  enclos_free(bytes);
  return status;
}
