/* fuzz_store: the sealed store's decoders for host-controlled bytes (store_int.h): sealed
 * records, decrypted data plaintexts, the header and state records, and the anchor file.
 * The first byte picks the decoder; a record that parses is also run through AES-GCM open
 * with a fixed key (it must fail cleanly, never read out of bounds). A first byte of 250 or
 * more instead runs the rest as an operation script on the record index, checked step by step
 * against a reference model (tests/store/index_model.h). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <enclos/crypto_keyed.h>
#include <enclos/mem.h>

#include "store/store_int.h"
#include "../tests/store/index_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static enclos_aead_key *key;
  if (!key) {
    uint8_t k[32] = {1};
    if (enclos_aead_key_new(k, &key) != ENCLOS_OK) return 0;
  }
  if (size < 1) return 0;
  uint8_t which = data[0];
  data++;
  size--;
  if (which >= 250) {
    if (size > 3 * 400) size = 3 * 400; /* a bounded script */
    if (!index_model_run(data, size)) __builtin_trap();
    return 0;
  }
  switch (which % 5) {
    case 0: {
      store_record r;
      if (store__record_parse(data, size, &r) != ENCLOS_OK) break;
      if (r.ct_size + STORE_RECORD_OVERHEAD != size) __builtin_trap();
      uint8_t *pt = enclos_malloc(r.ct_size ? r.ct_size : 1);
      if (!pt) break;
      if (enclos_aead_key_open(key, r.iv, data, 9, r.ct, r.ct_size, r.tag, pt) == ENCLOS_OK) {
        const uint8_t *k = NULL, *v = NULL;
        size_t ks = 0, vs = 0;
        (void)store__data_parse(pt, r.ct_size, ENCLOS_STORE_DEFAULT_MAX_VALUE, &k, &ks, &v, &vs);
      }
      enclos_free(pt);
      break;
    }
    case 1: {
      const uint8_t *k = NULL, *v = NULL;
      size_t ks = 0, vs = 0;
      if (store__data_parse(data, size, 4096, &k, &ks, &v, &vs) == ENCLOS_OK) {
        if (ks < 1 || ks > ENCLOS_STORE_MAX_KEY || 4 + ks + vs != size || vs > 4096) __builtin_trap();
        if (k != data + 4 || v != data + 4 + ks) __builtin_trap();
      }
      break;
    }
    case 2: {
      store_header h;
      (void)store__header_parse(data, size, &h);
      break;
    }
    case 3: {
      store_state st;
      (void)store__state_parse(data, size, &st);
      break;
    }
    default: {
      store_anchor a;
      (void)store__anchor_parse(data, size, &a);
      break;
    }
  }
  return 0;
}
