/* wasm_diff_run: runs one module the way wabt's `wasm-interp --run-all-exports` does and prints
 * the outcome in its format, so that tests/wasm/wasm_diff.py can compare the two engines on the
 * same inputs (differential testing; see that script).
 *
 *   wasm_diff_run FILE.wasm
 *
 * Output (one line each):
 *   "load error: <detail>"                         module rejected (exit 1)
 *   "limit: <detail>"                              rejected by an enclos limit (exit 3)
 *   "error initializing module: <trap message>"    instantiation trapped (exit 1)
 *   "<name>() => <results>"                        per exported function without parameters,
 *   "<name>() => error: <trap message>"            in export order, results formatted as wabt
 *   "<name>() => inconclusive: <why>"              formats them (i32/i64 unsigned decimal,
 *                                                  floats "%f", v128 as i32x4 hex, references
 *                                                  as 0 or nonzero); fuel or call depth ran
 *                                                  out: the engines' limits differ
 * Trap messages use wabt's wording for each trap kind. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/mem.h>
#include <enclos/wasm.h>

#define DIFF_MAX_FILE (64u << 20)
#define DIFF_MAX_RESULTS 64

static const char *wabt_trap(enclos_wasm_trap_kind k) {
  switch (k) {
  case ENCLOS_WASM_TRAP_UNREACHABLE: return "unreachable executed";
  case ENCLOS_WASM_TRAP_MEMORY_OOB: return "out of bounds memory access";
  case ENCLOS_WASM_TRAP_TABLE_OOB: return "out of bounds table access";
  case ENCLOS_WASM_TRAP_UNDEFINED_ELEMENT: return "undefined table index";
  case ENCLOS_WASM_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized table element";
  case ENCLOS_WASM_TRAP_INDIRECT_TYPE_MISMATCH: return "indirect call signature mismatch";
  case ENCLOS_WASM_TRAP_DIV_BY_ZERO: return "integer divide by zero";
  case ENCLOS_WASM_TRAP_INT_OVERFLOW: return "integer overflow";
  case ENCLOS_WASM_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
  default: return enclos_wasm_trap_message(k);
  }
}

static void print_val(const enclos_wasm_val *v) {
  float f;
  double d;
  switch (v->type) {
  case ENCLOS_WASM_I32: printf("i32:%" PRIu32, v->of.i32); break;
  case ENCLOS_WASM_I64: printf("i64:%" PRIu64, v->of.i64); break;
  case ENCLOS_WASM_F32:
    memcpy(&f, &v->of.f32, 4);
    printf("f32:%f", (double)f);
    break;
  case ENCLOS_WASM_F64:
    memcpy(&d, &v->of.f64, 8);
    printf("f64:%f", d);
    break;
  case ENCLOS_WASM_V128: {
    uint32_t l[4];
    memcpy(l, v->of.v128, 16);
    printf("v128 i32x4:0x%08" PRIx32 " 0x%08" PRIx32 " 0x%08" PRIx32 " 0x%08" PRIx32, l[0], l[1],
           l[2], l[3]);
    break;
  }
  case ENCLOS_WASM_FUNCREF: printf("funcref:%d", v->of.ref != NULL); break;
  case ENCLOS_WASM_EXTERNREF: printf("externref:%d", v->of.ref != NULL); break;
  default: printf("?"); break;
  }
}

/* True when the trap depends on a limit the two engines do not share. */
static bool limit_trap(enclos_err rc, enclos_wasm_trap_kind k) {
  return rc == ENCLOS_E_FUEL || rc == ENCLOS_E_INTERRUPTED || k == ENCLOS_WASM_TRAP_STACK_EXHAUSTED;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: wasm_diff_run FILE.wasm\n");
    return 2;
  }
  FILE *fh = fopen(argv[1], "rb");
  if (!fh) {
    perror(argv[1]);
    return 2;
  }
  uint8_t *buf = malloc(DIFF_MAX_FILE);
  size_t n = buf ? fread(buf, 1, DIFF_MAX_FILE, fh) : 0;
  fclose(fh);
  if (!buf) return 2;
  int status = 0;
  enclos_wasm_module *m = NULL;
  enclos_wasm_store *s = NULL;
  enclos_wasm_instance *inst = NULL;
  enclos_err rc = enclos_wasm_module_load(buf, n, &m);
  if (rc == ENCLOS_E_LIMIT || rc == ENCLOS_E_UNSUPPORTED) {
    printf("limit: %s\n", enclos_err_detail());
    status = 3;
    goto done;
  }
  if (rc != ENCLOS_OK) {
    printf("load error: %s\n", enclos_err_detail());
    status = 1;
    goto done;
  }
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = 50u * 1000 * 1000;
  lim.max_memory_pages = 65536; /* wabt has no cap: only the declared limits count */
  lim.max_table_elems = 10u * 1000 * 1000;
  if (enclos_wasm_store_new(&lim, &s) != ENCLOS_OK) {
    printf("limit: %s\n", enclos_err_detail());
    status = 3;
    goto done;
  }
  rc = enclos_wasm_instantiate(s, m, NULL, &inst);
  if (rc == ENCLOS_E_TRAP) {
    enclos_wasm_trap tr;
    enclos_wasm_store_trap(s, &tr);
    if (limit_trap(rc, tr.kind)) {
      printf("limit: start function: %s\n", enclos_wasm_trap_message(tr.kind));
      status = 3;
    } else {
      printf("error initializing module: %s\n", wabt_trap(tr.kind));
      status = 1;
    }
    goto done;
  }
  if (rc != ENCLOS_OK) { /* unlinkable (imports), or a limit */
    printf("%s: %s\n", rc == ENCLOS_E_UNLINKABLE ? "error initializing module" : "limit",
           enclos_err_detail());
    status = rc == ENCLOS_E_UNLINKABLE ? 1 : 3;
    goto done;
  }
  size_t ne = enclos_wasm_module_export_count(m);
  for (size_t i = 0; i < ne; i++) {
    enclos_wasm_name name;
    enclos_wasm_externtype t;
    enclos_wasm_extern f;
    if (enclos_wasm_module_export(m, i, &name, &t) != ENCLOS_OK) continue;
    if (t.kind != ENCLOS_WASM_EXTERN_FUNC || t.of.func.nparams != 0) continue;
    if (t.of.func.nresults > DIFF_MAX_RESULTS) continue;
    if (enclos_wasm_instance_export(inst, name, &f) != ENCLOS_OK) continue;
    enclos_wasm_val res[DIFF_MAX_RESULTS];
    rc = enclos_wasm_call(s, f, NULL, 0, res, t.of.func.nresults);
    printf("%.*s() => ", (int)name.len, name.data);
    if (rc == ENCLOS_OK) {
      for (uint32_t k = 0; k < t.of.func.nresults; k++) {
        if (k) printf(", ");
        print_val(&res[k]);
      }
      printf("\n");
      continue;
    }
    enclos_wasm_trap tr;
    enclos_wasm_store_trap(s, &tr);
    if (limit_trap(rc, tr.kind)) {
      /* the state after a cut-short call differs from wabt's: stop here */
      printf("inconclusive: %s\n", enclos_wasm_trap_message(tr.kind));
      break;
    }
    printf("error: %s\n", wabt_trap(tr.kind));
  }
done:
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  free(buf);
  return status;
}
