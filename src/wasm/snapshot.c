/* snapshot.c: snapshots of an instance's state and fresh instances from them (wasm.h,
 * "Snapshots"). The app layer takes one after initialisation and resets a pooled instance to it
 * before every call, so no state written by one call is seen by the next.
 *
 * What a snapshot holds, per the runtime structure of spec §4.2: the values of the instance's
 * own globals, the size and elements of its own tables, its own memory (memory.c, "Snapshot
 * images") and the dropped state of its element and data segments. References are
 * store-specific pointers, so funcrefs are kept as function indexes of the module (+1, 0 = null)
 * and mapped back to the target instance's functions on restore.
 */
#include <string.h>

#include <enclos/mem.h>

#include "wasm_int.h"

typedef struct snap_table {
  uint32_t size;
  uint32_t *elems; /* function index + 1, 0 = null */
} snap_table;

struct enclos_wasm_snapshot {
  enclos_wasm_module *module; /* a reference */
  uint64_t *globals;          /* defined globals as (low, high) pairs; funcrefs as index + 1 */
  snap_table *tables;         /* defined tables */
  uint8_t *elem_dropped, *data_dropped;
  bool has_mem;
  wmem_image mem;
};

static bool is_ref(enclos_wasm_type t) {
  return t == ENCLOS_WASM_FUNCREF || t == ENCLOS_WASM_EXTERNREF;
}

/* A reference of \p in as a module function index + 1. */
static enclos_err ref_to_index(const winst *in, enclos_wasm_type t, void *ref, const char *where,
                               uint32_t i, uint32_t *out) {
  if (!ref) {
    *out = 0;
    return ENCLOS_OK;
  }
  ENCLOS_ENSUREF(t == ENCLOS_WASM_FUNCREF, ENCLOS_E_UNSUPPORTED,
                 "snapshot: %s %u holds an externref, which cannot be copied to another store",
                 where, i);
  const wfunc *f = ref;
  ENCLOS_ENSUREF(f->index < in->module->nfuncs && in->funcs[f->index] == f, ENCLOS_E_UNSUPPORTED,
                 "snapshot: %s %u refers to a function of another instance", where, i);
  *out = f->index + 1;
  return ENCLOS_OK;
}

void enclos_wasm_snapshot_free(enclos_wasm_snapshot *snap) {
  if (!snap) return;
  const enclos_wasm_module *m = snap->module;
  if (snap->tables && m)
    for (uint32_t i = 0; i < m->ntables - m->ntable_imports; i++) enclos_free(snap->tables[i].elems);
  enclos_free(snap->tables);
  enclos_free(snap->globals);
  enclos_free(snap->elem_dropped);
  enclos_free(snap->data_dropped);
  if (snap->has_mem) wasm__mem_image_free(&snap->mem);
  enclos_wasm_module_free(snap->module);
  enclos_free(snap);
}

size_t enclos_wasm_snapshot_memory_size(const enclos_wasm_snapshot *snap) {
  return snap && snap->has_mem ? (size_t)snap->mem.size : 0;
}

