/* decode.c: the binary format (WebAssembly core spec 2.0, §5) and module-level validation
 * (§3.4), calling compile.c for each function body.
 *
 * Divisions:
 *   1. Error helpers and checked reads that translate reader errors to the spec's wording.
 *   2. Types: value types, limits, function types, names (§5.3, §5.2.4).
 *   3. Constant expressions (§3.3.10).
 *   4. One function per section (§5.5.2-§5.5.13).
 *   5. enclos_wasm_module_load and the inspection API.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <enclos/mem.h>

#include "wasm_int.h"

/* ---- 1. Errors and reads --------------------------------------------------------------- */

enclos_err wasm__fail(enclos_err code, const char *section, size_t offset, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return enclos_err_set(code, __FILE__, __LINE__, "%s section, offset 0x%zx: %s", section,
                        offset, msg);
}

typedef struct wdec {
  enclos_reader r;
  const char *sec;
  enclos_wasm_module *m;
} wdec;

#define DFAIL(d, code, ...) return wasm__fail((code), (d)->sec, enclos_rd_offset(&(d)->r), __VA_ARGS__)
#define DENSURE(d, c, code, ...) \
  do {                           \
    if (!(c)) DFAIL(d, code, __VA_ARGS__); \
  } while (0)

/* Translates a reader failure: truncation is the spec's "unexpected end", LEB128 errors keep
 * the reader's own spec wording ("integer representation too long", "integer too large"). */
static enclos_err rd_fail(wdec *d, enclos_err rc) {
  if (rc == ENCLOS_E_TRUNCATED) DFAIL(d, ENCLOS_E_MALFORMED, "unexpected end");
  char detail[256];
  snprintf(detail, sizeof(detail), "%s", enclos_err_detail());
  DFAIL(d, ENCLOS_E_MALFORMED, "%s", detail);
}

/* The reader's result as ours: nothing on success (inline, it wraps every read). */
static inline enclos_err rd_check(wdec *d, enclos_err rc) {
  return rc == ENCLOS_OK ? ENCLOS_OK : rd_fail(d, rc);
}

static enclos_err rd_u8(wdec *d, uint8_t *out) { return rd_check(d, enclos_rd_u8(&d->r, out)); }
static enclos_err rd_u32(wdec *d, uint32_t *out) {
  return rd_check(d, enclos_rd_uleb32(&d->r, out));
}
static enclos_err rd_count(wdec *d, uint32_t max, const char *what, uint32_t *out) {
  ENCLOS_TRY(rd_u32(d, out));
  DENSURE(d, *out <= max, ENCLOS_E_LIMIT, "too many %s (%u, limit %u)", what, *out, max);
  return ENCLOS_OK;
}

/* ---- 2. Types ------------------------------------------------------------------------- */

const char *wasm__type_name(uint8_t t) {
  switch (t) {
  case 0x7f: return "i32";
  case 0x7e: return "i64";
  case 0x7d: return "f32";
  case 0x7c: return "f64";
  case 0x7b: return "v128";
  case 0x70: return "funcref";
  case 0x6f: return "externref";
  default: return "unknown";
  }
}

static enclos_err rd_valtype(wdec *d, enclos_wasm_type *out) {
  uint8_t b;
  ENCLOS_TRY(rd_u8(d, &b));
  switch (b) {
  case 0x7f: case 0x7e: case 0x7d: case 0x7c: case 0x7b: case 0x70: case 0x6f:
    *out = (enclos_wasm_type)b;
    return ENCLOS_OK;
  default: DFAIL(d, ENCLOS_E_MALFORMED, "malformed value type 0x%02x", b);
  }
}

static enclos_err rd_reftype(wdec *d, enclos_wasm_type *out) {
  uint8_t b;
  ENCLOS_TRY(rd_u8(d, &b));
  DENSURE(d, b == 0x70 || b == 0x6f, ENCLOS_E_MALFORMED, "malformed reference type 0x%02x", b);
  *out = (enclos_wasm_type)b;
  return ENCLOS_OK;
}

static enclos_err rd_limits(wdec *d, enclos_wasm_limits_desc *l) {
  uint8_t flag;
  uint32_t v;
  ENCLOS_TRY(rd_u8(d, &flag));
  DENSURE(d, flag <= 1, ENCLOS_E_MALFORMED, "integer too large (limits flag 0x%02x)", flag);
  ENCLOS_TRY(rd_u32(d, &v));
  l->min = v;
  l->has_max = flag == 1;
  l->max = 0;
  if (l->has_max) {
    ENCLOS_TRY(rd_u32(d, &v));
    l->max = v;
  }
  return ENCLOS_OK;
}

/* memtype (§5.3.8), valid within 65536 pages (§3.2.5), read for imports and the memory
 * section alike. */
static enclos_err rd_memtype(wdec *d, enclos_wasm_limits_desc *l) {
  ENCLOS_TRY(rd_limits(d, l));
  DENSURE(d, l->min <= WASM_MAX_PAGES, ENCLOS_E_INVALID,
          "memory size must be at most 65536 pages (4GiB)");
  if (l->has_max) {
    DENSURE(d, l->max <= WASM_MAX_PAGES, ENCLOS_E_INVALID,
            "memory size must be at most 65536 pages (4GiB)");
    DENSURE(d, l->min <= l->max, ENCLOS_E_INVALID,
            "size minimum must not be greater than maximum");
  }
  return ENCLOS_OK;
}

