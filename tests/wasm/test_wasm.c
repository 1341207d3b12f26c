/* Engine tests: modules are written as WAT here and assembled with wabt's wat2wasm at test
 * time. Covers every trap kind, fuel, interrupt, call depth, memory caps, random bytes, host
 * imports, cross-instance linking, both bounds-check layouts, and validation errors. */
#include <pthread.h>
#include <unistd.h>

#include <enclos/mem.h>
#include <enclos/wasm.h>

#include "test.h"

static uint8_t *wat(const char *text, size_t *size) {
  char in[512], out[512], cmd[1200];
  snprintf(in, sizeof(in), "%s/m.wat", test_tmpdir());
  snprintf(out, sizeof(out), "%s/m.wasm", test_tmpdir());
  FILE *f = fopen(in, "w");
  CHECK(f);
  fputs(text, f);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "wat2wasm --enable-all --debug-names -o %s %s", out, in);
  CHECK_MSG(system(cmd) == 0, "wat2wasm failed on:\n%s", text);
  return test_read_file(out, size);
}

static enclos_err load_wat(const char *text, enclos_wasm_module **m) {
  size_t n;
  uint8_t *b = wat(text, &n);
  enclos_err rc = enclos_wasm_module_load(b, n, m);
  free(b);
  return rc;
}

typedef struct rt {
  enclos_wasm_module *m;
  enclos_wasm_store *s;
  enclos_wasm_instance *i;
} rt;

static void rt_new(rt *r, const char *text, const enclos_wasm_limits *lim) {
  CHECK_OK(load_wat(text, &r->m));
  CHECK_OK(enclos_wasm_store_new(lim, &r->s));
  CHECK_OK(enclos_wasm_instantiate(r->s, r->m, NULL, &r->i));
}
static void rt_free(rt *r) {
  enclos_wasm_store_free(r->s);
  enclos_wasm_module_free(r->m);
}

static enclos_wasm_name nm(const char *s) { return (enclos_wasm_name){s, strlen(s)}; }
static enclos_wasm_val i32v(uint32_t v) { return (enclos_wasm_val){.type = ENCLOS_WASM_I32, .of.i32 = v}; }
static enclos_wasm_val i64v(uint64_t v) { return (enclos_wasm_val){.type = ENCLOS_WASM_I64, .of.i64 = v}; }

static enclos_err call1(rt *r, const char *name, const enclos_wasm_val *args, size_t nargs,
                        enclos_wasm_val *res, size_t nres) {
  enclos_wasm_extern f;
  CHECK_OK(enclos_wasm_instance_export(r->i, nm(name), &f));
  return enclos_wasm_call(r->s, f, args, nargs, res, nres);
}

static const char *arith =
    "(module"
    " (func (export \"fac\") (param i64) (result i64)"
    "  (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))"
    "   (else (i64.mul (local.get 0) (call 0 (i64.sub (local.get 0) (i64.const 1)))))))"
    " (func (export \"fib\") (param i32) (result i32)"
    "  (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))"
    "   (else (i32.add (call 1 (i32.sub (local.get 0) (i32.const 1)))"
    "                  (call 1 (i32.sub (local.get 0) (i32.const 2)))))))"
    " (func (export \"sum\") (param i32) (result i32) (local i32)"
    "  (block (loop (br_if 1 (i32.eqz (local.get 0)))"
    "   (local.set 1 (i32.add (local.get 1) (local.get 0)))"
    "   (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0)))"
    "  (local.get 1))"
    " (func (export \"swap\") (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))"
    " (func (export \"sel\") (param i32) (result i32)"
    "  (block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 10)))"
    "   (return (i32.const 11))) (i32.const 12))"
    " (func (export \"div\") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))"
    " (func (export \"tee\") (param i32) (result i32) (local i32)"
    "  (local.set 1 (i32.add (local.get 0) (i32.const 5)))"
    "  (i32.add (local.tee 0 (i32.mul (local.get 1) (i32.const 2))) (local.get 0)))"
    ")";

TEST(arithmetic_calls_loops_branches) {
  rt r;
  rt_new(&r, arith, NULL);
  enclos_wasm_val a = i64v(20), res[2];
  CHECK_OK(call1(&r, "fac", &a, 1, res, 1));
  CHECK_EQ_U64(res[0].of.i64, 2432902008176640000ull);
  a = i32v(20);
  CHECK_OK(call1(&r, "fib", &a, 1, res, 1));
  CHECK_EQ_INT(res[0].of.i32, 6765);
  a = i32v(100);
  CHECK_OK(call1(&r, "sum", &a, 1, res, 1));
  CHECK_EQ_INT(res[0].of.i32, 5050);
  enclos_wasm_val two[2] = {i32v(1), i32v(2)};
  CHECK_OK(call1(&r, "swap", two, 2, res, 2));
  CHECK_EQ_INT(res[0].of.i32, 2);
  CHECK_EQ_INT(res[1].of.i32, 1);
  for (uint32_t k = 0; k < 5; k++) {
    a = i32v(k);
    CHECK_OK(call1(&r, "sel", &a, 1, res, 1));
    CHECK_EQ_INT(res[0].of.i32, k == 0 ? 10 : k == 1 ? 11 : 12);
  }
  a = i32v(3);
  CHECK_OK(call1(&r, "tee", &a, 1, res, 1));
  CHECK_EQ_INT(res[0].of.i32, 32);
  /* wrong argument types are rejected before running */
  a = i64v(1);
  CHECK_ERR(call1(&r, "fib", &a, 1, res, 1), ENCLOS_E_INVAL);
  rt_free(&r);
}

