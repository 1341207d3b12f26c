/* WASI guest programs (tests/wasi/guest/, built to wasm at build time) and the shared
 * benchmark programs, run through the engine. When the engine cannot run code yet (it reports
 * "not supported"), each test prints SKIP with the engine's reason and passes; any other
 * failure fails. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/wasi.h>
#include <enclos/wasm.h>

#include "test.h"

/* (module (func (export "f") (result i32) i32.const 42)) */
static const uint8_t tiny_module[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05,
                                      0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07,
                                      0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04,
                                      0x00, 0x41, 0x2a, 0x0b};

/* True when the engine loads, instantiates and runs the tiny module; otherwise prints SKIP with
 * the reason when the engine says it is not implemented, and fails on anything else. */
static bool engine_ready(const char *test) {
  enclos_wasm_module *m = NULL;
  enclos_wasm_store *s = NULL;
  enclos_wasm_instance *inst = NULL;
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  enclos_err rc = enclos_wasm_module_load(tiny_module, sizeof(tiny_module), &m);
  if (rc == ENCLOS_OK) rc = enclos_wasm_store_new(&lim, &s);
  if (rc == ENCLOS_OK) rc = enclos_wasm_instantiate(s, m, NULL, &inst);
  enclos_wasm_extern f;
  enclos_wasm_val r = {0};
  if (rc == ENCLOS_OK) rc = enclos_wasm_instance_export(inst, (enclos_wasm_name){"f", 1}, &f);
  if (rc == ENCLOS_OK) rc = enclos_wasm_call(s, f, NULL, 0, &r, 1);
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  if (rc == ENCLOS_E_UNSUPPORTED) {
    printf("SKIP %s: engine cannot run code yet: %s\n", test, enclos_err_detail());
    return false;
  }
  CHECK_OK(rc);
  CHECK_EQ_INT(r.of.i32, 42);
#ifndef WASI_GUEST_DIR
  printf("SKIP %s: guests not built (clang cannot target wasm32-wasi)\n", test);
  return false;
#else
  return true;
#endif
}

typedef struct run_out {
  enclos_wasi_run_result res;
  char trap_name[128];
  char out[65536];
  char err[8192];
} run_out;

/* Runs \p wasm_path with argv/env and an optional preopen (host dir -> "/sandbox"). */
static void run_guest(const char *wasm_path, size_t argc, const char *const *argv,
                      const char *env, const char *sandbox, const char *stdin_data,
                      uint64_t fuel, run_out *o) {
  size_t size;
  uint8_t *wasm = test_read_file(wasm_path, &size);
  enclos_wasi *w = NULL;
  CHECK_OK(enclos_wasi_new(&w));
  CHECK_OK(enclos_wasi_set_args(w, argc, argv));
  if (env) CHECK_OK(enclos_wasi_add_env(w, env));
  if (sandbox) CHECK_OK(enclos_wasi_preopen_host(w, sandbox, "/sandbox"));
  if (stdin_data) CHECK_OK(enclos_wasi_stdin_buffer(w, stdin_data, strlen(stdin_data)));
  CHECK_OK(enclos_wasi_stdio_capture(w, 1, sizeof(o->out) - 1));
  CHECK_OK(enclos_wasi_stdio_capture(w, 2, sizeof(o->err) - 1));
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = fuel;
  CHECK_OK(enclos_wasi_run(w, wasm, size, &lim, &o->res, o->trap_name, sizeof(o->trap_name)));
  const uint8_t *d;
  size_t n;
  CHECK_OK(enclos_wasi_captured(w, 1, &d, &n));
  memcpy(o->out, d, n);
  o->out[n] = '\0';
  CHECK_OK(enclos_wasi_captured(w, 2, &d, &n));
  memcpy(o->err, d, n);
  o->err[n] = '\0';
  enclos_wasi_free(w);
  free(wasm);
}

#ifdef WASI_GUEST_DIR
#define GUEST(name) WASI_GUEST_DIR "/" name ".wasm"
#else
#define GUEST(name) "/nonexistent/" name ".wasm"
#endif

static run_out g_out; /* large; one per test child */

TEST(guest_args_env) {
  if (!engine_ready("guest_args_env")) return;
  const char *argv[] = {"args_env", "one", "two words"};
  run_guest(GUEST("args_env"), 3, argv, "GREETING=hi there", NULL, NULL, 0, &g_out);
  CHECK(!g_out.res.trapped);
  CHECK_EQ_INT(g_out.res.exit_code, 0);
  CHECK_STR(g_out.out, "argc=3\nargv[1]=one\nargv[2]=two words\nGREETING=hi there\n");
}

TEST(guest_exit_codes) {
  if (!engine_ready("guest_exit_codes")) return;
  const char *codes[] = {"0", "7", "255"};
  for (int i = 0; i < 3; i++) {
    const char *argv[] = {"exitcode", codes[i]};
    run_guest(GUEST("exitcode"), 2, argv, NULL, NULL, NULL, 0, &g_out);
    CHECK(!g_out.res.trapped);
    CHECK_EQ_INT(g_out.res.exit_code, atoi(codes[i]));
    CHECK_CONTAINS(g_out.out, "exiting with");
  }
}