/* tabletype (§5.3.9): reference type, then limits (§3.2.4: min <= max). */
static enclos_err rd_tabletype(wdec *d, wtable_t *t) {
  ENCLOS_TRY(rd_reftype(d, &t->elem));
  ENCLOS_TRY(rd_limits(d, &t->lim));
  if (t->lim.has_max)
    DENSURE(d, t->lim.min <= t->lim.max, ENCLOS_E_INVALID,
            "size minimum must not be greater than maximum");
  return ENCLOS_OK;
}

/* globaltype (§5.3.10): value type, then mutability 0 (const) or 1 (var). */
static enclos_err rd_globaltype(wdec *d, wglobal_t *g) {
  uint8_t mut;
  ENCLOS_TRY(rd_valtype(d, &g->type));
  ENCLOS_TRY(rd_u8(d, &mut));
  DENSURE(d, mut <= 1, ENCLOS_E_MALFORMED, "malformed mutability");
  g->mut = mut;
  return ENCLOS_OK;
}

/* UTF-8 validity (§5.2.4 names): shortest form, no surrogates, at most U+10FFFF. */
static bool utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1fu; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0fu; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07u; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

static enclos_err rd_name(wdec *d, enclos_wasm_name *out) {
  uint32_t len;
  const uint8_t *p;
  ENCLOS_TRY(rd_u32(d, &len));
  DENSURE(d, len <= WASM_MAX_NAME, ENCLOS_E_LIMIT, "name too long (%u bytes)", len);
  DENSURE(d, len <= enclos_rd_remaining(&d->r), ENCLOS_E_MALFORMED,
          "unexpected end (length out of bounds)");
  ENCLOS_TRY(enclos_rd_bytes(&d->r, len, &p));
  DENSURE(d, utf8_ok(p, len), ENCLOS_E_MALFORMED, "malformed UTF-8 encoding");
  out->data = (const char *)p;
  out->len = len;
  return ENCLOS_OK;
}

/* ---- 3. Constant expressions (§3.3.10; Wasm 2.0 allows one instruction) ---------------- */

/* Bytes that start no Wasm 2.0 instruction (§5.4). */
static bool illegal_op(uint8_t op) {
  return (op >= 0x06 && op <= 0x0a) || (op >= 0x12 && op <= 0x19) || (op >= 0x1d && op <= 0x1f) ||
         op == 0x27 || (op >= 0xc5 && op <= 0xcf) || (op >= 0xd3 && op <= 0xfb) || op >= 0xfe;
}

static bool is_const_op(uint8_t op) {
  return op == 0x41 || op == 0x42 || op == 0x43 || op == 0x44 || op == 0x23 || op == 0xd0 ||
         op == 0xd2;
}

static enclos_err rd_const(wdec *d, enclos_wasm_type want, wconst *c) {
  enclos_wasm_module *m = d->m;
  uint8_t op;
  enclos_wasm_type got;
  ENCLOS_TRY(rd_u8(d, &op));
  c->op = op;
  c->val = 0;
  c->hi = 0;
  switch (op) {
  case 0x41: {
    int64_t v;
    ENCLOS_TRY(rd_check(d, enclos_rd_sleb(&d->r, 32, &v)));
    c->val = (uint32_t)(int32_t)v;
    got = ENCLOS_WASM_I32;
    break;
  }
  case 0x42: {
    int64_t v;
    ENCLOS_TRY(rd_check(d, enclos_rd_sleb(&d->r, 64, &v)));
    c->val = (uint64_t)v;
    got = ENCLOS_WASM_I64;
    break;
  }
  case 0x43: {
    uint32_t v;
    ENCLOS_TRY(rd_check(d, enclos_rd_u32le(&d->r, &v)));
    c->val = v;
    got = ENCLOS_WASM_F32;
    break;
  }
  case 0x44:
    ENCLOS_TRY(rd_check(d, enclos_rd_u64le(&d->r, &c->val)));
    got = ENCLOS_WASM_F64;
    break;
  case 0x23: {
    uint32_t g;
    ENCLOS_TRY(rd_u32(d, &g));
    /* Wasm 2.0 §3.3.10: only imported globals are visible to constant expressions. */
    DENSURE(d, g < m->nglobal_imports, ENCLOS_E_INVALID, "unknown global %u", g);
    DENSURE(d, !m->globals[g].mut, ENCLOS_E_INVALID,
            "constant expression required (global.get of a mutable global)");
    c->val = g;
    got = m->globals[g].type;
    break;
  }
  case 0xd0:
    ENCLOS_TRY(rd_reftype(d, &got));
    break;
  case 0xd2: {
    uint32_t f;
    ENCLOS_TRY(rd_u32(d, &f));
    DENSURE(d, f < m->nfuncs, ENCLOS_E_INVALID, "unknown function %u", f);
    m->declared[f] = 1;
    c->val = f;
    got = ENCLOS_WASM_FUNCREF;
    break;
  }
  case 0x0b: DFAIL(d, ENCLOS_E_INVALID, "type mismatch (empty constant expression)");
  case 0xfd: { /* only v128.const (0xfd 12, 16 bytes) is constant (§3.3.10) */
    uint32_t sub;
    ENCLOS_TRY(rd_u32(d, &sub));
    DENSURE(d, sub == 12, ENCLOS_E_INVALID, "constant expression required (opcode 0xfd %u)", sub);
    ENCLOS_TRY(rd_check(d, enclos_rd_u64le(&d->r, &c->val)));
    ENCLOS_TRY(rd_check(d, enclos_rd_u64le(&d->r, &c->hi)));
    got = ENCLOS_WASM_V128;
    break;
  }
  default:
    DENSURE(d, !illegal_op(op), ENCLOS_E_MALFORMED, "illegal opcode 0x%02x", op);
    DFAIL(d, ENCLOS_E_INVALID, "constant expression required (opcode 0x%02x)", op);
  }
  uint8_t end;
  ENCLOS_TRY(rd_u8(d, &end));
  if (end != 0x0b) {
    if (is_const_op(end)) DFAIL(d, ENCLOS_E_INVALID, "type mismatch (constant expression)");
    DFAIL(d, ENCLOS_E_INVALID, "constant expression required (opcode 0x%02x)", end);
  }
  DENSURE(d, got == want, ENCLOS_E_INVALID, "type mismatch (constant expression is %s, expected %s)",
          wasm__type_name((uint8_t)got), wasm__type_name((uint8_t)want));
  return ENCLOS_OK;
}