static void expect_trap(rt *r, const char *fn, const enclos_wasm_val *args, size_t n,
                        enclos_wasm_trap_kind kind) {
  enclos_wasm_val res[2];
  enclos_wasm_extern f;
  CHECK_OK(enclos_wasm_instance_export(r->i, nm(fn), &f));
  enclos_wasm_externtype t;
  CHECK_OK(enclos_wasm_extern_type(f, &t));
  enclos_err rc = enclos_wasm_call(r->s, f, args, n, res, t.of.func.nresults);
  CHECK_MSG(rc == ENCLOS_E_TRAP || rc == ENCLOS_E_FUEL, "%s: %s", fn, enclos_err_name(rc));
  enclos_wasm_trap tr;
  enclos_wasm_store_trap(r->s, &tr);
  CHECK_MSG(tr.kind == kind, "%s: trap %s, want %s", fn, enclos_wasm_trap_message(tr.kind),
            enclos_wasm_trap_message(kind));
}

static const char *traps =
    "(module (memory 1) (table 2 funcref) (elem (i32.const 0) 0)"
    " (type $v (func)) (type $i (func (result i32)))"
    " (func (export \"unreachable\") unreachable)"
    " (func (export \"oob\") (drop (i32.load (i32.const 65534))))"
    " (func (export \"oob_store\") (i64.store offset=65530 (i32.const 0) (i64.const 1)))"
    " (func (export \"divz\") (drop (i32.div_u (i32.const 1) (i32.const 0))))"
    " (func (export \"ovf\") (drop (i64.div_s (i64.const 0x8000000000000000) (i64.const -1))))"
    " (func (export \"conv\") (drop (i32.trunc_f32_s (f32.const nan))))"
    " (func (export \"conv_ovf\") (drop (i32.trunc_f64_u (f64.const -1))))"
    " (func (export \"undef\") (call_indirect (type $v) (i32.const 5)))"
    " (func (export \"uninit\") (call_indirect (type $v) (i32.const 1)))"
    " (func (export \"mismatch\") (drop (call_indirect (type $i) (i32.const 0))))"
    " (func (export \"tableoob\") (drop (table.get 0 (i32.const 7))))"
    " (func (export \"fill\") (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000)))"
    " (func $r (export \"rec\") (param i32) (result i32)"
    "  (if (result i32) (local.get 0) (then (i32.add (i32.const 1) (call $r (i32.sub (local.get 0) (i32.const 1)))))"
    "   (else (i32.const 0))))"
    " (func (export \"spin\") (loop (br 0)))"
    ")";

