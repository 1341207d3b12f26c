/* Engine snapshots (wasm.h, "Snapshots"), the mechanism behind the app layer's fresh instance
 * per call: every piece of state a call can change (mutable globals, funcref globals, table
 * elements and size, memory contents and size, grown pages) is back after a restore, for the
 * copy path (1 page) and the copy-on-write path (8 pages), with and without guard pages, and
 * two instances restored from one snapshot never see each other's writes. */
#include <enclos/wasm.h>

#include "iso_modules.h"
#include "test.h"

typedef struct iso {
  enclos_wasm_module *m;
  enclos_wasm_store *s;
  enclos_wasm_instance *inst;
  enclos_wasm_extern touch, peek;
} iso;

static void iso_open(iso *x, const unsigned char *w, size_t n, bool guard) {
  memset(x, 0, sizeof(*x));
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.guard_pages = guard;
  CHECK_OK(enclos_wasm_module_load(w, n, &x->m));
  CHECK_OK(enclos_wasm_store_new(&lim, &x->s));
  CHECK_OK(enclos_wasm_instantiate(x->s, x->m, NULL, &x->inst));
}

static void iso_exports(iso *x) {
  CHECK_OK(enclos_wasm_instance_export(x->inst, (enclos_wasm_name){"touch", 5}, &x->touch));
  CHECK_OK(enclos_wasm_instance_export(x->inst, (enclos_wasm_name){"peek", 4}, &x->peek));
}

static void iso_close(iso *x) {
  enclos_wasm_store_free(x->s);
  enclos_wasm_module_free(x->m);
}

static uint32_t touch(iso *x) {
  enclos_wasm_val r;
  CHECK_OK(enclos_wasm_call(x->s, x->touch, NULL, 0, &r, 1));
  return r.of.i32;
}

static enclos_err peek(iso *x, uint32_t addr, uint32_t *out) {
  enclos_wasm_val a = {.type = ENCLOS_WASM_I32, .of.i32 = addr}, r = {0};
  enclos_err rc = enclos_wasm_call(x->s, x->peek, &a, 1, &r, 1);
  *out = r.of.i32;
  return rc;
}

/* fresh state: 0*1000 + 5*100 + one() + 2*10000 + pages*100000 + 0 + 0 */
#define FRESH(pages) (20501u + (pages)*100000u)

static void restore_cycle(const unsigned char *w, size_t n, uint32_t pages, bool guard) {
  iso x;
  iso_open(&x, w, n, guard);
  iso_exports(&x);
  enclos_wasm_snapshot *snap;
  CHECK_OK(enclos_wasm_snapshot_take(x.inst, &snap));
  CHECK_EQ_U64(enclos_wasm_snapshot_memory_size(snap), (uint64_t)pages * 65536);
  CHECK_EQ_INT(touch(&x), FRESH(pages));
  /* without a restore the state persists: g=1, mem[100]=9, two(), 3 elements, pages+1, fg set,
   * last byte of the (grown) memory written */
  CHECK_EQ_INT(touch(&x), 1000 + 900 + 2 + 30000 + (pages + 1) * 100000 + 7 + 3);
  for (int i = 0; i < 5; i++) {
    CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
    CHECK_EQ_INT(touch(&x), FRESH(pages));
  }
  /* the grown page is gone again: reading it traps */
  CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
  uint32_t v;
  CHECK_ERR(peek(&x, pages * 65536, &v), ENCLOS_E_TRAP);
  CHECK_OK(peek(&x, pages * 65536 - 1, &v));
  CHECK_EQ_INT(v, 0);
  CHECK_OK(peek(&x, 100, &v));
  CHECK_EQ_INT(v, 5);

  /* a second instance from the snapshot, in another store, sees the snapshot, not x's writes */
  CHECK_EQ_INT(touch(&x), FRESH(pages)); /* x is dirty now */
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.guard_pages = guard;
  enclos_wasm_store *s2;
  CHECK_OK(enclos_wasm_store_new(&lim, &s2));
  iso y = {.m = x.m, .s = s2};
  CHECK_OK(enclos_wasm_instantiate_snapshot(s2, x.m, NULL, snap, &y.inst));
  iso_exports(&y);
  CHECK_EQ_INT(touch(&y), FRESH(pages));
  CHECK_OK(peek(&x, 100, &v));
  CHECK_EQ_INT(v, 9); /* y's restore and call did not touch x */
  CHECK_OK(enclos_wasm_snapshot_restore(y.inst, snap));
  CHECK_EQ_INT(touch(&y), FRESH(pages));
  CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
  CHECK_EQ_INT(touch(&x), FRESH(pages));
  enclos_wasm_store_free(s2);
  enclos_wasm_snapshot_free(snap);
  iso_close(&x);
}

TEST(snapshot_copy_path_guarded) { restore_cycle(iso1_wasm, sizeof(iso1_wasm), 1, true); }
TEST(snapshot_cow_path_guarded) { restore_cycle(iso8_wasm, sizeof(iso8_wasm), 8, true); }
TEST(snapshot_plain_memory) {
  restore_cycle(iso1_wasm, sizeof(iso1_wasm), 1, false);
  restore_cycle(iso8_wasm, sizeof(iso8_wasm), 8, false);
}

TEST(snapshot_wrong_module) {
  iso a, b;
  iso_open(&a, iso1_wasm, sizeof(iso1_wasm), true);
  iso_open(&b, iso8_wasm, sizeof(iso8_wasm), true);
  enclos_wasm_snapshot *snap;
  CHECK_OK(enclos_wasm_snapshot_take(a.inst, &snap));
  CHECK_ERR(enclos_wasm_snapshot_restore(b.inst, snap), ENCLOS_E_INVAL);
  enclos_wasm_instance *i2;
  CHECK_ERR(enclos_wasm_instantiate_snapshot(b.s, b.m, NULL, snap, &i2), ENCLOS_E_INVAL);
  enclos_wasm_snapshot_free(snap);
  enclos_wasm_snapshot_free(NULL);
  iso_close(&a);
  iso_close(&b);
}

TEST(snapshot_memory_limit) {
  /* a store whose memory cap is below the snapshot's memory cannot host it */
  iso x;
  iso_open(&x, iso8_wasm, sizeof(iso8_wasm), true);
  enclos_wasm_snapshot *snap;
  CHECK_OK(enclos_wasm_snapshot_take(x.inst, &snap));
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  lim.max_memory_pages = 4;
  enclos_wasm_store *s2;
  CHECK_OK(enclos_wasm_store_new(&lim, &s2));
  enclos_wasm_instance *i2;
  CHECK_ERR(enclos_wasm_instantiate_snapshot(s2, x.m, NULL, snap, &i2), ENCLOS_E_LIMIT);
  enclos_wasm_store_free(s2);
  enclos_wasm_snapshot_free(snap);
  iso_close(&x);
}