/* ---- 4. Sections ---------------------------------------------------------------------- */

static enclos_err sec_type(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_TYPES, "types", &n));
  m->types = enclos_calloc(n ? n : 1, sizeof(*m->types));
  ENCLOS_ENSURE(m->types, ENCLOS_E_NOMEM);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t form;
    ENCLOS_TRY(rd_u8(d, &form));
    DENSURE(d, form == 0x60, ENCLOS_E_MALFORMED, "integer representation too long (type form 0x%02x, expected 0x60)", form);
    uint32_t np, nr;
    ENCLOS_TRY(rd_count(d, WASM_MAX_TYPE_VALUES, "parameters", &np));
    enclos_wasm_type *v = enclos_calloc(np + 1, sizeof(*v));
    ENCLOS_ENSURE(v, ENCLOS_E_NOMEM);
    m->types[i].params = v;
    m->types[i].nparams = np;
    m->ntypes = i + 1;
    for (uint32_t k = 0; k < np; k++) ENCLOS_TRY(rd_valtype(d, &v[k]));
    ENCLOS_TRY(rd_count(d, WASM_MAX_TYPE_VALUES, "results", &nr));
    v = enclos_calloc(nr + 1, sizeof(*v));
    ENCLOS_ENSURE(v, ENCLOS_E_NOMEM);
    m->types[i].results = v;
    m->types[i].nresults = nr;
    for (uint32_t k = 0; k < nr; k++) ENCLOS_TRY(rd_valtype(d, &v[k]));
  }
  m->ntypes = n;
  return ENCLOS_OK;
}

static enclos_err grow(void **p, size_t n, size_t elem) {
  void *q = enclos_realloc(*p, (n ? n : 1) * elem);
  ENCLOS_ENSURE(q, ENCLOS_E_NOMEM);
  *p = q;
  return ENCLOS_OK;
}

static enclos_err sec_import(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_IMPORTS, "imports", &n));
  m->imports = enclos_calloc(n ? n : 1, sizeof(*m->imports));
  ENCLOS_ENSURE(m->imports, ENCLOS_E_NOMEM);
  for (uint32_t i = 0; i < n; i++) {
    wimport *im = &m->imports[i];
    ENCLOS_TRY(rd_name(d, &im->module));
    ENCLOS_TRY(rd_name(d, &im->name));
    uint8_t kind;
    ENCLOS_TRY(rd_u8(d, &kind));
    m->nimports = i + 1;
    switch (kind) {
    case 0: {
      uint32_t t;
      ENCLOS_TRY(rd_u32(d, &t));
      DENSURE(d, t < m->ntypes, ENCLOS_E_INVALID, "unknown type %u", t);
      DENSURE(d, m->nfuncs < WASM_MAX_FUNCS, ENCLOS_E_LIMIT, "too many functions");
      ENCLOS_TRY(grow((void **)&m->func_types, m->nfuncs + 1, sizeof(uint32_t)));
      im->kind = ENCLOS_WASM_EXTERN_FUNC;
      im->index = m->nfuncs;
      m->func_types[m->nfuncs++] = t;
      m->nfunc_imports++;
      break;
    }
    case 1: {
      wtable_t t;
      ENCLOS_TRY(rd_tabletype(d, &t));
      DENSURE(d, m->ntables < WASM_MAX_TABLES, ENCLOS_E_LIMIT, "too many tables");
      ENCLOS_TRY(grow((void **)&m->tables, m->ntables + 1, sizeof(wtable_t)));
      im->kind = ENCLOS_WASM_EXTERN_TABLE;
      im->index = m->ntables;
      m->tables[m->ntables++] = t;
      m->ntable_imports++;
      break;
    }
    case 2: {
      enclos_wasm_limits_desc l;
      ENCLOS_TRY(rd_memtype(d, &l));
      DENSURE(d, m->nmems < WASM_MAX_MEMORIES, ENCLOS_E_INVALID, "multiple memories");
      ENCLOS_TRY(grow((void **)&m->mems, m->nmems + 1, sizeof(l)));
      im->kind = ENCLOS_WASM_EXTERN_MEMORY;
      im->index = m->nmems;
      m->mems[m->nmems++] = l;
      m->nmem_imports++;
      break;
    }
    case 3: {
      wglobal_t g = {0};
      ENCLOS_TRY(rd_globaltype(d, &g));
      DENSURE(d, m->nglobals < WASM_MAX_GLOBALS, ENCLOS_E_LIMIT, "too many globals");
      ENCLOS_TRY(grow((void **)&m->globals, m->nglobals + 1, sizeof(g)));
      im->kind = ENCLOS_WASM_EXTERN_GLOBAL;
      im->index = m->nglobals;
      m->globals[m->nglobals++] = g;
      m->nglobal_imports++;
      break;
    }
    default: DFAIL(d, ENCLOS_E_MALFORMED, "malformed import kind 0x%02x", kind);
    }
  }
  return ENCLOS_OK;
}