TEST(guest_trap) {
  if (!engine_ready("guest_trap")) return;
  const char *argv[] = {"trap"};
  run_guest(GUEST("trap"), 1, argv, NULL, NULL, NULL, 0, &g_out);
  CHECK(g_out.res.trapped);
  CHECK_EQ_INT(g_out.res.trap.kind, ENCLOS_WASM_TRAP_UNREACHABLE);
  CHECK_STR(g_out.out, "about to trap\n");
}

TEST(guest_stdin_buffer) {
  if (!engine_ready("guest_stdin_buffer")) return;
  const char *argv[] = {"stdin_echo"};
  run_guest(GUEST("stdin_echo"), 1, argv, NULL, NULL, "request body\n", 0, &g_out);
  CHECK_EQ_INT(g_out.res.exit_code, 0);
  CHECK_STR(g_out.out, "request body\n");
  CHECK_STR(g_out.err, "13 bytes\n");
}

TEST(guest_clocks_random) {
  if (!engine_ready("guest_clocks_random")) return;
  const char *argv[] = {"clocks"};
  run_guest(GUEST("clocks"), 1, argv, NULL, NULL, NULL, 0, &g_out);
  CHECK_MSG(g_out.res.exit_code == 0, "clocks: %s", g_out.out);
  CHECK_STR(g_out.out, "clocks ok\n");
}

TEST(guest_files) {
  if (!engine_ready("guest_files")) return;
  const char *argv[] = {"files"};
  run_guest(GUEST("files"), 1, argv, NULL, test_tmpdir(), NULL, 0, &g_out);
  CHECK_MSG(g_out.res.exit_code == 0, "files: %s", g_out.out);
  CHECK_STR(g_out.out, "files ok\n");
}

TEST(guest_path_escape) {
  if (!engine_ready("guest_path_escape")) return;
  char root[512], p[600];
  snprintf(root, sizeof(root), "%s/root", test_tmpdir());
  CHECK(mkdir(root, 0755) == 0);
  snprintf(p, sizeof(p), "%s/sub", root);
  CHECK(mkdir(p, 0755) == 0);
  snprintf(p, sizeof(p), "%s/secret.txt", test_tmpdir());
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0);
  close(fd);
  snprintf(p, sizeof(p), "%s/up", root);
  CHECK(symlink("..", p) == 0);
  snprintf(p, sizeof(p), "%s/abs", root);
  CHECK(symlink("/etc", p) == 0);
  const char *argv[] = {"escape"};
  run_guest(GUEST("escape"), 1, argv, NULL, root, NULL, 0, &g_out);
  CHECK_MSG(g_out.res.exit_code == 0, "escape: %s", g_out.out);
  CHECK_CONTAINS(g_out.out, "escape refused");
  snprintf(p, sizeof(p), "%s/made", test_tmpdir());
  CHECK(access(p, F_OK) != 0);
  snprintf(p, sizeof(p), "%s/newabs", root);
  CHECK(access(p, F_OK) != 0);
}

/* The eight shared benchmark programs at scale 1 print the lines in expected.txt. */
TEST(guest_bench_programs) {
  if (!engine_ready("guest_bench_programs")) return;
  static const char *const names[] = {"fib", "sieve", "matmul", "sha256",
                                      "tokenizer", "memcpy", "lz", "dispatch"};
  size_t esize;
  char *expected = (char *)test_read_file(SHARED("bench/wasm/expected.txt"), &esize);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char path[256], want[128];
    snprintf(path, sizeof(path), "%s/bench/wasm/prebuilt/wasi/%s.wasm", ENCLOS_SHARED_DIR,
             names[i]);
    const char *argv[] = {names[i], "1"};
    run_guest(path, 2, argv, NULL, NULL, NULL, 0, &g_out);
    CHECK_MSG(!g_out.res.trapped, "%s trapped: %s", names[i],
              enclos_wasm_trap_message(g_out.res.trap.kind));
    CHECK_EQ_INT(g_out.res.exit_code, 0);
    /* First line of expected.txt for this name is the scale=1 one. */
    snprintf(want, sizeof(want), "%s scale=1 checksum=", names[i]);
    const char *line = strstr(expected, want);
    CHECK(line);
    size_t len = (size_t)(strchr(line, '\n') - line) + 1;
    CHECK_MSG(strlen(g_out.out) == len && memcmp(g_out.out, line, len) == 0,
              "%s printed \"%s\"", names[i], g_out.out);
  }
  free(expected);
}

TEST(guest_fuel_exhausted) {
  if (!engine_ready("guest_fuel_exhausted")) return;
  char path[256];
  snprintf(path, sizeof(path), "%s/bench/wasm/prebuilt/wasi/fib.wasm", ENCLOS_SHARED_DIR);
  const char *argv[] = {"fib", "1"};
  run_guest(path, 2, argv, NULL, NULL, NULL, 10000, &g_out);
  CHECK(g_out.res.trapped);
  CHECK_EQ_INT(g_out.res.trap.kind, ENCLOS_WASM_TRAP_FUEL_EXHAUSTED);
}
