/* record.c: parsers for the store's on-disk formats (store_int.h). Everything here reads
 * bytes the host controls, through enclos_reader only; nothing is trusted before the caller
 * authenticates it (AEAD tag, state MAC, anchor MAC). */
#include <string.h>

#include "store_int.h"

enclos_err store__record_parse(const uint8_t *data, size_t size, store_record *out) {
  enclos_reader r;
  uint8_t format = 0;
  enclos_rd_init(&r, data, size);
  ENCLOS_ENSUREF(size >= STORE_RECORD_OVERHEAD, ENCLOS_E_TAMPERED,
                 "store record of %zu bytes is shorter than its %d-byte framing", size,
                 STORE_RECORD_OVERHEAD);
  ENCLOS_TRY(enclos_rd_u8(&r, &format));
  ENCLOS_ENSUREF(format == STORE_RECORD_FORMAT, ENCLOS_E_TAMPERED,
                 "store record format %u (want %u)", format, STORE_RECORD_FORMAT);
  ENCLOS_TRY(enclos_rd_u64le(&r, &out->version));
  ENCLOS_TRY(enclos_rd_bytes(&r, 12, &out->iv));
  out->ct_size = enclos_rd_remaining(&r) - 16;
  ENCLOS_TRY(enclos_rd_bytes(&r, out->ct_size, &out->ct));
  ENCLOS_TRY(enclos_rd_bytes(&r, 16, &out->tag));
  return ENCLOS_OK;
}

enclos_err store__data_parse(const uint8_t *pt, size_t size, size_t max_value, const uint8_t **key,
                             size_t *key_size, const uint8_t **value, size_t *value_size) {
  enclos_reader r;
  uint32_t ks = 0;
  enclos_rd_init(&r, pt, size);
  ENCLOS_TRY(enclos_rd_u32le(&r, &ks));
  ENCLOS_ENSUREF(ks >= 1 && ks <= ENCLOS_STORE_MAX_KEY, ENCLOS_E_TAMPERED,
                 "record key size %u outside 1..%d", ks, ENCLOS_STORE_MAX_KEY);
  ENCLOS_ENSUREF(ks <= enclos_rd_remaining(&r), ENCLOS_E_TAMPERED,
                 "record key size %u exceeds the %zu bytes left", ks, enclos_rd_remaining(&r));
  ENCLOS_TRY(enclos_rd_bytes(&r, ks, key));
  *key_size = ks;
  *value_size = enclos_rd_remaining(&r);
  ENCLOS_ENSUREF(*value_size <= max_value, ENCLOS_E_LIMIT, "record value of %zu bytes > limit %zu",
                 *value_size, max_value);
  ENCLOS_TRY(enclos_rd_bytes(&r, *value_size, value));
  return ENCLOS_OK;
}

static enclos_err expect_magic(enclos_reader *r, const char *magic, const char *what) {
  const uint8_t *m = NULL;
  ENCLOS_TRY(enclos_rd_bytes(r, 8, &m));
  ENCLOS_ENSUREF(memcmp(m, magic, 8) == 0, ENCLOS_E_TAMPERED, "%s: bad magic (want %.8s)", what,
                 magic);
  return ENCLOS_OK;
}

enclos_err store__header_parse(const uint8_t *data, size_t size, store_header *out) {
  enclos_reader r;
  ENCLOS_ENSUREF(size == STORE_HEADER_SIZE, ENCLOS_E_TAMPERED,
                 "store header record is %zu bytes (want %d)", size, STORE_HEADER_SIZE);
  /* Headers of other store formats have the same size; name the format, not a bad magic. */
  ENCLOS_ENSUREF(memcmp(data, "ENCLHDR", 7) != 0 || data[7] == '0' + STORE_FORMAT,
                 ENCLOS_E_UNSUPPORTED,
                 "store format %c is not read by this build, which reads format %d only (1: "
                 "40-byte data keys, 2: HMAC key index); re-create the store",
                 data[7] >= '0' && data[7] <= '9' ? data[7] : '?', STORE_FORMAT);
  enclos_rd_init(&r, data, size);
  ENCLOS_TRY(expect_magic(&r, STORE_HEADER_MAGIC, "store header record"));
  ENCLOS_TRY(enclos_rd_copy(&r, out->store_id, STORE_ID_SIZE));
  ENCLOS_TRY(enclos_rd_bytes(&r, 12, &out->iv));
  ENCLOS_TRY(enclos_rd_bytes(&r, 32, &out->wrapped));
  ENCLOS_TRY(enclos_rd_bytes(&r, 16, &out->tag));
  return ENCLOS_OK;
}

enclos_err store__state_parse(const uint8_t *data, size_t size, store_state *out) {
  enclos_reader r;
  ENCLOS_ENSUREF(size == STORE_STATE_SIZE, ENCLOS_E_TAMPERED,
                 "store state record is %zu bytes (want %d)", size, STORE_STATE_SIZE);
  enclos_rd_init(&r, data, size);
  ENCLOS_TRY(expect_magic(&r, "ENCLSTA1", "store state record"));
  ENCLOS_TRY(enclos_rd_u64le(&r, &out->version));
  ENCLOS_TRY(enclos_rd_bytes(&r, 32, &out->digest));
  ENCLOS_TRY(enclos_rd_bytes(&r, 32, &out->mac));
  return ENCLOS_OK;
}

enclos_err store__anchor_parse(const uint8_t *data, size_t size, store_anchor *out) {
  enclos_reader r;
  ENCLOS_ENSUREF(size == STORE_ANCHOR_SIZE, ENCLOS_E_TAMPERED,
                 "anchor file is %zu bytes (want %d)", size, STORE_ANCHOR_SIZE);
  enclos_rd_init(&r, data, size);
  ENCLOS_TRY(expect_magic(&r, "ENCLANC1", "anchor file"));
  ENCLOS_TRY(enclos_rd_copy(&r, out->store_id, STORE_ID_SIZE));
  ENCLOS_TRY(enclos_rd_u64le(&r, &out->version));
  ENCLOS_TRY(enclos_rd_copy(&r, out->digest, 32));
  ENCLOS_TRY(enclos_rd_copy(&r, out->mac, 32));
  return ENCLOS_OK;
}
