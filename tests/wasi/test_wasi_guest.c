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

/* Runs \p wasm_path with argv/env and an optional preopen (host dir -> "/sandbox"). Returns
 * false (after printing SKIP) when the engine reports the module uses something it does not
 * support yet. */
static bool run_guest(const char *wasm_path, size_t argc, const char *const *argv,
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
  enclos_err rc = enclos_wasi_run(w, wasm, size, &lim, &o->res, o->trap_name,
                                  sizeof(o->trap_name));
  if (rc == ENCLOS_E_UNSUPPORTED) {
    printf("SKIP %s: the engine does not support this module yet: %s\n", wasm_path,
           enclos_err_detail());
    enclos_wasi_free(w);
    free(wasm);
    return false;
  }
  CHECK_OK(rc);
  const uint8_t *d;
  size_t n;
  CHECK_OK(enclos_wasi_captured(w, 1, &d, &n));
  if (n) memcpy(o->out, d, n);
  o->out[n] = '\0';
  CHECK_OK(enclos_wasi_captured(w, 2, &d, &n));
  if (n) memcpy(o->err, d, n);
  o->err[n] = '\0';
  enclos_wasi_free(w);
  free(wasm);
  return true;
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
  if (!run_guest(GUEST("args_env"), 3, argv, "GREETING=hi there", NULL, NULL, 0, &g_out)) return;
  CHECK(!g_out.res.trapped);
  CHECK_EQ_INT(g_out.res.exit_code, 0);
  CHECK_STR(g_out.out, "argc=3\nargv[1]=one\nargv[2]=two words\nGREETING=hi there\n");
}

TEST(guest_exit_codes) {
  if (!engine_ready("guest_exit_codes")) return;
  const char *codes[] = {"0", "7", "255"};
  for (int i = 0; i < 3; i++) {
    const char *argv[] = {"exitcode", codes[i]};
    if (!run_guest(GUEST("exitcode"), 2, argv, NULL, NULL, NULL, 0, &g_out)) return;
    CHECK(!g_out.res.trapped);
    CHECK_EQ_INT(g_out.res.exit_code, atoi(codes[i]));
    CHECK_CONTAINS(g_out.out, "exiting with");
  }
}

TEST(guest_trap) {
  if (!engine_ready("guest_trap")) return;
  const char *argv[] = {"trap"};
  if (!run_guest(GUEST("trap"), 1, argv, NULL, NULL, NULL, 0, &g_out)) return;
  CHECK(g_out.res.trapped);
  CHECK_EQ_INT(g_out.res.trap.kind, ENCLOS_WASM_TRAP_UNREACHABLE);
  CHECK_STR(g_out.out, "about to trap\n");
}

TEST(guest_stdin_buffer) {
  if (!engine_ready("guest_stdin_buffer")) return;
  const char *argv[] = {"stdin_echo"};
  if (!run_guest(GUEST("stdin_echo"), 1, argv, NULL, NULL, "request body\n", 0, &g_out)) return;
  CHECK_EQ_INT(g_out.res.exit_code, 0);
  CHECK_STR(g_out.out, "request body\n");
  CHECK_STR(g_out.err, "13 bytes\n");
}

TEST(guest_clocks_random) {
  if (!engine_ready("guest_clocks_random")) return;
  const char *argv[] = {"clocks"};
  if (!run_guest(GUEST("clocks"), 1, argv, NULL, NULL, NULL, 0, &g_out)) return;
  CHECK_MSG(g_out.res.exit_code == 0, "clocks: %s", g_out.out);
  CHECK_STR(g_out.out, "clocks ok\n");
}

TEST(guest_files) {
  if (!engine_ready("guest_files")) return;
  const char *argv[] = {"files"};
  if (!run_guest(GUEST("files"), 1, argv, NULL, test_tmpdir(), NULL, 0, &g_out)) return;
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
  if (!run_guest(GUEST("escape"), 1, argv, NULL, root, NULL, 0, &g_out)) return;
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
    if (!run_guest(path, 2, argv, NULL, NULL, NULL, 0, &g_out)) {
      free(expected);
      return;
    }
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
  if (!run_guest(path, 2, argv, NULL, NULL, NULL, 10000, &g_out)) return;
  CHECK(g_out.res.trapped);
  CHECK_EQ_INT(g_out.res.trap.kind, ENCLOS_WASM_TRAP_FUEL_EXHAUSTED);
}

