/* wasm_missing.c: stand-in for the engine's entry points that the WASI layer uses, compiled
 * only while src/wasm is absent from the build (see CMakeLists.txt). Everything fails loudly
 * with ENCLOS_E_UNSUPPORTED "wasm engine not implemented in this build". */
#include <string.h>

#include <enclos/wasm.h>

#define MISSING ENCLOS_FAILF(ENCLOS_E_UNSUPPORTED, "wasm engine not implemented in this build")

void enclos_wasm_limits_default(enclos_wasm_limits *l) {
  memset(l, 0, sizeof(*l));
  l->max_memory_pages = 16384;
}
enclos_err enclos_wasm_module_load(const void *bytes, size_t size, enclos_wasm_module **out) {
  MISSING;
}
void enclos_wasm_module_free(enclos_wasm_module *m) {}
enclos_err enclos_wasm_store_new(const enclos_wasm_limits *limits, enclos_wasm_store **out) {
  MISSING;
}
void enclos_wasm_store_free(enclos_wasm_store *s) {}
void enclos_wasm_caller_memory(enclos_wasm_caller *caller, uint8_t **data, size_t *size) {
  *data = NULL;
  *size = 0;
}
enclos_err enclos_wasm_caller_exit(enclos_wasm_caller *caller, uint32_t code) { MISSING; }
enclos_err enclos_wasm_imports_new(enclos_wasm_imports **out) { MISSING; }
void enclos_wasm_imports_free(enclos_wasm_imports *imp) {}
enclos_err enclos_wasm_imports_add_func(enclos_wasm_imports *imp, const char *module,
                                        const char *name, const char *sig,
                                        enclos_wasm_host_fn fn, void *env) {
  MISSING;
}
enclos_err enclos_wasm_instantiate(enclos_wasm_store *s, const enclos_wasm_module *m,
                                   const enclos_wasm_imports *imp, enclos_wasm_instance **out) {
  MISSING;
}
enclos_err enclos_wasm_instance_export(const enclos_wasm_instance *inst, enclos_wasm_name name,
                                       enclos_wasm_extern *out) {
  MISSING;
}
enclos_err enclos_wasm_call(enclos_wasm_store *s, enclos_wasm_extern func,
                            const enclos_wasm_val *args, size_t nargs, enclos_wasm_val *results,
                            size_t nresults) {
  MISSING;
}
void enclos_wasm_store_trap(const enclos_wasm_store *s, enclos_wasm_trap *out) {
  memset(out, 0, sizeof(*out));
}
const char *enclos_wasm_trap_message(enclos_wasm_trap_kind kind) { return "unknown trap"; }
enclos_err enclos_wasm_memory_data(enclos_wasm_extern memory, uint8_t **data, size_t *size) {
  MISSING;
}
