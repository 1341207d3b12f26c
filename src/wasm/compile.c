/* compile.c: validates one function body (spec §3.3 instructions, algorithm of the spec's
 * appendix "Validation Algorithm") and compiles it in the same pass into internal code.
 *
 * Internal code (see wasm_int.h §3): every wasm operand-stack position has a fixed frame slot
 * (nlocals + height), known at compile time, so instructions name their operands by slot
 * and no value stack pointer exists at run time. Two tricks avoid most copies:
 *   - the compile-time stack entry of a `local.get` or `*.const` is *pending*: it refers to
 *     the local's slot or carries the constant, and is only materialised (copied to its own
 *     slot) when something needs it there (a branch, a call, a write to that local, a block);
 *   - an instruction whose result is immediately stored by `local.set`/`local.tee` has its
 *     destination operand patched to the local instead.
 * Branch targets are code offsets relative to the operand holding them (forward ones patched
 * at `end`); branch values are copied to the label's slots at the branch site. Fusions:
 * compare (slot or immediate) + br_if/if, two consecutive copies (COPY2, never across a
 * label: `barrier`), a function's last result written to its return slot, and zero stores
 * to still-zero locals dropped (`lzero`, until the first loop header).
 * Fuel: a FUEL op at function entry (run inline by calls, interp_loop.inc ENTER) and at each
 * loop header charges the number of wasm instructions up to the next FUEL op.
 *
 * Divisions: 1. compiler state and emission; 2. operand stack (validation + pending
 * entries); 3. control frames and branches; 4. the instruction switch; 5. entry point.
 */
#include <string.h>

#include <enclos/mem.h>

#include "wasm_int.h"

/* ---- 1. State and emission -------------------------------------------------------------- */

enum { VK_SLOT, VK_CONST };
typedef struct vent {
  uint8_t type; /* 0 = unknown (polymorphic stack) */
  uint8_t kind;
  uint32_t slot; /* where the value is (VK_SLOT) */
  uint64_t imm;  /* VK_CONST */
} vent;

enum { CK_BLOCK, CK_LOOP, CK_IF, CK_ELSE, CK_FUNC };
typedef struct ctl {
  uint8_t kind;
  bool unreachable;
  uint32_t height;
  uint32_t nparams, nresults;
  const enclos_wasm_type *params, *results;
  uint32_t loop_ip;
  uint32_t patches;    /* linked list through the code of forward branch operands */
  uint32_t else_patch; /* CK_IF: the branch to the else arm */
} ctl;

#define NO_PATCH UINT32_MAX

typedef struct comp {
  enclos_reader r;
  enclos_wasm_module *m;
  uint32_t *code;
  size_t len, cap;
  vent *vs;
  uint32_t nvs, capvs;
  ctl *cs;
  uint32_t ncs, capcs;
  uint32_t nlocals;
  enclos_wasm_type *ltypes;
  uint32_t max_height;
  size_t fuel_pos;
  size_t last_dst; /* code index of the dst operand of the last value-producing op, 0 = none */
  size_t last_start;
  size_t barrier;   /* code index of the most recently bound label: no op merges across it */
  uint8_t *lzero;   /* per local: still holds its entry value 0 (see set_local) */
  bool lzero_on;    /* lzero is meaningful (until the first loop header) */
  size_t instr_off; /* byte offset of the instruction being compiled */
  wpcmap *map;      /* code index -> instr_off, for trap offsets */
  uint32_t nmap, capmap;
  enclos_err oom;
  enclos_wasm_type single[8]; /* storage for one-value block types */
} comp;

#define CFAIL(c, code, ...) return wasm__fail((code), "code", (c)->instr_off, __VA_ARGS__)
#define CENSURE(c, cond, code, ...) \
  do {                              \
    if (!(cond)) CFAIL(c, code, __VA_ARGS__); \
  } while (0)

static bool live(const comp *c) { return !c->cs[c->ncs - 1].unreachable; }

static void put(comp *c, uint32_t w) {
  if (c->len == c->cap) {
    size_t ncap = c->cap ? c->cap * 2 : 256;
    uint32_t *n = enclos_realloc(c->code, ncap * sizeof(*n));
    if (!n) {
      c->oom = ENCLOS_E_NOMEM;
      c->len = 0; /* keep writing into the old buffer harmlessly */
      return;
    }
    c->code = n;
    c->cap = ncap;
  }
  c->code[c->len++] = w;
}

/* Notes that the code from here on comes from the instruction at c->instr_off (entries past
 * the end are from code that was taken back, as when a compare fuses with its branch). */
static void map_note(comp *c) {
  while (c->nmap && c->map[c->nmap - 1].pc >= c->len) c->nmap--;
  if (c->nmap && c->map[c->nmap - 1].off == c->instr_off) return;
  if (c->nmap == c->capmap) {
    uint32_t ncap = c->capmap ? c->capmap * 2 : 64;
    wpcmap *n = enclos_realloc(c->map, ncap * sizeof(*n));
    if (!n) {
      c->oom = ENCLOS_E_NOMEM;
      return;
    }
    c->map = n;
    c->capmap = ncap;
  }
  c->map[c->nmap].pc = (uint32_t)c->len;
  c->map[c->nmap].off = (uint32_t)c->instr_off;
  c->nmap++;
}

/* Starts an instruction: returns false in unreachable code, where nothing is emitted. */
static bool op(comp *c, uint32_t o) {
  c->last_dst = 0;
  if (!live(c)) return false;
  c->last_start = c->len;
  map_note(c);
  put(c, o);
  return true;
}

/* Puts the result slot of a value-producing op, remembered in last_dst so that a following
 * local.set/tee can retarget it to the local. */
static void put_dst(comp *c, uint32_t dst) {
  put(c, dst);
  c->last_dst = c->len - 1;
}

static void put64(comp *c, uint64_t v) {
  put(c, (uint32_t)v);
  put(c, (uint32_t)(v >> 32));
}

/* ---- 2. Operand stack ------------------------------------------------------------------- */

static uint32_t canon(const comp *c, uint32_t pos) { return c->nlocals + pos; }

static enclos_err push(comp *c, uint8_t type) {
  CENSURE(c, c->nvs < WASM_MAX_STACK_SLOTS, ENCLOS_E_LIMIT, "operand stack too deep");
  if (c->nvs == c->capvs) {
    uint32_t ncap = c->capvs ? c->capvs * 2 : 64;
    vent *n = enclos_realloc(c->vs, ncap * sizeof(*n));
    ENCLOS_ENSURE(n, ENCLOS_E_NOMEM);
    c->vs = n;
    c->capvs = ncap;
  }
  vent *e = &c->vs[c->nvs];
  e->type = type;
  e->kind = VK_SLOT;
  e->slot = canon(c, c->nvs);
  e->imm = 0;
  c->nvs++;
  if (c->nvs > c->max_height) c->max_height = c->nvs;
  return ENCLOS_OK;
}

/* Pushes a value computed by an op into its canonical slot; returns that slot. */
static enclos_err push_result(comp *c, uint8_t type, uint32_t *slot) {
  ENCLOS_TRY(push(c, type));
  *slot = c->vs[c->nvs - 1].slot;
  return ENCLOS_OK;
}

static bool is_num(uint8_t t) { return t == 0x7f || t == 0x7e || t == 0x7d || t == 0x7c; }
static bool is_ref(uint8_t t) { return t == 0x70 || t == 0x6f; }

/* Pops one value of type \p want (0 = any); \p out gets the entry. */
static enclos_err pop(comp *c, uint8_t want, vent *out) {
  ctl *f = &c->cs[c->ncs - 1];
  if (c->nvs == f->height) {
    CENSURE(c, f->unreachable, ENCLOS_E_INVALID, "type mismatch (expected %s, stack is empty)",
            want ? wasm__type_name(want) : "a value");
    out->type = 0;
    out->kind = VK_SLOT;
    out->slot = canon(c, c->nvs);
    out->imm = 0;
    return ENCLOS_OK;
  }
  *out = c->vs[--c->nvs];
  CENSURE(c, !want || !out->type || out->type == want, ENCLOS_E_INVALID,
          "type mismatch (expected %s, got %s)", wasm__type_name(want),
          wasm__type_name(out->type));
  return ENCLOS_OK;
}