TEST(every_trap_kind) {
  rt r;
  rt_new(&r, traps, NULL);
  expect_trap(&r, "unreachable", NULL, 0, ENCLOS_WASM_TRAP_UNREACHABLE);
  expect_trap(&r, "oob", NULL, 0, ENCLOS_WASM_TRAP_MEMORY_OOB);
  expect_trap(&r, "oob_store", NULL, 0, ENCLOS_WASM_TRAP_MEMORY_OOB);
  expect_trap(&r, "divz", NULL, 0, ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  expect_trap(&r, "ovf", NULL, 0, ENCLOS_WASM_TRAP_INT_OVERFLOW);
  expect_trap(&r, "conv", NULL, 0, ENCLOS_WASM_TRAP_INVALID_CONVERSION);
  expect_trap(&r, "conv_ovf", NULL, 0, ENCLOS_WASM_TRAP_INT_OVERFLOW);
  expect_trap(&r, "undef", NULL, 0, ENCLOS_WASM_TRAP_UNDEFINED_ELEMENT);
  expect_trap(&r, "uninit", NULL, 0, ENCLOS_WASM_TRAP_UNINITIALIZED_ELEMENT);
  expect_trap(&r, "mismatch", NULL, 0, ENCLOS_WASM_TRAP_INDIRECT_TYPE_MISMATCH);
  expect_trap(&r, "tableoob", NULL, 0, ENCLOS_WASM_TRAP_TABLE_OOB);
  expect_trap(&r, "fill", NULL, 0, ENCLOS_WASM_TRAP_MEMORY_OOB);
  CHECK_STR(enclos_wasm_trap_message(ENCLOS_WASM_TRAP_STACK_EXHAUSTED), "call stack exhausted");
  rt_free(&r);
}

TEST(deep_recursion_traps_cleanly) {
  rt r;
  rt_new(&r, traps, NULL);
  enclos_wasm_val a = i32v(100000), res;
  expect_trap(&r, "rec", &a, 1, ENCLOS_WASM_TRAP_STACK_EXHAUSTED);
  a = i32v(5000); /* within the default depth of 10,000 */
  CHECK_OK(call1(&r, "rec", &a, 1, &res, 1));
  CHECK_EQ_INT(res.of.i32, 5000);
  rt_free(&r);
}

TEST(fuel_exhaustion_and_fuel_used) {
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = 100000;
  rt r;
  rt_new(&r, traps, &lim);
  enclos_wasm_extern f;
  CHECK_OK(enclos_wasm_instance_export(r.i, nm("spin"), &f));
  CHECK_ERR(enclos_wasm_call(r.s, f, NULL, 0, NULL, 0), ENCLOS_E_FUEL);
  enclos_wasm_trap tr;
  enclos_wasm_store_trap(r.s, &tr);
  CHECK_EQ_INT(tr.kind, ENCLOS_WASM_TRAP_FUEL_EXHAUSTED);
  CHECK_EQ_U64(enclos_wasm_store_fuel_used(r.s), 100000);
  enclos_wasm_val a = i32v(10), res;
  CHECK_OK(call1(&r, "rec", &a, 1, &res, 1));
  uint64_t used = enclos_wasm_store_fuel_used(r.s);
  CHECK(used > 10 && used < 1000);
  rt_free(&r);
}

static void *interrupter(void *arg) {
  usleep(50000);
  enclos_wasm_store_interrupt(arg);
  return NULL;
}

TEST(interrupt_from_another_thread) {
  rt r;
  rt_new(&r, traps, NULL); /* unmetered: only the interrupt can stop it */
  pthread_t th;
  CHECK(pthread_create(&th, NULL, interrupter, r.s) == 0);
  enclos_wasm_extern f;
  CHECK_OK(enclos_wasm_instance_export(r.i, nm("spin"), &f));
  CHECK_ERR(enclos_wasm_call(r.s, f, NULL, 0, NULL, 0), ENCLOS_E_INTERRUPTED);
  pthread_join(th, NULL);
  enclos_wasm_trap tr;
  enclos_wasm_store_trap(r.s, &tr);
  CHECK_EQ_INT(tr.kind, ENCLOS_WASM_TRAP_INTERRUPTED);
  rt_free(&r);
}

static const char *mem =
    "(module (memory (export \"mem\") 1 4)"
    " (data (i32.const 16) \"hello\")"
    " (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))"
    " (func (export \"size\") (result i32) (memory.size))"
    " (func (export \"ld\") (param i32) (result i32) (i32.load8_u (local.get 0)))"
    " (func (export \"st\") (param i32 i32) (i32.store (local.get 0) (local.get 1)))"
    " (func (export \"copy\") (memory.copy (i32.const 100) (i32.const 16) (i32.const 5)))"
    ")";

static void memory_paths(bool guard) {
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.guard_pages = guard;
  rt r;
  rt_new(&r, mem, &lim);
  enclos_wasm_val a[2] = {i32v(16), i32v(0)}, res;
  CHECK_OK(call1(&r, "ld", a, 1, &res, 1));
  CHECK_EQ_INT(res.of.i32, 'h');
  a[0] = i32v(65535);
  CHECK_OK(call1(&r, "ld", a, 1, &res, 1));
  a[0] = i32v(65536);
  expect_trap(&r, "ld", a, 1, ENCLOS_WASM_TRAP_MEMORY_OOB);
  a[0] = i32v(65533);
  a[1] = i32v(7);
  expect_trap(&r, "st", a, 2, ENCLOS_WASM_TRAP_MEMORY_OOB);
  a[0] = i32v(2);
  CHECK_OK(call1(&r, "grow", a, 1, &res, 1));
  CHECK_EQ_INT(res.of.i32, 1);
  a[0] = i32v(65536 * 3 - 4);
  a[1] = i32v(0x01020304);
  CHECK_OK(call1(&r, "st", a, 2, NULL, 0));
  a[0] = i32v(65536 * 3 - 4);
  CHECK_OK(call1(&r, "ld", a, 1, &res, 1));
  CHECK_EQ_INT(res.of.i32, 4);
  a[0] = i32v(2); /* past the declared max of 4 */
  CHECK_OK(call1(&r, "grow", a, 1, &res, 1));
  CHECK_EQ_INT((int32_t)res.of.i32, -1);
  CHECK_OK(call1(&r, "copy", NULL, 0, NULL, 0));
  enclos_wasm_extern me;
  uint8_t *data;
  size_t size;
  CHECK_OK(enclos_wasm_instance_export(r.i, nm("mem"), &me));
  CHECK_OK(enclos_wasm_memory_data(me, &data, &size));
  CHECK_EQ_INT(size, 3 * 65536);
  CHECK(memcmp(data + 100, "hello", 5) == 0);
  rt_free(&r);
}

TEST(memory_with_guard_pages) { memory_paths(true); }
TEST(memory_with_explicit_checks) { memory_paths(false); }

TEST(memory_over_the_cap_is_a_clean_error) {
  enclos_wasm_module *m;
  enclos_wasm_store *s;
  enclos_wasm_instance *i;
  CHECK_OK(load_wat("(module (memory 16385))", &m)); /* 1 GiB + 64 KiB */
  CHECK_OK(enclos_wasm_store_new(NULL, &s));
  CHECK_ERR(enclos_wasm_instantiate(s, m, NULL, &i), ENCLOS_E_LIMIT);
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  /* growing past the cap returns -1 */
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.max_memory_pages = 2;
  rt r;
  rt_new(&r, mem, &lim);
  enclos_wasm_val a = i32v(16384), res;
  CHECK_OK(call1(&r, "grow", &a, 1, &res, 1));
  CHECK_EQ_INT((int32_t)res.of.i32, -1);
  rt_free(&r);
}

TEST(random_bytes_are_rejected) {
  srand(1234);
  for (int k = 0; k < 200; k++) {
    uint8_t buf[256];
    size_t n = (size_t)(rand() % 256);
    for (size_t j = 0; j < n; j++) buf[j] = (uint8_t)rand();
    if (k % 2 && n >= 8) memcpy(buf, "\0asm\1\0\0\0", 8);
    enclos_wasm_module *m = NULL;
    enclos_err rc = enclos_wasm_module_load(buf, n, &m);
    CHECK(rc != ENCLOS_OK || m != NULL);
    enclos_wasm_module_free(m);
  }
  enclos_wasm_module *m;
  CHECK_ERR(enclos_wasm_module_load("\0asx\1\0\0\0", 8, &m), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "magic header not detected");
  CHECK_ERR(enclos_wasm_module_load("\0asm\2\0\0\0", 8, &m), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "unknown binary version");
  CHECK_ERR(enclos_wasm_module_load("\0asm\1\0\0\0\x0d\0", 10, &m), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "malformed section id");
  CHECK_ERR(enclos_wasm_module_load("\0asm\1\0\0\0\x01\x05\x01\x60\0\0", 14, &m), ENCLOS_E_MALFORMED);
  CHECK_OK(enclos_wasm_module_load("\0asm\1\0\0\0", 8, &m));
  enclos_wasm_module_free(m);
}

static void expect_invalid(const char *text, const char *msg) {
  enclos_wasm_module *m = NULL;
  size_t n;
  char cmd[1200], in[512], out[512];
  snprintf(in, sizeof(in), "%s/bad.wat", test_tmpdir());
  snprintf(out, sizeof(out), "%s/bad.wasm", test_tmpdir());
  FILE *f = fopen(in, "w");
  CHECK(f);
  fputs(text, f);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "wat2wasm --no-check -o %s %s", out, in);
  CHECK(system(cmd) == 0);
  uint8_t *b = test_read_file(out, &n);
  enclos_err rc = enclos_wasm_module_load(b, n, &m);
  free(b);
  CHECK_MSG(rc == ENCLOS_E_INVALID, "%s -> %s", text, enclos_err_name(rc));
  CHECK_CONTAINS(enclos_err_detail(), msg);
  CHECK_CONTAINS(enclos_err_detail(), "section, offset 0x");
}

