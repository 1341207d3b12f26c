/* fuzz_wasm: decode + validate + compile any input; if it loads, instantiate it with no
 * imports and call every exported function with zero arguments under a small fuel budget and
 * small limits. Every outcome must be a clean error or trap. */
#include <stdint.h>
#include <string.h>

#include <enclos/wasm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enclos_wasm_module *m = NULL;
  if (enclos_wasm_module_load(data, size, &m) != ENCLOS_OK) return 0;
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.fuel = 20000;
  lim.max_memory_pages = 64;
  lim.max_table_elems = 10000;
  lim.max_call_depth = 500;
  lim.max_stack_bytes = 1u << 20;
  lim.guard_pages = (size & 1) != 0; /* exercise both memory layouts */
  enclos_wasm_store *s = NULL;
  enclos_wasm_instance *inst = NULL;
  if (enclos_wasm_store_new(&lim, &s) == ENCLOS_OK &&
      enclos_wasm_instantiate(s, m, NULL, &inst) == ENCLOS_OK) {
    size_t n = enclos_wasm_module_export_count(m);
    for (size_t i = 0; i < n && i < 32; i++) {
      enclos_wasm_name name;
      enclos_wasm_externtype t;
      enclos_wasm_extern f;
      if (enclos_wasm_module_export(m, i, &name, &t) != ENCLOS_OK) continue;
      if (t.kind != ENCLOS_WASM_EXTERN_FUNC || t.of.func.nparams != 0 || t.of.func.nresults > 16)
        continue;
      if (enclos_wasm_instance_export(inst, name, &f) != ENCLOS_OK) continue;
      enclos_wasm_val res[16];
      (void)enclos_wasm_call(s, f, NULL, 0, res, t.of.func.nresults);
    }
  }
  enclos_wasm_store_free(s);
  enclos_wasm_module_free(m);
  return 0;
}
