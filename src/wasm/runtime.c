/* runtime.c: stores, externs, host-function imports, instantiation and calls.
 *
 * Divisions:
 *   1. Limits, traps and the store (object list, interned function types, stacks).
 *   2. Host-created externs and their accessors.
 *   3. Imports (registration, extern subtyping §4.5.2).
 *   4. Instantiation (§4.5.4): link, allocate, globals, element and data segments, start.
 *   5. Calls and the caller API.
 */
#include <stdio.h>
#include <string.h>

#include <enclos/mem.h>

#include "wasm_int.h"

/* ---- 1. Limits, traps, store ---------------------------------------------------------- */

void enclos_wasm_limits_default(enclos_wasm_limits *l) {
  memset(l, 0, sizeof(*l));
  l->fuel = 0;
  l->max_memory_pages = 16384;
  l->max_table_elems = 1000000;
  l->max_call_depth = 10000;
  l->max_stack_bytes = 8u << 20;
  l->guard_pages = true;
}

const char *enclos_wasm_trap_message(enclos_wasm_trap_kind kind) {
  switch (kind) {
#define TRAP_MSG(name, msg) \
  case ENCLOS_WASM_TRAP_##name: return msg;
    ENCLOS_WASM_TRAPS(TRAP_MSG)
#undef TRAP_MSG
  default: return "unknown trap";
  }
}

enclos_err wasm__trap(enclos_wasm_store *s, enclos_wasm_trap_kind kind, wfunc *f,
                      const char *detail) {
  return wasm__trap_at(s, kind, f, UINT32_MAX, detail);
}

uint32_t wasm__code_offset(const wcode *c, uint32_t pc) {
  /* the last entry at or before pc */
  uint32_t lo = 0, hi = c->nmap, off = c->body_offset;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->map[mid].pc <= pc) {
      off = c->map[mid].off;
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return off;
}

enclos_err wasm__trap_at(enclos_wasm_store *s, enclos_wasm_trap_kind kind, wfunc *f, uint32_t pc,
                         const char *detail) {
  uint32_t exit_code = s->trap.exit_code;
  memset(&s->trap, 0, sizeof(s->trap));
  s->trap.kind = kind;
  s->trap.exit_code = kind == ENCLOS_WASM_TRAP_EXIT ? exit_code : 0;
  if (f) {
    s->trap.func_index = f->index;
    if (f->code)
      s->trap.code_offset = pc == UINT32_MAX ? f->code->body_offset : wasm__code_offset(f->code, pc);
    if (f->inst) {
      const enclos_wasm_module *m = f->inst->module;
      s->trap.func_name = wasm__func_name(m, f->index);
      for (uint32_t i = 0; i < m->nexports && !s->trap.func_name.len; i++)
        if (m->exports[i].kind == ENCLOS_WASM_EXTERN_FUNC && m->exports[i].index == f->index) {
          s->trap.func_name = m->exports[i].name;
          break;
        }
    }
  }
  enclos_err code = kind == ENCLOS_WASM_TRAP_FUEL_EXHAUSTED ? ENCLOS_E_FUEL
                    : kind == ENCLOS_WASM_TRAP_INTERRUPTED  ? ENCLOS_E_INTERRUPTED
                                                            : ENCLOS_E_TRAP;
  if (kind == ENCLOS_WASM_TRAP_HOST && detail) {
    /* detail may point into the thread's error slot, which enclos_err_set overwrites. */
    snprintf(s->trap_msg, sizeof(s->trap_msg), "%s", detail);
    return enclos_err_set(code, __FILE__, __LINE__, "%s: %s", enclos_wasm_trap_message(kind),
                          s->trap_msg);
  }
  return enclos_err_set(code, __FILE__, __LINE__, "%s", enclos_wasm_trap_message(kind));
}

enum { OBJ_INSTANCE = 4, OBJ_TYPE = 5 };