TEST(validation_errors_name_the_rule) {
  expect_invalid("(module (func (result i32) (i64.const 1)))", "type mismatch");
  expect_invalid("(module (func (call 5)))", "unknown function");
  expect_invalid("(module (func (drop (local.get 3))))", "unknown local");
  expect_invalid("(module (memory 1) (func (drop (i32.load align=8 (i32.const 0)))))",
                 "alignment must not be larger than natural");
  expect_invalid("(module (func (br 2)))", "unknown label");
  expect_invalid("(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))",
                 "global is immutable");
  expect_invalid("(module (func (drop (i32.load (i32.const 0)))))", "unknown memory");
  expect_invalid("(module (func (drop (ref.func 0))))", "undeclared function reference");
  expect_invalid("(module (func (i32.const 1) (i32.const 2) (drop)))", "type mismatch");
}

static enclos_err host_add(enclos_wasm_caller *c, void *env, const enclos_wasm_val *args,
                           enclos_wasm_val *res) {
  (*(int *)env)++;
  uint8_t *data;
  size_t size;
  enclos_wasm_caller_memory(c, &data, &size);
  if (size < 1) return enclos_err_set(ENCLOS_E_RANGE, __FILE__, __LINE__, "no memory");
  data[0] = 42;
  res[0].of.i32 = args[0].of.i32 + args[1].of.i32;
  return ENCLOS_OK;
}
static enclos_err host_fail(enclos_wasm_caller *c, void *env, const enclos_wasm_val *args,
                            enclos_wasm_val *res) {
  return enclos_err_set(ENCLOS_E_DENIED, __FILE__, __LINE__, "nope");
}
static enclos_err host_exit(enclos_wasm_caller *c, void *env, const enclos_wasm_val *args,
                            enclos_wasm_val *res) {
  return enclos_wasm_caller_exit(c, 7);
}

TEST(host_function_imports) {
  enclos_wasm_module *m;
  enclos_wasm_store *s;
  enclos_wasm_instance *i;
  CHECK_OK(load_wat("(module (import \"env\" \"add\" (func $a (param i32 i32) (result i32)))"
                    " (import \"env\" \"fail\" (func $f)) (import \"env\" \"exit\" (func $e))"
                    " (memory 1)"
                    " (func (export \"go\") (result i32) (i32.add (call $a (i32.const 2) (i32.const 3)) (i32.load8_u (i32.const 0))))"
                    " (func (export \"f\") (call $f)) (func (export \"e\") (call $e)))",
                    &m));
  CHECK_EQ_INT(enclos_wasm_module_import_count(m), 3);
  enclos_wasm_name mod, name;
  enclos_wasm_externtype t;
  CHECK_OK(enclos_wasm_module_import(m, 0, &mod, &name, &t));
  CHECK(name.len == 3 && memcmp(name.data, "add", 3) == 0);
  CHECK_EQ_INT(t.of.func.nparams, 2);
  CHECK_OK(enclos_wasm_store_new(NULL, &s));
  enclos_wasm_imports *imp;
  int calls = 0;
  CHECK_OK(enclos_wasm_imports_new(&imp));
  CHECK_OK(enclos_wasm_imports_add_func(imp, "env", "add", "ii:i", host_add, &calls));
  /* missing imports are unlinkable */
  CHECK_ERR(enclos_wasm_instantiate(s, m, imp, &i), ENCLOS_E_UNLINKABLE);
  CHECK_OK(enclos_wasm_imports_add_func(imp, "env", "fail", ":", host_fail, NULL));
  CHECK_OK(enclos_wasm_imports_add_func(imp, "env", "exit", "i:", host_exit, NULL));
  CHECK_ERR(enclos_wasm_instantiate(s, m, imp, &i), ENCLOS_E_UNLINKABLE); /* wrong type */
  CHECK_OK(enclos_wasm_imports_add_func(imp, "env", "exit", ":", host_exit, NULL));
  CHECK_OK(enclos_wasm_instantiate(s, m, imp, &i));
  rt r = {m, s, i};
  enclos_wasm_val res;
  CHECK_OK(call1(&r, "go", NULL, 0, &res, 1));
  CHECK_EQ_INT(res.of.i32, 47);
  CHECK_EQ_INT(calls, 1);
  CHECK_ERR(call1(&r, "f", NULL, 0, NULL, 0), ENCLOS_E_TRAP);
  CHECK_CONTAINS(enclos_err_detail(), "nope");
  CHECK_ERR(call1(&r, "e", NULL, 0, NULL, 0), ENCLOS_E_TRAP);
  enclos_wasm_trap tr;
  enclos_wasm_store_trap(s, &tr);
  CHECK_EQ_INT(tr.kind, ENCLOS_WASM_TRAP_EXIT);
  CHECK_EQ_INT(tr.exit_code, 7);
  enclos_wasm_imports_free(imp);
  rt_free(&r);
}

