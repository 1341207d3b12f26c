/**
 * \file wasm.h
 * \brief The enclos WebAssembly engine: load (decode + validate + compile once), link,
 *        instantiate, call, with fuel, memory/table/call-depth limits and precise traps.
 *
 * Object model (WebAssembly core spec §4.2, "Runtime structure"):
 *  - A **module** is immutable once loaded and may be instantiated many times, from many
 *    threads. It is reference-counted: instances keep their module alive.
 *  - A **store** owns every runtime object created in it (instances, memories, tables,
 *    globals, host functions) and frees them together. A store is used by one thread at a
 *    time; different stores run in parallel. Fuel and limits are per store.
 *  - An **extern** is a handle to a function, table, memory or global in a store: what
 *    instances export and what imports are satisfied with.
 *
 * Errors: ENCLOS_E_MALFORMED / ENCLOS_E_INVALID / ENCLOS_E_LIMIT from loading (the detail
 * names the section, the byte offset and the rule broken); ENCLOS_E_UNLINKABLE from
 * instantiation when an import is missing or has the wrong type; ENCLOS_E_TRAP,
 * ENCLOS_E_FUEL or ENCLOS_E_INTERRUPTED from running code, with enclos_wasm_store_trap()
 * describing the trap.
 */
#ifndef ENCLOS_WASM_H
#define ENCLOS_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_WASM_PAGE_SIZE 65536u

/* ---- Values ------------------------------------------------------------------------- */

/** Value types, numbered as in the binary format (spec §5.3.1-§5.3.3). */
typedef enum enclos_wasm_type {
  ENCLOS_WASM_I32 = 0x7f,
  ENCLOS_WASM_I64 = 0x7e,
  ENCLOS_WASM_F32 = 0x7d,
  ENCLOS_WASM_F64 = 0x7c,
  ENCLOS_WASM_V128 = 0x7b,
  ENCLOS_WASM_FUNCREF = 0x70,
  ENCLOS_WASM_EXTERNREF = 0x6f,
} enclos_wasm_type;

/** A typed value. Floats are carried as raw IEEE-754 bits so NaN payloads are exact. */
typedef struct enclos_wasm_val {
  enclos_wasm_type type;
  union {
    uint32_t i32;
    uint64_t i64;
    uint32_t f32; /* raw bits */
    uint64_t f64; /* raw bits */
    uint8_t v128[16];
    void *ref; /* funcref: engine function handle; externref: host pointer; NULL = null */
  } of;
} enclos_wasm_val;

/** A name from the module (UTF-8, not NUL-terminated; may contain NUL). */
typedef struct enclos_wasm_name {
  const char *data;
  size_t len;
} enclos_wasm_name;

typedef struct enclos_wasm_functype {
  uint32_t nparams;
  uint32_t nresults;
  const enclos_wasm_type *params;
  const enclos_wasm_type *results;
} enclos_wasm_functype;

typedef struct enclos_wasm_limits_desc {
  uint64_t min;
  uint64_t max;
  bool has_max;
} enclos_wasm_limits_desc;

typedef enum enclos_wasm_extern_kind {
  ENCLOS_WASM_EXTERN_FUNC = 0,
  ENCLOS_WASM_EXTERN_TABLE = 1,
  ENCLOS_WASM_EXTERN_MEMORY = 2,
  ENCLOS_WASM_EXTERN_GLOBAL = 3,
} enclos_wasm_extern_kind;

/** The type of an import or export. */
typedef struct enclos_wasm_externtype {
  enclos_wasm_extern_kind kind;
  union {
    enclos_wasm_functype func;
    struct {
      enclos_wasm_type elem;
      enclos_wasm_limits_desc limits;
    } table;
    enclos_wasm_limits_desc memory;
    struct {
      enclos_wasm_type type;
      bool mutable_;
    } global;
  } of;
} enclos_wasm_externtype;

/* ---- Limits ------------------------------------------------------------------------- */

/** Resource limits of a store. Untrusted modules cannot exceed them. */
typedef struct enclos_wasm_limits {
  uint64_t fuel;             /* instruction budget per top-level call; 0 = unmetered */
  uint32_t max_memory_pages; /* cap for every memory (64 KiB pages); default 16384 = 1 GiB */
  uint32_t max_table_elems;  /* cap for every table; default 1,000,000 */
  uint32_t max_call_depth;   /* nested wasm calls before "call stack exhausted"; default 10,000 */
  uint32_t max_stack_bytes;  /* value stack per store; default 8 MiB (reserved twice: the
                                second copy holds the high halves of v128 values and is only
                                touched by vector code) */
  bool guard_pages;          /* reserve 8 GiB + guard for 32-bit memories when possible
                                (bounds checks by the MMU); false forces explicit checks */
} enclos_wasm_limits;

