/* wasm_int.h: internals shared by the files of the wasm engine.
 *
 * Divisions:
 *   1. Sanity limits for every count read from a binary (WASM_MAX_*).
 *   2. The decoded module (types, imports, functions, tables, memories, globals, exports,
 *      segments, compiled code).
 *   3. The internal code: opcodes of the compiled instruction stream (see compile.c).
 *   4. Runtime objects owned by a store (functions, tables, memories, globals, instances).
 *   5. Cross-file functions (wasm__*).
 *   6. Float semantics shared by the scalar loop (interp.c) and the vector lanes (simd.c).
 *
 * Files: decode.c (sections, §5.5), compile.c (validation §3 + compilation of bodies),
 * interp.c (the dispatch loop), memory.c (linear memory, snapshot images), runtime.c (store,
 * externs, imports, instantiation §4.5.4, calls), snapshot.c (snapshots and restores).
 */
#ifndef ENCLOS_WASM_INT_H
#define ENCLOS_WASM_INT_H

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/error.h>
#include <enclos/reader.h>
#include <enclos/wasm.h>

/* ---- 1. Limits ------------------------------------------------------------------------ */
#define WASM_MAX_TYPES 100000u
#define WASM_MAX_TYPE_VALUES 1000u   /* params or results of one function type */
#define WASM_MAX_IMPORTS 100000u
#define WASM_MAX_FUNCS 1000000u
#define WASM_MAX_TABLES 100000u
#define WASM_MAX_MEMORIES 1u         /* Wasm 2.0: at most one memory */
#define WASM_MAX_GLOBALS 1000000u
#define WASM_MAX_EXPORTS 100000u
#define WASM_MAX_ELEM_SEGMENTS 100000u
#define WASM_MAX_ELEM_ITEMS 10000000u
#define WASM_MAX_DATA_SEGMENTS 100000u
#define WASM_MAX_LOCALS 50000u        /* per function, params included */
#define WASM_MAX_BLOCK_DEPTH 10000u   /* nested control frames while validating */
#define WASM_MAX_BR_TABLE 1000000u    /* br_table targets */
#define WASM_MAX_FUNC_SIZE (16u << 20) /* bytes of one function body */
#define WASM_MAX_CUSTOM 10000u
#define WASM_MAX_NAME 100000u         /* bytes of one name */
#define WASM_MAX_PAGES 65536u         /* 32-bit memories: 4 GiB */
#define WASM_MAX_TABLE_SIZE 0xffffffffu
#define WASM_MAX_STACK_SLOTS 100000u  /* operand stack height of one function */
/* Address space reserved per guarded memory: every effective address (i32 + u32 offset,
 * < 2^33) plus the widest scalar access stays inside, with a 64 KiB guard to spare. */
#define WASM_GUARD_RESERVE ((8ull << 30) + 65536u)
#define WASM_MAX_FUNC_NAMES 1000000u  /* entries of the name section's function name map */

/* ---- 2. The decoded module ----------------------------------------------------------- */

/** A constant expression (Wasm 2.0: exactly one instruction, then `end`). */
typedef struct wconst {
  uint8_t op; /* 0x41 i32.const, 0x42, 0x43, 0x44, 0x23 global.get, 0xd0 ref.null, 0xd2 ref.func,
                 0xfd v128.const */
  uint64_t val; /* value bits (v128: bytes 0-7), or the global/function index */
  uint64_t hi;  /* v128.const: bytes 8-15 */
} wconst;

typedef struct wimport {
  enclos_wasm_name module, name;
  enclos_wasm_extern_kind kind;
  uint32_t index; /* function: type index; others: index in their space */
} wimport;

typedef struct wtable_t {
  enclos_wasm_type elem;
  enclos_wasm_limits_desc lim;
} wtable_t;

typedef struct wglobal_t {
  enclos_wasm_type type;
  bool mut;
  wconst init; /* for defined globals */
} wglobal_t;

typedef struct wexport {
  enclos_wasm_name name;
  enclos_wasm_extern_kind kind;
  uint32_t index;
} wexport;