static enclos_err sec_function(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_FUNCS, "functions", &n));
  DENSURE(d, (uint64_t)m->nfuncs + n <= WASM_MAX_FUNCS, ENCLOS_E_LIMIT, "too many functions");
  ENCLOS_TRY(grow((void **)&m->func_types, m->nfuncs + n, sizeof(uint32_t)));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t t;
    ENCLOS_TRY(rd_u32(d, &t));
    DENSURE(d, t < m->ntypes, ENCLOS_E_INVALID, "unknown type %u", t);
    m->func_types[m->nfuncs++] = t;
  }
  return ENCLOS_OK;
}

static enclos_err sec_table(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_TABLES, "tables", &n));
  DENSURE(d, (uint64_t)m->ntables + n <= WASM_MAX_TABLES, ENCLOS_E_LIMIT, "too many tables");
  ENCLOS_TRY(grow((void **)&m->tables, m->ntables + n, sizeof(wtable_t)));
  for (uint32_t i = 0; i < n; i++) {
    wtable_t t;
    ENCLOS_TRY(rd_tabletype(d, &t));
    m->tables[m->ntables++] = t;
  }
  return ENCLOS_OK;
}

static enclos_err sec_memory(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_TABLES, "memories", &n));
  DENSURE(d, m->nmems + n <= WASM_MAX_MEMORIES, ENCLOS_E_INVALID, "multiple memories");
  ENCLOS_TRY(grow((void **)&m->mems, m->nmems + n, sizeof(*m->mems)));
  for (uint32_t i = 0; i < n; i++) {
    enclos_wasm_limits_desc l;
    ENCLOS_TRY(rd_memtype(d, &l));
    m->mems[m->nmems++] = l;
  }
  return ENCLOS_OK;
}

static enclos_err sec_global(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_GLOBALS, "globals", &n));
  DENSURE(d, (uint64_t)m->nglobals + n <= WASM_MAX_GLOBALS, ENCLOS_E_LIMIT, "too many globals");
  ENCLOS_TRY(grow((void **)&m->globals, m->nglobals + n, sizeof(wglobal_t)));
  for (uint32_t i = 0; i < n; i++) {
    wglobal_t g = {0};
    ENCLOS_TRY(rd_globaltype(d, &g));
    ENCLOS_TRY(rd_const(d, g.type, &g.init));
    m->globals[m->nglobals++] = g;
  }
  return ENCLOS_OK;
}

static enclos_err sec_export(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_EXPORTS, "exports", &n));
  m->exports = enclos_calloc(n ? n : 1, sizeof(*m->exports));
  ENCLOS_ENSURE(m->exports, ENCLOS_E_NOMEM);
  for (uint32_t i = 0; i < n; i++) {
    wexport *e = &m->exports[i];
    uint8_t kind;
    ENCLOS_TRY(rd_name(d, &e->name));
    ENCLOS_TRY(rd_u8(d, &kind));
    ENCLOS_TRY(rd_u32(d, &e->index));
    switch (kind) {
    case 0:
      DENSURE(d, e->index < m->nfuncs, ENCLOS_E_INVALID, "unknown function %u", e->index);
      m->declared[e->index] = 1;
      break;
    case 1: DENSURE(d, e->index < m->ntables, ENCLOS_E_INVALID, "unknown table %u", e->index); break;
    case 2: DENSURE(d, e->index < m->nmems, ENCLOS_E_INVALID, "unknown memory %u", e->index); break;
    case 3: DENSURE(d, e->index < m->nglobals, ENCLOS_E_INVALID, "unknown global %u", e->index); break;
    default: DFAIL(d, ENCLOS_E_MALFORMED, "malformed export kind 0x%02x", kind);
    }
    e->kind = (enclos_wasm_extern_kind)kind;
    m->nexports = i + 1;
    /* §3.4.10: export names must be distinct. Quadratic, but bounded by WASM_MAX_EXPORTS and
     * only at load time; a hash set is not worth it at our sizes. */
    for (uint32_t k = 0; k < i; k++)
      DENSURE(d, !(m->exports[k].name.len == e->name.len &&
                   memcmp(m->exports[k].name.data, e->name.data, e->name.len) == 0),
              ENCLOS_E_INVALID, "duplicate export name");
  }
  return ENCLOS_OK;
}