TEST(cross_instance_linking) {
  enclos_wasm_module *ma, *mb;
  enclos_wasm_store *s;
  enclos_wasm_instance *ia, *ib;
  CHECK_OK(load_wat("(module (memory (export \"mem\") 1) (global (export \"g\") (mut i32) (i32.const 5))"
                    " (table (export \"tab\") 2 funcref)"
                    " (func (export \"get\") (result i32) (i32.load (i32.const 8))))", &ma));
  CHECK_OK(load_wat("(module (import \"a\" \"mem\" (memory 1)) (import \"a\" \"g\" (global (mut i32)))"
                    " (import \"a\" \"get\" (func $get (result i32))) (import \"a\" \"tab\" (table 2 funcref))"
                    " (elem (i32.const 1) $get)"
                    " (func (export \"run\") (result i32) (i32.store (i32.const 8) (i32.const 99))"
                    "  (global.set 0 (i32.const 6))"
                    "  (i32.add (call $get) (call_indirect (result i32) (i32.const 1)))))", &mb));
  CHECK_OK(enclos_wasm_store_new(NULL, &s));
  CHECK_OK(enclos_wasm_instantiate(s, ma, NULL, &ia));
  enclos_wasm_imports *imp;
  CHECK_OK(enclos_wasm_imports_new(&imp));
  const char *names[] = {"mem", "g", "get", "tab"};
  for (int k = 0; k < 4; k++) {
    enclos_wasm_extern e;
    CHECK_OK(enclos_wasm_instance_export(ia, nm(names[k]), &e));
    CHECK_OK(enclos_wasm_imports_add_extern(imp, "a", nm(names[k]), e));
  }
  CHECK_OK(enclos_wasm_instantiate(s, mb, imp, &ib));
  rt r = {mb, s, ib};
  enclos_wasm_val res;
  CHECK_OK(call1(&r, "run", NULL, 0, &res, 1));
  CHECK_EQ_INT(res.of.i32, 198);
  enclos_wasm_extern g;
  CHECK_OK(enclos_wasm_instance_export(ia, nm("g"), &g));
  CHECK_OK(enclos_wasm_global_get(g, &res));
  CHECK_EQ_INT(res.of.i32, 6);
  CHECK_ERR(enclos_wasm_instance_export(ia, nm("nope"), &g), ENCLOS_E_NOT_FOUND);
  enclos_wasm_imports_free(imp);
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(ma);
  enclos_wasm_module_free(mb);
}

TEST(floats_follow_the_spec) {
  rt r;
  rt_new(&r, "(module"
             " (func (export \"min\") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))"
             " (func (export \"near\") (param f64) (result f64) (f64.nearest (local.get 0)))"
             " (func (export \"sat\") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0))))",
         NULL);
  enclos_wasm_val a[2] = {{.type = ENCLOS_WASM_F32, .of.f32 = 0x80000000u},
                          {.type = ENCLOS_WASM_F32, .of.f32 = 0}}, res;
  CHECK_OK(call1(&r, "min", a, 2, &res, 1));
  CHECK_EQ_U64(res.of.f32, 0x80000000u);
  double d = 2.5;
  enclos_wasm_val v = {.type = ENCLOS_WASM_F64};
  memcpy(&v.of.f64, &d, 8);
  CHECK_OK(call1(&r, "near", &v, 1, &res, 1));
  memcpy(&d, &res.of.f64, 8);
  CHECK(d == 2.0);
  d = 1e30;
  memcpy(&v.of.f64, &d, 8);
  CHECK_OK(call1(&r, "sat", &v, 1, &res, 1));
  CHECK_EQ_U64(res.of.i32, 0x7fffffffu);
  rt_free(&r);
}

/* ---- SIMD through the host API: arguments, results, globals, host calls, locals ---------- */

static enclos_wasm_val v128v(const uint8_t b[16]) {
  enclos_wasm_val v = {.type = ENCLOS_WASM_V128};
  memcpy(v.of.v128, b, 16);
  return v;
}

/* Reverses the 16 bytes of its v128 argument. */
static enclos_err host_flip(enclos_wasm_caller *c, void *env, const enclos_wasm_val *args,
                            enclos_wasm_val *res) {
  (void)c;
  (*(int *)env)++;
  if (args[0].type != ENCLOS_WASM_V128 || res[0].type != ENCLOS_WASM_V128)
    return enclos_err_set(ENCLOS_E_INVAL, __FILE__, __LINE__, "not v128");
  for (int k = 0; k < 16; k++) res[0].of.v128[k] = args[0].of.v128[15 - k];
  return ENCLOS_OK;
}

static const char *simd_mod =
    "(module (import \"env\" \"flip\" (func $flip (param v128) (result v128)))"
    " (memory 1)"
    " (global $g (export \"g\") (mut v128) (v128.const i32x4 1 2 3 4))"
    " (func (export \"go\") (param v128 i32) (result v128 i32) (local v128)"
    "  (global.set $g (i32x4.add (local.get 0) (global.get $g)))"
    "  (call $flip (global.get $g))"
    "  (i32.add (local.get 1) (i32x4.extract_lane 3 (local.get 2))))"
    " (func (export \"dirty\") (result v128) (local v128 v128)"
    "  (local.set 1 (v128.const i64x2 -1 -1)) (local.get 1))"
    " (func (export \"fresh\") (result v128) (local v128 v128) (local.get 1))"
    " (func (export \"sel\") (param v128 v128 i32) (result v128)"
    "  (select (local.get 0) (local.get 1) (local.get 2)))"
    " (func (export \"blk\") (param v128) (result v128 v128)"
    "  (block (result v128 v128) (local.get 0) (i8x16.splat (i32.const 7)) (br 0)))"
    " (func (export \"ld\") (param i32) (result v128) (v128.load offset=8 (local.get 0)))"
    " (func (export \"dot\") (param v128 v128) (result v128) (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))"
    ")";

