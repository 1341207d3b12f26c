/* reader.c: the checked byte reader. Every read checks the remaining length first and
 * leaves the cursor untouched on failure. */
#include <string.h>

#include <enclos/reader.h>

void enclos_rd_init(enclos_reader *r, const void *data, size_t size) {
  r->start = data;
  r->cur = data;
  r->end = data ? (const uint8_t *)data + size : data;
}

size_t enclos_rd_remaining(const enclos_reader *r) { return (size_t)(r->end - r->cur); }
size_t enclos_rd_offset(const enclos_reader *r) { return (size_t)(r->cur - r->start); }
bool enclos_rd_eof(const enclos_reader *r) { return r->cur == r->end; }

#define NEED(r, n)                                                                 \
  ENCLOS_ENSUREF(enclos_rd_remaining(r) >= (n), ENCLOS_E_TRUNCATED,                \
                 "need %zu bytes at offset %zu, %zu left", (size_t)(n),            \
                 enclos_rd_offset(r), enclos_rd_remaining(r))

enclos_err enclos_rd_u8(enclos_reader *r, uint8_t *out) {
  NEED(r, 1);
  *out = *r->cur++;
  return ENCLOS_OK;
}

static uint64_t load_le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint64_t load_be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* The six fixed-width reads differ only in their width (the result type) and byte order; a
 * macro, because each public function has its own result type. */
#define RD_FIXED(name, type, load)                                                 \
  enclos_err name(enclos_reader *r, type *out) {                                   \
    NEED(r, sizeof(type));                                                         \
    *out = (type)load(r->cur, sizeof(type));                                       \
    r->cur += sizeof(type);                                                        \
    return ENCLOS_OK;                                                              \
  }
RD_FIXED(enclos_rd_u16le, uint16_t, load_le)
RD_FIXED(enclos_rd_u32le, uint32_t, load_le)
RD_FIXED(enclos_rd_u64le, uint64_t, load_le)
RD_FIXED(enclos_rd_u16be, uint16_t, load_be)
RD_FIXED(enclos_rd_u32be, uint32_t, load_be)
RD_FIXED(enclos_rd_u64be, uint64_t, load_be)
#undef RD_FIXED

/* WebAssembly core spec §5.2.2: uN is at most ceil(N/7) bytes; in the last byte the bits
 * above N must be zero. sN likewise, but those bits must equal the sign bit. Both
 * malformations are "integer representation too long" / "integer too large" in the
 * spec tests, so they are reported distinctly from truncation. One loop serves both; the
 * result is sign-extended for sN. Forced inline so that is_signed folds away in each caller
 * (module loading decodes every immediate through here). */
__attribute__((always_inline)) static inline enclos_err rd_leb(enclos_reader *r, unsigned bits, bool is_signed, uint64_t *out) {
  ENCLOS_ENSURE(bits >= 1 && bits <= 64, ENCLOS_E_INVAL);
  const unsigned max_bytes = (bits + 6) / 7;
  const uint8_t *p = r->cur;
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t byte;
  for (unsigned i = 0;; i++) {
    ENCLOS_ENSUREF(p < r->end, ENCLOS_E_TRUNCATED, "LEB128 at offset %zu truncated",
                   enclos_rd_offset(r));
    ENCLOS_ENSUREF(i < max_bytes, ENCLOS_E_MALFORMED,
                   "integer representation too long at offset %zu", enclos_rd_offset(r));
    byte = *p++;
    shift = 7 * i;
    if (i == max_bytes - 1) {
      ENCLOS_ENSUREF((byte & 0x80) == 0, ENCLOS_E_MALFORMED,
                     "integer representation too long at offset %zu", enclos_rd_offset(r));
      /* The payload bits from `keep` upward: above N (uN, keep 1..7), or from the sign bit
       * N-1 upward (sN, keep 0..6); zero, or for sN all equal to the sign. */
      unsigned keep = bits - shift - (is_signed ? 1u : 0u);
      uint8_t high = (uint8_t)((byte & 0x7f) >> keep);
      ENCLOS_ENSUREF(high == 0 || (is_signed && high == (uint8_t)(0x7f >> keep)),
                     ENCLOS_E_MALFORMED, "integer too large at offset %zu", enclos_rd_offset(r));
    }
    v |= (uint64_t)(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  shift += 7;
  if (is_signed && shift < 64 && (byte & 0x40)) v |= ~(uint64_t)0 << shift;
  r->cur = p;
  *out = v;
  return ENCLOS_OK;
}

enclos_err enclos_rd_uleb(enclos_reader *r, unsigned bits, uint64_t *out) {
  return rd_leb(r, bits, false, out);
}

enclos_err enclos_rd_sleb(enclos_reader *r, unsigned bits, int64_t *out) {
  uint64_t v;
  ENCLOS_TRY(rd_leb(r, bits, true, &v));
  int64_t s;
  memcpy(&s, &v, sizeof(s));
  *out = s;
  return ENCLOS_OK;
}

enclos_err enclos_rd_uleb32(enclos_reader *r, uint32_t *out) {
  uint64_t v;
  ENCLOS_TRY(enclos_rd_uleb(r, 32, &v));
  *out = (uint32_t)v;
  return ENCLOS_OK;
}

enclos_err enclos_rd_sleb32(enclos_reader *r, int32_t *out) {
  int64_t v;
  ENCLOS_TRY(enclos_rd_sleb(r, 32, &v));
  *out = (int32_t)v;
  return ENCLOS_OK;
}

enclos_err enclos_rd_sleb64(enclos_reader *r, int64_t *out) { return enclos_rd_sleb(r, 64, out); }

enclos_err enclos_rd_bytes(enclos_reader *r, size_t size, const uint8_t **out) {
  NEED(r, size);
  *out = r->cur;
  r->cur += size;
  return ENCLOS_OK;
}

enclos_err enclos_rd_copy(enclos_reader *r, void *out, size_t size) {
  NEED(r, size);
  if (size) memcpy(out, r->cur, size);
  r->cur += size;
  return ENCLOS_OK;
}

enclos_err enclos_rd_skip(enclos_reader *r, size_t size) {
  NEED(r, size);
  r->cur += size;
  return ENCLOS_OK;
}

enclos_err enclos_rd_sub(enclos_reader *r, size_t size, enclos_reader *sub) {
  NEED(r, size);
  /* The sub-reader keeps the parent's start so offsets in error details stay absolute. */
  sub->start = r->start;
  sub->cur = r->cur;
  sub->end = r->cur + size;
  r->cur += size;
  return ENCLOS_OK;
}