enum { WSEG_ACTIVE, WSEG_PASSIVE, WSEG_DECLARATIVE };

typedef struct welem {
  uint8_t mode;
  uint32_t table;
  wconst offset;
  enclos_wasm_type type;
  uint32_t count;
  wconst *items;
} welem;

typedef struct wdata {
  uint8_t mode;
  wconst offset;
  const uint8_t *bytes;
  uint32_t size;
} wdata;

/** Where the internal code of an instruction starts and its byte offset in the module. */
typedef struct wpcmap {
  uint32_t pc;  /* code index */
  uint32_t off; /* byte offset of the wasm instruction it was compiled from */
} wpcmap;

/** A compiled function body. */
typedef struct wcode {
  uint32_t *code;
  size_t len;          /* words */
  uint32_t nparams, nresults;
  uint32_t nlocals;    /* params included; each local is one 64-bit slot */
  uint32_t frame_slots; /* locals + the deepest operand stack */
  uint32_t body_offset; /* byte offset of the body in the module */
  wpcmap *map;          /* ascending pc; consulted only when a trap needs its offset */
  uint32_t nmap;
} wcode;

/** One entry of the name section's function name map (§7.4.3.2 of the appendix). */
typedef struct wfname {
  uint32_t index;
  enclos_wasm_name name;
} wfname;

typedef struct wcustom {
  enclos_wasm_name name;
  const uint8_t *data;
  size_t size;
} wcustom;

struct enclos_wasm_module {
  atomic_uint refs;
  uint8_t *bytes; /* our copy of the binary: names and data point into it */
  size_t size;
  uint32_t ntypes;
  enclos_wasm_functype *types;
  uint32_t nimports;
  wimport *imports;
  uint32_t nfuncs, nfunc_imports;
  uint32_t *func_types; /* type index of every function */
  uint32_t ntables, ntable_imports;
  wtable_t *tables;
  uint32_t nmems, nmem_imports;
  enclos_wasm_limits_desc *mems;
  uint32_t nglobals, nglobal_imports;
  wglobal_t *globals;
  uint32_t nexports;
  wexport *exports;
  bool has_start;
  uint32_t start;
  uint32_t nelems;
  welem *elems;
  bool has_data_count;
  uint32_t data_count;
  bool needs_data_count; /* a body used a data index without a data count section */
  uint32_t ndatas;
  wdata *datas;
  wcode *codes;     /* one per defined function */
  uint8_t *declared; /* per function: may be named by ref.func in bodies (§3.4.10, C.refs) */
  uint32_t ncustoms;
  wcustom *customs;
  wfname *fnames; /* from the "name" custom section, ascending index; NULL if none/malformed */
  uint32_t nfnames;
};

/* ---- 3. Internal code ------------------------------------------------------------------
 * A function compiles to an array of 32-bit words. Each instruction is an opcode word
 * followed by operands; operands are frame-slot indexes (fp-relative, one 64-bit slot per
 * value), immediates or branch targets (relative to the operand's own index). Numeric and
 * memory-access opcodes keep their binary opcode number (0x28..0xc4), saturating truncations
 * are 0x100+n, everything else is numbered below. */