TEST(simd_values_cross_the_host_api) {
  enclos_wasm_module *m;
  enclos_wasm_store *s;
  enclos_wasm_instance *i;
  CHECK_OK(load_wat(simd_mod, &m));
  CHECK_OK(enclos_wasm_store_new(NULL, &s));
  enclos_wasm_imports *imp;
  int calls = 0;
  CHECK_OK(enclos_wasm_imports_new(&imp));
  CHECK_OK(enclos_wasm_imports_add_func(imp, "env", "flip", "v:v", host_flip, &calls));
  CHECK_OK(enclos_wasm_instantiate(s, m, imp, &i));
  rt r = {m, s, i};
  uint8_t bytes[16];
  for (int k = 0; k < 16; k++) bytes[k] = (uint8_t)(k * 16);
  enclos_wasm_val a[3] = {v128v(bytes), i32v(5)}, res[2];
  CHECK_OK(call1(&r, "go", a, 2, res, 2));
  CHECK_EQ_INT(calls, 1);
  CHECK_EQ_INT(res[0].type, ENCLOS_WASM_V128);
  /* g = lanes {0x30201000 + 1, 0x70605040 + 2, 0xb0a09080 + 3, 0xf0e0d0c0 + 4}, reversed */
  uint8_t g[16];
  const uint32_t lanes[4] = {0x30201001u, 0x70605042u, 0xb0a09083u, 0xf0e0d0c4u};
  memcpy(g, lanes, 16);
  for (int k = 0; k < 16; k++) CHECK_EQ_INT(res[0].of.v128[k], g[15 - k]);
  CHECK_EQ_INT(res[1].of.i32, 5); /* the v128 local started as zero */
  enclos_wasm_extern ge;
  CHECK_OK(enclos_wasm_instance_export(i, nm("g"), &ge));
  enclos_wasm_val gv;
  CHECK_OK(enclos_wasm_global_get(ge, &gv));
  CHECK(gv.type == ENCLOS_WASM_V128 && memcmp(gv.of.v128, g, 16) == 0);
  CHECK_OK(enclos_wasm_global_set(ge, v128v(bytes)));
  CHECK_OK(enclos_wasm_global_get(ge, &gv));
  CHECK(memcmp(gv.of.v128, bytes, 16) == 0);
  CHECK_ERR(enclos_wasm_global_set(ge, i32v(1)), ENCLOS_E_INVAL);
  /* a frame reusing slots a v128 local left behind still starts from zero, both halves */
  CHECK_OK(call1(&r, "dirty", NULL, 0, res, 1));
  CHECK_OK(call1(&r, "fresh", NULL, 0, res, 1));
  static const uint8_t zero[16];
  CHECK(memcmp(res[0].of.v128, zero, 16) == 0);
  uint8_t other[16];
  memset(other, 0xab, 16);
  a[0] = v128v(bytes);
  a[1] = v128v(other);
  a[2] = i32v(0);
  CHECK_OK(call1(&r, "sel", a, 3, res, 1));
  CHECK(memcmp(res[0].of.v128, other, 16) == 0);
  a[2] = i32v(1);
  CHECK_OK(call1(&r, "sel", a, 3, res, 1));
  CHECK(memcmp(res[0].of.v128, bytes, 16) == 0);
  CHECK_OK(call1(&r, "blk", a, 1, res, 2));
  CHECK(memcmp(res[0].of.v128, bytes, 16) == 0);
  for (int k = 0; k < 16; k++) CHECK_EQ_INT(res[1].of.v128[k], 7);
  /* i32x4.dot_i16x8_s of -32768 * -32768 twice wraps to 0x80000000 */
  uint16_t m16[8];
  for (int k = 0; k < 8; k++) m16[k] = 0x8000;
  memcpy(bytes, m16, 16);
  a[0] = v128v(bytes);
  a[1] = v128v(bytes);
  CHECK_OK(call1(&r, "dot", a, 2, res, 1));
  uint32_t d32[4];
  memcpy(d32, res[0].of.v128, 16);
  CHECK_EQ_U64(d32[0], 0x80000000u);
  /* v128.load at the end of memory: the last in-bounds address works, one more traps */
  a[0] = i32v(65536 - 24);
  CHECK_OK(call1(&r, "ld", a, 1, res, 1));
  a[0] = i32v(65536 - 23);
  expect_trap(&r, "ld", a, 1, ENCLOS_WASM_TRAP_MEMORY_OOB);
  enclos_wasm_imports_free(imp);
  rt_free(&r);
}

TEST(simd_validation_errors) {
  expect_invalid("(module (func (result i32) (i8x16.extract_lane_s 16 (v128.const i64x2 0 0))))",
                 "invalid lane index");
  expect_invalid("(module (memory 1) (func (drop (v128.load align=32 (i32.const 0)))))",
                 "alignment must not be larger than natural");
  expect_invalid("(module (memory 1) (func (v128.store8_lane align=2 0 (i32.const 0) (v128.const i64x2 0 0))))",
                 "alignment must not be larger than natural");
  expect_invalid("(module (func (result v128) (i32x4.add (v128.const i64x2 0 0) (i32.const 1))))",
                 "type mismatch");
  expect_invalid("(module (func (result i32) (v128.const i64x2 0 0)))", "type mismatch");
  /* an unassigned 0xfd sub-opcode is malformed: 0xfd 0x9a in an otherwise valid body */
  enclos_wasm_module *m;
  static const uint8_t bad[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
                                10, 7, 1, 5, 0, 0xfd, 0x9a, 0x01, 0x0b};
  CHECK_ERR(enclos_wasm_module_load(bad, sizeof(bad), &m), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "illegal opcode 0xfd 154");
  CHECK_CONTAINS(enclos_err_detail(), "code section, offset 0x");
}

/* ---- trap locations: the byte offset of the trapping instruction, the function's name ---- */

static size_t find_bytes(const uint8_t *h, size_t n, const uint8_t *needle, size_t k) {
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(h + i, needle, k) == 0) return i;
  return SIZE_MAX;
}