static enclos_err sec_start(wdec *d) {
  enclos_wasm_module *m = d->m;
  ENCLOS_TRY(rd_u32(d, &m->start));
  DENSURE(d, m->start < m->nfuncs, ENCLOS_E_INVALID, "unknown function %u", m->start);
  const enclos_wasm_functype *t = &m->types[m->func_types[m->start]];
  DENSURE(d, t->nparams == 0 && t->nresults == 0, ENCLOS_E_INVALID,
          "start function must have type [] -> []");
  m->has_start = true;
  return ENCLOS_OK;
}

static enclos_err sec_elem(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_ELEM_SEGMENTS, "element segments", &n));
  m->elems = enclos_calloc(n ? n : 1, sizeof(*m->elems));
  ENCLOS_ENSURE(m->elems, ENCLOS_E_NOMEM);
  for (uint32_t i = 0; i < n; i++) {
    welem *e = &m->elems[i];
    uint32_t flags;
    m->nelems = i + 1;
    ENCLOS_TRY(rd_u32(d, &flags));
    DENSURE(d, flags <= 7, ENCLOS_E_MALFORMED, "malformed elements segment kind %u", flags);
    /* §5.5.12: bit 0 = passive/declarative, bit 1 = explicit table index (active) or
     * declarative (non-active), bit 2 = expressions instead of function indexes. */
    e->mode = (flags & 1) ? ((flags & 2) ? WSEG_DECLARATIVE : WSEG_PASSIVE) : WSEG_ACTIVE;
    e->table = 0;
    e->type = ENCLOS_WASM_FUNCREF;
    if (e->mode == WSEG_ACTIVE) {
      if (flags & 2) ENCLOS_TRY(rd_u32(d, &e->table));
      DENSURE(d, e->table < m->ntables, ENCLOS_E_INVALID, "unknown table %u", e->table);
      ENCLOS_TRY(rd_const(d, ENCLOS_WASM_I32, &e->offset));
    }
    bool exprs = (flags & 4) != 0;
    if (flags & 3) {
      if (exprs) {
        ENCLOS_TRY(rd_reftype(d, &e->type));
      } else {
        uint8_t kind;
        ENCLOS_TRY(rd_u8(d, &kind));
        DENSURE(d, kind == 0, ENCLOS_E_MALFORMED, "malformed element kind 0x%02x", kind);
      }
    }
    ENCLOS_TRY(rd_count(d, WASM_MAX_ELEM_ITEMS, "element items", &e->count));
    e->items = enclos_calloc(e->count ? e->count : 1, sizeof(*e->items));
    ENCLOS_ENSURE(e->items, ENCLOS_E_NOMEM);
    for (uint32_t k = 0; k < e->count; k++) {
      if (exprs) {
        ENCLOS_TRY(rd_const(d, e->type, &e->items[k]));
      } else {
        uint32_t f;
        ENCLOS_TRY(rd_u32(d, &f));
        DENSURE(d, f < m->nfuncs, ENCLOS_E_INVALID, "unknown function %u", f);
        m->declared[f] = 1;
        e->items[k].op = 0xd2;
        e->items[k].val = f;
      }
    }
    if (e->mode == WSEG_ACTIVE)
      DENSURE(d, m->tables[e->table].elem == e->type, ENCLOS_E_INVALID,
              "type mismatch (element segment of %s for a table of %s)",
              wasm__type_name((uint8_t)e->type),
              wasm__type_name((uint8_t)m->tables[e->table].elem));
  }
  return ENCLOS_OK;
}

static enclos_err sec_datacount(wdec *d) {
  ENCLOS_TRY(rd_count(d, WASM_MAX_DATA_SEGMENTS, "data segments", &d->m->data_count));
  d->m->has_data_count = true;
  return ENCLOS_OK;
}

static enclos_err sec_code(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  uint32_t ndefined = m->nfuncs - m->nfunc_imports;
  ENCLOS_TRY(rd_count(d, WASM_MAX_FUNCS, "function bodies", &n));
  DENSURE(d, n == ndefined, ENCLOS_E_MALFORMED,
          "function and code section have inconsistent lengths (%u bodies, %u functions)", n,
          ndefined);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t size;
    enclos_reader body;
    ENCLOS_TRY(rd_u32(d, &size));
    DENSURE(d, size <= WASM_MAX_FUNC_SIZE, ENCLOS_E_LIMIT, "function body too large (%u bytes)", size);
    DENSURE(d, size <= enclos_rd_remaining(&d->r), ENCLOS_E_MALFORMED,
            "unexpected end of section or function");
    uint32_t off = (uint32_t)enclos_rd_offset(&d->r);
    ENCLOS_TRY(enclos_rd_sub(&d->r, size, &body));
    ENCLOS_TRY(wasm__compile(m, i, &body, off));
  }
  return ENCLOS_OK;
}

