/* index.c: the trusted record index (store_int.h, docs/store.md §4).
 *
 * For every live record the store keeps, in its own (TEE) memory, the record's LMDB key
 * fingerprint, version and GCM tag prefix. The index is built by the full scan at open, whose
 * result is authenticated by the set digest in the MAC'd state record and the rollback anchor,
 * and afterwards changes only through this handle's own commits. A read that finds a record
 * whose version or tag differs from the index (an older ciphertext of the same key restored by
 * the host), a record the index does not know (a deleted record restored), or no record where
 * the index has one (a record removed) is refused with ENCLOS_E_TAMPERED.
 *
 * Layout: open addressing with linear probing over a power-of-two slot array, load at most 3/4,
 * deletion by backward shift (no tombstones). Fingerprints are keyed MAC outputs (AES-CMAC), so
 * neither the host nor an app can aim keys at one probe chain; their first 8 bytes are the hash.
 * A write transaction's changes go to a separate overlay table (deletions as marked entries)
 * that the commit folds into the main table; abort just clears it. Room in the main table for
 * the overlay is reserved before the LMDB commit, so folding in after it cannot fail. */
#include <string.h>

#include <enclos/mem.h>

#include "store_int.h"

#define DELETED_BIT ((uint64_t)1 << 63)

static uint64_t fp_hash(const uint8_t fp[STORE_FP_SIZE]) {
  uint64_t h = 0;
  for (int i = 0; i < 8; i++) h |= (uint64_t)fp[i] << (8 * i);
  return h;
}

void store__fp_of(const uint8_t *lkey, size_t lkey_size, uint8_t fp[STORE_FP_SIZE]) {
  if (lkey_size >= 8 + STORE_FP_SIZE) {
    memcpy(fp, lkey + 8, STORE_FP_SIZE); /* data key: tag8 ‖ CMAC; take the CMAC */
  } else {
    /* App record key 0 'A' tag8: the table tag, then a constant no CMAC output is likely to
     * share (probability 2^-64 per pair). */
    size_t n = lkey_size > 2 ? lkey_size - 2 : 0;
    if (n > 8) n = 8;
    memset(fp, 0xA5, STORE_FP_SIZE);
    memcpy(fp, lkey + 2, n);
  }
}

static void table_clear(store_itable *t) {
  if (t->slots && t->count) memset(t->slots, 0, t->cap * sizeof(*t->slots));
  t->count = 0;
}

static void table_free(store_itable *t) {
  enclos_free(t->slots);
  memset(t, 0, sizeof(*t));
}

static store_ientry *table_find(const store_itable *t, const uint8_t fp[STORE_FP_SIZE]) {
  if (!t->cap) return NULL;
  size_t mask = t->cap - 1;
  for (size_t i = fp_hash(fp) & mask;; i = (i + 1) & mask) {
    store_ientry *e = &t->slots[i];
    if (e->version == 0) return NULL;
    if (memcmp(e->fp, fp, STORE_FP_SIZE) == 0) return e;
  }
}

/* Inserts or replaces (room must exist: count < cap * 3/4). */
static void table_put(store_itable *t, const store_ientry *in) {
  size_t mask = t->cap - 1;
  for (size_t i = fp_hash(in->fp) & mask;; i = (i + 1) & mask) {
    store_ientry *e = &t->slots[i];
    if (e->version == 0) {
      *e = *in;
      t->count++;
      return;
    }
    if (memcmp(e->fp, in->fp, STORE_FP_SIZE) == 0) {
      *e = *in;
      return;
    }
  }
}

/* Backward-shift deletion (Knuth 6.4, algorithm R): later entries of the probe chain move up. */
static void table_del(store_itable *t, store_ientry *e) {
  size_t mask = t->cap - 1, i = (size_t)(e - t->slots), j = i;
  for (;;) {
    t->slots[i].version = 0;
    for (;;) {
      j = (j + 1) & mask;
      if (t->slots[j].version == 0) {
        t->count--;
        return;
      }
      size_t home = fp_hash(t->slots[j].fp) & mask;
      /* Move slot j to i unless its home lies cyclically in (i, j]. */
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) break;
    }
    t->slots[i] = t->slots[j];
    i = j;
  }
}

