/* store_int.h: private to src/store. Record formats, the I/O seam, shared internals.
 *
 * Formats (all integers little-endian):
 *   sealed record   u8 format(=1) | u64 version | iv[12] | ciphertext | tag[16]
 *   data plaintext  u32 key_size | key | value
 *   app plaintext   app_key[32] | u64 quota | u64 used
 *   header record   "ENCLHDR1" | store_id[16] | iv[12] | wrapped master[32] | tag[16]
 *   state record    "ENCLSTA1" | u64 version | digest[32] | mac[32]
 *   anchor file     "ENCLANC1" | store_id[16] | u64 version | digest[32] | mac[32]
 */
#ifndef ENCLOS_STORE_INT_H
#define ENCLOS_STORE_INT_H

#include <sys/types.h>

#include <enclos/reader.h>
#include <enclos/store.h>

#define STORE_RECORD_FORMAT 1
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

/* Atomic replace of \p path: temp file, write, fsync, rename, fsync directory. */
ENCLOS_MUST_USE enclos_err store__write_atomic(const char *dir, const char *name, const void *data,
                                               size_t size);
/* Reads a whole small file (at most \p max bytes) into \p out; ENCLOS_E_NOT_FOUND if absent. */
ENCLOS_MUST_USE enclos_err store__read_file(const char *path, uint8_t *out, size_t max,
                                            size_t *size);

#endif