/* Emits code that puts entry \p e (at stack position pos) into slot \p dst. */
static void move_to(comp *c, const vent *e, uint32_t dst) {
  if (e->type == 0x7b) { /* v128: both halves (simd.c); never a pending constant */
    if (e->slot != dst && op(c, WOP_SIMD)) {
      put(c, 5);
      put(c, WSIMD_COPY);
      put(c, dst);
      put(c, e->slot);
    }
    return;
  }
  if (e->kind == VK_CONST) {
    if (e->type == 0x7f || e->type == 0x7d || e->imm <= UINT32_MAX) {
      if (op(c, WOP_CONST32)) {
        put(c, dst);
        put(c, (uint32_t)e->imm);
        if (e->type == 0x7e && e->imm > UINT32_MAX) { /* not reached */ }
      }
    } else if (op(c, WOP_CONST64)) {
      put(c, dst);
      put64(c, e->imm);
    }
  } else if (e->slot != dst) {
    if (live(c) && !c->oom && c->last_start + 3 == c->len && c->barrier != c->len &&
        c->code[c->last_start] == WOP_COPY) {
      /* Two copies in a row (a rotation of locals, block results) share one dispatch. */
      c->code[c->last_start] = WOP_COPY2;
      put(c, dst);
      put(c, e->slot);
      c->last_dst = 0;
    } else if (op(c, WOP_COPY)) {
      put(c, dst);
      put(c, e->slot);
    }
  }
}

/* Puts stack entry \p i into its own slot. */
static void materialize(comp *c, uint32_t i) {
  vent *e = &c->vs[i];
  uint32_t s = canon(c, i);
  if (e->kind == VK_CONST || e->slot != s) {
    move_to(c, e, s);
    e->kind = VK_SLOT;
    e->slot = s;
  }
}

static void materialize_top(comp *c, uint32_t n) {
  for (uint32_t i = c->nvs - n; i < c->nvs; i++) materialize(c, i);
}
static void materialize_all(comp *c) { materialize_top(c, c->nvs); }

/* The slot of a popped entry, materialising constants into the entry's canonical slot
 * (the popped position is free, so this is safe). */
static uint32_t use(comp *c, vent *e, uint32_t pos) {
  if (e->kind == VK_CONST) {
    move_to(c, e, canon(c, pos));
    e->kind = VK_SLOT;
    e->slot = canon(c, pos);
  }
  return e->slot;
}

/* ---- 3. Control ----------------------------------------------------------------------- */

static enclos_err read_blocktype(comp *c, uint32_t *np, uint32_t *nr,
                                 const enclos_wasm_type **p, const enclos_wasm_type **r) {
  int64_t bt;
  enclos_err rc = enclos_rd_sleb(&c->r, 33, &bt);
  if (rc == ENCLOS_E_TRUNCATED) CFAIL(c, ENCLOS_E_MALFORMED, "unexpected end");
  if (rc) CFAIL(c, ENCLOS_E_MALFORMED, "%s", enclos_err_detail());
  *np = 0;
  *p = NULL;
  if (bt == -64) { /* 0x40: [] -> [] */
    *nr = 0;
    *r = NULL;
  } else if (bt < 0) {
    uint8_t t = (uint8_t)(bt & 0x7f);
    CENSURE(c, is_num(t) || t == 0x7b || is_ref(t), ENCLOS_E_MALFORMED,
            "malformed value type 0x%02x", t);
    /* A one-value result type: keep it in a small per-depth pool. */
    uint32_t k = c->ncs % 8;
    c->single[k] = (enclos_wasm_type)t;
    *nr = 1;
    *r = &c->single[k];
  } else {
    CENSURE(c, (uint64_t)bt < c->m->ntypes, ENCLOS_E_INVALID, "unknown type %lld", (long long)bt);
    const enclos_wasm_functype *ft = &c->m->types[bt];
    *np = ft->nparams;
    *nr = ft->nresults;
    *p = ft->params;
    *r = ft->results;
  }
  return ENCLOS_OK;
}

static enclos_err push_ctl(comp *c, uint8_t kind, uint32_t np, uint32_t nr,
                           const enclos_wasm_type *p, const enclos_wasm_type *r) {
  CENSURE(c, c->ncs < WASM_MAX_BLOCK_DEPTH, ENCLOS_E_LIMIT, "blocks nested too deeply");
  if (c->ncs == c->capcs) {
    uint32_t ncap = c->capcs ? c->capcs * 2 : 16;
    ctl *n = enclos_realloc(c->cs, ncap * sizeof(*n));
    ENCLOS_ENSURE(n, ENCLOS_E_NOMEM);
    c->cs = n;
    c->capcs = ncap;
  }
  bool unreach = c->ncs ? c->cs[c->ncs - 1].unreachable : false;
  ctl *f = &c->cs[c->ncs++];
  memset(f, 0, sizeof(*f));
  f->kind = kind;
  f->unreachable = unreach && kind != CK_FUNC ? false : false;
  f->height = c->nvs - np;
  f->nparams = np;
  f->nresults = nr;
  f->params = p;
  f->results = r;
  f->patches = NO_PATCH;
  f->else_patch = NO_PATCH;
  (void)unreach;
  return ENCLOS_OK;
}

/* A block's single-value result pool entry may be reused by a deeper block at the same
 * depth modulo 8 only after this one ended, so this is safe. */

static void set_unreachable(comp *c) {
  ctl *f = &c->cs[c->ncs - 1];
  c->nvs = f->height;
  f->unreachable = true;
}

/* Slot of the first value of label \p f. */
static uint32_t label_base(const comp *c, const ctl *f) {
  return f->kind == CK_FUNC ? 0 : canon(c, f->height);
}
static uint32_t label_arity(const ctl *f) { return f->kind == CK_LOOP ? f->nparams : f->nresults; }
static const enclos_wasm_type *label_types(const ctl *f) {
  return f->kind == CK_LOOP ? f->params : f->results;
}

/* A branch operand at code index \p at holds its target relative to \p at, so that the
 * interpreter jumps with one add (no load of the function's code base). */
static uint32_t rel(size_t at, size_t target) { return (uint32_t)((int64_t)target - (int64_t)at); }

/* Emits a branch operand to label \p f (patched later if forward). */
static void put_target(comp *c, ctl *f) {
  if (f->kind == CK_LOOP) {
    put(c, rel(c->len, f->loop_ip));
  } else {
    uint32_t at = (uint32_t)c->len;
    put(c, f->patches);
    f->patches = at;
  }
}

static void patch_list(comp *c, uint32_t head, uint32_t target) {
  while (head != NO_PATCH && !c->oom) {
    uint32_t next = c->code[head];
    c->code[head] = rel(head, target);
    head = next;
  }
  c->barrier = target;
}

/* Checks the top of the stack against a label's types without popping. */
static enclos_err check_label_values(comp *c, const ctl *f) {
  uint32_t n = label_arity(f);
  const enclos_wasm_type *t = label_types(f);
  const ctl *top = &c->cs[c->ncs - 1];
  for (uint32_t k = 0; k < n; k++) {
    uint32_t depth = n - 1 - k; /* from the top */
    if (c->nvs - top->height <= depth) {
      CENSURE(c, top->unreachable, ENCLOS_E_INVALID, "type mismatch (branch needs %u values)", n);
      continue;
    }
    uint8_t have = c->vs[c->nvs - 1 - depth].type;
    CENSURE(c, !have || have == (uint8_t)t[k], ENCLOS_E_INVALID,
            "type mismatch (branch value %u is %s, label expects %s)", k, wasm__type_name(have),
            wasm__type_name((uint8_t)t[k]));
  }
  return ENCLOS_OK;
}

/* True when the branch values already sit in the label's slots. */
static bool branch_in_place(const comp *c, const ctl *f) {
  uint32_t n = label_arity(f);
  if (n == 0) return true;
  if (c->nvs < n) return false;
  uint32_t base = label_base(c, f);
  for (uint32_t k = 0; k < n; k++) {
    const vent *e = &c->vs[c->nvs - n + k];
    if (e->kind != VK_SLOT || e->slot != base + k) return false;
  }
  return true;
}