static const char *where_mod =
    "(module (memory 1)"
    " (func $helper (param i32) (result i32)"
    "  (drop (i32.add (local.get 0) (i32.const 1)))"
    "  (i32.load offset=1234 (local.get 0)))"
    " (func $vec (param i32) (result v128) (v128.load offset=4321 (local.get 0)))"
    " (func $spin (loop $l (br $l)))"
    " (func (export \"go\") (param i32) (result i32) (call $helper (local.get 0)))"
    " (func (export \"vec\") (param i32) (result v128) (call $vec (local.get 0)))"
    " (func (export \"spin\") (call $spin))"
    " (func (export \"div\") (param i32) (result i32)"
    "  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))"
    "   (else (i32.div_u (i32.const 7) (i32.sub (local.get 0) (i32.const 1)))))))";

static void load_bytes_rt(rt *r, const uint8_t *b, size_t n, const enclos_wasm_limits *lim) {
  CHECK_OK(enclos_wasm_module_load(b, n, &r->m));
  CHECK_OK(enclos_wasm_store_new(lim, &r->s));
  CHECK_OK(enclos_wasm_instantiate(r->s, r->m, NULL, &r->i));
}

static void check_where(rt *r, const char *fn, enclos_wasm_val *a, size_t na, uint32_t want_off,
                        const char *want_name) {
  enclos_wasm_val res[1];
  enclos_wasm_extern f;
  CHECK_OK(enclos_wasm_instance_export(r->i, nm(fn), &f));
  enclos_err rc = enclos_wasm_call(r->s, f, a, na, res, strcmp(fn, "spin") ? 1 : 0);
  CHECK(rc != ENCLOS_OK);
  enclos_wasm_trap tr;
  enclos_wasm_store_trap(r->s, &tr);
  CHECK_MSG(tr.code_offset == want_off, "%s: code offset 0x%x, want 0x%x", fn, tr.code_offset,
            want_off);
  CHECK_MSG(tr.func_name.len == strlen(want_name) &&
                (!tr.func_name.len || memcmp(tr.func_name.data, want_name, tr.func_name.len) == 0),
            "%s: function name \"%.*s\", want \"%s\"", fn, (int)tr.func_name.len,
            tr.func_name.data ? tr.func_name.data : "", want_name);
}

TEST(traps_report_instruction_offset_and_function_name) {
  size_t n;
  uint8_t *b = wat(where_mod, &n);
  /* local.get 0; i32.load align=2 offset=1234 -> the load opcode is 2 bytes in */
  static const uint8_t ld[] = {0x20, 0x00, 0x28, 0x02, 0xd2, 0x09};
  /* local.get 0; v128.load align=4 offset=4321 (0xfd 0x00 ...) */
  static const uint8_t vld[] = {0x20, 0x00, 0xfd, 0x00, 0x04, 0xe1, 0x21};
  static const uint8_t loop[] = {0x03, 0x40, 0x0c, 0x00, 0x0b};
  static const uint8_t div[] = {0x6b, 0x6e}; /* i32.sub; i32.div_u */
  size_t at_ld = find_bytes(b, n, ld, sizeof(ld)), at_vld = find_bytes(b, n, vld, sizeof(vld));
  size_t at_loop = find_bytes(b, n, loop, sizeof(loop)), at_div = find_bytes(b, n, div, sizeof(div));
  CHECK(at_ld != SIZE_MAX && at_vld != SIZE_MAX && at_loop != SIZE_MAX && at_div != SIZE_MAX);
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = 10000;
  rt r;
  load_bytes_rt(&r, b, n, &lim);
  enclos_wasm_val a = i32v(65536);
  check_where(&r, "go", &a, 1, (uint32_t)at_ld + 2, "helper");
  check_where(&r, "vec", &a, 1, (uint32_t)at_vld + 2, "vec");
  check_where(&r, "spin", NULL, 0, (uint32_t)at_loop, "spin"); /* fuel runs out at the loop */
  a = i32v(1);
  check_where(&r, "div", &a, 1, (uint32_t)at_div + 1, "div"); /* no name: the export's */
  rt_free(&r);

  /* A malformed name section is ignored as a whole: the module loads, names fall back to
   * exports. Append a "name" section whose function name map runs past its end. */
  static const uint8_t badname[] = {0x00, 0x0a, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x04, 0x02, 0x00, 0x05};
  uint8_t *b2 = malloc(n + sizeof(badname));
  CHECK(b2);
  memcpy(b2, b, n);
  memcpy(b2 + n, badname, sizeof(badname));
  /* drop wat2wasm's own name section first: it is the last section, so cut the module there */
  static const uint8_t namehdr[] = {0x04, 'n', 'a', 'm', 'e'};
  size_t at_name = find_bytes(b, n, namehdr, sizeof(namehdr));
  CHECK(at_name != SIZE_MAX && at_name >= 2);
  size_t cut = at_name - 1; /* the section size LEB is one byte here (short names) */
  CHECK(b[cut - 1] == 0x00);
  memcpy(b2 + cut - 1, badname, sizeof(badname));
  load_bytes_rt(&r, b2, cut - 1 + sizeof(badname), &lim);
  a = i32v(65536);
  check_where(&r, "go", &a, 1, (uint32_t)at_ld + 2, ""); /* $helper: no name, not exported */
  a = i32v(1);
  check_where(&r, "div", &a, 1, (uint32_t)at_div + 1, "div");
  rt_free(&r);
  free(b2);
  free(b);
}

/* ---- issue acceptance item 3: hostile modules end in a clean, named error or trap -------- */