/* Ensures room for \p extra more entries (may rehash). */
static enclos_err table_reserve(store_itable *t, size_t extra) {
  size_t need = t->count + extra;
  if (t->cap && need <= t->cap / 4 * 3) return ENCLOS_OK;
  size_t cap = t->cap ? t->cap : 64;
  while (need > cap / 4 * 3) {
    ENCLOS_ENSUREF(cap <= ((size_t)1 << 40) / sizeof(store_ientry), ENCLOS_E_LIMIT,
                   "record index of %zu entries", need);
    cap *= 2;
  }
  store_itable n = {enclos_calloc(cap, sizeof(store_ientry)), cap, 0};
  ENCLOS_ENSUREF(n.slots != NULL, ENCLOS_E_NOMEM, "record index of %zu slots (%zu records)", cap,
                 need);
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].version) table_put(&n, &t->slots[i]);
  enclos_free(t->slots);
  *t = n;
  return ENCLOS_OK;
}

void store__index_free(store_index *x) {
  table_free(&x->main);
  table_free(&x->pending);
}

void store__index_reset(store_index *x) {
  table_clear(&x->main);
  table_clear(&x->pending);
}

enclos_err store__index_reserve(store_index *x, bool pending) {
  return table_reserve(pending ? &x->pending : &x->main, 1);
}

void store__index_set(store_index *x, bool pending, const uint8_t fp[STORE_FP_SIZE],
                      uint64_t version, const uint8_t tag[STORE_INDEX_TAG_SIZE]) {
  store_ientry e;
  memcpy(e.fp, fp, STORE_FP_SIZE);
  e.version = version;
  memcpy(e.tag, tag, STORE_INDEX_TAG_SIZE);
  table_put(pending ? &x->pending : &x->main, &e);
}

void store__index_del(store_index *x, bool pending, const uint8_t fp[STORE_FP_SIZE],
                      uint64_t version) {
  if (!pending) {
    store_ientry *e = table_find(&x->main, fp);
    if (e) table_del(&x->main, e);
    return;
  }
  store_ientry e;
  memcpy(e.fp, fp, STORE_FP_SIZE);
  e.version = version | DELETED_BIT;
  memset(e.tag, 0, sizeof(e.tag));
  table_put(&x->pending, &e);
}

bool store__index_lookup(const store_index *x, bool with_pending, const uint8_t fp[STORE_FP_SIZE],
                         uint64_t *version, uint8_t tag[STORE_INDEX_TAG_SIZE]) {
  const store_ientry *e = with_pending ? table_find(&x->pending, fp) : NULL;
  if (e && (e->version & DELETED_BIT)) return false;
  if (!e) e = table_find(&x->main, fp);
  if (!e) return false;
  *version = e->version;
  memcpy(tag, e->tag, STORE_INDEX_TAG_SIZE);
  return true;
}

enclos_err store__index_prepare_commit(store_index *x) {
  return table_reserve(&x->main, x->pending.count);
}

void store__index_commit(store_index *x) {
  for (size_t i = 0; i < x->pending.cap && x->pending.count; i++) {
    store_ientry *e = &x->pending.slots[i];
    if (!e->version) continue;
    if (e->version & DELETED_BIT) {
      store_ientry *m = table_find(&x->main, e->fp);
      if (m) table_del(&x->main, m);
    } else {
      table_put(&x->main, e);
    }
  }
  store__index_abort(x);
}

void store__index_abort(store_index *x) {
  /* A huge transaction's overlay is not kept around to be cleared after every small one. */
  if (x->pending.cap > 65536)
    table_free(&x->pending);
  else
    table_clear(&x->pending);
}

size_t store__index_count(const store_index *x) { return x->main.count; }

void store__index_prefetch(const store_index *x, const uint8_t fp[STORE_FP_SIZE]) {
  if (x->main.cap) __builtin_prefetch(&x->main.slots[fp_hash(fp) & (x->main.cap - 1)]);
}
