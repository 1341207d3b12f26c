/* store_int.h: private to src/store. Record formats, the I/O seam, shared internals.
 *
 * Formats (all integers little-endian); store format 3 (1: 40-byte data keys; 2: truncated
 * HMAC-SHA256 instead of CMAC):
 *   data LMDB key   tag8(table) | AES-256-CMAC(k_index(table), table | 0 | key)
 *   sealed record   u8 format(=3) | u64 version | iv[12] | ciphertext | tag[16]
 *   data plaintext  u32 key_size | key | value
 *   app plaintext   app_key[32] | u64 quota | u64 used
 *   header record   "ENCLHDR3" | store_id[16] | iv[12] | wrapped master[32] | tag[16]
 *   state record    "ENCLSTA1" | u64 version | digest[32] | mac[32]
 *   anchor file     "ENCLANC1" | store_id[16] | u64 version | digest[32] | mac[32]
 */
#ifndef ENCLOS_STORE_INT_H
#define ENCLOS_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <enclos/reader.h>
#include <enclos/store.h>

/* The store format: the record format byte and the header magic's digit. Stores of other
 * formats are refused at open with ENCLOS_E_UNSUPPORTED. */
#define STORE_FORMAT 3
#define STORE_RECORD_FORMAT STORE_FORMAT
#define STORE_HEADER_MAGIC "ENCLHDR3" /* "ENCLHDR" and the format digit */
#define STORE_TABLE_TAG_SIZE 8
/* Bytes of the key MAC in the LMDB key (docs/store.md §1: a 128-bit PRF output; a collision
 * is refused, never merged). */
#define STORE_KEY_MAC_SIZE 16
#define STORE_DATA_KEY_SIZE (STORE_TABLE_TAG_SIZE + STORE_KEY_MAC_SIZE)
#define STORE_RECORD_OVERHEAD (1 + 8 + 12 + 16)
#define STORE_ID_SIZE 16
#define STORE_HEADER_SIZE (8 + STORE_ID_SIZE + 12 + 32 + 16)
#define STORE_STATE_SIZE (8 + 8 + 32 + 32)
#define STORE_ANCHOR_SIZE (8 + STORE_ID_SIZE + 8 + 32 + 32)
#define STORE_APP_PLAIN_SIZE (32 + 8 + 8)

/* The I/O seam (STYLE.md §20): the store's own file I/O (anchor, sim secret) goes through this
 * table so tests can fail the Nth write, fsync or rename. LMDB does its own I/O. */
typedef struct store_io {
  int (*open)(const char *path, int flags, mode_t mode);
  ssize_t (*read)(int fd, void *buf, size_t size);
  ssize_t (*write)(int fd, const void *buf, size_t size);
  int (*fsync)(int fd);
  int (*rename)(const char *from, const char *to);
  int (*close)(int fd);
} store_io;
extern store_io store__io;
/* Restores the libc functions. */
void store__io_reset(void);

/* Test seam: when set, called on every data LMDB key right after it is derived, so that tests
 * can force two keys onto one stored key (a 2^-128-per-pair event otherwise). NULL in
 * production; nothing outside tests sets it. */
extern void (*store__data_key_hook)(uint8_t lkey[STORE_DATA_KEY_SIZE]);

typedef struct store_record {
  uint64_t version;
  const uint8_t *iv;
  const uint8_t *ct;
  size_t ct_size;
  const uint8_t *tag;
} store_record;

typedef struct store_header {
  uint8_t store_id[STORE_ID_SIZE];
  const uint8_t *iv, *wrapped, *tag;
} store_header;

typedef struct store_state {
  uint64_t version;
  const uint8_t *digest, *mac;
} store_state;

typedef struct store_anchor {
  uint8_t store_id[STORE_ID_SIZE];
  uint64_t version;
  uint8_t digest[32], mac[32];
} store_anchor;

/* Parsers of untrusted bytes (fuzzed by fuzz/fuzz_store.c). Pointers point into \p data. */
ENCLOS_MUST_USE enclos_err store__record_parse(const uint8_t *data, size_t size, store_record *out);
ENCLOS_MUST_USE enclos_err store__data_parse(const uint8_t *pt, size_t size, size_t max_value,
                                             const uint8_t **key, size_t *key_size,
                                             const uint8_t **value, size_t *value_size);
ENCLOS_MUST_USE enclos_err store__header_parse(const uint8_t *data, size_t size, store_header *out);
ENCLOS_MUST_USE enclos_err store__state_parse(const uint8_t *data, size_t size, store_state *out);
ENCLOS_MUST_USE enclos_err store__anchor_parse(const uint8_t *data, size_t size, store_anchor *out);

/* ---- The trusted record index (index.c) ------------------------------------------------- */

#define STORE_FP_SIZE 16
#define STORE_INDEX_TAG_SIZE 8

/* One live record: LMDB key fingerprint, record version (0: empty slot; bit 63: deleted, in the
 * overlay only), first bytes of its GCM tag. 32 bytes. */
typedef struct store_ientry {
  uint8_t fp[STORE_FP_SIZE];
  uint64_t version;
  uint8_t tag[STORE_INDEX_TAG_SIZE];
} store_ientry;

typedef struct store_itable {
  store_ientry *slots;
  size_t cap, count;
} store_itable;

typedef struct store_index {
  store_itable main;    /* committed records */
  store_itable pending; /* the open write transaction's changes */
} store_index;

void store__fp_of(const uint8_t *lkey, size_t lkey_size, uint8_t fp[STORE_FP_SIZE]);
/* Ensures room for one more entry in the main table or the overlay (\p pending). */
ENCLOS_MUST_USE enclos_err store__index_reserve(store_index *x, bool pending);
void store__index_set(store_index *x, bool pending, const uint8_t fp[STORE_FP_SIZE],
                      uint64_t version, const uint8_t tag[STORE_INDEX_TAG_SIZE]);
void store__index_del(store_index *x, bool pending, const uint8_t fp[STORE_FP_SIZE],
                      uint64_t version);
/* The expected (version, tag) of the record \p fp; false if there is none. \p with_pending:
 * as seen inside the write transaction. */
bool store__index_lookup(const store_index *x, bool with_pending, const uint8_t fp[STORE_FP_SIZE],
                         uint64_t *version, uint8_t tag[STORE_INDEX_TAG_SIZE]);
/* Before the LMDB commit: room in the main table for the overlay (then commit cannot fail). */
ENCLOS_MUST_USE enclos_err store__index_prepare_commit(store_index *x);
void store__index_commit(store_index *x);
void store__index_abort(store_index *x);
void store__index_reset(store_index *x);
void store__index_free(store_index *x);
size_t store__index_count(const store_index *x);
/* Starts loading \p fp's home slot, so that its cache miss overlaps with the LMDB lookup. */
void store__index_prefetch(const store_index *x, const uint8_t fp[STORE_FP_SIZE]);

/* Atomic replace of \p path: temp file, write, fsync, rename, fsync directory. */
ENCLOS_MUST_USE enclos_err store__write_atomic(const char *dir, const char *name, const void *data,
                                               size_t size);
/* Reads a whole small file (at most \p max bytes) into \p out; ENCLOS_E_NOT_FOUND if absent. */
ENCLOS_MUST_USE enclos_err store__read_file(const char *path, uint8_t *out, size_t max,
                                            size_t *size);

#endif