static enclos_err track(enclos_wasm_store *s, int kind, void *p) {
  wobj *o = enclos_malloc(sizeof(*o));
  ENCLOS_ENSURE(o, ENCLOS_E_NOMEM);
  o->kind = (enclos_wasm_extern_kind)kind;
  o->p = p;
  o->next = s->objs;
  s->objs = o;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_store_new(const enclos_wasm_limits *limits, enclos_wasm_store **out) {
  ENCLOS_ENSURE_REF(out);
  enclos_wasm_store *s = enclos_calloc(1, sizeof(*s));
  ENCLOS_ENSURE(s, ENCLOS_E_NOMEM);
  if (limits) s->lim = *limits;
  else enclos_wasm_limits_default(&s->lim);
  if (s->lim.max_call_depth == 0) s->lim.max_call_depth = 10000;
  if (s->lim.max_stack_bytes < 4096) s->lim.max_stack_bytes = 4096;
  s->fuel_budget = s->lim.fuel;
  s->stack_slots = s->lim.max_stack_bytes / sizeof(uint64_t);
  /* Twice the slots: the second half holds the high halves of v128 values (simd.c). Pages
   * of it are only touched by vector code. */
  s->stack = enclos_calloc(s->stack_slots * 2, sizeof(uint64_t));
  s->frames = enclos_calloc((size_t)s->lim.max_call_depth + 1, sizeof(wframe));
  atomic_init(&s->interrupt, false);
  if (!s->stack || !s->frames) {
    enclos_wasm_store_free(s);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  *out = s;
  return ENCLOS_OK;
}

static void instance_free(winst *i) {
  enclos_free(i->funcs);
  enclos_free(i->tables);
  enclos_free(i->mems);
  enclos_free(i->globals);
  enclos_free(i->type_ids);
  enclos_free(i->elem_dropped);
  enclos_free(i->data_dropped);
  enclos_wasm_module_free(i->module);
  enclos_free(i);
}

static void functype_free(enclos_wasm_functype *t) {
  if (!t) return;
  enclos_free((void *)(uintptr_t)t->params);
  enclos_free((void *)(uintptr_t)t->results);
  enclos_free(t);
}

void enclos_wasm_store_free(enclos_wasm_store *s) {
  if (!s) return;
  wobj *o = s->objs;
  while (o) {
    wobj *next = o->next;
    switch ((int)o->kind) {
    case ENCLOS_WASM_EXTERN_FUNC: enclos_free(o->p); break;
    case ENCLOS_WASM_EXTERN_TABLE:
      enclos_free(((wtable *)o->p)->elems);
      enclos_free(o->p);
      break;
    case ENCLOS_WASM_EXTERN_MEMORY: wasm__mem_free(o->p); break;
    case ENCLOS_WASM_EXTERN_GLOBAL: enclos_free(o->p); break;
    case OBJ_INSTANCE: instance_free(o->p); break;
    case OBJ_TYPE: functype_free(o->p); break;
    default: break;
    }
    enclos_free(o);
    o = next;
  }
  for (uint32_t i = 0; i < s->ntypes; i++) functype_free(s->types[i]);
  enclos_free(s->types);
  enclos_free(s->stack);
  enclos_free(s->frames);
  enclos_free(s);
}

bool wasm__functype_eq(const enclos_wasm_functype *a, const enclos_wasm_functype *b) {
  return a->nparams == b->nparams && a->nresults == b->nresults &&
         (a->nparams == 0 || memcmp(a->params, b->params, a->nparams * sizeof(*a->params)) == 0) &&
         (a->nresults == 0 || memcmp(a->results, b->results, a->nresults * sizeof(*a->results)) == 0);
}

static enclos_wasm_functype *functype_dup(const enclos_wasm_functype *t) {
  enclos_wasm_functype *n = enclos_calloc(1, sizeof(*n));
  if (!n) return NULL;
  enclos_wasm_type *p = enclos_calloc(t->nparams + 1, sizeof(*p));
  enclos_wasm_type *r = enclos_calloc(t->nresults + 1, sizeof(*r));
  if (!p || !r) {
    enclos_free(p);
    enclos_free(r);
    enclos_free(n);
    return NULL;
  }
  if (t->nparams) memcpy(p, t->params, t->nparams * sizeof(*p));
  if (t->nresults) memcpy(r, t->results, t->nresults * sizeof(*r));
  n->nparams = t->nparams;
  n->nresults = t->nresults;
  n->params = p;
  n->results = r;
  return n;
}

enclos_err wasm__type_id(enclos_wasm_store *s, const enclos_wasm_functype *t, uint32_t *out) {
  for (uint32_t i = 0; i < s->ntypes; i++)
    if (wasm__functype_eq(s->types[i], t)) {
      *out = i;
      return ENCLOS_OK;
    }
  if (s->ntypes == s->captypes) {
    uint32_t ncap = s->captypes ? s->captypes * 2 : 16;
    enclos_wasm_functype **n = enclos_realloc(s->types, ncap * sizeof(*n));
    ENCLOS_ENSURE(n, ENCLOS_E_NOMEM);
    s->types = n;
    s->captypes = ncap;
  }
  enclos_wasm_functype *d = functype_dup(t);
  ENCLOS_ENSURE(d, ENCLOS_E_NOMEM);
  s->types[s->ntypes] = d;
  *out = s->ntypes++;
  return ENCLOS_OK;
}

void enclos_wasm_store_trap(const enclos_wasm_store *s, enclos_wasm_trap *out) { *out = s->trap; }
uint64_t enclos_wasm_store_fuel_used(const enclos_wasm_store *s) { return s->fuel_used; }
void enclos_wasm_store_set_fuel(enclos_wasm_store *s, uint64_t fuel) { s->fuel_budget = fuel; }
void enclos_wasm_store_interrupt(enclos_wasm_store *s) {
  atomic_store_explicit(&s->interrupt, true, memory_order_relaxed);
}

/* ---- 2. Host-created externs ------------------------------------------------------------- */

static enclos_err new_memory(enclos_wasm_store *s, enclos_wasm_limits_desc lim, wmem **out) {
  ENCLOS_TRY(wasm__mem_new(s, lim, out));
  enclos_err rc = track(s, ENCLOS_WASM_EXTERN_MEMORY, *out);
  if (rc) wasm__mem_free(*out);
  return rc;
}

static enclos_err new_table(enclos_wasm_store *s, enclos_wasm_type elem,
                            enclos_wasm_limits_desc lim, wtable **out) {
  uint64_t cap = s->lim.max_table_elems;
  ENCLOS_ENSUREF(lim.min <= cap, ENCLOS_E_LIMIT, "table of %llu elements exceeds the limit of %llu",
                 (unsigned long long)lim.min, (unsigned long long)cap);
  wtable *t = enclos_calloc(1, sizeof(*t));
  ENCLOS_ENSURE(t, ENCLOS_E_NOMEM);
  t->elems = enclos_calloc(lim.min ? lim.min : 1, sizeof(void *));
  if (!t->elems) {
    enclos_free(t);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  t->elem = elem;
  t->decl = lim;
  t->size = (uint32_t)lim.min;
  t->max = (uint32_t)(lim.has_max && lim.max < cap ? lim.max : cap);
  enclos_err rc = track(s, ENCLOS_WASM_EXTERN_TABLE, t);
  if (rc) {
    enclos_free(t->elems);
    enclos_free(t);
    return rc;
  }
  *out = t;
  return ENCLOS_OK;
}

static enclos_err new_global(enclos_wasm_store *s, enclos_wasm_type type, bool mut, uint64_t v,
                             uint64_t hi, wglobal **out) {
  wglobal *g = enclos_calloc(1, sizeof(*g));
  ENCLOS_ENSURE(g, ENCLOS_E_NOMEM);
  g->type = type;
  g->mut = mut;
  g->val = v;
  g->hi = hi;
  enclos_err rc = track(s, ENCLOS_WASM_EXTERN_GLOBAL, g);
  if (rc) enclos_free(g);
  else *out = g;
  return rc;
}

/* A value as slot bits; \p hi gets a v128's bytes 8-15 (0 for other types). */
static uint64_t val_bits(const enclos_wasm_val *v, uint64_t *hi) {
  uint64_t lo;
  *hi = 0;
  switch (v->type) {
  case ENCLOS_WASM_I32: case ENCLOS_WASM_F32: return v->of.i32;
  case ENCLOS_WASM_FUNCREF: case ENCLOS_WASM_EXTERNREF: return (uintptr_t)v->of.ref;
  case ENCLOS_WASM_V128:
    memcpy(&lo, v->of.v128, 8);
    memcpy(hi, v->of.v128 + 8, 8);
    return lo;
  default: return v->of.i64;
  }
}
static void bits_val(enclos_wasm_type t, uint64_t b, uint64_t hi, enclos_wasm_val *v) {
  memset(v, 0, sizeof(*v));
  v->type = t;
  switch (t) {
  case ENCLOS_WASM_I32: case ENCLOS_WASM_F32: v->of.i32 = (uint32_t)b; break;
  case ENCLOS_WASM_FUNCREF: case ENCLOS_WASM_EXTERNREF: v->of.ref = (void *)(uintptr_t)b; break;
  case ENCLOS_WASM_V128:
    memcpy(v->of.v128, &b, 8);
    memcpy(v->of.v128 + 8, &hi, 8);
    break;
  default: v->of.i64 = b; break;
  }
}

static bool valtype_ok(enclos_wasm_type t) {
  return t == ENCLOS_WASM_I32 || t == ENCLOS_WASM_I64 || t == ENCLOS_WASM_F32 ||
         t == ENCLOS_WASM_F64 || t == ENCLOS_WASM_V128 || t == ENCLOS_WASM_FUNCREF ||
         t == ENCLOS_WASM_EXTERNREF;
}

enclos_err enclos_wasm_memory_new(enclos_wasm_store *s, enclos_wasm_limits_desc limits,
                                  enclos_wasm_extern *out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(limits.min <= WASM_MAX_PAGES && (!limits.has_max || (limits.max <= WASM_MAX_PAGES && limits.min <= limits.max)),
                 ENCLOS_E_INVAL, "invalid memory limits");
  wmem *m;
  ENCLOS_TRY(new_memory(s, limits, &m));
  out->kind = ENCLOS_WASM_EXTERN_MEMORY;
  out->obj = m;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_table_new(enclos_wasm_store *s, enclos_wasm_type elem,
                                 enclos_wasm_limits_desc limits, enclos_wasm_extern *out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(elem == ENCLOS_WASM_FUNCREF || elem == ENCLOS_WASM_EXTERNREF, ENCLOS_E_INVAL,
                 "table element type must be a reference type");
  ENCLOS_ENSUREF(!limits.has_max || limits.min <= limits.max, ENCLOS_E_INVAL, "invalid table limits");
  wtable *t;
  ENCLOS_TRY(new_table(s, elem, limits, &t));
  out->kind = ENCLOS_WASM_EXTERN_TABLE;
  out->obj = t;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_global_new(enclos_wasm_store *s, enclos_wasm_val init, bool mutable_,
                                  enclos_wasm_extern *out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(valtype_ok(init.type), ENCLOS_E_UNSUPPORTED, "global of type 0x%02x not supported",
                 (unsigned)init.type);
  wglobal *g;
  uint64_t hi, lo = val_bits(&init, &hi);
  ENCLOS_TRY(new_global(s, init.type, mutable_, lo, hi, &g));
  out->kind = ENCLOS_WASM_EXTERN_GLOBAL;
  out->obj = g;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_extern_type(enclos_wasm_extern ext, enclos_wasm_externtype *out) {
  ENCLOS_ENSURE_REF(ext.obj);
  ENCLOS_ENSURE_REF(out);
  memset(out, 0, sizeof(*out));
  out->kind = ext.kind;
  switch (ext.kind) {
  case ENCLOS_WASM_EXTERN_FUNC: out->of.func = *((wfunc *)ext.obj)->type; break;
  case ENCLOS_WASM_EXTERN_TABLE: {
    wtable *t = ext.obj;
    out->of.table.elem = t->elem;
    out->of.table.limits.min = t->size;
    out->of.table.limits.has_max = t->decl.has_max;
    out->of.table.limits.max = t->decl.max;
    break;
  }
  case ENCLOS_WASM_EXTERN_MEMORY: {
    wmem *m = ext.obj;
    out->of.memory.min = m->pages;
    out->of.memory.has_max = m->decl.has_max;
    out->of.memory.max = m->decl.max;
    break;
  }
  case ENCLOS_WASM_EXTERN_GLOBAL: {
    wglobal *g = ext.obj;
    out->of.global.type = g->type;
    out->of.global.mutable_ = g->mut;
    break;
  }
  default: ENCLOS_FAILF(ENCLOS_E_INVAL, "bad extern kind %d", (int)ext.kind);
  }
  return ENCLOS_OK;
}

enclos_err enclos_wasm_global_get(enclos_wasm_extern global, enclos_wasm_val *out) {
  ENCLOS_ENSURE(global.kind == ENCLOS_WASM_EXTERN_GLOBAL && global.obj, ENCLOS_E_INVAL);
  wglobal *g = global.obj;
  bits_val(g->type, g->val, g->hi, out);
  return ENCLOS_OK;
}

enclos_err enclos_wasm_global_set(enclos_wasm_extern global, enclos_wasm_val v) {
  ENCLOS_ENSURE(global.kind == ENCLOS_WASM_EXTERN_GLOBAL && global.obj, ENCLOS_E_INVAL);
  wglobal *g = global.obj;
  ENCLOS_ENSUREF(g->mut, ENCLOS_E_STATE, "global is immutable");
  ENCLOS_ENSUREF(v.type == g->type, ENCLOS_E_INVAL, "global is %s, value is %s",
                 wasm__type_name((uint8_t)g->type), wasm__type_name((uint8_t)v.type));
  g->val = val_bits(&v, &g->hi);
  return ENCLOS_OK;
}

enclos_err enclos_wasm_memory_data(enclos_wasm_extern memory, uint8_t **data, size_t *size) {
  ENCLOS_ENSURE(memory.kind == ENCLOS_WASM_EXTERN_MEMORY && memory.obj, ENCLOS_E_INVAL);
  wmem *m = memory.obj;
  if (data) *data = m->base;
  if (size) *size = (size_t)m->size;
  return ENCLOS_OK;
}

/* ---- 3. Imports ---------------------------------------------------------------------------- */

typedef struct wimp_entry {
  char *module;
  uint8_t *name;
  size_t name_len;
  bool host;
  enclos_wasm_extern ext;
  enclos_wasm_functype type; /* host functions */
  enclos_wasm_host_fn fn;
  void *env;
} wimp_entry;

struct enclos_wasm_imports {
  wimp_entry *e;
  size_t n, cap;
};

#define WASM_MAX_HOST_IMPORTS 100000u

enclos_err enclos_wasm_imports_new(enclos_wasm_imports **out) {
  ENCLOS_ENSURE_REF(out);
  *out = enclos_calloc(1, sizeof(**out));
  ENCLOS_ENSURE(*out, ENCLOS_E_NOMEM);
  return ENCLOS_OK;
}

void enclos_wasm_imports_free(enclos_wasm_imports *imp) {
  if (!imp) return;
  for (size_t i = 0; i < imp->n; i++) {
    enclos_free(imp->e[i].module);
    enclos_free(imp->e[i].name);
    enclos_free((void *)(uintptr_t)imp->e[i].type.params);
    enclos_free((void *)(uintptr_t)imp->e[i].type.results);
  }
  enclos_free(imp->e);
  enclos_free(imp);
}

static enclos_err add_entry(enclos_wasm_imports *imp, const char *module, const void *name,
                            size_t name_len, wimp_entry **out) {
  ENCLOS_ENSURE_REF(imp);
  ENCLOS_ENSURE_REF(module);
  ENCLOS_ENSUREF(imp->n < WASM_MAX_HOST_IMPORTS, ENCLOS_E_LIMIT, "too many imports");
  if (imp->n == imp->cap) {
    size_t ncap = imp->cap ? imp->cap * 2 : 8;
    wimp_entry *n = enclos_realloc(imp->e, ncap * sizeof(*n));
    ENCLOS_ENSURE(n, ENCLOS_E_NOMEM);
    imp->e = n;
    imp->cap = ncap;
  }
  wimp_entry *e = &imp->e[imp->n];
  memset(e, 0, sizeof(*e));
  e->module = enclos_strdup(module);
  e->name = enclos_malloc(name_len + 1);
  if (!e->module || !e->name) {
    enclos_free(e->module);
    enclos_free(e->name);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  if (name_len) memcpy(e->name, name, name_len);
  e->name_len = name_len;
  imp->n++;
  *out = e;
  return ENCLOS_OK;
}

static enclos_err parse_sig_part(const char *s, size_t n, enclos_wasm_type **out, uint32_t *count) {
  enclos_wasm_type *t = enclos_calloc(n + 1, sizeof(*t));
  ENCLOS_ENSURE(t, ENCLOS_E_NOMEM);
  for (size_t i = 0; i < n; i++) {
    switch (s[i]) {
    case 'i': t[i] = ENCLOS_WASM_I32; break;
    case 'I': t[i] = ENCLOS_WASM_I64; break;
    case 'f': t[i] = ENCLOS_WASM_F32; break;
    case 'F': t[i] = ENCLOS_WASM_F64; break;
    case 'r': t[i] = ENCLOS_WASM_FUNCREF; break;
    case 'e': t[i] = ENCLOS_WASM_EXTERNREF; break;
    case 'v': t[i] = ENCLOS_WASM_V128; break;
    default:
      enclos_free(t);
      ENCLOS_FAILF(ENCLOS_E_INVAL, "bad signature letter '%c'", s[i]);
    }
  }
  *out = t;
  *count = (uint32_t)n;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_imports_add_func(enclos_wasm_imports *imp, const char *module,
                                        const char *name, const char *sig,
                                        enclos_wasm_host_fn fn, void *env) {
  ENCLOS_ENSURE_REF(name);
  ENCLOS_ENSURE_REF(sig);
  ENCLOS_ENSURE_REF(fn);
  const char *colon = strchr(sig, ':');
  ENCLOS_ENSUREF(colon, ENCLOS_E_INVAL, "signature \"%s\" lacks ':'", sig);
  ENCLOS_ENSUREF(strlen(sig) < 200, ENCLOS_E_INVAL, "signature too long");
  enclos_wasm_type *p = NULL, *r = NULL;
  uint32_t np, nr;
  ENCLOS_TRY(parse_sig_part(sig, (size_t)(colon - sig), &p, &np));
  enclos_err rc = parse_sig_part(colon + 1, strlen(colon + 1), &r, &nr);
  if (rc) {
    enclos_free(p);
    return rc;
  }
  wimp_entry *e;
  rc = add_entry(imp, module, name, strlen(name), &e);
  if (rc) {
    enclos_free(p);
    enclos_free(r);
    return rc;
  }
  e->host = true;
  e->type.params = p;
  e->type.nparams = np;
  e->type.results = r;
  e->type.nresults = nr;
  e->fn = fn;
  e->env = env;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_imports_add_extern(enclos_wasm_imports *imp, const char *module,
                                          enclos_wasm_name name, enclos_wasm_extern ext) {
  ENCLOS_ENSURE_REF(ext.obj);
  ENCLOS_ENSURE(name.data || name.len == 0, ENCLOS_E_INVAL);
  wimp_entry *e;
  ENCLOS_TRY(add_entry(imp, module, name.data, name.len, &e));
  e->ext = ext;
  return ENCLOS_OK;
}

/* ---- 4. Instantiation -------------------------------------------------------------------------- */

/* §4.5.2 limits subtyping: actual {n1, m1} matches expected {n2, m2}. */
static bool limits_match(uint64_t n1, bool has1, uint64_t m1, const enclos_wasm_limits_desc *want) {
  if (n1 < want->min) return false;
  if (want->has_max) return has1 && m1 <= want->max;
  return true;
}

static enclos_err resolve(enclos_wasm_store *s, const enclos_wasm_module *m,
                          const enclos_wasm_imports *imp, const wimport *im, winst *in) {
  const wimp_entry *found = NULL;
  for (size_t i = 0; imp && i < imp->n; i++) {
    const wimp_entry *e = &imp->e[imp->n - 1 - i]; /* later registrations win */
    if (strlen(e->module) == im->module.len && memcmp(e->module, im->module.data, im->module.len) == 0 &&
        e->name_len == im->name.len && memcmp(e->name, im->name.data, im->name.len) == 0) {
      found = e;
      break;
    }
  }
  ENCLOS_ENSUREF(found, ENCLOS_E_UNLINKABLE, "unknown import \"%.*s\".\"%.*s\"",
                 (int)im->module.len, im->module.data, (int)im->name.len, im->name.data);
#define INCOMPAT()                                                                      \
  ENCLOS_FAILF(ENCLOS_E_UNLINKABLE, "incompatible import type for \"%.*s\".\"%.*s\"",   \
               (int)im->module.len, im->module.data, (int)im->name.len, im->name.data)
  switch (im->kind) {
  case ENCLOS_WASM_EXTERN_FUNC: {
    const enclos_wasm_functype *want = &m->types[m->func_types[im->index]];
    if (found->host) {
      if (!wasm__functype_eq(&found->type, want)) INCOMPAT();
      wfunc *f = enclos_calloc(1, sizeof(*f));
      ENCLOS_ENSURE(f, ENCLOS_E_NOMEM);
      enclos_err rc = track(s, ENCLOS_WASM_EXTERN_FUNC, f);
      if (rc) {
        enclos_free(f);
        return rc;
      }
      enclos_wasm_functype *t = functype_dup(want);
      ENCLOS_ENSURE(t, ENCLOS_E_NOMEM);
      rc = track(s, OBJ_TYPE, t);
      if (rc) {
        functype_free(t);
        return rc;
      }
      f->type = t;
      ENCLOS_TRY(wasm__type_id(s, t, &f->type_id));
      f->host = found->fn;
      f->env = found->env;
      f->index = im->index;
      in->funcs[im->index] = f;
    } else {
      if (found->ext.kind != ENCLOS_WASM_EXTERN_FUNC) INCOMPAT();
      wfunc *f = found->ext.obj;
      if (!wasm__functype_eq(f->type, want)) INCOMPAT();
      in->funcs[im->index] = f;
    }
    return ENCLOS_OK;
  }
  case ENCLOS_WASM_EXTERN_TABLE: {
    if (found->host || found->ext.kind != ENCLOS_WASM_EXTERN_TABLE) INCOMPAT();
    wtable *t = found->ext.obj;
    const wtable_t *want = &m->tables[im->index];
    if (t->elem != want->elem || !limits_match(t->size, t->decl.has_max, t->decl.max, &want->lim))
      INCOMPAT();
    in->tables[im->index] = t;
    return ENCLOS_OK;
  }
  case ENCLOS_WASM_EXTERN_MEMORY: {
    if (found->host || found->ext.kind != ENCLOS_WASM_EXTERN_MEMORY) INCOMPAT();
    wmem *mem = found->ext.obj;
    if (!limits_match(mem->pages, mem->decl.has_max, mem->decl.max, &m->mems[im->index])) INCOMPAT();
    in->mems[im->index] = mem;
    return ENCLOS_OK;
  }
  case ENCLOS_WASM_EXTERN_GLOBAL: {
    if (found->host || found->ext.kind != ENCLOS_WASM_EXTERN_GLOBAL) INCOMPAT();
    wglobal *g = found->ext.obj;
    const wglobal_t *want = &m->globals[im->index];
    if (g->type != want->type || g->mut != want->mut) INCOMPAT();
    in->globals[im->index] = g;
    return ENCLOS_OK;
  }
  }
#undef INCOMPAT
  ENCLOS_FAIL(ENCLOS_E_INTERNAL);
}

/* A constant expression's value; \p hi gets a v128's bytes 8-15. */
static uint64_t eval_const2(const winst *in, const wconst *c, uint64_t *hi) {
  *hi = 0;
  switch (c->op) {
  case 0x23:
    *hi = in->globals[c->val]->hi;
    return in->globals[c->val]->val;
  case 0xd2: return (uintptr_t)in->funcs[c->val];
  case 0xd0: return 0;
  case 0xfd: *hi = c->hi; return c->val;
  default: return c->val;
  }
}
static uint64_t eval_const(const winst *in, const wconst *c) {
  uint64_t hi;
  return eval_const2(in, c, &hi);
}

static enclos_err call_slots(enclos_wasm_store *s, wfunc *f, uint64_t *slots, uint64_t *hi);

enclos_err wasm__instance_alloc(enclos_wasm_store *s, enclos_wasm_module *m,
                                const enclos_wasm_imports *imp, winst **out) {
  winst *in = enclos_calloc(1, sizeof(*in));
  ENCLOS_ENSURE(in, ENCLOS_E_NOMEM);
  atomic_fetch_add(&m->refs, 1);
  in->module = m;
  in->store = s;
  enclos_err rc = track(s, OBJ_INSTANCE, in);
  if (rc) {
    instance_free(in);
    return rc;
  }
  in->funcs = enclos_calloc(m->nfuncs + 1, sizeof(*in->funcs));
  in->tables = enclos_calloc(m->ntables + 1, sizeof(*in->tables));
  in->mems = enclos_calloc(m->nmems + 1, sizeof(*in->mems));
  in->globals = enclos_calloc(m->nglobals + 1, sizeof(*in->globals));
  in->type_ids = enclos_calloc(m->ntypes + 1, sizeof(*in->type_ids));
  in->elem_dropped = enclos_calloc(m->nelems + 1, 1);
  in->data_dropped = enclos_calloc(m->ndatas + 1, 1);
  ENCLOS_ENSURE(in->funcs && in->tables && in->mems && in->globals && in->type_ids &&
                    in->elem_dropped && in->data_dropped,
                ENCLOS_E_NOMEM);
  for (uint32_t i = 0; i < m->ntypes; i++) ENCLOS_TRY(wasm__type_id(s, &m->types[i], &in->type_ids[i]));
  for (uint32_t i = 0; i < m->nimports; i++) ENCLOS_TRY(resolve(s, m, imp, &m->imports[i], in));
  for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
    wfunc *f = enclos_calloc(1, sizeof(*f));
    ENCLOS_ENSURE(f, ENCLOS_E_NOMEM);
    rc = track(s, ENCLOS_WASM_EXTERN_FUNC, f);
    if (rc) {
      enclos_free(f);
      return rc;
    }
    f->type = &m->types[m->func_types[i]];
    f->type_id = in->type_ids[m->func_types[i]];
    f->inst = in;
    f->code = &m->codes[i - m->nfunc_imports];
    f->index = i;
    in->funcs[i] = f;
  }
  for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
    ENCLOS_TRY(new_table(s, m->tables[i].elem, m->tables[i].lim, &in->tables[i]));
  for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
    ENCLOS_TRY(new_memory(s, m->mems[i], &in->mems[i]));
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
    uint64_t hi, lo = eval_const2(in, &m->globals[i].init, &hi);
    ENCLOS_TRY(new_global(s, m->globals[i].type, m->globals[i].mut, lo, hi, &in->globals[i]));
  }
  *out = in;
  return ENCLOS_OK;
}

enclos_err enclos_wasm_instantiate(enclos_wasm_store *s, const enclos_wasm_module *cm,
                                   const enclos_wasm_imports *imp, enclos_wasm_instance **out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(cm);
  ENCLOS_ENSURE_REF(out);
  enclos_wasm_module *m = (enclos_wasm_module *)(uintptr_t)cm; /* refcount only */
  winst *in;
  ENCLOS_TRY(wasm__instance_alloc(s, m, imp, &in));
  *out = (enclos_wasm_instance *)in;
  /* §4.5.4 steps 14-15: element segments, then data segments, in order; a failing segment
   * traps, leaving the writes of earlier segments in place. */
  for (uint32_t i = 0; i < m->nelems; i++) {
    const welem *e = &m->elems[i];
    if (e->mode == WSEG_ACTIVE) {
      wtable *t = in->tables[e->table];
      uint64_t off = (uint32_t)eval_const(in, &e->offset);
      if (off + e->count > t->size) return wasm__trap(s, ENCLOS_WASM_TRAP_TABLE_OOB, NULL, NULL);
      for (uint32_t k = 0; k < e->count; k++)
        t->elems[off + k] = (void *)(uintptr_t)eval_const(in, &e->items[k]);
    }
    if (e->mode != WSEG_PASSIVE) in->elem_dropped[i] = 1;
  }
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const wdata *d = &m->datas[i];
    if (d->mode != WSEG_ACTIVE) continue;
    wmem *mem = in->mems[0];
    uint64_t off = (uint32_t)eval_const(in, &d->offset);
    if (off + d->size > mem->size) return wasm__trap(s, ENCLOS_WASM_TRAP_MEMORY_OOB, NULL, NULL);
    if (d->size) memcpy(mem->base + off, d->bytes, d->size);
    in->data_dropped[i] = 1;
  }
  if (m->has_start) {
    uint64_t none[1] = {0};
    ENCLOS_TRY(call_slots(s, in->funcs[m->start], none, NULL));
  }
  return ENCLOS_OK;
}

enclos_err enclos_wasm_instance_export(const enclos_wasm_instance *inst, enclos_wasm_name name,
                                       enclos_wasm_extern *out) {
  ENCLOS_ENSURE_REF(inst);
  ENCLOS_ENSURE_REF(out);
  const winst *in = (const winst *)inst;
  const enclos_wasm_module *m = in->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    const wexport *e = &m->exports[i];
    if (e->name.len != name.len || (name.len && memcmp(e->name.data, name.data, name.len) != 0))
      continue;
    out->kind = e->kind;
    switch (e->kind) {
    case ENCLOS_WASM_EXTERN_FUNC: out->obj = in->funcs[e->index]; break;
    case ENCLOS_WASM_EXTERN_TABLE: out->obj = in->tables[e->index]; break;
    case ENCLOS_WASM_EXTERN_MEMORY: out->obj = in->mems[e->index]; break;
    case ENCLOS_WASM_EXTERN_GLOBAL: out->obj = in->globals[e->index]; break;
    }
    return ENCLOS_OK;
  }
  ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "no export named \"%.*s\"", (int)name.len, name.data);
}

/* ---- 5. Calls ---------------------------------------------------------------------------- */

/* Runs \p f with its arguments in slots[0..] (v128 high halves in hi[0..], NULL when the
 * type has no v128) and leaves results there; handles fuel for top-level calls and nesting
 * (host functions calling back into wasm). */
static enclos_err call_slots(enclos_wasm_store *s, wfunc *f, uint64_t *slots, uint64_t *hi) {
  const enclos_wasm_functype *t = f->type;
  size_t need = (size_t)t->nparams + t->nresults + 1;
  size_t saved_used = s->stack_used;
  uint32_t saved_frames = s->frames_used;
  ENCLOS_ENSUREF(saved_used + need < s->stack_slots, ENCLOS_E_LIMIT, "value stack exhausted");
  uint64_t *base = s->stack + saved_used;
  memcpy(base, slots, t->nparams * sizeof(uint64_t));
  if (hi) memcpy(base + s->stack_slots, hi, t->nparams * sizeof(uint64_t));
  bool top = s->depth == 0;
  if (top) {
    s->fuel = s->fuel_budget ? (int64_t)(s->fuel_budget > INT64_MAX ? INT64_MAX : s->fuel_budget)
                             : INT64_MAX;
    atomic_store_explicit(&s->interrupt, false, memory_order_relaxed);
    memset(&s->trap, 0, sizeof(s->trap));
  }
  int64_t start_fuel = s->fuel;
  s->depth++;
  enclos_err rc = wasm__invoke(s, f, base);
  s->depth--;
  s->stack_used = saved_used;
  s->frames_used = saved_frames;
  if (top) s->fuel_used = s->fuel_budget ? (uint64_t)(start_fuel - (s->fuel < 0 ? 0 : s->fuel)) : (uint64_t)(start_fuel - s->fuel);
  if (top && rc == ENCLOS_E_FUEL) s->fuel_used = s->fuel_budget;
  if (rc == ENCLOS_OK) memcpy(slots, base, t->nresults * sizeof(uint64_t));
  if (rc == ENCLOS_OK && hi) memcpy(hi, base + s->stack_slots, t->nresults * sizeof(uint64_t));
  return rc;
}

#define CALL_MAX_VALUES 1000u

enclos_err enclos_wasm_call(enclos_wasm_store *s, enclos_wasm_extern func,
                            const enclos_wasm_val *args, size_t nargs, enclos_wasm_val *results,
                            size_t nresults) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSUREF(func.kind == ENCLOS_WASM_EXTERN_FUNC && func.obj, ENCLOS_E_INVAL,
                 "extern is not a function");
  wfunc *f = func.obj;
  const enclos_wasm_functype *t = f->type;
  ENCLOS_ENSUREF(nargs == t->nparams, ENCLOS_E_INVAL, "function takes %u arguments, got %zu",
                 t->nparams, nargs);
  ENCLOS_ENSUREF(nresults == t->nresults, ENCLOS_E_INVAL, "function returns %u results, room for %zu",
                 t->nresults, nresults);
  ENCLOS_ENSUREF(nargs + nresults <= CALL_MAX_VALUES, ENCLOS_E_LIMIT, "too many values");
  uint64_t slots[CALL_MAX_VALUES + 1], hi[CALL_MAX_VALUES + 1];
  for (size_t i = 0; i < nargs; i++) {
    ENCLOS_ENSUREF(args[i].type == t->params[i], ENCLOS_E_INVAL,
                   "argument %zu is %s, expected %s", i, wasm__type_name((uint8_t)args[i].type),
                   wasm__type_name((uint8_t)t->params[i]));
    slots[i] = val_bits(&args[i], &hi[i]);
  }
  ENCLOS_TRY(call_slots(s, f, slots, hi));
  for (size_t i = 0; i < nresults; i++) bits_val(t->results[i], slots[i], hi[i], &results[i]);
  return ENCLOS_OK;
}

void enclos_wasm_caller_memory(enclos_wasm_caller *caller, uint8_t **data, size_t *size) {
  *data = NULL;
  *size = 0;
  if (caller && caller->inst && caller->inst->module->nmems) {
    *data = caller->inst->mems[0]->base;
    *size = (size_t)caller->inst->mems[0]->size;
  }
}

enclos_wasm_store *enclos_wasm_caller_store(enclos_wasm_caller *caller) {
  return caller ? caller->store : NULL;
}

enclos_err enclos_wasm_caller_exit(enclos_wasm_caller *caller, uint32_t code) {
  ENCLOS_ENSURE_REF(caller);
  caller->exit = true;
  caller->exit_code = code;
  ENCLOS_FAILF(ENCLOS_E_TRAP, "exit(%u)", code);
}
