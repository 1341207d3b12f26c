/* Engine snapshots (wasm.h, "Snapshots"), the mechanism behind the app layer's fresh instance
 * per call: every piece of state a call can change (mutable globals, funcref globals, table
 * elements and size, memory contents and size, grown pages) is back after a restore, for the
 * copy path (1 page) and the copy-on-write path (8 pages), with and without guard pages, and
 * two instances restored from one snapshot never see each other's writes. The copy-on-write
 * path is run both ways (memory.c, "Snapshot images"): by /proc/self/pagemap (private pages
 * compared and copied back) and by dropping the private pages (the fallback without pagemap). */
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <enclos/wasm.h>

#include "iso_modules.h"
#include "test.h"
#include "wasm/wasm_int.h"

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

static bool page_zero_all(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

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
TEST(snapshot_cow_path_guarded) {
  CHECK(wasm__mem_pagemap_ok()); /* else the pagemap path below would go untested */
  restore_cycle(iso8_wasm, sizeof(iso8_wasm), 8, true);
  wasm__mem_restore_mode(WASM_RESTORE_DROP);
  restore_cycle(iso8_wasm, sizeof(iso8_wasm), 8, true);
  wasm__mem_restore_mode(WASM_RESTORE_AUTO);
}

static long minor_faults(void) {
  struct rusage ru;
  CHECK_EQ_INT(getrusage(RUSAGE_THREAD, &ru), 0);
  return ru.ru_minflt;
}

/* Writes of round \p r over the live memory of \p x: one byte in every other 4 KiB block, a
 * whole block, and reads of more blocks (which map pages without writing them). */
static void scribble(iso *x, uint32_t r) {
  enclos_wasm_extern mem;
  CHECK_OK(enclos_wasm_instance_export(x->inst, (enclos_wasm_name){"memory", 6}, &mem));
  uint8_t *b;
  size_t n;
  CHECK_OK(enclos_wasm_memory_data(mem, &b, &n));
  volatile uint8_t sink = 0;
  for (size_t blk = 0; blk < n / 4096; blk++) {
    if ((blk + r) % 2 == 0) b[blk * 4096 + (r * 37 + blk * 13) % 4096] ^= (uint8_t)(r + 1);
    else sink = (uint8_t)(sink + b[blk * 4096 + 5]);
  }
  memset(b + (r % (n / 4096)) * 4096, 0xa5, 4096);
  b[n - 1] = 0x5a;
  (void)sink;
}

/* Every byte a call writes (in the image, beyond it in grown memory, with more private pages
 * than a pagemap restore keeps) is the snapshot's again after the restore, and grown memory
 * reads as zero when it is grown again. */
static void exact_restore(wasm_restore_mode mode) {
  wasm__mem_restore_mode(mode);
  iso x;
  iso_open(&x, iso8_wasm, sizeof(iso8_wasm), true);
  iso_exports(&x);
  enclos_wasm_snapshot *snap;
  CHECK_OK(enclos_wasm_snapshot_take(x.inst, &snap));
  const size_t isz = 8 * 65536;
  uint8_t *ref = malloc(isz);
  CHECK(ref);
  wmem *wm = ((winst *)x.inst)->mems[0];
  memcpy(ref, wm->base, isz);
  CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
  for (uint32_t r = 0; r < 8; r++) {
    CHECK_EQ_INT(touch(&x), FRESH(8)); /* grows by one page and writes into it */
    if (r == 3) CHECK(wasm__mem_grow(wm, 30) == 9); /* > WASM_RESTORE_KEEP_MAX pages */
    scribble(&x, r);
    CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
    CHECK_EQ_U64(wm->size, isz);
    CHECK(memcmp(wm->base, ref, isz) == 0);
    uint32_t v;
    CHECK_ERR(peek(&x, 8 * 65536, &v), ENCLOS_E_TRAP);
    CHECK(wasm__mem_grow(wm, 31) == 8);
    CHECK(page_zero_all(wm->base + isz, 31 * 65536));
    CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
    CHECK(memcmp(wm->base, ref, isz) == 0);
  }
  /* the same writes again after a warm-up: with pagemap the restore leaves the pages mapped and
   * the writes do not fault; dropping them makes every written page fault again */
  scribble(&x, 1);
  CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
  long f0 = minor_faults();
  scribble(&x, 1);
  CHECK_OK(enclos_wasm_snapshot_restore(x.inst, snap));
  long faults = minor_faults() - f0;
  if (mode == WASM_RESTORE_AUTO) CHECK(faults <= 4);
  else CHECK(faults >= 64);
  CHECK(memcmp(wm->base, ref, isz) == 0);
  free(ref);
  enclos_wasm_snapshot_free(snap);
  iso_close(&x);
  wasm__mem_restore_mode(WASM_RESTORE_AUTO);
}

TEST(snapshot_exact_restore_pagemap) { exact_restore(WASM_RESTORE_AUTO); }
TEST(snapshot_exact_restore_drop) { exact_restore(WASM_RESTORE_DROP); }

TEST(snapshot_pagemap_not_in_fork_child) {
  /* the pagemap descriptor is the parent's: a child must fall back to dropping pages */
  CHECK(wasm__mem_pagemap_ok());
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(wasm__mem_pagemap_ok() ? 1 : 0);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(wasm__mem_pagemap_ok());
}
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