#ifdef WASI_EXAMPLES_DIR
/* examples/hello as a CGI handler: environment in, header block + body out. */
TEST(example_hello_cgi) {
  if (!engine_ready("example_hello_cgi")) return;
  const char *argv[] = {"hello"};
  if (!run_guest(WASI_EXAMPLES_DIR "/hello.wasm", 1, argv, "REQUEST_METHOD=POST", NULL,
                 "12345", 0, &g_out))
    return;
  CHECK_EQ_INT(g_out.res.exit_code, 0);
  CHECK_STR(g_out.out, "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                       "Hello from enclos!\nmethod=POST path=/ query= body=5 bytes\n");
}

/* examples/echo as a command (stdin in, JSON out). */
TEST(example_echo_command) {
  if (!engine_ready("example_echo_command")) return;
  const char *argv[] = {"echo"};
  if (!run_guest(WASI_EXAMPLES_DIR "/echo.wasm", 1, argv, NULL, NULL, "say \"hi\"\n", 0, &g_out))
    return;
  CHECK_EQ_INT(g_out.res.exit_code, 0);
  CHECK_STR(g_out.out, "{\"echo\":\"say \\\"hi\\\"\",\"length\":8}\n");
}

/* examples/echo through the function-call ABI: cabi_realloc, copy the argument in, call
 * echo(ptr, len), read the (ptr, len) pair it returns (docs/apps.md, "Function calls"). */
TEST(example_echo_function_abi) {
  if (!engine_ready("example_echo_function_abi")) return;
  size_t size;
  uint8_t *wasm = test_read_file(WASI_EXAMPLES_DIR "/echo.wasm", &size);
  enclos_wasi *w = NULL;
  enclos_wasm_module *m = NULL;
  enclos_wasm_store *s = NULL;
  enclos_wasm_imports *imp = NULL;
  enclos_wasm_instance *inst = NULL;
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  CHECK_OK(enclos_wasi_new(&w));
  CHECK_OK(enclos_wasm_module_load(wasm, size, &m));
  CHECK_OK(enclos_wasm_store_new(&lim, &s));
  CHECK_OK(enclos_wasm_imports_new(&imp));
  CHECK_OK(enclos_wasi_add_imports(w, imp));
  CHECK_OK(enclos_wasm_instantiate(s, m, imp, &inst));
  enclos_wasm_extern realloc_fn, echo_fn, mem;
  CHECK_OK(enclos_wasm_instance_export(inst, (enclos_wasm_name){"cabi_realloc", 12}, &realloc_fn));
  CHECK_OK(enclos_wasm_instance_export(inst, (enclos_wasm_name){"echo", 4}, &echo_fn));
  CHECK_OK(enclos_wasm_instance_export(inst, (enclos_wasm_name){"memory", 6}, &mem));
  static const char arg[] = "hello\tworld";
  enclos_wasm_val a[4] = {{.type = ENCLOS_WASM_I32}, {.type = ENCLOS_WASM_I32},
                          {.type = ENCLOS_WASM_I32}, {.type = ENCLOS_WASM_I32}};
  a[2].of.i32 = 1;
  a[3].of.i32 = sizeof(arg) - 1;
  enclos_wasm_val r[1];
  CHECK_OK(enclos_wasm_call(s, realloc_fn, a, 4, r, 1));
  uint32_t ptr = r[0].of.i32;
  uint8_t *data;
  size_t msize;
  CHECK_OK(enclos_wasm_memory_data(mem, &data, &msize));
  CHECK((uint64_t)ptr + sizeof(arg) - 1 <= msize);
  memcpy(data + ptr, arg, sizeof(arg) - 1);
  enclos_wasm_val e[2] = {{.type = ENCLOS_WASM_I32}, {.type = ENCLOS_WASM_I32}};
  e[0].of.i32 = ptr;
  e[1].of.i32 = sizeof(arg) - 1;
  CHECK_OK(enclos_wasm_call(s, echo_fn, e, 2, r, 1));
  CHECK_OK(enclos_wasm_memory_data(mem, &data, &msize));
  uint32_t pair = r[0].of.i32;
  CHECK((uint64_t)pair + 8 <= msize);
  uint32_t rp, rl;
  memcpy(&rp, data + pair, 4);
  memcpy(&rl, data + pair + 4, 4);
  CHECK((uint64_t)rp + rl <= msize);
  static const char want[] = "{\"echo\":\"hello\\u0009world\",\"length\":11}";
  CHECK_EQ_INT(rl, sizeof(want) - 1);
  CHECK_MEM(data + rp, want, rl);
  enclos_wasm_imports_free(imp);
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  enclos_wasi_free(w);
  free(wasm);
}
#endif

TEST(guest_errno_results) {
  if (!engine_ready("guest_errno_results")) return;
  const char *argv[] = {"errors"};
  if (!run_guest(GUEST("errors"), 1, argv, NULL, test_tmpdir(), NULL, 0, &g_out)) return;
  CHECK(!g_out.res.trapped);
  CHECK_MSG(g_out.res.exit_code == 0, "errors: %s", g_out.out);
  CHECK_STR(g_out.out, "errors ok\n");
}

TEST(guest_poll) {
  if (!engine_ready("guest_poll")) return;
  const char *argv[] = {"poll"};
  if (!run_guest(GUEST("poll"), 1, argv, NULL, NULL, "x", 0, &g_out)) return;
  CHECK_MSG(g_out.res.exit_code == 0, "poll: %s", g_out.out);
  CHECK_STR(g_out.out, "poll ok\n");
}
