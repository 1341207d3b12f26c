/* run.c: running a WASI command (`_start`) in a fresh store: what `enclos run` and the tests
 * use. The WASI "command" ABI: the module exports `_start` and `memory`; returning from `_start`
 * means exit code 0, proc_exit ends the call early with a code. */
#include <stdio.h>
#include <string.h>

#include <enclos/mem.h>

#include "wasi_int.h"

enclos_err enclos_wasi_run(enclos_wasi *w, const void *wasm, size_t size,
                           const enclos_wasm_limits *limits, enclos_wasi_run_result *out,
                           char *trap_name, size_t trap_name_size) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSURE_REF(wasm);
  ENCLOS_ENSURE_REF(out);
  enclos_err rc = ENCLOS_OK;
  enclos_wasm_module *m = NULL;
  enclos_wasm_store *s = NULL;
  enclos_wasm_imports *imp = NULL;
  enclos_wasm_instance *inst = NULL;
  enclos_wasm_limits def;
  memset(out, 0, sizeof(*out));
  if (trap_name && trap_name_size) trap_name[0] = '\0';
  if (!limits) {
    enclos_wasm_limits_default(&def);
    limits = &def;
  }
  wasi__reset_exit(w); /* a context may serve several runs */
  ENCLOS_GUARD(enclos_wasm_module_load(wasm, size, &m));
  ENCLOS_GUARD(enclos_wasm_store_new(limits, &s));
  ENCLOS_GUARD(enclos_wasm_imports_new(&imp));
  ENCLOS_GUARD(enclos_wasi_add_imports(w, imp));
  ENCLOS_GUARD(enclos_wasm_instantiate(s, m, imp, &inst));
  enclos_wasm_extern start;
  static const char start_name[] = "_start";
  ENCLOS_GUARD(enclos_wasm_instance_export(inst, (enclos_wasm_name){start_name, 6}, &start));
  enclos_err call_rc = enclos_wasm_call(s, start, NULL, 0, NULL, 0);
  uint32_t code = 0;
  if (enclos_wasi_exited(w, &code)) {
    out->exit_code = code;
  } else if (call_rc != ENCLOS_OK) {
    enclos_wasm_store_trap(s, &out->trap);
    if (out->trap.kind == ENCLOS_WASM_TRAP_EXIT) {
      out->exit_code = out->trap.exit_code;
    } else if (call_rc == ENCLOS_E_TRAP || call_rc == ENCLOS_E_FUEL ||
               call_rc == ENCLOS_E_INTERRUPTED) {
      out->trapped = true;
      if (trap_name && trap_name_size) {
        size_t n = out->trap.func_name.len < trap_name_size - 1 ? out->trap.func_name.len
                                                                : trap_name_size - 1;
        if (n && out->trap.func_name.data) memcpy(trap_name, out->trap.func_name.data, n);
        trap_name[n] = '\0';
      }
      out->trap.func_name.data = NULL;
      out->trap.func_name.len = 0;
    } else {
      rc = call_rc;
    }
  }
cleanup:
  enclos_wasm_imports_free(imp);
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  return rc;
}