/* Emits the copies of the branch values to the label slots (ascending: dst <= src). */
static void branch_copies(comp *c, const ctl *f) {
  uint32_t n = label_arity(f);
  if (n == 0 || !live(c) || c->nvs < n) return;
  uint32_t base = label_base(c, f);
  if (base < c->nlocals) {
    /* Return of one value computed by the op just emitted: that op writes the result slot
     * directly (nothing runs between it and the return, so clobbering local 0 is fine). */
    const vent *top = &c->vs[c->nvs - 1];
    if (n == 1 && top->kind == VK_SLOT && top->type != 0x7b && c->last_dst && !c->oom &&
        top->slot == canon(c, c->nvs - 1) && c->code[c->last_dst] == top->slot) {
      c->code[c->last_dst] = base;
      c->last_dst = 0;
      return;
    }
    /* Return: destinations overlap locals; put everything in its own slot first. Work on a
     * copy of the entries so the fall-through state is unchanged. */
    for (uint32_t k = 0; k < n; k++) {
      vent e = c->vs[c->nvs - n + k];
      uint32_t s = canon(c, c->nvs - n + k);
      if (e.kind == VK_CONST || e.slot != s) move_to(c, &e, s);
    }
    for (uint32_t k = 0; k < n; k++) {
      vent e = {.type = c->vs[c->nvs - n + k].type, .kind = VK_SLOT,
                .slot = canon(c, c->nvs - n + k)};
      move_to(c, &e, base + k);
    }
    return;
  }
  for (uint32_t k = 0; k < n; k++) move_to(c, &c->vs[c->nvs - n + k], base + k);
}

static enclos_err emit_br(comp *c, uint32_t depth) {
  CENSURE(c, depth < c->ncs, ENCLOS_E_INVALID, "unknown label %u", depth);
  ctl *f = &c->cs[c->ncs - 1 - depth];
  ENCLOS_TRY(check_label_values(c, f));
  branch_copies(c, f);
  if (f->kind == CK_FUNC) {
    if (op(c, WOP_RETURN)) {}
  } else if (op(c, WOP_BR)) {
    put_target(c, f);
  }
  return ENCLOS_OK;
}