enclos_err enclos_wasm_snapshot_take(const enclos_wasm_instance *inst, enclos_wasm_snapshot **out) {
  ENCLOS_ENSURE_REF(inst);
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  const winst *in = (const winst *)inst;
  enclos_wasm_module *m = in->module;
  enclos_err rc = ENCLOS_OK;
  enclos_wasm_snapshot *snap = enclos_calloc(1, sizeof(*snap));
  ENCLOS_ENSURE(snap, ENCLOS_E_NOMEM);
  atomic_fetch_add(&m->refs, 1);
  snap->module = m;
  uint32_t ng = m->nglobals - m->nglobal_imports, nt = m->ntables - m->ntable_imports;
  snap->globals = enclos_calloc(2 * (size_t)ng + 1, sizeof(*snap->globals));
  snap->tables = enclos_calloc(nt + 1, sizeof(*snap->tables));
  snap->elem_dropped = enclos_calloc(m->nelems + 1, 1);
  snap->data_dropped = enclos_calloc(m->ndatas + 1, 1);
  ENCLOS_GUARD_ENSUREF(snap->globals && snap->tables && snap->elem_dropped && snap->data_dropped,
                       ENCLOS_E_NOMEM, "snapshot");
  for (uint32_t i = 0; i < ng; i++) {
    const wglobal *g = in->globals[m->nglobal_imports + i];
    if (is_ref(g->type)) {
      uint32_t idx;
      ENCLOS_GUARD(ref_to_index(in, g->type, (void *)(uintptr_t)g->val, "global",
                                m->nglobal_imports + i, &idx));
      snap->globals[2 * i] = idx;
    } else {
      snap->globals[2 * i] = g->val;
      snap->globals[2 * i + 1] = g->hi; /* v128 globals: bytes 8-15 */
    }
  }
  for (uint32_t i = 0; i < nt; i++) {
    const wtable *t = in->tables[m->ntable_imports + i];
    snap_table *st = &snap->tables[i];
    st->elems = enclos_calloc((size_t)t->size + 1, sizeof(*st->elems));
    ENCLOS_GUARD_ENSUREF(st->elems, ENCLOS_E_NOMEM, "snapshot of a table of %u elements", t->size);
    st->size = t->size;
    for (uint32_t k = 0; k < t->size; k++)
      ENCLOS_GUARD(ref_to_index(in, t->elem, t->elems[k], "table element", k, &st->elems[k]));
  }
  if (m->nelems) memcpy(snap->elem_dropped, in->elem_dropped, m->nelems);
  if (m->ndatas) memcpy(snap->data_dropped, in->data_dropped, m->ndatas);
  if (m->nmems > m->nmem_imports) {
    ENCLOS_GUARD(wasm__mem_image_take(in->mems[m->nmem_imports], &snap->mem));
    snap->has_mem = true;
  }
  *out = snap;
  snap = NULL;
cleanup:
  enclos_wasm_snapshot_free(snap);
  return rc;
}

enclos_err enclos_wasm_snapshot_restore(enclos_wasm_instance *inst, const enclos_wasm_snapshot *snap) {
  ENCLOS_ENSURE_REF(inst);
  ENCLOS_ENSURE_REF(snap);
  winst *in = (winst *)inst;
  const enclos_wasm_module *m = in->module;
  ENCLOS_ENSUREF(m == snap->module, ENCLOS_E_INVAL, "snapshot of another module");
  ENCLOS_ENSUREF(in->store->depth == 0, ENCLOS_E_STATE, "snapshot restore during a call");
  uint32_t ng = m->nglobals - m->nglobal_imports, nt = m->ntables - m->ntable_imports;
  for (uint32_t i = 0; i < ng; i++) {
    wglobal *g = in->globals[m->nglobal_imports + i];
    uint64_t v = snap->globals[2 * i];
    if (is_ref(g->type)) v = v ? (uintptr_t)in->funcs[v - 1] : 0;
    g->val = v;
    g->hi = snap->globals[2 * i + 1];
  }
  for (uint32_t i = 0; i < nt; i++) {
    wtable *t = in->tables[m->ntable_imports + i];
    const snap_table *st = &snap->tables[i];
    if (t->size < st->size) {
      ENCLOS_ENSUREF(wasm__table_grow(t, st->size - t->size, NULL) >= 0, ENCLOS_E_LIMIT,
                     "snapshot table of %u elements exceeds the limit", st->size);
    }
    t->size = st->size; /* a table the call grew shrinks back; its storage is reused */
    for (uint32_t k = 0; k < st->size; k++)
      t->elems[k] = st->elems[k] ? (void *)in->funcs[st->elems[k] - 1] : NULL;
  }
  if (m->nelems) memcpy(in->elem_dropped, snap->elem_dropped, m->nelems);
  if (m->ndatas) memcpy(in->data_dropped, snap->data_dropped, m->ndatas);
  if (snap->has_mem) ENCLOS_TRY(wasm__mem_image_restore(in->mems[m->nmem_imports], &snap->mem));
  return ENCLOS_OK;
}

enclos_err enclos_wasm_instantiate_snapshot(enclos_wasm_store *s, const enclos_wasm_module *cm,
                                            const enclos_wasm_imports *imp,
                                            const enclos_wasm_snapshot *snap,
                                            enclos_wasm_instance **out) {
  ENCLOS_ENSURE_REF(s);
  ENCLOS_ENSURE_REF(cm);
  ENCLOS_ENSURE_REF(snap);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(cm == snap->module, ENCLOS_E_INVAL, "snapshot of another module");
  winst *in;
  ENCLOS_TRY(wasm__instance_alloc(s, (enclos_wasm_module *)(uintptr_t)cm, imp, &in));
  ENCLOS_TRY(enclos_wasm_snapshot_restore((enclos_wasm_instance *)in, snap));
  *out = (enclos_wasm_instance *)in;
  return ENCLOS_OK;
}