static enclos_err sec_data(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint32_t n;
  ENCLOS_TRY(rd_count(d, WASM_MAX_DATA_SEGMENTS, "data segments", &n));
  DENSURE(d, !m->has_data_count || n == m->data_count, ENCLOS_E_MALFORMED,
          "data count and data section have inconsistent lengths");
  m->datas = enclos_calloc(n ? n : 1, sizeof(*m->datas));
  ENCLOS_ENSURE(m->datas, ENCLOS_E_NOMEM);
  for (uint32_t i = 0; i < n; i++) {
    wdata *s = &m->datas[i];
    uint32_t flags, mem = 0;
    m->ndatas = i + 1;
    ENCLOS_TRY(rd_u32(d, &flags));
    DENSURE(d, flags <= 2, ENCLOS_E_MALFORMED, "malformed data segment kind %u", flags);
    s->mode = flags == 1 ? WSEG_PASSIVE : WSEG_ACTIVE;
    if (flags == 2) ENCLOS_TRY(rd_u32(d, &mem));
    if (s->mode == WSEG_ACTIVE) {
      DENSURE(d, mem < m->nmems, ENCLOS_E_INVALID, "unknown memory %u", mem);
      ENCLOS_TRY(rd_const(d, ENCLOS_WASM_I32, &s->offset));
    }
    ENCLOS_TRY(rd_u32(d, &s->size));
    DENSURE(d, s->size <= enclos_rd_remaining(&d->r), ENCLOS_E_MALFORMED,
            "unexpected end of section or function (data segment of %u bytes)", s->size);
    ENCLOS_TRY(enclos_rd_bytes(&d->r, s->size, &s->bytes));
  }
  return ENCLOS_OK;
}

/* The name section's function names (appendix §7.4.3, subsection id 1: a name map, a vector
 * of (funcidx, name) in strictly increasing index order). Only read for trap reports. */
static enclos_err name_section(wdec *d) {
  enclos_wasm_module *m = d->m;
  uint8_t prev_id = 0;
  bool first = true;
  while (!enclos_rd_eof(&d->r)) {
    uint8_t id;
    uint32_t size;
    enclos_reader sub;
    ENCLOS_TRY(rd_u8(d, &id));
    ENCLOS_TRY(rd_u32(d, &size));
    DENSURE(d, first || id > prev_id, ENCLOS_E_MALFORMED, "name subsections out of order");
    DENSURE(d, size <= enclos_rd_remaining(&d->r), ENCLOS_E_MALFORMED, "unexpected end");
    first = false;
    prev_id = id;
    ENCLOS_TRY(enclos_rd_sub(&d->r, size, &sub));
    if (id != 1) continue;
    wdec sd = {.r = sub, .sec = d->sec, .m = m};
    uint32_t n;
    ENCLOS_TRY(rd_count(&sd, WASM_MAX_FUNC_NAMES, "function names", &n));
    /* each entry takes at least 2 bytes: no allocation larger than the input allows */
    DENSURE(&sd, n <= enclos_rd_remaining(&sd.r) / 2, ENCLOS_E_MALFORMED, "unexpected end");
    m->fnames = enclos_calloc(n ? n : 1, sizeof(*m->fnames));
    ENCLOS_ENSURE(m->fnames, ENCLOS_E_NOMEM);
    for (uint32_t i = 0; i < n; i++) {
      ENCLOS_TRY(rd_u32(&sd, &m->fnames[i].index));
      DENSURE(&sd, i == 0 || m->fnames[i].index > m->fnames[i - 1].index, ENCLOS_E_MALFORMED,
              "function names out of order");
      ENCLOS_TRY(rd_name(&sd, &m->fnames[i].name));
      m->nfnames = i + 1;
    }
    DENSURE(&sd, enclos_rd_eof(&sd.r), ENCLOS_E_MALFORMED, "name subsection size mismatch");
  }
  return ENCLOS_OK;
}

enclos_wasm_name wasm__func_name(const enclos_wasm_module *m, uint32_t index) {
  uint32_t lo = 0, hi = m->nfnames;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->fnames[mid].index == index) return m->fnames[mid].name;
    if (m->fnames[mid].index < index) lo = mid + 1;
    else hi = mid;
  }
  return (enclos_wasm_name){NULL, 0};
}

static enclos_err sec_custom(wdec *d) {
  enclos_wasm_module *m = d->m;
  wcustom c;
  ENCLOS_TRY(rd_name(d, &c.name));
  c.size = enclos_rd_remaining(&d->r);
  if (c.name.len == 4 && memcmp(c.name.data, "name", 4) == 0 && !m->fnames) {
    /* A custom section never makes a module invalid (§5.5.3): a malformed name section is
     * ignored as a whole (appendix §7.4). */
    wdec nd = {.sec = "name custom", .m = m};
    enclos_reader peek = d->r; /* the payload is also kept as a whole below */
    ENCLOS_TRY(enclos_rd_sub(&peek, c.size, &nd.r));
    enclos_err rc = name_section(&nd);
    if (rc == ENCLOS_E_NOMEM) return rc;
    if (rc != ENCLOS_OK) {
      enclos_free(m->fnames);
      m->fnames = NULL;
      m->nfnames = 0;
    }
  }
  ENCLOS_TRY(enclos_rd_bytes(&d->r, c.size, &c.data));
  DENSURE(d, m->ncustoms < WASM_MAX_CUSTOM, ENCLOS_E_LIMIT, "too many custom sections");
  ENCLOS_TRY(grow((void **)&m->customs, m->ncustoms + 1, sizeof(c)));
  m->customs[m->ncustoms++] = c;
  return ENCLOS_OK;
}

/* ---- 5. Loading --------------------------------------------------------------------------- */