#define WOP_SAT_BASE 0x100u
#define WOPS(X)                                                                              \
  X(UNREACHABLE) X(BR) X(BR_IF) X(BR_UNLESS) X(BR_TABLE) X(COPY) X(RETURN) X(CALL)          \
  X(CALL_INDIRECT) X(SELECT) X(GLOBAL_GET) X(GLOBAL_SET) X(CONST32) X(CONST64) X(FUEL)     \
  X(MEMORY_SIZE) X(MEMORY_GROW) X(MEMORY_INIT) X(DATA_DROP) X(MEMORY_COPY) X(MEMORY_FILL)   \
  X(TABLE_GET) X(TABLE_SET) X(TABLE_SIZE) X(TABLE_GROW) X(TABLE_FILL) X(TABLE_COPY)         \
  X(TABLE_INIT) X(ELEM_DROP) X(REF_IS_NULL) X(REF_FUNC) X(I32_ADD_IMM) X(I32_SUB_IMM)       \
  X(I32_AND_IMM) X(I32_SHL_IMM) X(I32_SHR_U_IMM) X(I32_LT_S_BR) X(I32_LT_U_BR)              \
  X(I32_EQZ_BR) X(I32_NE_BR) X(I32_EQ_BR) X(I32_GE_S_BR) X(I32_GT_S_BR) X(I32_LE_S_BR)     \
  X(I32_GE_U_BR) X(I32_GT_U_BR) X(I32_LE_U_BR) X(I32_NEZ_BR) X(I32_EQ_IMM) X(I32_NE_IMM)    \
  X(I32_LT_S_IMM) X(I32_LT_U_IMM) X(I32_GT_S_IMM) X(I32_GT_U_IMM) X(I64_ADD_IMM)            \
  X(I32_XOR_IMM) X(I32_OR_IMM) X(I32_MUL_IMM) X(I32_SHR_S_IMM) X(I32_ROTL_IMM)              \
  X(I32_ROTR_IMM) X(I32_GE_U_IMM) X(I32_LE_U_IMM) X(I32_GE_S_IMM) X(I32_LE_S_IMM)         \
  X(I32_EQ_IMM_BR) X(I32_NE_IMM_BR) X(I32_LT_S_IMM_BR) X(I32_LT_U_IMM_BR) X(I32_GT_S_IMM_BR) \
  X(I32_GT_U_IMM_BR) X(I32_LE_S_IMM_BR) X(I32_LE_U_IMM_BR) X(I32_GE_S_IMM_BR)               \
  X(I32_GE_U_IMM_BR) X(COPY2)

enum {
  WOP_FIRST_INTERNAL = 0x110,
#define WOP_ENUM(n) WOP_##n,
  WOPS(WOP_ENUM)
#undef WOP_ENUM
  WOP_COUNT
};

/* SIMD (simd.c, simd_compile.inc): every vector instruction compiles to one WOP_SIMD op,
 * [WOP_SIMD, length in words, sub-opcode, operands...], executed by wasm__simd_exec. One
 * dispatch label keeps the scalar interpreter loop unchanged. Sub-opcodes 0x00-0xff are the
 * binary format's; these internal ones move v128 values: */
#define WOP_SIMD ((uint32_t)WOP_COUNT)
#define WOP_DISPATCH_SIZE (WOP_COUNT + 1) /* entries of the interpreter's dispatch table */
enum {
  WSIMD_COPY = 0x100,  /* dst, src */
  WSIMD_SELECT,        /* dst, a, b, cond: cond ? a : b */
  WSIMD_GLOBAL_GET,    /* dst, global */
  WSIMD_GLOBAL_SET,    /* src, global */
  WSIMD_ZERO,          /* first slot, count: zero both halves (v128 locals at entry) */
};

/** A v128 value: lane views of the same 16 bytes, lane 0 first (the host is little-endian). */
typedef union wv128 {
  uint8_t u8[16];
  int8_t i8[16];
  uint16_t u16[8];
  int16_t i16[8];
  uint32_t u32[4];
  int32_t i32[4];
  uint64_t u64[2];
  int64_t i64[2];
  float f32[4];
  double f64[2];
} wv128;

/* ---- 4. Runtime objects ------------------------------------------------------------- */

typedef struct winst winst;

typedef struct wfunc {
  uint32_t type_id; /* store-wide id of its function type: equal ids = equal types */
  const enclos_wasm_functype *type;
  winst *inst;       /* NULL for host functions */
  const wcode *code; /* wasm functions */
  uint32_t index;    /* index in its module */
  enclos_wasm_host_fn host;
  void *env;
} wfunc;

typedef struct wtable {
  enclos_wasm_type elem;
  uint32_t size, max; /* max already capped by the store limit */
  enclos_wasm_limits_desc decl;
  void **elems;
} wtable;