/* Fusable compares: the internal op for "branch if (a OP b)" and its negation. */
static bool fused_br(uint32_t cmp, bool negate, uint32_t *out) {
  static const struct { uint32_t cmp, yes, no; } t[] = {
      {0x46, WOP_I32_EQ_BR, WOP_I32_NE_BR},     {0x47, WOP_I32_NE_BR, WOP_I32_EQ_BR},
      {0x48, WOP_I32_LT_S_BR, WOP_I32_GE_S_BR}, {0x49, WOP_I32_LT_U_BR, WOP_I32_GE_U_BR},
      {0x4a, WOP_I32_GT_S_BR, WOP_I32_LE_S_BR}, {0x4b, WOP_I32_GT_U_BR, WOP_I32_LE_U_BR},
      {0x4c, WOP_I32_LE_S_BR, WOP_I32_GT_S_BR}, {0x4d, WOP_I32_LE_U_BR, WOP_I32_GT_U_BR},
      {0x4e, WOP_I32_GE_S_BR, WOP_I32_LT_S_BR}, {0x4f, WOP_I32_GE_U_BR, WOP_I32_LT_U_BR},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (t[i].cmp == cmp) {
      *out = negate ? t[i].no : t[i].yes;
      return true;
    }
  return false;
}

/* The same for compares with an immediate (I32_*_IMM, see imm_variant). */
static bool fused_br_imm(uint32_t cmp, bool negate, uint32_t *out) {
  static const struct { uint32_t cmp, yes, no; } t[] = {
      {WOP_I32_EQ_IMM, WOP_I32_EQ_IMM_BR, WOP_I32_NE_IMM_BR},
      {WOP_I32_NE_IMM, WOP_I32_NE_IMM_BR, WOP_I32_EQ_IMM_BR},
      {WOP_I32_LT_S_IMM, WOP_I32_LT_S_IMM_BR, WOP_I32_GE_S_IMM_BR},
      {WOP_I32_LT_U_IMM, WOP_I32_LT_U_IMM_BR, WOP_I32_GE_U_IMM_BR},
      {WOP_I32_GT_S_IMM, WOP_I32_GT_S_IMM_BR, WOP_I32_LE_S_IMM_BR},
      {WOP_I32_GT_U_IMM, WOP_I32_GT_U_IMM_BR, WOP_I32_LE_U_IMM_BR},
      {WOP_I32_LE_S_IMM, WOP_I32_LE_S_IMM_BR, WOP_I32_GT_S_IMM_BR},
      {WOP_I32_LE_U_IMM, WOP_I32_LE_U_IMM_BR, WOP_I32_GT_U_IMM_BR},
      {WOP_I32_GE_S_IMM, WOP_I32_GE_S_IMM_BR, WOP_I32_LT_S_IMM_BR},
      {WOP_I32_GE_U_IMM, WOP_I32_GE_U_IMM_BR, WOP_I32_LT_U_IMM_BR},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (t[i].cmp == cmp) {
      *out = negate ? t[i].no : t[i].yes;
      return true;
    }
  return false;
}

/* Emits "branch to the operand patched by the caller if cond (negate: if !cond)". The
 * condition entry has been popped; if it was produced by the op just emitted and that op is
 * an i32 compare or eqz, the compare is replaced by a fused compare-and-branch. Returns the
 * code index of the target operand, or SIZE_MAX in dead code. */
static size_t emit_cond_br(comp *c, vent *cond, uint32_t pos, bool negate) {
  if (!live(c)) return SIZE_MAX;
  if (cond->kind == VK_SLOT && c->last_dst && cond->slot == canon(c, pos) &&
      !c->oom && c->code[c->last_dst] == cond->slot) {
    uint32_t cop = c->code[c->last_start];
    uint32_t fop;
    if ((cop >= 0x46 && cop <= 0x4f && fused_br(cop, negate, &fop))) {
      uint32_t a = c->code[c->last_start + 2], b = c->code[c->last_start + 3];
      c->len = c->last_start;
      op(c, fop);
      put(c, a);
      put(c, b);
      put(c, 0);
      return c->len - 1;
    }
    if (fused_br_imm(cop, negate, &fop)) {
      uint32_t a = c->code[c->last_start + 2], imm = c->code[c->last_start + 3];
      c->len = c->last_start;
      op(c, fop);
      put(c, a);
      put(c, imm);
      put(c, 0);
      return c->len - 1;
    }
    if (cop == 0x45) { /* eqz */
      uint32_t a = c->code[c->last_start + 2];
      c->len = c->last_start;
      op(c, negate ? WOP_I32_NEZ_BR : WOP_I32_EQZ_BR);
      put(c, a);
      put(c, 0);
      return c->len - 1;
    }
  }
  uint32_t s = use(c, cond, pos);
  op(c, negate ? WOP_BR_UNLESS : WOP_BR_IF);
  put(c, s);
  put(c, 0);
  return c->len - 1;
}

/* ---- 4. Instructions -------------------------------------------------------------------- */

static enclos_err rd_u32(comp *c, uint32_t *v) {
  enclos_err rc = enclos_rd_uleb32(&c->r, v);
  if (rc == ENCLOS_E_TRUNCATED) CFAIL(c, ENCLOS_E_MALFORMED, "unexpected end");
  if (rc) CFAIL(c, ENCLOS_E_MALFORMED, "%s", enclos_err_detail());
  return ENCLOS_OK;
}
static enclos_err rd_u8(comp *c, uint8_t *v) {
  CENSURE(c, enclos_rd_u8(&c->r, v) == ENCLOS_OK, ENCLOS_E_MALFORMED,
          "unexpected end of section or function");
  return ENCLOS_OK;
}

/* Numeric instruction signatures, 0x45..0xc4: operand count, operand type, result type. */
typedef struct numsig {
  uint8_t n, a, b, r;
} numsig;

static numsig num_sig(uint32_t o) {
  const uint8_t I = 0x7f, L = 0x7e, F = 0x7d, D = 0x7c;
  numsig s = {0, 0, 0, 0};
  if (o == 0x45) return (numsig){1, I, 0, I};
  if (o >= 0x46 && o <= 0x4f) return (numsig){2, I, I, I};
  if (o == 0x50) return (numsig){1, L, 0, I};
  if (o >= 0x51 && o <= 0x5a) return (numsig){2, L, L, I};
  if (o >= 0x5b && o <= 0x60) return (numsig){2, F, F, I};
  if (o >= 0x61 && o <= 0x66) return (numsig){2, D, D, I};
  if (o >= 0x67 && o <= 0x69) return (numsig){1, I, 0, I};
  if (o >= 0x6a && o <= 0x78) return (numsig){2, I, I, I};
  if (o >= 0x79 && o <= 0x7b) return (numsig){1, L, 0, L};
  if (o >= 0x7c && o <= 0x8a) return (numsig){2, L, L, L};
  if (o >= 0x8b && o <= 0x91) return (numsig){1, F, 0, F};
  if (o >= 0x92 && o <= 0x98) return (numsig){2, F, F, F};
  if (o >= 0x99 && o <= 0x9f) return (numsig){1, D, 0, D};
  if (o >= 0xa0 && o <= 0xa6) return (numsig){2, D, D, D};
  static const uint8_t conv[][2] = {
      /* a7 */ {L, I}, {F, I}, {F, I}, {D, I}, {D, I}, {I, L}, {I, L}, {F, L}, {F, L},
      /* b0 */ {D, L}, {D, L}, {I, F}, {I, F}, {L, F}, {L, F}, {D, F}, {I, D}, {I, D},
      /* b9 */ {L, D}, {L, D}, {F, D}, {F, I}, {D, L}, {I, F}, {L, D}, {I, I}, {I, I},
      /* c2 */ {L, L}, {L, L}, {L, L}};
  if (o >= 0xa7 && o <= 0xc4) return (numsig){1, conv[o - 0xa7][0], 0, conv[o - 0xa7][1]};
  if (o >= WOP_SAT_BASE && o < WOP_SAT_BASE + 8) {
    uint32_t k = o - WOP_SAT_BASE;
    return (numsig){1, (k & 2) ? D : F, 0, (k & 4) ? L : I};
  }
  return s;
}

/* i32 binary ops with an immediate second operand. */
static uint32_t imm_variant(uint32_t o) {
  switch (o) {
  case 0x6a: return WOP_I32_ADD_IMM;
  case 0x6b: return WOP_I32_SUB_IMM;
  case 0x6c: return WOP_I32_MUL_IMM;
  case 0x71: return WOP_I32_AND_IMM;
  case 0x72: return WOP_I32_OR_IMM;
  case 0x73: return WOP_I32_XOR_IMM;
  case 0x74: return WOP_I32_SHL_IMM;
  case 0x75: return WOP_I32_SHR_S_IMM;
  case 0x76: return WOP_I32_SHR_U_IMM;
  case 0x77: return WOP_I32_ROTL_IMM;
  case 0x78: return WOP_I32_ROTR_IMM;
  case 0x46: return WOP_I32_EQ_IMM;
  case 0x47: return WOP_I32_NE_IMM;
  case 0x48: return WOP_I32_LT_S_IMM;
  case 0x49: return WOP_I32_LT_U_IMM;
  case 0x4a: return WOP_I32_GT_S_IMM;
  case 0x4b: return WOP_I32_GT_U_IMM;
  case 0x4c: return WOP_I32_LE_S_IMM;
  case 0x4d: return WOP_I32_LE_U_IMM;
  case 0x4e: return WOP_I32_GE_S_IMM;
  case 0x4f: return WOP_I32_GE_U_IMM;
  default: return 0;
  }
}

static enclos_err numeric(comp *c, uint32_t o) {
  numsig s = num_sig(o);
  vent a, b;
  uint32_t dst;
  if (s.n == 1) {
    ENCLOS_TRY(pop(c, s.a, &a));
    uint32_t pa = c->nvs;
    uint32_t sa = use(c, &a, pa);
    ENCLOS_TRY(push_result(c, s.r, &dst));
    if (op(c, o)) {
      put_dst(c, dst);
      put(c, sa);
    }
    return ENCLOS_OK;
  }
  ENCLOS_TRY(pop(c, s.b, &b));
  ENCLOS_TRY(pop(c, s.a, &a));
  uint32_t pa = c->nvs;
  uint32_t iv = imm_variant(o);
  /* The one i64 form with an immediate: i64.add of a constant that fits in 32 bits. */
  if (o == 0x7c && b.kind == VK_CONST && b.imm <= UINT32_MAX) iv = WOP_I64_ADD_IMM;
  if (iv && b.kind == VK_CONST && a.type) {
    uint32_t sa = use(c, &a, pa);
    ENCLOS_TRY(push_result(c, s.r, &dst));
    if (op(c, iv)) {
      put_dst(c, dst);
      put(c, sa);
      put(c, (uint32_t)b.imm);
    }
    return ENCLOS_OK;
  }
  uint32_t sa = use(c, &a, pa);
  uint32_t sb = use(c, &b, pa + 1);
  ENCLOS_TRY(push_result(c, s.r, &dst));
  if (op(c, o)) {
    put_dst(c, dst);
    put(c, sa);
    put(c, sb);
  }
  return ENCLOS_OK;
}

static enclos_err memarg(comp *c, uint32_t natural, uint32_t *offset) {
  uint32_t align;
  ENCLOS_TRY(rd_u32(c, &align));
  ENCLOS_TRY(rd_u32(c, offset));
  /* Bit 6 would select a memory index (multi-memory, not Wasm 2.0). */
  CENSURE(c, align < 32, ENCLOS_E_MALFORMED, "malformed memop flags (0x%x)", align);
  CENSURE(c, c->m->nmems > 0, ENCLOS_E_INVALID, "unknown memory 0");
  CENSURE(c, align <= natural, ENCLOS_E_INVALID, "alignment must not be larger than natural");
  return ENCLOS_OK;
}

static enclos_err need_mem(comp *c) {
  CENSURE(c, c->m->nmems > 0, ENCLOS_E_INVALID, "unknown memory 0");
  return ENCLOS_OK;
}

static enclos_err zero_byte(comp *c) {
  uint8_t z;
  ENCLOS_TRY(rd_u8(c, &z));
  CENSURE(c, z == 0, ENCLOS_E_MALFORMED, "zero byte expected");
  return ENCLOS_OK;
}

/* Local writes: materialise pending reads of the local first (they must see the old value). */
static void flush_local(comp *c, uint32_t x) {
  for (uint32_t i = 0; i < c->nvs; i++)
    if (c->vs[i].kind == VK_SLOT && c->vs[i].slot == x) materialize(c, i);
}

static bool local_pending(const comp *c, uint32_t x) {
  for (uint32_t i = 0; i < c->nvs; i++)
    if (c->vs[i].kind == VK_SLOT && c->vs[i].slot == x) return true;
  return false;
}

static enclos_err set_local(comp *c, uint32_t x, bool tee) {
  CENSURE(c, x < c->nlocals, ENCLOS_E_INVALID, "unknown local %u", x);
  vent v;
  uint32_t pos;
  ENCLOS_TRY(pop(c, (uint8_t)c->ltypes[x], &v));
  pos = c->nvs;
  bool elide = c->lzero_on && c->lzero[x] && v.kind == VK_CONST && v.imm == 0 && v.type != 0x7b;
  if (elide) {
    /* `T.const 0; local.set x` before any write of x and before the first loop header:
     * the frame entry already zeroed x, and every path here from the entry leaves it 0
     * (forward merges only; writes clear lzero for good). Emit nothing. */
  } else if (v.kind == VK_SLOT && v.slot == canon(c, pos) && c->last_dst && !c->oom &&
      c->code[c->last_dst] == v.slot && !local_pending(c, x)) {
    c->code[c->last_dst] = x; /* retarget the producer */
  } else {
    flush_local(c, x);
    move_to(c, &v, x);
  }
  if (!elide && c->lzero_on) c->lzero[x] = 0;
  c->last_dst = 0;
  if (tee) {
    ENCLOS_TRY(push(c, (uint8_t)c->ltypes[x]));
    c->vs[c->nvs - 1].slot = x; /* a pending read of the local */
  }
  return ENCLOS_OK;
}

static enclos_err call_common(comp *c, const enclos_wasm_functype *t, uint32_t wop, uint32_t a1,
                              uint32_t a2, vent *idx) {
  /* Arguments must be in their own slots: the callee's frame starts at the first one. */
  for (uint32_t k = t->nparams; k-- > 0;) {
    vent v;
    ENCLOS_TRY(pop(c, (uint8_t)t->params[k], &v));
  }
  uint32_t base = c->nvs;
  c->nvs += t->nparams; /* re-expose to materialise (types already checked) */
  if (live(c)) materialize_top(c, t->nparams);
  c->nvs = base;
  uint32_t sidx = 0;
  if (idx) sidx = use(c, idx, base + t->nparams);
  if (op(c, wop)) {
    put(c, a1);
    if (wop == WOP_CALL_INDIRECT) {
      put(c, a2);
      put(c, sidx);
    }
    put(c, canon(c, base));
  }
  /* The callee frame needs room for max(params, results) slots above base. */
  for (uint32_t k = 0; k < t->nresults; k++) ENCLOS_TRY(push(c, (uint8_t)t->results[k]));
  if (base + t->nparams > c->max_height) c->max_height = base + t->nparams;
  return ENCLOS_OK;
}

#include "simd_compile.inc"

static enclos_err instr(comp *c, uint8_t b0, bool *done) {
  enclos_wasm_module *m = c->m;
  vent a, b, d;
  uint32_t x, y, dst;
  switch (b0) {
  case 0x00:
    if (op(c, WOP_UNREACHABLE)) {}
    set_unreachable(c);
    return ENCLOS_OK;
  case 0x01: return ENCLOS_OK;
  case 0x02: case 0x03: case 0x04: {
    uint32_t np, nr;
    const enclos_wasm_type *p, *r;
    size_t else_at = SIZE_MAX;
    ENCLOS_TRY(read_blocktype(c, &np, &nr, &p, &r));
    if (b0 == 0x04) {
      ENCLOS_TRY(pop(c, 0x7f, &a));
    }
    for (uint32_t k = np; k-- > 0;) CENSURE(c, c->nvs - c->cs[c->ncs - 1].height > np - 1 - k ?
        (!c->vs[c->nvs - np + k].type || c->vs[c->nvs - np + k].type == (uint8_t)p[k]) :
        c->cs[c->ncs - 1].unreachable, ENCLOS_E_INVALID, "type mismatch (block parameter %u)", k);
    if (c->nvs - c->cs[c->ncs - 1].height < np) {
      /* Polymorphic stack below: synthesise the missing parameters. */
      uint32_t have = c->nvs - c->cs[c->ncs - 1].height;
      vent *save = NULL;
      if (have) {
        save = enclos_malloc(have * sizeof(*save));
        ENCLOS_ENSURE(save, ENCLOS_E_NOMEM);
        memcpy(save, &c->vs[c->nvs - have], have * sizeof(*save));
        c->nvs -= have;
      }
      for (uint32_t k = 0; k < np - have; k++) {
        enclos_err rc = push(c, (uint8_t)p[k]);
        if (rc) { enclos_free(save); return rc; }
      }
      for (uint32_t k = 0; k < have; k++) {
        enclos_err rc = push(c, save[k].type);
        if (rc) { enclos_free(save); return rc; }
      }
      enclos_free(save);
    }
    if (b0 == 0x04) {
      uint32_t pos = c->nvs;
      /* The condition sits above the params; take it before materialising them. */
      vent cond = a;
      if (cond.kind == VK_CONST) {
        materialize_all(c);
        else_at = emit_cond_br(c, &cond, pos, true);
      } else {
        materialize_all(c);
        else_at = emit_cond_br(c, &cond, pos, true);
      }
    } else {
      materialize_all(c);
    }
    c->last_dst = 0;
    ENCLOS_TRY(push_ctl(c, b0 == 0x02 ? CK_BLOCK : b0 == 0x03 ? CK_LOOP : CK_IF, np, nr, p, r));
    ctl *f = &c->cs[c->ncs - 1];
    if (b0 == 0x03) {
      f->loop_ip = (uint32_t)c->len;
      c->barrier = c->len;
      c->lzero_on = false; /* the back edge may bring any value */
      if (op(c, WOP_FUEL)) {
        c->fuel_pos = c->len;
        put(c, 0);
      }
      c->last_dst = 0;
    }
    if (b0 == 0x04 && else_at != SIZE_MAX && !c->oom) {
      c->code[else_at] = NO_PATCH; /* a one-entry patch list */
      f->else_patch = (uint32_t)else_at;
    }
    /* An unreachable parent makes nothing inside reachable either: emit nothing. */
    if (c->ncs >= 2 && c->cs[c->ncs - 2].unreachable) f->unreachable = false;
    return ENCLOS_OK;
  }
  case 0x05: case 0x0b: {
    ctl *f = &c->cs[c->ncs - 1];
    CENSURE(c, b0 == 0x0b || f->kind == CK_IF, ENCLOS_E_INVALID, "else without matching if");
    /* The arm's results must be exactly on the stack. */
    for (uint32_t k = f->nresults; k-- > 0;) ENCLOS_TRY(pop(c, (uint8_t)f->results[k], &a));
    CENSURE(c, c->nvs == f->height, ENCLOS_E_INVALID, "type mismatch (values remaining on stack at end of block)");
    c->nvs += f->nresults;
    for (uint32_t k = 0; k < f->nresults; k++) {
      /* Entries may have been synthesised by pop in unreachable code. */
      if (c->vs[f->height + k].type == 0) c->vs[f->height + k].type = (uint8_t)f->results[k];
    }
    size_t len0 = c->len, dst0 = c->last_dst;
    if (live(c)) materialize_top(c, f->nresults);
    c->last_dst = 0;
    if (b0 == 0x05) {
      /* then-arm done: jump over the else arm. */
      if (op(c, WOP_BR)) put_target(c, f);
      patch_list(c, f->else_patch, (uint32_t)c->len);
      f->else_patch = NO_PATCH;
      f->kind = CK_ELSE;
      f->unreachable = false;
      c->nvs = f->height;
      for (uint32_t k = 0; k < f->nparams; k++) ENCLOS_TRY(push(c, (uint8_t)f->params[k]));
      return ENCLOS_OK;
    }
    if (f->kind == CK_IF) {
      /* if without else: params must equal results (the implicit else passes them on). */
      CENSURE(c, f->nparams == f->nresults &&
                     (f->nparams == 0 || memcmp(f->params, f->results, f->nparams * sizeof(*f->params)) == 0),
              ENCLOS_E_INVALID, "type mismatch (if without else must have matching param and result types)");
      patch_list(c, f->else_patch, (uint32_t)c->len);
    }
    if (f->kind == CK_FUNC) {
      /* Function end: results to slots 0.. and return. */
      f->unreachable = f->unreachable; /* keep */
      if (live(c)) {
        c->nvs = f->height + f->nresults;
        if (c->len == len0) c->last_dst = dst0; /* nothing emitted since the producer */
        branch_copies(c, f);
        op(c, WOP_RETURN);
      }
      patch_list(c, f->patches, (uint32_t)c->len);
      *done = true;
      c->ncs--;
      return ENCLOS_OK;
    }
    patch_list(c, f->patches, (uint32_t)c->len);
    uint32_t h = f->height, nr = f->nresults;
    const enclos_wasm_type *rt = f->results;
    c->ncs--;
    c->nvs = h;
    for (uint32_t k = 0; k < nr; k++) ENCLOS_TRY(push(c, (uint8_t)rt[k]));
    c->last_dst = 0;
    return ENCLOS_OK;
  }
  case 0x0c:
    ENCLOS_TRY(rd_u32(c, &x));
    ENCLOS_TRY(emit_br(c, x));
    set_unreachable(c);
    return ENCLOS_OK;
  case 0x0d: {
    ENCLOS_TRY(rd_u32(c, &x));
    ENCLOS_TRY(pop(c, 0x7f, &a));
    CENSURE(c, x < c->ncs, ENCLOS_E_INVALID, "unknown label %u", x);
    ctl *f = &c->cs[c->ncs - 1 - x];
    ENCLOS_TRY(check_label_values(c, f));
    uint32_t pos = c->nvs;
    if (!live(c)) {
      /* Polymorphic stack: br_if still yields the label's values ([t* i32] -> [t*]). */
      uint32_t n = label_arity(f);
      const enclos_wasm_type *t = label_types(f);
      for (uint32_t k = n; k-- > 0;) ENCLOS_TRY(pop(c, (uint8_t)t[k], &b));
      for (uint32_t k = 0; k < n; k++) ENCLOS_TRY(push(c, (uint8_t)t[k]));
      return ENCLOS_OK;
    }
    if (f->kind != CK_FUNC && branch_in_place(c, f)) {
      size_t at = emit_cond_br(c, &a, pos, false);
      if (at != SIZE_MAX) {
        if (f->kind == CK_LOOP) {
          c->code[at] = rel(at, f->loop_ip);
        } else {
          c->code[at] = f->patches;
          f->patches = (uint32_t)at;
        }
      }
    } else {
      size_t skip = emit_cond_br(c, &a, pos, true);
      branch_copies(c, f);
      if (f->kind == CK_FUNC) {
        op(c, WOP_RETURN);
      } else if (op(c, WOP_BR)) {
        put_target(c, f);
      }
      if (skip != SIZE_MAX && !c->oom) c->code[skip] = rel(skip, c->len);
      c->barrier = c->len;
    }
    c->last_dst = 0;
    /* Branch values keep their types (§3.3.8 br_if: [t* i32] -> [t*]). */
    uint32_t n = label_arity(f);
    const enclos_wasm_type *t = label_types(f);
    for (uint32_t k = 0; k < n && c->nvs >= n; k++)
      if (c->vs[c->nvs - n + k].type == 0) c->vs[c->nvs - n + k].type = (uint8_t)t[k];
    return ENCLOS_OK;
  }
  case 0x0e: {
    uint32_t n;
    ENCLOS_TRY(rd_u32(c, &n));
    CENSURE(c, n <= WASM_MAX_BR_TABLE, ENCLOS_E_LIMIT, "br_table too large (%u)", n);
    uint32_t *labels = enclos_malloc(((size_t)n + 1) * sizeof(uint32_t));
    ENCLOS_ENSURE(labels, ENCLOS_E_NOMEM);
    enclos_err rc = ENCLOS_OK;
    for (uint32_t k = 0; k <= n && rc == ENCLOS_OK; k++) rc = rd_u32(c, &labels[k]);
    if (rc == ENCLOS_OK) rc = pop(c, 0x7f, &a);
    uint32_t arity = 0;
    for (uint32_t k = 0; k <= n && rc == ENCLOS_OK; k++) {
      if (labels[k] >= c->ncs) {
        rc = wasm__fail(ENCLOS_E_INVALID, "code", c->instr_off, "unknown label %u", labels[k]);
        break;
      }
      ctl *f = &c->cs[c->ncs - 1 - labels[k]];
      if (k == 0) arity = label_arity(f);
      else if (label_arity(f) != arity) {
        rc = wasm__fail(ENCLOS_E_INVALID, "code", c->instr_off, "type mismatch (br_table labels of different arity)");
        break;
      }
      rc = check_label_values(c, f);
    }
    if (rc == ENCLOS_OK && live(c)) {
      uint32_t pos = c->nvs;
      uint32_t s = use(c, &a, pos);
      op(c, WOP_BR_TABLE);
      put(c, s);
      put(c, n);
      size_t tab = c->len;
      for (uint32_t k = 0; k <= n; k++) put(c, 0);
      /* Each entry jumps either straight to its label or to a stub that copies first. */
      for (uint32_t k = 0; k <= n; k++) {
        ctl *f = &c->cs[c->ncs - 1 - labels[k]];
        if (f->kind != CK_FUNC && branch_in_place(c, f)) {
          if (c->oom) break;
          if (f->kind == CK_LOOP) {
            c->code[tab + k] = rel(tab + k, f->loop_ip);
          } else {
            c->code[tab + k] = f->patches;
            f->patches = (uint32_t)(tab + k);
          }
        } else {
          if (c->oom) break;
          c->code[tab + k] = rel(tab + k, c->len);
          c->barrier = c->len;
          branch_copies(c, f);
          if (f->kind == CK_FUNC) {
            op(c, WOP_RETURN);
          } else if (op(c, WOP_BR)) {
            put_target(c, f);
          }
        }
      }
    }
    enclos_free(labels);
    ENCLOS_TRY(rc);
    set_unreachable(c);
    return ENCLOS_OK;
  }
  case 0x0f:
    ENCLOS_TRY(emit_br(c, c->ncs - 1));
    set_unreachable(c);
    return ENCLOS_OK;
  case 0x10: {
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < m->nfuncs, ENCLOS_E_INVALID, "unknown function %u", x);
    return call_common(c, &m->types[m->func_types[x]], WOP_CALL, x, 0, NULL);
  }
  case 0x11: {
    ENCLOS_TRY(rd_u32(c, &y));
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
    CENSURE(c, y < m->ntypes, ENCLOS_E_INVALID, "unknown type %u", y);
    CENSURE(c, m->tables[x].elem == ENCLOS_WASM_FUNCREF, ENCLOS_E_INVALID,
            "type mismatch (call_indirect through a table of externref)");
    ENCLOS_TRY(pop(c, 0x7f, &a));
    return call_common(c, &m->types[y], WOP_CALL_INDIRECT, x, y, &a);
  }
  case 0x1a:
    ENCLOS_TRY(pop(c, 0, &a));
    return ENCLOS_OK;
  case 0x1b: case 0x1c: {
    uint8_t t = 0;
    if (b0 == 0x1c) {
      uint32_t n;
      ENCLOS_TRY(rd_u32(c, &n));
      CENSURE(c, n == 1, ENCLOS_E_INVALID, "invalid result arity for select");
      uint8_t vt;
      ENCLOS_TRY(rd_u8(c, &vt));
      CENSURE(c, is_num(vt) || vt == 0x7b || is_ref(vt), ENCLOS_E_MALFORMED,
              "malformed value type 0x%02x", vt);
      t = vt;
    }
    ENCLOS_TRY(pop(c, 0x7f, &d));
    ENCLOS_TRY(pop(c, t, &b));
    ENCLOS_TRY(pop(c, t, &a));
    if (!t) {
      /* §3.3.4: select without a type takes numeric or vector operands. */
      CENSURE(c, (!a.type || is_num(a.type) || a.type == 0x7b) &&
                     (!b.type || is_num(b.type) || b.type == 0x7b), ENCLOS_E_INVALID,
              "type mismatch (select without type needs numeric operands)");
      CENSURE(c, !a.type || !b.type || a.type == b.type, ENCLOS_E_INVALID,
              "type mismatch (select operands %s and %s)", wasm__type_name(a.type),
              wasm__type_name(b.type));
      t = a.type ? a.type : b.type;
    }
    uint32_t pos = c->nvs;
    uint32_t sa = use(c, &a, pos), sb = use(c, &b, pos + 1), sd = use(c, &d, pos + 2);
    ENCLOS_TRY(push_result(c, t, &dst));
    if (t == 0x7b) {
      if (op(c, WOP_SIMD)) {
        put(c, 7);
        put(c, WSIMD_SELECT);
        put_dst(c, dst);
        put(c, sa);
        put(c, sb);
        put(c, sd);
      }
    } else if (op(c, WOP_SELECT)) {
      put_dst(c, dst);
      put(c, sd);
      put(c, sa);
      put(c, sb);
    }
    return ENCLOS_OK;
  }
  case 0x20:
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < c->nlocals, ENCLOS_E_INVALID, "unknown local %u", x);
    ENCLOS_TRY(push(c, (uint8_t)c->ltypes[x]));
    c->vs[c->nvs - 1].slot = x;
    c->last_dst = 0;
    return ENCLOS_OK;
  case 0x21: case 0x22:
    ENCLOS_TRY(rd_u32(c, &x));
    return set_local(c, x, b0 == 0x22);
  case 0x23:
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < m->nglobals, ENCLOS_E_INVALID, "unknown global %u", x);
    ENCLOS_TRY(push_result(c, (uint8_t)m->globals[x].type, &dst));
    if (m->globals[x].type == ENCLOS_WASM_V128) {
      if (op(c, WOP_SIMD)) {
        put(c, 5);
        put(c, WSIMD_GLOBAL_GET);
        put_dst(c, dst);
        put(c, x);
      }
    } else if (op(c, WOP_GLOBAL_GET)) {
      put_dst(c, dst);
      put(c, x);
    }
    return ENCLOS_OK;
  case 0x24:
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < m->nglobals, ENCLOS_E_INVALID, "unknown global %u", x);
    CENSURE(c, m->globals[x].mut, ENCLOS_E_INVALID, "global is immutable");
    ENCLOS_TRY(pop(c, (uint8_t)m->globals[x].type, &a));
    {
      uint32_t s = use(c, &a, c->nvs);
      if (m->globals[x].type == ENCLOS_WASM_V128) {
        if (op(c, WOP_SIMD)) {
          put(c, 5);
          put(c, WSIMD_GLOBAL_SET);
          put(c, s);
          put(c, x);
        }
      } else if (op(c, WOP_GLOBAL_SET)) {
        put(c, x);
        put(c, s);
      }
    }
    return ENCLOS_OK;
  case 0x25: case 0x26:
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
    if (b0 == 0x25) {
      ENCLOS_TRY(pop(c, 0x7f, &a));
      uint32_t s = use(c, &a, c->nvs);
      ENCLOS_TRY(push_result(c, (uint8_t)m->tables[x].elem, &dst));
      if (op(c, WOP_TABLE_GET)) { put(c, dst); put(c, x); put(c, s); }
    } else {
      ENCLOS_TRY(pop(c, (uint8_t)m->tables[x].elem, &b));
      ENCLOS_TRY(pop(c, 0x7f, &a));
      uint32_t pos = c->nvs;
      uint32_t sa = use(c, &a, pos), sb = use(c, &b, pos + 1);
      if (op(c, WOP_TABLE_SET)) { put(c, x); put(c, sa); put(c, sb); }
    }
    return ENCLOS_OK;
  case 0x41: case 0x42: {
    int64_t v;
    enclos_err rc = enclos_rd_sleb(&c->r, b0 == 0x41 ? 32 : 64, &v);
    if (rc == ENCLOS_E_TRUNCATED) CFAIL(c, ENCLOS_E_MALFORMED, "unexpected end");
    if (rc) CFAIL(c, ENCLOS_E_MALFORMED, "%s", enclos_err_detail());
    ENCLOS_TRY(push(c, b0 == 0x41 ? 0x7f : 0x7e));
    c->vs[c->nvs - 1].kind = VK_CONST;
    c->vs[c->nvs - 1].imm = b0 == 0x41 ? (uint32_t)(int32_t)v : (uint64_t)v;
    c->last_dst = 0;
    return ENCLOS_OK;
  }
  case 0x43: case 0x44: {
    uint64_t v = 0;
    if (b0 == 0x43) {
      uint32_t v32;
      CENSURE(c, enclos_rd_u32le(&c->r, &v32) == ENCLOS_OK, ENCLOS_E_MALFORMED, "unexpected end");
      v = v32;
    } else {
      CENSURE(c, enclos_rd_u64le(&c->r, &v) == ENCLOS_OK, ENCLOS_E_MALFORMED, "unexpected end");
    }
    ENCLOS_TRY(push(c, b0 == 0x43 ? 0x7d : 0x7c));
    c->vs[c->nvs - 1].kind = VK_CONST;
    c->vs[c->nvs - 1].imm = v;
    c->last_dst = 0;
    return ENCLOS_OK;
  }
  case 0x3f: case 0x40:
    ENCLOS_TRY(zero_byte(c));
    ENCLOS_TRY(need_mem(c));
    if (b0 == 0x3f) {
      ENCLOS_TRY(push_result(c, 0x7f, &dst));
      if (op(c, WOP_MEMORY_SIZE)) put(c, dst);
    } else {
      ENCLOS_TRY(pop(c, 0x7f, &a));
      uint32_t s = use(c, &a, c->nvs);
      ENCLOS_TRY(push_result(c, 0x7f, &dst));
      if (op(c, WOP_MEMORY_GROW)) { put(c, dst); put(c, s); }
    }
    return ENCLOS_OK;
  case 0xd0: {
    uint8_t t;
    ENCLOS_TRY(rd_u8(c, &t));
    CENSURE(c, is_ref(t), ENCLOS_E_MALFORMED, "malformed reference type 0x%02x", t);
    ENCLOS_TRY(push(c, t));
    c->vs[c->nvs - 1].kind = VK_CONST;
    c->vs[c->nvs - 1].imm = 0;
    c->last_dst = 0;
    return ENCLOS_OK;
  }
  case 0xd1:
    ENCLOS_TRY(pop(c, 0, &a));
    CENSURE(c, !a.type || is_ref(a.type), ENCLOS_E_INVALID, "type mismatch (ref.is_null of %s)",
            wasm__type_name(a.type));
    {
      uint32_t s = use(c, &a, c->nvs);
      ENCLOS_TRY(push_result(c, 0x7f, &dst));
      if (op(c, WOP_REF_IS_NULL)) { put_dst(c, dst); put(c, s); }
    }
    return ENCLOS_OK;
  case 0xd2:
    ENCLOS_TRY(rd_u32(c, &x));
    CENSURE(c, x < m->nfuncs, ENCLOS_E_INVALID, "unknown function %u", x);
    CENSURE(c, m->declared[x], ENCLOS_E_INVALID, "undeclared function reference %u", x);
    ENCLOS_TRY(push_result(c, 0x70, &dst));
    if (op(c, WOP_REF_FUNC)) { put(c, dst); put(c, x); }
    return ENCLOS_OK;
  default: break;
  }
  if (b0 >= 0x28 && b0 <= 0x35) { /* loads */
    static const uint8_t nat[] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
    static const uint8_t rt[] = {0x7f, 0x7e, 0x7d, 0x7c, 0x7f, 0x7f, 0x7f, 0x7f,
                                 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e};
    uint32_t off;
    ENCLOS_TRY(memarg(c, nat[b0 - 0x28], &off));
    ENCLOS_TRY(pop(c, 0x7f, &a));
    uint32_t s = use(c, &a, c->nvs);
    ENCLOS_TRY(push_result(c, rt[b0 - 0x28], &dst));
    if (op(c, b0)) { put_dst(c, dst); put(c, s); put(c, off); }
    return ENCLOS_OK;
  }
  if (b0 >= 0x36 && b0 <= 0x3e) { /* stores */
    static const uint8_t nat[] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
    static const uint8_t vt[] = {0x7f, 0x7e, 0x7d, 0x7c, 0x7f, 0x7f, 0x7e, 0x7e, 0x7e};
    uint32_t off;
    ENCLOS_TRY(memarg(c, nat[b0 - 0x36], &off));
    ENCLOS_TRY(pop(c, vt[b0 - 0x36], &b));
    ENCLOS_TRY(pop(c, 0x7f, &a));
    uint32_t pos = c->nvs;
    uint32_t sa = use(c, &a, pos), sb = use(c, &b, pos + 1);
    if (op(c, b0)) { put(c, sa); put(c, sb); put(c, off); }
    return ENCLOS_OK;
  }
  if (b0 >= 0x45 && b0 <= 0xc4) return numeric(c, b0);
  if (b0 == 0xfc) {
    uint32_t sub;
    ENCLOS_TRY(rd_u32(c, &sub));
    if (sub <= 7) return numeric(c, WOP_SAT_BASE + sub);
    switch (sub) {
    case 8: { /* memory.init */
      ENCLOS_TRY(rd_u32(c, &x));
      ENCLOS_TRY(zero_byte(c));
      ENCLOS_TRY(need_mem(c));
      if (!m->has_data_count) m->needs_data_count = true; /* judged after the data section */
      else CENSURE(c, x < m->data_count, ENCLOS_E_INVALID, "unknown data segment %u", x);
      goto three_i32;
    }
    case 9:
      ENCLOS_TRY(rd_u32(c, &x));
      if (!m->has_data_count) m->needs_data_count = true; /* judged after the data section */
      else CENSURE(c, x < m->data_count, ENCLOS_E_INVALID, "unknown data segment %u", x);
      if (op(c, WOP_DATA_DROP)) put(c, x);
      return ENCLOS_OK;
    case 10:
      ENCLOS_TRY(zero_byte(c));
      ENCLOS_TRY(zero_byte(c));
      ENCLOS_TRY(need_mem(c));
      x = 0;
      goto three_i32;
    case 11:
      ENCLOS_TRY(zero_byte(c));
      ENCLOS_TRY(need_mem(c));
      x = 0;
      goto three_i32;
    case 12: /* table.init elem table */
      ENCLOS_TRY(rd_u32(c, &y));
      ENCLOS_TRY(rd_u32(c, &x));
      CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
      CENSURE(c, y < m->nelems, ENCLOS_E_INVALID, "unknown elem segment %u", y);
      CENSURE(c, m->elems[y].type == m->tables[x].elem, ENCLOS_E_INVALID,
              "type mismatch (table.init of %s into a table of %s)",
              wasm__type_name((uint8_t)m->elems[y].type), wasm__type_name((uint8_t)m->tables[x].elem));
      {
        vent n3, s3, d3;
        ENCLOS_TRY(pop(c, 0x7f, &n3));
        ENCLOS_TRY(pop(c, 0x7f, &s3));
        ENCLOS_TRY(pop(c, 0x7f, &d3));
        uint32_t pos = c->nvs;
        uint32_t sd = use(c, &d3, pos), ss = use(c, &s3, pos + 1), sn = use(c, &n3, pos + 2);
        uint32_t tbl;
        enclos_reader save = c->r;
        (void)save;
        tbl = x;
        if (op(c, WOP_TABLE_INIT)) { put(c, tbl); put(c, y); put(c, sd); put(c, ss); put(c, sn); }
      }
      return ENCLOS_OK;
    case 13:
      ENCLOS_TRY(rd_u32(c, &x));
      CENSURE(c, x < m->nelems, ENCLOS_E_INVALID, "unknown elem segment %u", x);
      if (op(c, WOP_ELEM_DROP)) put(c, x);
      return ENCLOS_OK;
    case 14: { /* table.copy dst src */
      ENCLOS_TRY(rd_u32(c, &x));
      ENCLOS_TRY(rd_u32(c, &y));
      CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
      CENSURE(c, y < m->ntables, ENCLOS_E_INVALID, "unknown table %u", y);
      CENSURE(c, m->tables[x].elem == m->tables[y].elem, ENCLOS_E_INVALID,
              "type mismatch (table.copy between tables of different types)");
      vent n3, s3, d3;
      ENCLOS_TRY(pop(c, 0x7f, &n3));
      ENCLOS_TRY(pop(c, 0x7f, &s3));
      ENCLOS_TRY(pop(c, 0x7f, &d3));
      uint32_t pos = c->nvs;
      uint32_t sd = use(c, &d3, pos), ss = use(c, &s3, pos + 1), sn = use(c, &n3, pos + 2);
      if (op(c, WOP_TABLE_COPY)) { put(c, x); put(c, y); put(c, sd); put(c, ss); put(c, sn); }
      return ENCLOS_OK;
    }
    case 15: { /* table.grow */
      ENCLOS_TRY(rd_u32(c, &x));
      CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
      ENCLOS_TRY(pop(c, 0x7f, &b));
      ENCLOS_TRY(pop(c, (uint8_t)m->tables[x].elem, &a));
      uint32_t pos = c->nvs;
      uint32_t sa = use(c, &a, pos), sb = use(c, &b, pos + 1);
      ENCLOS_TRY(push_result(c, 0x7f, &dst));
      if (op(c, WOP_TABLE_GROW)) { put(c, dst); put(c, x); put(c, sa); put(c, sb); }
      return ENCLOS_OK;
    }
    case 16:
      ENCLOS_TRY(rd_u32(c, &x));
      CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
      ENCLOS_TRY(push_result(c, 0x7f, &dst));
      if (op(c, WOP_TABLE_SIZE)) { put(c, dst); put(c, x); }
      return ENCLOS_OK;
    case 17: { /* table.fill */
      ENCLOS_TRY(rd_u32(c, &x));
      CENSURE(c, x < m->ntables, ENCLOS_E_INVALID, "unknown table %u", x);
      vent n3, v3, d3;
      ENCLOS_TRY(pop(c, 0x7f, &n3));
      ENCLOS_TRY(pop(c, (uint8_t)m->tables[x].elem, &v3));
      ENCLOS_TRY(pop(c, 0x7f, &d3));
      uint32_t pos = c->nvs;
      uint32_t sd = use(c, &d3, pos), sv = use(c, &v3, pos + 1), sn = use(c, &n3, pos + 2);
      if (op(c, WOP_TABLE_FILL)) { put(c, x); put(c, sd); put(c, sv); put(c, sn); }
      return ENCLOS_OK;
    }
    default: CFAIL(c, ENCLOS_E_MALFORMED, "illegal opcode 0xfc %u", sub);
    }
  three_i32: {
    vent n3, s3, d3;
    ENCLOS_TRY(pop(c, 0x7f, &n3));
    ENCLOS_TRY(pop(c, sub == 11 ? 0x7f : 0x7f, &s3));
    ENCLOS_TRY(pop(c, 0x7f, &d3));
    uint32_t pos = c->nvs;
    uint32_t sd = use(c, &d3, pos), ss = use(c, &s3, pos + 1), sn = use(c, &n3, pos + 2);
    uint32_t wop = sub == 8 ? WOP_MEMORY_INIT : sub == 10 ? WOP_MEMORY_COPY : WOP_MEMORY_FILL;
    if (op(c, wop)) { put(c, x); put(c, sd); put(c, ss); put(c, sn); }
    return ENCLOS_OK;
  }
  }
  if (b0 == 0xfd) return simd_instr(c);
  CFAIL(c, ENCLOS_E_MALFORMED, "illegal opcode 0x%02x", b0);
}

