/* fuzz_reader: drives the checked reader with an operation script taken from the input.
 * Each step reads one op byte and performs that read on the rest of the input; the reader
 * must never read out of bounds, and offsets must stay consistent. */
#include <stdint.h>
#include <stdlib.h>

#include <enclos/reader.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t nops = data[0] % 32 + 1;
  if (nops > size - 1) nops = size - 1;
  const uint8_t *ops = data + 1;
  enclos_reader r;
  enclos_rd_init(&r, data + 1 + nops, size - 1 - nops);
  for (size_t i = 0; i < nops; i++) {
    size_t before = enclos_rd_remaining(&r);
    enclos_err rc = ENCLOS_OK;
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; int32_t s32; int64_t s64;
    const uint8_t *p;
    enclos_reader sub;
    switch (ops[i] % 16) {
      case 0: rc = enclos_rd_u8(&r, &u8); break;
      case 1: rc = enclos_rd_u16le(&r, &u16); break;
      case 2: rc = enclos_rd_u32le(&r, &u32); break;
      case 3: rc = enclos_rd_u64le(&r, &u64); break;
      case 4: rc = enclos_rd_u16be(&r, &u16); break;
      case 5: rc = enclos_rd_u32be(&r, &u32); break;
      case 6: rc = enclos_rd_u64be(&r, &u64); break;
      case 7: rc = enclos_rd_uleb32(&r, &u32); break;
      case 8: rc = enclos_rd_sleb32(&r, &s32); break;
      case 9: rc = enclos_rd_sleb64(&r, &s64); break;
      case 10: rc = enclos_rd_uleb(&r, (unsigned)(ops[i] >> 4) * 4 + 1, &u64); break;
      case 11: rc = enclos_rd_sleb(&r, 33, &s64); break;
      case 12:
        rc = enclos_rd_bytes(&r, ops[i] >> 4, &p);
        if (rc == ENCLOS_OK) {
          volatile uint8_t sink = 0;
          for (size_t k = 0; k < (size_t)(ops[i] >> 4); k++) sink ^= p[k];
          (void)sink;
        }
        break;
      case 13: rc = enclos_rd_skip(&r, (size_t)ops[i] << 20); break;
      case 14:
        rc = enclos_rd_sub(&r, ops[i] >> 5, &sub);
        if (rc == ENCLOS_OK)
          while (enclos_rd_u8(&sub, &u8) == ENCLOS_OK) {}
        break;
      default: {
        uint8_t buf[16];
        rc = enclos_rd_copy(&r, buf, ops[i] >> 4);
        break;
      }
    }
    /* On failure nothing moves; on success the cursor only advances. */
    if (rc != ENCLOS_OK && enclos_rd_remaining(&r) != before) abort();
    if (enclos_rd_remaining(&r) > before) abort();
  }
  return 0;
}