typedef struct wmem {
  uint8_t *base;
  uint64_t size; /* bytes */
  uint32_t pages, max; /* max capped by the store limit */
  enclos_wasm_limits_desc decl;
  size_t reserved; /* bytes reserved by mmap (guard-page mode), 0 if malloc'd */
  uint64_t cow_id;  /* id of the snapshot image mapped copy-on-write at base, 0 if none */
} wmem;

typedef struct wglobal {
  enclos_wasm_type type;
  bool mut;
  uint64_t val; /* v128: bytes 0-7 */
  uint64_t hi;  /* v128: bytes 8-15 */
} wglobal;

struct winst {
  enclos_wasm_module *module;
  enclos_wasm_store *store;
  wfunc **funcs;
  wtable **tables;
  wmem **mems;
  wglobal **globals;
  uint32_t *type_ids;
  uint8_t *elem_dropped;
  uint8_t *data_dropped;
};

typedef struct wobj {
  struct wobj *next;
  enclos_wasm_extern_kind kind; /* or 4 = instance, 5 = owned type */
  void *p;
} wobj;

typedef struct wframe {
  const uint32_t *ip;
  uint64_t *fp;
  wfunc *func;
} wframe;

struct enclos_wasm_store {
  enclos_wasm_limits lim;
  wobj *objs;
  enclos_wasm_functype **types; /* interned function types, index = type id */
  uint32_t ntypes, captypes;
  uint64_t *stack;     /* 2 * stack_slots: the slots, then the high halves of v128 slots */
  size_t stack_slots;
  wframe *frames;
  int64_t fuel;         /* remaining in the running call */
  uint64_t fuel_budget; /* per top-level call, 0 = unmetered */
  uint64_t fuel_used;
  atomic_bool interrupt;
  size_t stack_used;   /* slots in use by calls in progress (host re-entry) */
  uint32_t frames_used;
  int depth; /* nested enclos_wasm_call from host functions */
  enclos_wasm_trap trap;
  char trap_msg[256];
};

struct enclos_wasm_caller {
  enclos_wasm_store *store;
  winst *inst;
  bool exit;
  uint32_t exit_code;
};

/* ---- 5. Cross-file functions ------------------------------------------------------------ */

/** Formats "<section> section, offset 0x..: <msg>" as the error detail. */
enclos_err wasm__fail(enclos_err code, const char *section, size_t offset, const char *fmt, ...)
    ENCLOS_PRINTF(4, 5);
/** Validates and compiles defined function \p fi from \p body (spec §3.3, §3.4). */
ENCLOS_MUST_USE enclos_err wasm__compile(enclos_wasm_module *m, uint32_t fi,
                                         enclos_reader *body, uint32_t body_offset);
void wasm__code_free(wcode *c);
const char *wasm__type_name(uint8_t t);

/** Runs \p f with arguments in \p args (slots) leaving results there. */
ENCLOS_MUST_USE enclos_err wasm__invoke(enclos_wasm_store *s, wfunc *f, uint64_t *args);
/** Memory */
ENCLOS_MUST_USE enclos_err wasm__mem_new(enclos_wasm_store *s, enclos_wasm_limits_desc lim,
                                         wmem **out);
void wasm__mem_free(wmem *m);
/** Grows by \p delta pages; returns the old size in pages or -1 (spec §4.4.7.8). */
int64_t wasm__mem_grow(wmem *m, uint32_t delta);
int64_t wasm__table_grow(wtable *t, uint32_t delta, void *init);
/** Memories up to this size are snapshotted as a heap copy and restored by memcpy (no page
 *  faults); larger ones as a memfd mapped copy-on-write (memory.c, "Snapshot images"). */