/* ---- 5. Entry point ------------------------------------------------------------------------ */

void wasm__code_free(wcode *c) {
  if (c) {
    enclos_free(c->code);
    enclos_free(c->map);
  }
}

enclos_err wasm__compile(enclos_wasm_module *m, uint32_t fi, enclos_reader *body,
                         uint32_t body_offset) {
  enclos_err rc = ENCLOS_OK;
  comp c = {.r = *body, .m = m};
  const enclos_wasm_functype *ft = &m->types[m->func_types[m->nfunc_imports + fi]];
  wcode *out = &m->codes[fi];
  c.instr_off = body_offset;
  /* Locals (§5.5.13): vec of (count, type); the total must fit WASM_MAX_LOCALS. */
  uint32_t ngroups;
  ENCLOS_GUARD(rd_u32(&c, &ngroups));
  uint64_t total = ft->nparams;
  c.ltypes = enclos_malloc((ft->nparams + 1) * sizeof(*c.ltypes));
  if (!c.ltypes) ENCLOS_GUARD_FAILF(ENCLOS_E_NOMEM, "out of memory");
  memcpy(c.ltypes, ft->params, ft->nparams * sizeof(*c.ltypes));
  for (uint32_t g = 0; g < ngroups; g++) {
    uint32_t n;
    uint8_t t;
    c.instr_off = enclos_rd_offset(&c.r);
    ENCLOS_GUARD(rd_u32(&c, &n));
    total += n;
    if (total > WASM_MAX_LOCALS)
      ENCLOS_GUARD_FAILF(ENCLOS_E_MALFORMED, "code section, offset 0x%zx: too many locals (%llu)",
                         c.instr_off, (unsigned long long)total);
    ENCLOS_GUARD(rd_u8(&c, &t));
    if (!is_num(t) && t != 0x7b && !is_ref(t))
      ENCLOS_GUARD_FAILF(ENCLOS_E_MALFORMED, "code section, offset 0x%zx: malformed value type 0x%02x", c.instr_off, t);
    enclos_wasm_type *nl = enclos_realloc(c.ltypes, (size_t)(total + 1) * sizeof(*nl));
    if (!nl) ENCLOS_GUARD_FAILF(ENCLOS_E_NOMEM, "out of memory");
    c.ltypes = nl;
    for (uint64_t k = total - n; k < total; k++) c.ltypes[k] = (enclos_wasm_type)t;
  }
  c.nlocals = (uint32_t)total;
  c.lzero = enclos_calloc(total + 1, 1);
  if (!c.lzero) ENCLOS_GUARD_FAILF(ENCLOS_E_NOMEM, "out of memory");
  memset(c.lzero + ft->nparams, 1, (size_t)(total - ft->nparams));
  c.lzero_on = true;
  ENCLOS_GUARD(push(&c, 0)); /* allocate the operand stack up front */
  c.nvs = 0;
  c.max_height = 0;
  ENCLOS_GUARD(push_ctl(&c, CK_FUNC, 0, ft->nresults, NULL, ft->results));
  c.instr_off = enclos_rd_offset(&c.r); /* entry code belongs to the first instruction */
  op(&c, WOP_FUEL);
  c.fuel_pos = c.len;
  put(&c, 0);
  simd_zero_locals(&c, ft->nparams);
  bool done = false;
  while (!done) {
    uint8_t b0;
    c.instr_off = enclos_rd_offset(&c.r);
    if (enclos_rd_u8(&c.r, &b0) != ENCLOS_OK)
      ENCLOS_GUARD_FAILF(ENCLOS_E_MALFORMED,
                         "code section, offset 0x%zx: unexpected end of section or function", c.instr_off);
    if (!c.oom && c.fuel_pos < c.len) c.code[c.fuel_pos]++;
    ENCLOS_GUARD(instr(&c, b0, &done));
    if (c.oom) ENCLOS_GUARD_FAILF(ENCLOS_E_NOMEM, "out of memory compiling function %u", fi);
  }
  if (!enclos_rd_eof(&c.r))
    ENCLOS_GUARD_FAILF(ENCLOS_E_MALFORMED, "code section, offset 0x%zx: section size mismatch (bytes after the end of the function)",
                       enclos_rd_offset(&c.r));
  out->code = c.code;
  c.code = NULL;
  out->len = c.len;
  out->nparams = ft->nparams;
  out->nresults = ft->nresults;
  out->nlocals = c.nlocals;
  /* + 4: the interpreter zeroes 4 slots past the parameters unconditionally (zero_slots). */
  out->frame_slots = c.nlocals + c.max_height + ft->nresults + 1 + 4;
  out->body_offset = body_offset;
  out->map = c.map;
  out->nmap = c.nmap;
  c.map = NULL;
cleanup:
  enclos_free(c.map);
  enclos_free(c.code);
  enclos_free(c.vs);
  enclos_free(c.cs);
  enclos_free(c.ltypes);
  enclos_free(c.lzero);
  return rc;
}
