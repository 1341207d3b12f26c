/**
 * \file reader.h
 * \brief Checked byte reader: the only way parsers read untrusted bytes (STYLE.md §8).
 *
 * A reader is a cursor over [start, end). Every read checks the remaining length first
 * and fails with ENCLOS_E_TRUNCATED without moving the cursor; no read can go past the
 * end. LEB128 decoding follows the WebAssembly binary format (spec §5.2.2): an N-bit
 * integer uses at most ceil(N/7) bytes and the unused bits of the last byte must be
 * zero (unsigned) or a sign extension (signed), otherwise ENCLOS_E_MALFORMED.
 */
#ifndef ENCLOS_READER_H
#define ENCLOS_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct enclos_reader {
  const uint8_t *start; /* read-only: first byte */
  const uint8_t *cur;   /* read-only: next byte to read */
  const uint8_t *end;   /* read-only: one past the last byte */
} enclos_reader;

/** Initialises \p r over \p size bytes at \p data (data may be NULL when size is 0). */
void enclos_rd_init(enclos_reader *r, const void *data, size_t size);
/** Bytes left to read. */
size_t enclos_rd_remaining(const enclos_reader *r);
/** Offset of the cursor from the start. */
size_t enclos_rd_offset(const enclos_reader *r);
/** True when every byte has been read. */
bool enclos_rd_eof(const enclos_reader *r);

ENCLOS_MUST_USE enclos_err enclos_rd_u8(enclos_reader *r, uint8_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_u16le(enclos_reader *r, uint16_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_u32le(enclos_reader *r, uint32_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_u64le(enclos_reader *r, uint64_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_u16be(enclos_reader *r, uint16_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_u32be(enclos_reader *r, uint32_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_u64be(enclos_reader *r, uint64_t *out);

/** Unsigned LEB128 of at most \p bits bits (1..64): u32 uses bits=32. */
ENCLOS_MUST_USE enclos_err enclos_rd_uleb(enclos_reader *r, unsigned bits, uint64_t *out);
/** Signed LEB128 of at most \p bits bits (1..64): s32, s33 (block types) and s64. */
ENCLOS_MUST_USE enclos_err enclos_rd_sleb(enclos_reader *r, unsigned bits, int64_t *out);
/** Convenience: wasm u32 and s32/s64. */
ENCLOS_MUST_USE enclos_err enclos_rd_uleb32(enclos_reader *r, uint32_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_sleb32(enclos_reader *r, int32_t *out);
ENCLOS_MUST_USE enclos_err enclos_rd_sleb64(enclos_reader *r, int64_t *out);

/** Points \p out at the next \p size bytes and advances (no copy). */
ENCLOS_MUST_USE enclos_err enclos_rd_bytes(enclos_reader *r, size_t size, const uint8_t **out);
/** Copies the next \p size bytes into \p out and advances. */
ENCLOS_MUST_USE enclos_err enclos_rd_copy(enclos_reader *r, void *out, size_t size);
/** Advances by \p size bytes. */
ENCLOS_MUST_USE enclos_err enclos_rd_skip(enclos_reader *r, size_t size);
/** Splits off a sub-reader over the next \p size bytes and advances past them.
 *  The sub-reader shares the parent's start, so enclos_rd_offset() stays absolute. */
ENCLOS_MUST_USE enclos_err enclos_rd_sub(enclos_reader *r, size_t size, enclos_reader *sub);

#ifdef __cplusplus
}
#endif
#endif
