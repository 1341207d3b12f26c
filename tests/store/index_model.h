/* index_model.h: drives the store's record index (src/store/index.c) with an operation script
 * and checks every step against a plain reference model. Shared by tests/store/test_faults.c
 * (random scripts) and fuzz/fuzz_store.c (fuzzed scripts). Keys are one byte; their
 * fingerprints share their probe chain's home in groups of eight, so chains, wrap-around and
 * backward-shift deletion get exercised. Returns false on the first disagreement. */
#ifndef STORE_INDEX_MODEL_H
#define STORE_INDEX_MODEL_H

#include <stdbool.h>
#include <string.h>

#include "store/store_int.h"

typedef struct index_model_slot {
  int state; /* main: 0 absent, 1 present; pending: 0 untouched, 1 set, 2 deleted */
  uint64_t version;
  uint8_t tag[STORE_INDEX_TAG_SIZE];
} index_model_slot;

static inline void index_model_fp(uint8_t key, uint8_t fp[STORE_FP_SIZE]) {
  memset(fp, 0, STORE_FP_SIZE);
  fp[0] = (uint8_t)(key & 7); /* home slot: 8 keys per chain */
  fp[8] = key;                /* identity */
}

static inline bool index_model_run(const uint8_t *ops, size_t size) {
  static index_model_slot main_ref[256], pend_ref[256];
  store_index x;
  memset(&x, 0, sizeof(x));
  memset(main_ref, 0, sizeof(main_ref));
  memset(pend_ref, 0, sizeof(pend_ref));
  bool ok = true;
  for (size_t i = 0; ok && i + 2 < size; i += 3) {
    uint8_t op = ops[i] % 6, key = ops[i + 1], arg = ops[i + 2];
    uint8_t fp[STORE_FP_SIZE], tag[STORE_INDEX_TAG_SIZE];
    uint64_t version = 1 + (uint64_t)arg;
    index_model_fp(key, fp);
    memset(tag, arg ^ 0x5a, sizeof(tag));
    switch (op) {
      case 0: /* set in the write transaction */
        if (store__index_reserve(&x, true) != ENCLOS_OK) goto out;
        store__index_set(&x, true, fp, version, tag);
        pend_ref[key].state = 1;
        pend_ref[key].version = version;
        memcpy(pend_ref[key].tag, tag, sizeof(tag));
        break;
      case 1: /* delete in the write transaction */
        if (store__index_reserve(&x, true) != ENCLOS_OK) goto out;
        store__index_del(&x, true, fp, version);
        pend_ref[key].state = 2;
        break;
      case 2: /* commit */
        if (store__index_prepare_commit(&x) != ENCLOS_OK) goto out;
        store__index_commit(&x);
        for (int k = 0; k < 256; k++) {
          if (pend_ref[k].state == 1) {
            main_ref[k] = pend_ref[k];
            main_ref[k].state = 1;
          } else if (pend_ref[k].state == 2) {
            main_ref[k].state = 0;
          }
          pend_ref[k].state = 0;
        }
        break;
      case 3: /* abort */
        store__index_abort(&x);
        for (int k = 0; k < 256; k++) pend_ref[k].state = 0;
        break;
      case 4: /* set or delete in the committed table directly (as the open-time scan does) */
        if (arg & 1) {
          store__index_del(&x, false, fp, version);
          main_ref[key].state = 0;
        } else {
          if (store__index_reserve(&x, false) != ENCLOS_OK) goto out;
          store__index_set(&x, false, fp, version, tag);
          main_ref[key].state = 1;
          main_ref[key].version = version;
          memcpy(main_ref[key].tag, tag, sizeof(tag));
        }
        break;
      default: break;
    }
    /* After every step the key touched, and after every 16th step and the last one every key,
     * looks up as the model says; the count always agrees. */
    size_t count = 0;
    bool full = (i / 3) % 16 == 15 || i + 5 >= size;
    for (int k = 0; ok && k < 256; k++) {
      if (!full && k != key) {
        count += main_ref[k].state == 1;
        continue;
      }
      uint64_t v = 0;
      uint8_t t[STORE_INDEX_TAG_SIZE];
      index_model_fp((uint8_t)k, fp);
      for (int with = 0; with < 2; with++) {
        const index_model_slot *want = &main_ref[k];
        if (with && pend_ref[k].state) want = &pend_ref[k];
        bool have = store__index_lookup(&x, with != 0, fp, &v, t);
        bool expect = want->state == 1;
        if (have != expect || (have && (v != want->version || memcmp(t, want->tag, sizeof(t)))))
          ok = false;
      }
      count += main_ref[k].state == 1;
    }
    if (count != store__index_count(&x)) ok = false;
  }
out:
  store__index_free(&x);
  return ok;
}

#endif