/** Fills \p l with the defaults above. */
void enclos_wasm_limits_default(enclos_wasm_limits *l);

/* ---- Modules ------------------------------------------------------------------------ */

typedef struct enclos_wasm_module enclos_wasm_module;

/**
 * Decodes, validates and compiles a binary module (spec §5 and §3). The bytes are not
 * retained. On failure the detail reads like "code section, offset 0x1a3: type mismatch
 * in i32.add (expected i32, got f64)".
 */
ENCLOS_MUST_USE enclos_err enclos_wasm_module_load(const void *bytes, size_t size,
                                                   enclos_wasm_module **out);
/** Drops the caller's reference. Instances hold their own. */
void enclos_wasm_module_free(enclos_wasm_module *m);

size_t enclos_wasm_module_import_count(const enclos_wasm_module *m);
/** Import \p i: its module name, field name and type (pointers valid while \p m lives). */
ENCLOS_MUST_USE enclos_err enclos_wasm_module_import(const enclos_wasm_module *m, size_t i,
                                                     enclos_wasm_name *module,
                                                     enclos_wasm_name *name,
                                                     enclos_wasm_externtype *type);
size_t enclos_wasm_module_export_count(const enclos_wasm_module *m);
ENCLOS_MUST_USE enclos_err enclos_wasm_module_export(const enclos_wasm_module *m, size_t i,
                                                     enclos_wasm_name *name,
                                                     enclos_wasm_externtype *type);
size_t enclos_wasm_module_custom_count(const enclos_wasm_module *m);
/** Custom section \p i: its name and payload (valid while \p m lives). */
ENCLOS_MUST_USE enclos_err enclos_wasm_module_custom(const enclos_wasm_module *m, size_t i,
                                                     enclos_wasm_name *name,
                                                     const uint8_t **data, size_t *size);

/* ---- Stores and externs ------------------------------------------------------------- */

typedef struct enclos_wasm_store enclos_wasm_store;

/** An extern handle; valid while its store lives. */
typedef struct enclos_wasm_extern {
  enclos_wasm_extern_kind kind;
  void *obj; /* engine object; opaque */
} enclos_wasm_extern;

ENCLOS_MUST_USE enclos_err enclos_wasm_store_new(const enclos_wasm_limits *limits,
                                                 enclos_wasm_store **out);
void enclos_wasm_store_free(enclos_wasm_store *s);

/** Host-created objects (for example the spec test suite's `spectest` module). */
ENCLOS_MUST_USE enclos_err enclos_wasm_memory_new(enclos_wasm_store *s,
                                                  enclos_wasm_limits_desc limits,
                                                  enclos_wasm_extern *out);
ENCLOS_MUST_USE enclos_err enclos_wasm_table_new(enclos_wasm_store *s, enclos_wasm_type elem,
                                                 enclos_wasm_limits_desc limits,
                                                 enclos_wasm_extern *out);
ENCLOS_MUST_USE enclos_err enclos_wasm_global_new(enclos_wasm_store *s, enclos_wasm_val init,
                                                  bool mutable_, enclos_wasm_extern *out);

/** The type of an extern (pointers valid while the store lives). */
ENCLOS_MUST_USE enclos_err enclos_wasm_extern_type(enclos_wasm_extern ext,
                                                   enclos_wasm_externtype *out);
ENCLOS_MUST_USE enclos_err enclos_wasm_global_get(enclos_wasm_extern global, enclos_wasm_val *out);
ENCLOS_MUST_USE enclos_err enclos_wasm_global_set(enclos_wasm_extern global, enclos_wasm_val v);
/** Current base and size in bytes of a memory (the base moves when the memory grows). */
ENCLOS_MUST_USE enclos_err enclos_wasm_memory_data(enclos_wasm_extern memory, uint8_t **data,
                                                   size_t *size);

/* ---- Host functions and imports ----------------------------------------------------- */

/** What a host function sees of its caller. */
typedef struct enclos_wasm_caller enclos_wasm_caller;

/**
 * A host function. \p args has the import's parameter count, \p results its result count
 * (types as declared at registration). Return ENCLOS_OK, or an error to trap the guest
 * (the detail becomes the trap message).
 */
