/* cbor_check.c: a bounded structural pre-pass over CBOR (RFC 8949 §3) before libcbor sees it.
 * libcbor 0.8's cbor_load allocates from declared lengths (a map head claiming 2^32 entries
 * makes it try a huge allocation), so we first check that every declared count fits in the
 * bytes that remain, that nesting stays shallow and that only definite lengths are used. */
#include "attest_int.h"

static enclos_err item(enclos_reader *r, unsigned depth) {
  ENCLOS_ENSUREF(depth <= ATTEST_CBOR_MAX_DEPTH, ENCLOS_E_LIMIT, "CBOR nested deeper than %d at offset %zu",
                 ATTEST_CBOR_MAX_DEPTH, enclos_rd_offset(r));
  uint8_t ib;
  ENCLOS_TRY(enclos_rd_u8(r, &ib));
  uint8_t major = ib >> 5, ai = ib & 0x1f;
  uint64_t arg = ai;
  if (ai == 24) {
    uint8_t v;
    ENCLOS_TRY(enclos_rd_u8(r, &v));
    arg = v;
  } else if (ai == 25) {
    uint16_t v;
    ENCLOS_TRY(enclos_rd_u16be(r, &v));
    arg = v;
  } else if (ai == 26) {
    uint32_t v;
    ENCLOS_TRY(enclos_rd_u32be(r, &v));
    arg = v;
  } else if (ai == 27) {
    ENCLOS_TRY(enclos_rd_u64be(r, &arg));
  } else if (ai > 27) {
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "CBOR indefinite length or reserved value at offset %zu",
                 enclos_rd_offset(r) - 1);
  }
  size_t left = enclos_rd_remaining(r);
  switch (major) {
    case 0: case 1: case 7: return ENCLOS_OK;
    case 2: case 3:
      ENCLOS_ENSUREF(arg <= left, ENCLOS_E_TRUNCATED, "CBOR string of %llu bytes with %zu left",
                     (unsigned long long)arg, left);
      return enclos_rd_skip(r, (size_t)arg);
    case 4: case 5: {
      uint64_t n = major == 5 ? arg * 2 : arg;
      ENCLOS_ENSUREF(arg <= left && n <= left, ENCLOS_E_TRUNCATED, "CBOR container of %llu items with %zu bytes left",
                     (unsigned long long)arg, left);
      for (uint64_t i = 0; i < n; i++) ENCLOS_TRY(item(r, depth + 1));
      return ENCLOS_OK;
    }
    default: /* 6: tag */ return item(r, depth + 1);
  }
}

enclos_err attest__cbor_check(const void *data, size_t size) {
  enclos_reader r;
  enclos_rd_init(&r, data, size);
  ENCLOS_TRY(item(&r, 0));
  ENCLOS_ENSUREF(enclos_rd_eof(&r), ENCLOS_E_MALFORMED, "%zu trailing bytes after the CBOR item",
                 enclos_rd_remaining(&r));
  return ENCLOS_OK;
}