static const char *const sec_names[] = {"custom", "type",   "import", "function", "table",
                                        "memory", "global", "export", "start",    "element",
                                        "code",   "data",   "data count"};
/* Sections must appear in this order (§5.5.2); data count (12) sits between element and code. */
static const uint8_t sec_rank[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};

/* A section's id and size (§5.5.2), checked against the rest of the module and against the
 * order of the sections before it (*prev, a sec_rank value); names the section in d->sec for
 * the errors that follow. */
static enclos_err rd_section_header(wdec *d, uint8_t *prev, uint8_t *id, uint32_t *size) {
  d->sec = "module";
  ENCLOS_TRY(rd_u8(d, id));
  DENSURE(d, *id <= 12, ENCLOS_E_MALFORMED, "malformed section id %u", *id);
  d->sec = sec_names[*id];
  ENCLOS_TRY(rd_u32(d, size));
  DENSURE(d, *size <= enclos_rd_remaining(&d->r), ENCLOS_E_MALFORMED,
          "unexpected end (section size %u larger than the rest of the module)", *size);
  if (*id != 0) {
    DENSURE(d, sec_rank[*id] > *prev, ENCLOS_E_MALFORMED,
            "unexpected content after last section (section out of order or duplicated)");
    *prev = sec_rank[*id];
  }
  return ENCLOS_OK;
}

static enclos_err load(enclos_wasm_module *m) {
  wdec d = {.sec = "module header", .m = m};
  enclos_rd_init(&d.r, m->bytes, m->size);
  uint32_t magic, version;
  DENSURE(&d, m->size >= 4 && enclos_rd_u32le(&d.r, &magic) == ENCLOS_OK && magic == 0x6d736100,
          ENCLOS_E_MALFORMED, "magic header not detected");
  DENSURE(&d, enclos_rd_u32le(&d.r, &version) == ENCLOS_OK, ENCLOS_E_MALFORMED,
          "unexpected end (unknown binary version)");
  DENSURE(&d, version == 1, ENCLOS_E_MALFORMED, "unknown binary version 0x%08x", version);
  /* Pass 1: section framing only (ids, sizes, order), so that a malformed layout is reported
   * as such even when an earlier section would also fail validation (decoding precedes
   * validation in the spec, §5). */
  {
    wdec scan = d;
    uint8_t prev = 0, id;
    uint32_t size;
    while (!enclos_rd_eof(&scan.r)) {
      ENCLOS_TRY(rd_section_header(&scan, &prev, &id, &size));
      ENCLOS_TRY(enclos_rd_skip(&scan.r, size));
    }
  }
  uint8_t last = 0;
  bool saw_code = false, saw_data = false;
  while (!enclos_rd_eof(&d.r)) {
    uint8_t id;
    uint32_t size;
    ENCLOS_TRY(rd_section_header(&d, &last, &id, &size));
    wdec sub = {.sec = d.sec, .m = m};
    ENCLOS_TRY(enclos_rd_sub(&d.r, size, &sub.r));
    if (m->declared == NULL && id >= 6) {
      m->declared = enclos_calloc(m->nfuncs ? m->nfuncs : 1, 1);
      ENCLOS_ENSURE(m->declared, ENCLOS_E_NOMEM);
    }
    switch (id) {
    case 0: ENCLOS_TRY(sec_custom(&sub)); break;
    case 1: ENCLOS_TRY(sec_type(&sub)); break;
    case 2: ENCLOS_TRY(sec_import(&sub)); break;
    case 3: ENCLOS_TRY(sec_function(&sub)); break;
    case 4: ENCLOS_TRY(sec_table(&sub)); break;
    case 5: ENCLOS_TRY(sec_memory(&sub)); break;
    case 6: ENCLOS_TRY(sec_global(&sub)); break;
    case 7: ENCLOS_TRY(sec_export(&sub)); break;
    case 8: ENCLOS_TRY(sec_start(&sub)); break;
    case 9: ENCLOS_TRY(sec_elem(&sub)); break;
    case 10:
      m->codes = enclos_calloc(m->nfuncs - m->nfunc_imports + 1, sizeof(*m->codes));
      ENCLOS_ENSURE(m->codes, ENCLOS_E_NOMEM);
      ENCLOS_TRY(sec_code(&sub));
      saw_code = true;
      break;
    case 11: ENCLOS_TRY(sec_data(&sub)); saw_data = true; break;
    case 12: ENCLOS_TRY(sec_datacount(&sub)); break;
    default: break;
    }
    DENSURE(&sub, enclos_rd_eof(&sub.r), ENCLOS_E_MALFORMED, "section size mismatch");
  }
  d.sec = "module";
  DENSURE(&d, saw_code || m->nfuncs == m->nfunc_imports, ENCLOS_E_MALFORMED,
          "function and code section have inconsistent lengths");
  DENSURE(&d, saw_data || !m->has_data_count || m->data_count == 0, ENCLOS_E_MALFORMED,
          "data count and data section have inconsistent lengths");
  /* §5.5.16: data indexes in code need the data count section; without any data section the
   * index is simply unknown. */
  if (m->needs_data_count) {
    d.sec = "code";
    DENSURE(&d, !saw_data, ENCLOS_E_MALFORMED, "data count section required");
    DFAIL(&d, ENCLOS_E_INVALID, "unknown data segment (no data section)");
  }
  if (!m->declared) {
    m->declared = enclos_calloc(m->nfuncs ? m->nfuncs : 1, 1);
    ENCLOS_ENSURE(m->declared, ENCLOS_E_NOMEM);
  }
  if (!m->codes) {
    m->codes = enclos_calloc(1, sizeof(*m->codes));
    ENCLOS_ENSURE(m->codes, ENCLOS_E_NOMEM);
  }
  return ENCLOS_OK;
}