typedef enclos_err (*enclos_wasm_host_fn)(enclos_wasm_caller *caller, void *env,
                                          const enclos_wasm_val *args, enclos_wasm_val *results);

/** The calling instance's memory 0 (NULL/0 if it has none). Re-read after any call that may
 *  grow memory. Host code must bounds-check every guest pointer against \p size. */
void enclos_wasm_caller_memory(enclos_wasm_caller *caller, uint8_t **data, size_t *size);
/** The store the call runs in (for fuel and per-store host state). */
enclos_wasm_store *enclos_wasm_caller_store(enclos_wasm_caller *caller);
/** Ends the whole top-level call with an exit code (WASI proc_exit). Return its result. */
ENCLOS_MUST_USE enclos_err enclos_wasm_caller_exit(enclos_wasm_caller *caller, uint32_t code);

typedef struct enclos_wasm_imports enclos_wasm_imports;

ENCLOS_MUST_USE enclos_err enclos_wasm_imports_new(enclos_wasm_imports **out);
void enclos_wasm_imports_free(enclos_wasm_imports *imp);
/**
 * Registers a host function. \p sig is "params:results" with one letter per value:
 * i=i32 I=i64 f=f32 F=f64 v=v128 r=funcref e=externref; e.g. "iiii:i" or ":" (no values).
 * \p env is passed back to \p fn unchanged.
 */
ENCLOS_MUST_USE enclos_err enclos_wasm_imports_add_func(enclos_wasm_imports *imp,
                                                        const char *module, const char *name,
                                                        const char *sig, enclos_wasm_host_fn fn,
                                                        void *env);
/** Registers an existing extern (for example another instance's export). */
ENCLOS_MUST_USE enclos_err enclos_wasm_imports_add_extern(enclos_wasm_imports *imp,
                                                          const char *module,
                                                          enclos_wasm_name name,
                                                          enclos_wasm_extern ext);

/* ---- Instances and calls ------------------------------------------------------------ */

typedef struct enclos_wasm_instance enclos_wasm_instance;

/**
 * Links \p m against \p imp (may be NULL when the module has no imports), allocates its
 * memories, tables and globals in \p s, initialises segments and runs the start function
 * (spec §4.5.4). The instance is owned by the store.
 */
ENCLOS_MUST_USE enclos_err enclos_wasm_instantiate(enclos_wasm_store *s,
                                                   const enclos_wasm_module *m,
                                                   const enclos_wasm_imports *imp,
                                                   enclos_wasm_instance **out);
/** Finds an export by name: ENCLOS_E_NOT_FOUND if absent. */
ENCLOS_MUST_USE enclos_err enclos_wasm_instance_export(const enclos_wasm_instance *inst,
                                                       enclos_wasm_name name,
                                                       enclos_wasm_extern *out);

/**
 * Calls a function extern. \p args must match its parameter types exactly (count and type),
 * \p results receives its results. Fuel is reset to the store's budget for each top-level
 * call. On ENCLOS_E_TRAP / _FUEL / _INTERRUPTED, enclos_wasm_store_trap() tells more.
 */
ENCLOS_MUST_USE enclos_err enclos_wasm_call(enclos_wasm_store *s, enclos_wasm_extern func,
                                            const enclos_wasm_val *args, size_t nargs,
                                            enclos_wasm_val *results, size_t nresults);

/* ---- Snapshots: fresh instances per call -------------------------------------------- */

/**
 * An immutable copy of an instance's state after initialisation: its own (not imported)
 * memory, globals and tables, and which segments were dropped. Taken once (for example after
 * the start function and a reactor's `_initialize`), it serves any number of instances in any
 * number of stores and threads. Objects the instance imported are not part of it.
 *
 * Memory: above 256 KiB and with guard pages (enclos_wasm_limits.guard_pages) the image lives
 * in a sealed memfd that each instance maps copy-on-write over the start of its reservation. A
 * restore finds the instance's private (written) pages in /proc/self/pagemap and copies the
 * image back into those that differ, keeping them mapped so the next call does not page-fault;
 * its cost depends on the pages the instance wrote, not on the memory size (beyond 1 MiB of
 * private pages, and where pagemap is unavailable, e.g. under Gramine, it drops them with
 * madvise MADV_DONTNEED instead and the next call faults them in again). Up to 256 KiB,
 * without guard pages or without memfd, a restore copies the image into pages that stay
 * mapped (a few microseconds at most, and no page faults).
 */
