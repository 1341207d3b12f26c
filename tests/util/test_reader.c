#include <enclos/reader.h>

#include "test.h"

TEST(reader_fixed_width) {
  const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  enclos_reader r;
  enclos_rd_init(&r, d, sizeof(d));
  uint8_t a;
  uint16_t b;
  uint32_t c;
  uint64_t e;
  CHECK_OK(enclos_rd_u8(&r, &a));
  CHECK_EQ_INT(a, 1);
  CHECK_OK(enclos_rd_u16le(&r, &b));
  CHECK_EQ_INT(b, 0x0302);
  CHECK_OK(enclos_rd_u32le(&r, &c));
  CHECK_EQ_U64(c, 0x07060504);
  CHECK_OK(enclos_rd_u64le(&r, &e));
  CHECK_EQ_U64(e, 0x0f0e0d0c0b0a0908ULL);
  CHECK(enclos_rd_eof(&r));
  enclos_rd_init(&r, d, sizeof(d));
  CHECK_OK(enclos_rd_u32be(&r, &c));
  CHECK_EQ_U64(c, 0x01020304);
  CHECK_OK(enclos_rd_u16be(&r, &b));
  CHECK_EQ_INT(b, 0x0506);
  CHECK_OK(enclos_rd_u64be(&r, &e));
  CHECK_EQ_U64(e, 0x0708090a0b0c0d0eULL);
}

TEST(reader_never_reads_past_end) {
  const uint8_t d[3] = {0xaa, 0xbb, 0xcc};
  enclos_reader r;
  enclos_rd_init(&r, d, sizeof(d));
  uint32_t v = 0x12345678;
  CHECK_ERR(enclos_rd_u32le(&r, &v), ENCLOS_E_TRUNCATED);
  CHECK_EQ_U64(v, 0x12345678);      /* output untouched */
  CHECK_EQ_INT(enclos_rd_offset(&r), 0); /* cursor untouched */
  const uint8_t *p;
  CHECK_ERR(enclos_rd_bytes(&r, 4, &p), ENCLOS_E_TRUNCATED);
  CHECK_ERR(enclos_rd_bytes(&r, SIZE_MAX, &p), ENCLOS_E_TRUNCATED);
  CHECK_ERR(enclos_rd_skip(&r, 4), ENCLOS_E_TRUNCATED);
  CHECK_OK(enclos_rd_skip(&r, 3));
  uint8_t b;
  CHECK_ERR(enclos_rd_u8(&r, &b), ENCLOS_E_TRUNCATED);
  CHECK_CONTAINS(enclos_err_detail(), "offset 3");
  enclos_rd_init(&r, NULL, 0);
  CHECK(enclos_rd_eof(&r));
  CHECK_ERR(enclos_rd_u8(&r, &b), ENCLOS_E_TRUNCATED);
}

TEST(reader_sub_is_bounded_and_absolute) {
  const uint8_t d[] = {9, 1, 2, 3, 4};
  enclos_reader r, s;
  enclos_rd_init(&r, d, sizeof(d));
  CHECK_OK(enclos_rd_skip(&r, 1));
  CHECK_OK(enclos_rd_sub(&r, 2, &s));
  CHECK_EQ_INT(enclos_rd_remaining(&s), 2);
  CHECK_EQ_INT(enclos_rd_offset(&s), 1);
  uint16_t v;
  CHECK_OK(enclos_rd_u16le(&s, &v));
  CHECK_EQ_INT(v, 0x0201);
  uint8_t b;
  CHECK_ERR(enclos_rd_u8(&s, &b), ENCLOS_E_TRUNCATED);
  CHECK_EQ_INT(enclos_rd_remaining(&r), 2);
  CHECK_ERR(enclos_rd_sub(&r, 3, &s), ENCLOS_E_TRUNCATED);
}

static enclos_err uleb(const uint8_t *d, size_t n, unsigned bits, uint64_t *v) {
  enclos_reader r;
  enclos_rd_init(&r, d, n);
  enclos_err rc = enclos_rd_uleb(&r, bits, v);
  if (rc == ENCLOS_OK && !enclos_rd_eof(&r)) return ENCLOS_E_INTERNAL;
  return rc;
}

