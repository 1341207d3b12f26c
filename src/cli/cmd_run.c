/* cmd_run.c: `enclos run [--dir HOST[::GUEST]]... [--env K=V]... [--fuel N] [--max-memory BYTES]
 * app.wasm [args...]`: run a WASI command like `wasmtime run`. The guest's stdout/stderr pass
 * through, the exit status is the guest's exit code, and a trap exits 134 with a message naming
 * the trap, the function and the code offset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/error.h>
#include <enclos/mem.h>
#include <enclos/wasi.h>
#include <enclos/wasm.h>

#include "cli_int.h"

#define RUN_EXIT_TRAP 134 /* what a shell reports for SIGABRT; wasmtime uses it for traps */
#define RUN_MAX_WASM_SIZE (1ull << 30)

static int run_usage(void) {
  fprintf(stderr,
          "usage: enclos run [--dir HOST[::GUEST]]... [--env K=V]... [--fuel N] "
          "[--max-memory BYTES] app.wasm [args...]\n");
  return CLI_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      if (cap >= RUN_MAX_WASM_SIZE) {
        enclos_free(data);
        data = NULL;
        break;
      }
      size_t ncap = cap ? cap * 2 : 65536;
      uint8_t *p = enclos_realloc(data, ncap);
      if (!p) {
        enclos_free(data);
        data = NULL;
        break;
      }
      data = p;
      cap = ncap;
    }
    size_t n = fread(data + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  if (ferror(f)) {
    enclos_free(data);
    data = NULL;
  }
  fclose(f);
  *size = len;
  return data;
}

int cli_cmd_run(int argc, char **argv) {
  enclos_wasi *w = NULL;
  uint8_t *wasm = NULL;
  size_t wasm_size = 0;
  int status = CLI_EXIT_FAIL;
  enclos_wasm_limits limits;
  enclos_wasm_limits_default(&limits);
  if (enclos_wasi_new(&w) != ENCLOS_OK) {
    fprintf(stderr, "enclos run: %s\n", enclos_err_detail());
    return CLI_EXIT_FAIL;
  }
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-') break;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      run_usage();
      status = CLI_EXIT_OK;
      goto done;
    }
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!val) {
      status = cli_usage_error("run", "%s needs a value", a);
      goto done;
    }
    i++;
    if (strcmp(a, "--dir") == 0) {
      /* HOST[::GUEST]; GUEST defaults to HOST, as in wasmtime. */
      char *host = enclos_strdup(val);
      if (!host) goto done;
      char *sep = strstr(host, "::");
      const char *guest = host;
      if (sep) {
        *sep = '\0';
        guest = sep + 2;
      }
      enclos_err rc = enclos_wasi_preopen_host(w, host, guest);
      enclos_free(host);
      if (rc != ENCLOS_OK) {
        fprintf(stderr, "enclos run: --dir %s: %s\n", val, enclos_err_detail());
        goto done;
      }
    } else if (strcmp(a, "--env") == 0) {
      if (enclos_wasi_add_env(w, val) != ENCLOS_OK) {
        status = cli_usage_error("run", "--env %s: %s", val, enclos_err_detail());
        goto done;
      }
    } else if (strcmp(a, "--fuel") == 0) {
      if (!parse_u64(val, &limits.fuel)) {
        status = cli_usage_error("run", "--fuel wants a number, got '%s'", val);
        goto done;
      }
    } else if (strcmp(a, "--max-memory") == 0) {
      uint64_t bytes;
      if (!parse_u64(val, &bytes) || bytes / ENCLOS_WASM_PAGE_SIZE > 65536) {
        status = cli_usage_error("run", "--max-memory wants bytes up to 4 GiB, got '%s'", val);
        goto done;
      }
      limits.max_memory_pages = (uint32_t)(bytes / ENCLOS_WASM_PAGE_SIZE);
    } else {
      status = cli_usage_error("run", "unknown option '%s'", a);
      goto done;
    }
  }
  if (i >= argc) {
    status = run_usage();
    goto done;
  }
  const char *path = argv[i];
  wasm = read_all(path, &wasm_size);
  if (!wasm) {
    fprintf(stderr, "enclos run: cannot read %s: %s\n", path, strerror(errno));
    goto done;
  }
  if (enclos_wasi_set_args(w, (size_t)(argc - i), (const char *const *)(argv + i)) != ENCLOS_OK) {
    fprintf(stderr, "enclos run: %s\n", enclos_err_detail());
    goto done;
  }
  enclos_wasi_run_result res;
  char fname[256];
  fflush(stdout);
  enclos_err rc = enclos_wasi_run(w, wasm, wasm_size, &limits, &res, fname, sizeof(fname));
  if (rc != ENCLOS_OK) {
    fprintf(stderr, "enclos run: %s: %s (%s)\n", path, enclos_strerror(rc), enclos_err_detail());
    goto done;
  }
  if (res.trapped) {
    fprintf(stderr, "enclos run: %s: wasm trap: %s\n  in function %u", path,
            enclos_wasm_trap_message(res.trap.kind), res.trap.func_index);
    if (fname[0]) {
      /* The name comes from the module (name section or export): print it escaped so a
       * hostile module cannot write control sequences to the operator's terminal. */
      fputs(" (", stderr);
      for (const char *p = fname; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') fputc(ch, stderr);
        else fprintf(stderr, "\\x%02x", ch);
      }
      fputc(')', stderr);
    }
    fprintf(stderr, " at code offset 0x%x\n", res.trap.code_offset);
    status = RUN_EXIT_TRAP;
    goto done;
  }
  status = (int)(res.exit_code & 0xff);
done:
  enclos_free(wasm);
  enclos_wasi_free(w);
  return status;
}