typedef struct enclos_wasm_snapshot enclos_wasm_snapshot;

/** Captures \p inst's state. ENCLOS_E_UNSUPPORTED when a table holds a non-null externref or
 *  a function of another instance (neither can be re-created in another store). */
ENCLOS_MUST_USE enclos_err enclos_wasm_snapshot_take(const enclos_wasm_instance *inst,
                                                     enclos_wasm_snapshot **out);
/** Frees a snapshot. Instances restored from it must be gone (or never restored again). */
void enclos_wasm_snapshot_free(enclos_wasm_snapshot *snap);
/** Bytes of linear memory in the snapshot. */
size_t enclos_wasm_snapshot_memory_size(const enclos_wasm_snapshot *snap);

/**
 * Links \p m (the snapshot's module) against \p imp in store \p s and creates an instance whose
 * state is the snapshot's. No segment is applied and the start function does not run: they ran
 * before the snapshot was taken.
 */
ENCLOS_MUST_USE enclos_err enclos_wasm_instantiate_snapshot(enclos_wasm_store *s,
                                                            const enclos_wasm_module *m,
                                                            const enclos_wasm_imports *imp,
                                                            const enclos_wasm_snapshot *snap,
                                                            enclos_wasm_instance **out);
/**
 * Returns \p inst (an instance of the snapshot's module) to the snapshot's state: memory
 * contents and size, globals, table sizes and elements, dropped segments. Not while a call
 * runs in the instance's store.
 */
ENCLOS_MUST_USE enclos_err enclos_wasm_snapshot_restore(enclos_wasm_instance *inst,
                                                        const enclos_wasm_snapshot *snap);

/** Trap kinds; messages are the spec test suite's wording. */
#define ENCLOS_WASM_TRAPS(X)                                                        \
  X(NONE, "no trap")                                                                \
  X(UNREACHABLE, "unreachable")                                                     \
  X(MEMORY_OOB, "out of bounds memory access")                                      \
  X(TABLE_OOB, "out of bounds table access")                                        \
  X(UNDEFINED_ELEMENT, "undefined element")                                         \
  X(UNINITIALIZED_ELEMENT, "uninitialized element")                                 \
  X(INDIRECT_TYPE_MISMATCH, "indirect call type mismatch")                          \
  X(DIV_BY_ZERO, "integer divide by zero")                                          \
  X(INT_OVERFLOW, "integer overflow")                                               \
  X(INVALID_CONVERSION, "invalid conversion to integer")                            \
  X(NULL_REFERENCE, "null reference")                                               \
  X(STACK_EXHAUSTED, "call stack exhausted")                                        \
  X(FUEL_EXHAUSTED, "fuel exhausted")                                               \
  X(INTERRUPTED, "interrupted")                                                     \
  X(HOST, "host function failed")                                                   \
  X(EXIT, "exit")

typedef enum enclos_wasm_trap_kind {
#define ENCLOS__WASM_TRAP_ENUM(name, msg) ENCLOS_WASM_TRAP_##name,
  ENCLOS_WASM_TRAPS(ENCLOS__WASM_TRAP_ENUM)
#undef ENCLOS__WASM_TRAP_ENUM
} enclos_wasm_trap_kind;

const char *enclos_wasm_trap_message(enclos_wasm_trap_kind kind);

/** What ended the last call in this store. */
typedef struct enclos_wasm_trap {
  enclos_wasm_trap_kind kind;
  uint32_t exit_code;     /* for ENCLOS_WASM_TRAP_EXIT */
  uint32_t func_index;    /* function where it happened (module function index space) */
  enclos_wasm_name func_name; /* from the name section or an export, if known */
  uint32_t code_offset;   /* byte offset in the module of the trapping instruction */
} enclos_wasm_trap;

void enclos_wasm_store_trap(const enclos_wasm_store *s, enclos_wasm_trap *out);
/** Fuel consumed by the last top-level call. */
uint64_t enclos_wasm_store_fuel_used(const enclos_wasm_store *s);
/** Changes the per-call fuel budget (0 = unmetered). */
void enclos_wasm_store_set_fuel(enclos_wasm_store *s, uint64_t fuel);
/** Asks the running call to stop with ENCLOS_E_INTERRUPTED at its next fuel check or loop
 *  back-edge. Safe to call from any thread (a deadline timer, for example). */
void enclos_wasm_store_interrupt(enclos_wasm_store *s);

#ifdef __cplusplus
}
#endif
#endif