static enclos_err sleb(const uint8_t *d, size_t n, unsigned bits, int64_t *v) {
  enclos_reader r;
  enclos_rd_init(&r, d, n);
  enclos_err rc = enclos_rd_sleb(&r, bits, v);
  if (rc == ENCLOS_OK && !enclos_rd_eof(&r)) return ENCLOS_E_INTERNAL;
  return rc;
}

/* Cases from the WebAssembly binary format (spec §5.2.2) and binary-leb128.wast. */
TEST(reader_uleb128_wasm_limits) {
  uint64_t v;
  CHECK_OK(uleb((const uint8_t[]){0x00}, 1, 32, &v));
  CHECK_EQ_U64(v, 0);
  CHECK_OK(uleb((const uint8_t[]){0xe5, 0x8e, 0x26}, 3, 32, &v));
  CHECK_EQ_U64(v, 624485);
  CHECK_OK(uleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x00}, 5, 32, &v)); /* padded 0 */
  CHECK_EQ_U64(v, 0);
  CHECK_OK(uleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5, 32, &v));
  CHECK_EQ_U64(v, 0xffffffffu);
  /* too long: 6 bytes for u32 */
  CHECK_ERR(uleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 6, 32, &v),
            ENCLOS_E_MALFORMED);
  /* too large: unused bits set in the 5th byte */
  CHECK_ERR(uleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x1f}, 5, 32, &v), ENCLOS_E_MALFORMED);
  CHECK_ERR(uleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x70}, 5, 32, &v), ENCLOS_E_MALFORMED);
  /* truncated */
  CHECK_ERR(uleb((const uint8_t[]){0x80, 0x80}, 2, 32, &v), ENCLOS_E_TRUNCATED);
  /* u64 limits */
  CHECK_OK(uleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                10, 64, &v));
  CHECK_EQ_U64(v, UINT64_MAX);
  CHECK_ERR(uleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
                 10, 64, &v), ENCLOS_E_MALFORMED);
  CHECK_ERR(uleb((const uint8_t[]){0x80}, 1, 0, &v), ENCLOS_E_INVAL);
}

TEST(reader_sleb128_wasm_limits) {
  int64_t v;
  CHECK_OK(sleb((const uint8_t[]){0x7f}, 1, 32, &v));
  CHECK_EQ_INT(v, -1);
  CHECK_OK(sleb((const uint8_t[]){0xc0, 0xbb, 0x78}, 3, 32, &v));
  CHECK_EQ_INT(v, -123456);
  CHECK_OK(sleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x78}, 5, 32, &v));
  CHECK_EQ_INT(v, INT32_MIN);
  CHECK_OK(sleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x07}, 5, 32, &v));
  CHECK_EQ_INT(v, INT32_MAX);
  CHECK_OK(sleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x7f}, 5, 32, &v)); /* padded -1 */
  CHECK_EQ_INT(v, -1);
  /* unused bits not a sign extension */
  CHECK_ERR(sleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x4f}, 5, 32, &v), ENCLOS_E_MALFORMED);
  CHECK_ERR(sleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x70}, 5, 32, &v), ENCLOS_E_MALFORMED);
  CHECK_ERR(sleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 6, 32, &v),
            ENCLOS_E_MALFORMED);
  /* s33 (block types) */
  CHECK_OK(sleb((const uint8_t[]){0x40}, 1, 33, &v));
  CHECK_EQ_INT(v, -64);
  CHECK_OK(sleb((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5, 33, &v));
  CHECK_EQ_INT(v, 0xffffffffLL);
  /* s64 */
  CHECK_OK(sleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f},
                10, 64, &v));
  CHECK_EQ_INT(v, INT64_MIN);
  CHECK_ERR(sleb((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x41},
                 10, 64, &v), ENCLOS_E_MALFORMED);
  CHECK_ERR(sleb((const uint8_t[]){0xff}, 1, 64, &v), ENCLOS_E_TRUNCATED);
}

TEST(reader_copy) {
  const uint8_t d[] = {1, 2, 3};
  uint8_t out[3] = {0};
  enclos_reader r;
  enclos_rd_init(&r, d, 3);
  CHECK_ERR(enclos_rd_copy(&r, out, 4), ENCLOS_E_TRUNCATED);
  CHECK_OK(enclos_rd_copy(&r, out, 3));
  CHECK_MEM(out, d, 3);
}