TEST(hostile_modules_end_cleanly) {
  /* 100,000 nested calls: the call-depth limit stops it with a named trap, in the function */
  rt r;
  rt_new(&r, traps, NULL);
  enclos_wasm_val a = i32v(100000);
  enclos_wasm_extern f;
  CHECK_OK(enclos_wasm_instance_export(r.i, nm("rec"), &f));
  enclos_wasm_val res;
  CHECK_ERR(enclos_wasm_call(r.s, f, &a, 1, &res, 1), ENCLOS_E_TRAP);
  CHECK_CONTAINS(enclos_err_detail(), "call stack exhausted");
  enclos_wasm_trap tr;
  enclos_wasm_store_trap(r.s, &tr);
  CHECK_EQ_INT(tr.kind, ENCLOS_WASM_TRAP_STACK_EXHAUSTED);
  CHECK(tr.func_name.len == 1 && tr.func_name.data[0] == 'r'); /* $r, from the name section */
  /* the store is still usable afterwards */
  a = i32v(10);
  CHECK_OK(enclos_wasm_call(r.s, f, &a, 1, &res, 1));
  CHECK_EQ_INT(res.of.i32, 10);
  rt_free(&r);

  /* 1 GiB of memory over a 256-page cap: instantiation fails naming the limit; growing by
   * 1 GiB past the cap returns -1 (§4.4.7.8: failure to grow is not a trap) */
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.max_memory_pages = 256;
  enclos_wasm_module *m;
  enclos_wasm_store *s;
  enclos_wasm_instance *inst;
  CHECK_OK(load_wat("(module (memory 16384))", &m));
  CHECK_OK(enclos_wasm_store_new(&lim, &s));
  CHECK_ERR(enclos_wasm_instantiate(s, m, NULL, &inst), ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "memory of 16384 pages exceeds the limit of 256 pages");
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  rt_new(&r, mem, &lim);
  a = i32v(16384);
  CHECK_OK(call1(&r, "grow", &a, 1, &res, 1));
  CHECK_EQ_INT((int32_t)res.of.i32, -1);
  CHECK_OK(call1(&r, "size", NULL, 0, &res, 1));
  CHECK_EQ_INT(res.of.i32, 1);
  rt_free(&r);

  /* an infinite loop in vector code: fuel ends it */
  lim.fuel = 1000000;
  rt_new(&r, "(module (func (export \"spin\") (local v128)"
             " (loop (local.set 0 (i32x4.add (local.get 0) (local.get 0))) (br 0))))", &lim);
  CHECK_ERR(call1(&r, "spin", NULL, 0, NULL, 0), ENCLOS_E_FUEL);
  CHECK_CONTAINS(enclos_err_detail(), "fuel exhausted");
  rt_free(&r);
}

/* Mutations of a working SIMD module (byte flips, truncations, insertions): every variant
 * either fails to load with a detail naming a section and an offset, or loads and runs its
 * exports to a result, a trap or fuel exhaustion. Under ASan+UBSan this is a small, seeded,
 * always-on cousin of fuzz_wasm. */
TEST(mutated_modules_fail_closed) {
  size_t n;
  uint8_t *base = wat("(module (memory 1) (global $g (mut v128) (v128.const i32x4 1 2 3 4))"
                      " (func $h (param v128 i32) (result v128) (i8x16.shl (local.get 0) (local.get 1)))"
                      " (func (export \"a\") (result v128) (local v128)"
                      "  (local.set 0 (v128.load offset=3 (i32.const 100)))"
                      "  (call $h (i16x8.add (local.get 0) (global.get $g)) (i32.const 3)))"
                      " (func (export \"b\") (result i32) (i8x16.bitmask (i8x16.shuffle 0 1 2 3 4 5 6 7"
                      "  16 17 18 19 20 21 22 23 (global.get $g) (v128.const i64x2 -1 0))))"
                      " (func (export \"c\") (loop (br_if 0 (i32x4.all_true (global.get $g))))))",
                      &n);
  uint8_t *buf = malloc(n + 16);
  CHECK(buf);
  srand(4321);
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = 20000;
  lim.max_memory_pages = 16;
  lim.max_stack_bytes = 64u << 10;
  lim.max_call_depth = 200;
  unsigned loaded = 0, rejected = 0;
  for (int k = 0; k < 3000; k++) {
    memcpy(buf, base, n);
    size_t len = n;
    int kind = rand() % 4;
    size_t at = 8 + (size_t)rand() % (n - 8);
    if (kind == 0) buf[at] ^= (uint8_t)(1u << (rand() % 8));
    else if (kind == 1) buf[at] = (uint8_t)rand();
    else if (kind == 2) len = at;
    else {
      memmove(buf + at + 1, buf + at, n - at);
      buf[at] = (uint8_t)rand();
      len = n + 1;
    }
    enclos_wasm_module *m = NULL;
    enclos_err rc = enclos_wasm_module_load(buf, len, &m);
    if (rc != ENCLOS_OK) {
      CHECK_MSG(rc == ENCLOS_E_MALFORMED || rc == ENCLOS_E_INVALID || rc == ENCLOS_E_LIMIT,
                "variant %d: %s", k, enclos_err_name(rc));
      CHECK_CONTAINS(enclos_err_detail(), "offset 0x");
      rejected++;
      continue;
    }
    loaded++;
    enclos_wasm_store *s;
    enclos_wasm_instance *inst;
    CHECK_OK(enclos_wasm_store_new(&lim, &s));
    if (enclos_wasm_instantiate(s, m, NULL, &inst) == ENCLOS_OK) {
      for (size_t e = 0; e < enclos_wasm_module_export_count(m); e++) {
        enclos_wasm_name name;
        enclos_wasm_externtype t;
        enclos_wasm_extern fx;
        enclos_wasm_val res[8];
        CHECK_OK(enclos_wasm_module_export(m, e, &name, &t));
        if (t.kind != ENCLOS_WASM_EXTERN_FUNC || t.of.func.nparams || t.of.func.nresults > 8) continue;
        CHECK_OK(enclos_wasm_instance_export(inst, name, &fx));
        rc = enclos_wasm_call(s, fx, NULL, 0, res, t.of.func.nresults);
        CHECK_MSG(rc == ENCLOS_OK || rc == ENCLOS_E_TRAP || rc == ENCLOS_E_FUEL, "variant %d: %s",
                  k, enclos_err_name(rc));
      }
    }
    enclos_wasm_store_free(s);
    enclos_wasm_module_free(m);
  }
  CHECK(loaded > 100 && rejected > 1000);
  free(buf);
  free(base);
}