#define WASM_SNAPSHOT_COPY_MAX (256u << 10)
/** A memory image of a snapshot (memory.c): a sealed memfd, or a heap copy without memfd. */
typedef struct wmem_image {
  uint64_t id;   /* unique per image (never reused), for wmem.cow_id */
  int fd;        /* memfd holding the image, -1 if none */
  uint8_t *copy; /* heap copy when fd < 0 */
  const uint8_t *view; /* the memfd mapped read-only and shared (the reference for the
                          pagemap restore), NULL if the mapping failed */
  uint64_t size; /* bytes */
  uint32_t pages;
} wmem_image;
ENCLOS_MUST_USE enclos_err wasm__mem_image_take(const wmem *m, wmem_image *img);
void wasm__mem_image_free(wmem_image *img);
/** Makes \p m hold exactly the image: contents, size and page count. */
ENCLOS_MUST_USE enclos_err wasm__mem_image_restore(wmem *m, const wmem_image *img);
/** Restores of copy-on-write images (memory.c, "Snapshot images"): WASM_RESTORE_AUTO uses
 *  /proc/self/pagemap when it passed its self-test, WASM_RESTORE_DROP always drops the private
 *  pages (the path taken without pagemap). Process-wide; for tests and benchmarks. */
typedef enum { WASM_RESTORE_AUTO, WASM_RESTORE_DROP } wasm_restore_mode;
void wasm__mem_restore_mode(wasm_restore_mode mode);
/** True when restores of copy-on-write images use /proc/self/pagemap (self-test passed). */
bool wasm__mem_pagemap_ok(void);
/** Instantiation steps 1-13 (§4.5.4): links \p m against \p imp and allocates the instance's
 *  functions, tables, memories and globals (globals initialised); no segments, no start. */
ENCLOS_MUST_USE enclos_err wasm__instance_alloc(enclos_wasm_store *s, enclos_wasm_module *m,
                                               const enclos_wasm_imports *imp, winst **out);
/** Interns a function type in the store, returning its id. */
ENCLOS_MUST_USE enclos_err wasm__type_id(enclos_wasm_store *s, const enclos_wasm_functype *t,
                                         uint32_t *out);
bool wasm__functype_eq(const enclos_wasm_functype *a, const enclos_wasm_functype *b);
/** Executes one WOP_SIMD instruction at \p ip in the frame \p fp (v128 high halves at
 *  fp + \p hd); returns the trap kind, ENCLOS_WASM_TRAP_NONE if it completed. */
uint32_t wasm__simd_exec(const uint32_t *ip, uint64_t *fp, size_t hd, winst *inst, uint8_t *mb,
                         uint64_t ms);
/** Records a trap in the store and returns the matching error. */
enclos_err wasm__trap(enclos_wasm_store *s, enclos_wasm_trap_kind kind, wfunc *f,
                      const char *detail);
/** The same, at code index \p pc of \p f (UINT32_MAX: unknown, the function's start). */
enclos_err wasm__trap_at(enclos_wasm_store *s, enclos_wasm_trap_kind kind, wfunc *f, uint32_t pc,
                         const char *detail);
/** Byte offset in the module of the instruction compiled at code index \p pc. */
uint32_t wasm__code_offset(const wcode *c, uint32_t pc);
/** The name section's name of function \p index, or an empty name. */
enclos_wasm_name wasm__func_name(const enclos_wasm_module *m, uint32_t index);

/* ---- 6. Float semantics (§4.3.3), one definition for scalars and vector lanes ------------ */

/* fmin/fmax: NaN in -> NaN out; -0 < +0. */
static inline float wasm__f32_min(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float wasm__f32_max(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double wasm__f64_min(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double wasm__f64_max(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? b : a;
  return a > b ? a : b;
}

/* trunc_sat to 32 bits (NaN -> 0, out of range -> the nearest bound). */
static inline int32_t wasm__sat_s32(double d) {
  if (d != d) return 0;
  if (d <= -2147483648.0) return INT32_MIN;
  if (d >= 2147483647.0) return INT32_MAX;
  return (int32_t)d;
}
static inline uint32_t wasm__sat_u32(double d) {
  if (d != d || d <= -1.0) return 0;
  if (d >= 4294967295.0) return UINT32_MAX;
  return (uint32_t)d;
}

#endif