static void module_destroy(enclos_wasm_module *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->ntypes; i++) {
    enclos_free((void *)(uintptr_t)m->types[i].params);
    enclos_free((void *)(uintptr_t)m->types[i].results);
  }
  enclos_free(m->types);
  enclos_free(m->imports);
  enclos_free(m->func_types);
  enclos_free(m->tables);
  enclos_free(m->mems);
  enclos_free(m->globals);
  enclos_free(m->exports);
  for (uint32_t i = 0; i < m->nelems; i++) enclos_free(m->elems[i].items);
  enclos_free(m->elems);
  enclos_free(m->datas);
  if (m->codes)
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) wasm__code_free(&m->codes[i]);
  enclos_free(m->codes);
  enclos_free(m->declared);
  enclos_free(m->customs);
  enclos_free(m->fnames);
  enclos_free(m->bytes);
  enclos_free(m);
}

enclos_err enclos_wasm_module_load(const void *bytes, size_t size, enclos_wasm_module **out) {
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  ENCLOS_ENSURE(bytes || size == 0, ENCLOS_E_INVAL);
  ENCLOS_ENSUREF(size <= (1u << 30), ENCLOS_E_LIMIT, "module too large (%zu bytes)", size);
  enclos_wasm_module *m = enclos_calloc(1, sizeof(*m));
  ENCLOS_ENSURE(m, ENCLOS_E_NOMEM);
  atomic_init(&m->refs, 1);
  m->bytes = enclos_malloc(size ? size : 1);
  if (!m->bytes) {
    enclos_free(m);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  if (size) memcpy(m->bytes, bytes, size);
  m->size = size;
  enclos_err rc = load(m);
  if (rc != ENCLOS_OK) {
    module_destroy(m);
    return rc;
  }
  *out = m;
  return ENCLOS_OK;
}

void enclos_wasm_module_free(enclos_wasm_module *m) {
  if (m && atomic_fetch_sub(&m->refs, 1) == 1) module_destroy(m);
}

size_t enclos_wasm_module_import_count(const enclos_wasm_module *m) { return m ? m->nimports : 0; }
size_t enclos_wasm_module_export_count(const enclos_wasm_module *m) { return m ? m->nexports : 0; }
size_t enclos_wasm_module_custom_count(const enclos_wasm_module *m) { return m ? m->ncustoms : 0; }

static void externtype_of(const enclos_wasm_module *m, enclos_wasm_extern_kind kind, uint32_t idx,
                          enclos_wasm_externtype *t) {
  memset(t, 0, sizeof(*t));
  t->kind = kind;
  switch (kind) {
  case ENCLOS_WASM_EXTERN_FUNC: t->of.func = m->types[m->func_types[idx]]; break;
  case ENCLOS_WASM_EXTERN_TABLE:
    t->of.table.elem = m->tables[idx].elem;
    t->of.table.limits = m->tables[idx].lim;
    break;
  case ENCLOS_WASM_EXTERN_MEMORY: t->of.memory = m->mems[idx]; break;
  case ENCLOS_WASM_EXTERN_GLOBAL:
    t->of.global.type = m->globals[idx].type;
    t->of.global.mutable_ = m->globals[idx].mut;
    break;
  }
}

enclos_err enclos_wasm_module_import(const enclos_wasm_module *m, size_t i,
                                     enclos_wasm_name *module, enclos_wasm_name *name,
                                     enclos_wasm_externtype *type) {
  ENCLOS_ENSURE_REF(m);
  ENCLOS_ENSUREF(i < m->nimports, ENCLOS_E_RANGE, "import %zu of %u", i, m->nimports);
  const wimport *im = &m->imports[i];
  if (module) *module = im->module;
  if (name) *name = im->name;
  if (type) externtype_of(m, im->kind, im->index, type);
  return ENCLOS_OK;
}

enclos_err enclos_wasm_module_export(const enclos_wasm_module *m, size_t i,
                                     enclos_wasm_name *name, enclos_wasm_externtype *type) {
  ENCLOS_ENSURE_REF(m);
  ENCLOS_ENSUREF(i < m->nexports, ENCLOS_E_RANGE, "export %zu of %u", i, m->nexports);
  if (name) *name = m->exports[i].name;
  if (type) externtype_of(m, m->exports[i].kind, m->exports[i].index, type);
  return ENCLOS_OK;
}

enclos_err enclos_wasm_module_custom(const enclos_wasm_module *m, size_t i,
                                     enclos_wasm_name *name, const uint8_t **data,
                                     size_t *size) {
  ENCLOS_ENSURE_REF(m);
  ENCLOS_ENSUREF(i < m->ncustoms, ENCLOS_E_RANGE, "custom section %zu of %u", i, m->ncustoms);
  if (name) *name = m->customs[i].name;
  if (data) *data = m->customs[i].data;
  if (size) *size = m->customs[i].size;
  return ENCLOS_OK;
}
