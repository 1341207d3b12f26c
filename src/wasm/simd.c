/* simd.c: execution of the 128-bit SIMD instructions (WebAssembly core 2.0, §4.3.2-§4.3.4
 * vector operations, §4.4.3 vector instructions, §4.4.7 vector memory instructions).
 *
 * How v128 values are stored: every wasm value has one 64-bit frame slot (see compile.c). A
 * v128 in slot x keeps its low half (bytes 0-7, lanes 0..) in fp[x] and its high half
 * (bytes 8-15) in fp[x + hd], where hd is the store's value-stack size in slots: the store
 * allocates a second, parallel stack of the same size right after the first, so the high
 * half of any slot is at a fixed distance. Frame slot numbering, calls (the callee's frame
 * starts inside the caller's), branches and the scalar interpreter stay exactly as they were;
 * only code that moves a v128 touches the shadow half (docs/architecture.md, "WebAssembly").
 *
 * Instruction format (compiled by simd_compile.inc): [WOP_SIMD, length in words, sub-opcode,
 * operands...]. Value-producing instructions: dst slot, source slots in operand order,
 * immediates. Stores and global.set: source slots, immediates. Sub-opcodes 0x00-0xff are the
 * binary format's (the 0xfd prefix's LEB128 u32); WSIMD_* (>= 0x100) are internal.
 *
 * Lane order is little-endian (lane 0 = lowest-addressed bytes, §4.3.2 lanes); lane access
 * goes through a union of lane arrays, so the host must be little-endian (checked below).
 * Float lanes use the same semantics as the scalar instructions (§4.3.3), lane by lane.
 *
 * Divisions: 1. lane helpers and float semantics; 2. memory access; 3. wasm__simd_exec.
 */
#include <math.h>
#include <string.h>

#include "wasm_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the SIMD lane views assume a little-endian host"
#endif

/* ---- 1. Lanes ---------------------------------------------------------------------------- */

static inline wv128 ldv(const uint64_t *fp, size_t hd, uint32_t x) {
  wv128 v;
  v.u64[0] = fp[x];
  v.u64[1] = fp[x + hd];
  return v;
}
static inline void stv(uint64_t *fp, size_t hd, uint32_t x, const wv128 *v) {
  fp[x] = v->u64[0];
  fp[x + hd] = v->u64[1];
}
/* §4.3.3 fmin/fmax and trunc_sat: wasm__f32_min etc. (wasm_int.h, shared with interp.c). */

static inline int32_t sat_i8(int32_t v) { return v < -128 ? -128 : v > 127 ? 127 : v; }
static inline int32_t sat_u8(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : v; }
static inline int32_t sat_i16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
static inline int32_t sat_u16(int32_t v) { return v < 0 ? 0 : v > 65535 ? 65535 : v; }

/* ---- 2. Memory --------------------------------------------------------------------------- */

/* Effective address (§4.4.7: i + memarg.offset, bounds-checked for n bytes), or false. */
static inline bool ea_ok(uint64_t addr, uint32_t off, uint32_t n, uint64_t ms, uint64_t *ea) {
  *ea = addr + off;
  return *ea + n <= ms;
}

/* ---- 3. Execution ------------------------------------------------------------------------ */

/* Lane-wise loops over the operands a, b into r; the lane type's cast is explicit (the lane
 * expressions compute in int or wider and wrap or saturate on purpose). */
typedef uint8_t LT_u8;
typedef int8_t LT_i8;
typedef uint16_t LT_u16;
typedef int16_t LT_i16;
typedef uint32_t LT_u32;
typedef int32_t LT_i32;
typedef uint64_t LT_u64;
typedef int64_t LT_i64;
typedef float LT_f32;
typedef double LT_f64;
#define MAP1(L, N, e)                                    \
  do {                                                   \
    for (int i = 0; i < (N); i++) r.L[i] = (LT_##L)(e);  \
  } while (0)
#define CMP(L, N, cond)                                                  \
  do {                                                                   \
    for (int i = 0; i < (N); i++) r.L[i] = (cond) ? (LT_##L)~(LT_##L)0 : 0; \
  } while (0)

uint32_t wasm__simd_exec(const uint32_t *ip, uint64_t *fp, size_t hd, winst *inst, uint8_t *mb,
                         uint64_t ms) {
  const uint32_t sub = ip[2];
  const uint32_t d = ip[3];
  wv128 a, b, c, r;
  uint64_t ea;
  memset(&r, 0, sizeof(r));
  switch (sub) {
  /* -- memory (§4.4.7) -- */
  case 0x00: /* v128.load */
    if (!ea_ok((uint32_t)fp[ip[4]], ip[5], 16, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    memcpy(r.u8, mb + ea, 16);
    break;
  case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: { /* load NxM_s/u */
    uint8_t t[8];
    if (!ea_ok((uint32_t)fp[ip[4]], ip[5], 8, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    memcpy(t, mb + ea, 8);
    memcpy(a.u8, t, 8);
    switch (sub) {
    case 0x01: MAP1(i16, 8, (int16_t)a.i8[i]); break;
    case 0x02: MAP1(u16, 8, (uint16_t)a.u8[i]); break;
    case 0x03: MAP1(i32, 4, (int32_t)a.i16[i]); break;
    case 0x04: MAP1(u32, 4, (uint32_t)a.u16[i]); break;
    case 0x05: MAP1(i64, 2, (int64_t)a.i32[i]); break;
    default: MAP1(u64, 2, (uint64_t)a.u32[i]); break;
    }
    break;
  }
  case 0x07: case 0x08: case 0x09: case 0x0a: { /* loadN_splat */
    uint32_t n = 1u << (sub - 0x07);
    if (!ea_ok((uint32_t)fp[ip[4]], ip[5], n, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    for (uint32_t k = 0; k < 16; k += n) memcpy(r.u8 + k, mb + ea, n);
    break;
  }
  case 0x0b: /* v128.store */
    if (!ea_ok((uint32_t)fp[ip[3]], ip[5], 16, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    a = ldv(fp, hd, ip[4]);
    memcpy(mb + ea, a.u8, 16);
    return ENCLOS_WASM_TRAP_NONE;
  case 0x54: case 0x55: case 0x56: case 0x57: { /* v128.loadN_lane */
    uint32_t n = 1u << (sub - 0x54);
    r = ldv(fp, hd, ip[5]);
    if (!ea_ok((uint32_t)fp[ip[4]], ip[6], n, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    memcpy(r.u8 + ip[7] * n, mb + ea, n);
    break;
  }
  case 0x58: case 0x59: case 0x5a: case 0x5b: { /* v128.storeN_lane */
    uint32_t n = 1u << (sub - 0x58);
    a = ldv(fp, hd, ip[4]);
    if (!ea_ok((uint32_t)fp[ip[3]], ip[5], n, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    memcpy(mb + ea, a.u8 + ip[6] * n, n);
    return ENCLOS_WASM_TRAP_NONE;
  }
  case 0x5c: case 0x5d: { /* v128.load32_zero, load64_zero */
    uint32_t n = sub == 0x5c ? 4 : 8;
    if (!ea_ok((uint32_t)fp[ip[4]], ip[5], n, ms, &ea)) return ENCLOS_WASM_TRAP_MEMORY_OOB;
    memcpy(r.u8, mb + ea, n);
    break;
  }

  /* -- constants, shuffles, splats, lanes (§4.4.3) -- */
  case 0x0c: MAP1(u32, 4, ip[4 + i]); break;
  case 0x0d: /* i8x16.shuffle: lane indexes < 32 were validated */
    a = ldv(fp, hd, ip[4]);
    b = ldv(fp, hd, ip[5]);
    for (int i = 0; i < 16; i++) {
      uint32_t k = (ip[6 + i / 4] >> (8 * (i % 4))) & 0xff;
      r.u8[i] = k < 16 ? a.u8[k] : b.u8[k - 16];
    }
    break;
  case 0x0e: /* i8x16.swizzle */
    a = ldv(fp, hd, ip[4]);
    b = ldv(fp, hd, ip[5]);
    MAP1(u8, 16, b.u8[i] < 16 ? a.u8[b.u8[i]] : 0);
    break;
  case 0x0f: MAP1(u8, 16, (uint8_t)fp[ip[4]]); break;
  case 0x10: MAP1(u16, 8, (uint16_t)fp[ip[4]]); break;
  case 0x11: case 0x13: MAP1(u32, 4, (uint32_t)fp[ip[4]]); break;
  case 0x12: case 0x14: MAP1(u64, 2, fp[ip[4]]); break;
  case 0x15: a = ldv(fp, hd, ip[4]); fp[d] = (uint32_t)(int32_t)a.i8[ip[5]]; return 0;
  case 0x16: a = ldv(fp, hd, ip[4]); fp[d] = a.u8[ip[5]]; return 0;
  case 0x18: a = ldv(fp, hd, ip[4]); fp[d] = (uint32_t)(int32_t)a.i16[ip[5]]; return 0;
  case 0x19: a = ldv(fp, hd, ip[4]); fp[d] = a.u16[ip[5]]; return 0;
  case 0x1b: case 0x1f: a = ldv(fp, hd, ip[4]); fp[d] = a.u32[ip[5]]; return 0;
  case 0x1d: case 0x21: a = ldv(fp, hd, ip[4]); fp[d] = a.u64[ip[5]]; return 0;
  case 0x17: r = ldv(fp, hd, ip[4]); r.u8[ip[6]] = (uint8_t)fp[ip[5]]; break;
  case 0x1a: r = ldv(fp, hd, ip[4]); r.u16[ip[6]] = (uint16_t)fp[ip[5]]; break;
  case 0x1c: case 0x20: r = ldv(fp, hd, ip[4]); r.u32[ip[6]] = (uint32_t)fp[ip[5]]; break;
  case 0x1e: case 0x22: r = ldv(fp, hd, ip[4]); r.u64[ip[6]] = fp[ip[5]]; break;

  /* -- one v128 operand, v128 result -- */
  case 0x4d: case 0x5e: case 0x5f: case 0x60: case 0x61: case 0x62: case 0x67: case 0x68:
  case 0x69: case 0x6a: case 0x74: case 0x75: case 0x7a: case 0x7c: case 0x7d: case 0x7e:
  case 0x7f: case 0x80: case 0x81: case 0x87: case 0x88: case 0x89: case 0x8a: case 0x94:
  case 0xa0: case 0xa1: case 0xa7: case 0xa8: case 0xa9: case 0xaa: case 0xc0: case 0xc1:
  case 0xc7: case 0xc8: case 0xc9: case 0xca: case 0xe0: case 0xe1: case 0xe3: case 0xec:
  case 0xed: case 0xef: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
  case 0xfe: case 0xff:
    a = ldv(fp, hd, ip[4]);
    switch (sub) {
    case 0x4d: MAP1(u64, 2, ~a.u64[i]); break;
    case 0x5e: r.f32[0] = (float)a.f64[0]; r.f32[1] = (float)a.f64[1]; break;
    case 0x5f: MAP1(f64, 2, (double)a.f32[i]); break;
    case 0x60: MAP1(u8, 16, a.i8[i] < 0 ? (uint8_t)(0u - a.u8[i]) : a.u8[i]); break;
    case 0x61: MAP1(u8, 16, (uint8_t)(0u - a.u8[i])); break;
    case 0x62: MAP1(u8, 16, (uint8_t)__builtin_popcount(a.u8[i])); break;
    case 0x67: MAP1(f32, 4, ceilf(a.f32[i])); break;
    case 0x68: MAP1(f32, 4, floorf(a.f32[i])); break;
    case 0x69: MAP1(f32, 4, truncf(a.f32[i])); break;
    case 0x6a: MAP1(f32, 4, nearbyintf(a.f32[i])); break;
    case 0x74: MAP1(f64, 2, ceil(a.f64[i])); break;
    case 0x75: MAP1(f64, 2, floor(a.f64[i])); break;
    case 0x7a: MAP1(f64, 2, trunc(a.f64[i])); break;
    case 0x94: MAP1(f64, 2, nearbyint(a.f64[i])); break;
    case 0x7c: MAP1(i16, 8, (int16_t)(a.i8[2 * i] + a.i8[2 * i + 1])); break;
    case 0x7d: MAP1(u16, 8, (uint16_t)(a.u8[2 * i] + a.u8[2 * i + 1])); break;
    case 0x7e: MAP1(i32, 4, (int32_t)a.i16[2 * i] + a.i16[2 * i + 1]); break;
    case 0x7f: MAP1(u32, 4, (uint32_t)a.u16[2 * i] + a.u16[2 * i + 1]); break;
    case 0x80: MAP1(u16, 8, a.i16[i] < 0 ? (uint16_t)(0u - a.u16[i]) : a.u16[i]); break;
    case 0x81: MAP1(u16, 8, (uint16_t)(0u - a.u16[i])); break;
    case 0x87: MAP1(i16, 8, a.i8[i]); break;
    case 0x88: MAP1(i16, 8, a.i8[i + 8]); break;
    case 0x89: MAP1(u16, 8, a.u8[i]); break;
    case 0x8a: MAP1(u16, 8, a.u8[i + 8]); break;
    case 0xa0: MAP1(u32, 4, a.i32[i] < 0 ? 0u - a.u32[i] : a.u32[i]); break;
    case 0xa1: MAP1(u32, 4, 0u - a.u32[i]); break;
    case 0xa7: MAP1(i32, 4, a.i16[i]); break;
    case 0xa8: MAP1(i32, 4, a.i16[i + 4]); break;
    case 0xa9: MAP1(u32, 4, a.u16[i]); break;
    case 0xaa: MAP1(u32, 4, a.u16[i + 4]); break;
    case 0xc0: MAP1(u64, 2, a.i64[i] < 0 ? 0u - a.u64[i] : a.u64[i]); break;
    case 0xc1: MAP1(u64, 2, 0u - a.u64[i]); break;
    case 0xc7: MAP1(i64, 2, a.i32[i]); break;
    case 0xc8: MAP1(i64, 2, a.i32[i + 2]); break;
    case 0xc9: MAP1(u64, 2, a.u32[i]); break;
    case 0xca: MAP1(u64, 2, a.u32[i + 2]); break;
    /* abs/neg are sign-bit operations (§4.3.3 fabs, fneg): NaN payloads pass unchanged. */
    case 0xe0: MAP1(u32, 4, a.u32[i] & 0x7fffffffu); break;
    case 0xe1: MAP1(u32, 4, a.u32[i] ^ 0x80000000u); break;
    case 0xe3: MAP1(f32, 4, sqrtf(a.f32[i])); break;
    case 0xec: MAP1(u64, 2, a.u64[i] & 0x7fffffffffffffffull); break;
    case 0xed: MAP1(u64, 2, a.u64[i] ^ 0x8000000000000000ull); break;
    case 0xef: MAP1(f64, 2, sqrt(a.f64[i])); break;
    case 0xf8: MAP1(i32, 4, wasm__sat_s32((double)a.f32[i])); break;
    case 0xf9: MAP1(u32, 4, wasm__sat_u32((double)a.f32[i])); break;
    case 0xfa: MAP1(f32, 4, (float)a.i32[i]); break;
    case 0xfb: MAP1(f32, 4, (float)a.u32[i]); break;
    case 0xfc: r.i32[0] = wasm__sat_s32(a.f64[0]); r.i32[1] = wasm__sat_s32(a.f64[1]); break;
    case 0xfd: r.u32[0] = wasm__sat_u32(a.f64[0]); r.u32[1] = wasm__sat_u32(a.f64[1]); break;
    case 0xfe: MAP1(f64, 2, (double)a.i32[i]); break;
    default: MAP1(f64, 2, (double)a.u32[i]); break; /* 0xff */
    }
    break;

  /* -- v128 -> i32 tests (§4.3.4 any_true, all_true, bitmask) -- */
  case 0x53: a = ldv(fp, hd, ip[4]); fp[d] = (a.u64[0] | a.u64[1]) != 0; return 0;
  case 0x63: case 0x83: case 0xa3: case 0xc3: {
    a = ldv(fp, hd, ip[4]);
    uint32_t all = 1;
    switch (sub) {
    case 0x63: for (int i = 0; i < 16; i++) all &= a.u8[i] != 0; break;
    case 0x83: for (int i = 0; i < 8; i++) all &= a.u16[i] != 0; break;
    case 0xa3: for (int i = 0; i < 4; i++) all &= a.u32[i] != 0; break;
    default: for (int i = 0; i < 2; i++) all &= a.u64[i] != 0; break;
    }
    fp[d] = all;
    return 0;
  }
  case 0x64: case 0x84: case 0xa4: case 0xc4: {
    a = ldv(fp, hd, ip[4]);
    uint32_t m = 0;
    switch (sub) {
    case 0x64: for (int i = 0; i < 16; i++) m |= (uint32_t)(a.u8[i] >> 7) << i; break;
    case 0x84: for (int i = 0; i < 8; i++) m |= (uint32_t)(a.u16[i] >> 15) << i; break;
    case 0xa4: for (int i = 0; i < 4; i++) m |= (a.u32[i] >> 31) << i; break;
    default: for (int i = 0; i < 2; i++) m |= (uint32_t)(a.u64[i] >> 63) << i; break;
    }
    fp[d] = m;
    return 0;
  }

  /* -- shifts: v128, i32 -> v128; the count is taken modulo the lane width (§4.3.2 ishl) -- */
  case 0x6b: case 0x6c: case 0x6d: case 0x8b: case 0x8c: case 0x8d: case 0xab: case 0xac:
  case 0xad: case 0xcb: case 0xcc: case 0xcd: {
    a = ldv(fp, hd, ip[4]);
    uint32_t n = (uint32_t)fp[ip[5]];
    switch (sub) {
    case 0x6b: n &= 7; MAP1(u8, 16, (uint8_t)(a.u8[i] << n)); break;
    case 0x6c: n &= 7; MAP1(i8, 16, (int8_t)(a.i8[i] >> n)); break;
    case 0x6d: n &= 7; MAP1(u8, 16, (uint8_t)(a.u8[i] >> n)); break;
    case 0x8b: n &= 15; MAP1(u16, 8, (uint16_t)(a.u16[i] << n)); break;
    case 0x8c: n &= 15; MAP1(i16, 8, (int16_t)(a.i16[i] >> n)); break;
    case 0x8d: n &= 15; MAP1(u16, 8, (uint16_t)(a.u16[i] >> n)); break;
    case 0xab: n &= 31; MAP1(u32, 4, a.u32[i] << n); break;
    case 0xac: n &= 31; MAP1(i32, 4, a.i32[i] >> n); break;
    case 0xad: n &= 31; MAP1(u32, 4, a.u32[i] >> n); break;
    case 0xcb: n &= 63; MAP1(u64, 2, a.u64[i] << n); break;
    case 0xcc: n &= 63; MAP1(i64, 2, a.i64[i] >> n); break;
    default: n &= 63; MAP1(u64, 2, a.u64[i] >> n); break;
    }
    break;
  }

  case 0x52: /* v128.bitselect */
    a = ldv(fp, hd, ip[4]);
    b = ldv(fp, hd, ip[5]);
    c = ldv(fp, hd, ip[6]);
    MAP1(u64, 2, (a.u64[i] & c.u64[i]) | (b.u64[i] & ~c.u64[i]));
    break;

  /* -- internal: moves of v128 values (compile.c emits them for copies, select, globals) -- */
  case WSIMD_COPY: r = ldv(fp, hd, ip[4]); break;
  case WSIMD_SELECT:
    r = (uint32_t)fp[ip[6]] ? ldv(fp, hd, ip[4]) : ldv(fp, hd, ip[5]);
    break;
  case WSIMD_GLOBAL_GET: {
    const wglobal *g = inst->globals[ip[4]];
    r.u64[0] = g->val;
    r.u64[1] = g->hi;
    break;
  }
  case WSIMD_GLOBAL_SET: {
    wglobal *g = inst->globals[ip[4]];
    g->val = fp[ip[3]];
    g->hi = fp[ip[3] + hd];
    return 0;
  }
  case WSIMD_ZERO: /* v128 locals start as zero (§4.4.10 invocation): both halves */
    for (uint32_t k = 0; k < ip[4]; k++) {
      fp[d + k] = 0;
      fp[d + k + hd] = 0;
    }
    return 0;

  /* -- two v128 operands, v128 result -- */
  default:
    a = ldv(fp, hd, ip[4]);
    b = ldv(fp, hd, ip[5]);
    switch (sub) {
    /* comparisons (§4.3.2 ieq.., §4.3.3 feq..): all-ones lanes for true */
    case 0x23: CMP(u8, 16, a.u8[i] == b.u8[i]); break;
    case 0x24: CMP(u8, 16, a.u8[i] != b.u8[i]); break;
    case 0x25: CMP(u8, 16, a.i8[i] < b.i8[i]); break;
    case 0x26: CMP(u8, 16, a.u8[i] < b.u8[i]); break;
    case 0x27: CMP(u8, 16, a.i8[i] > b.i8[i]); break;
    case 0x28: CMP(u8, 16, a.u8[i] > b.u8[i]); break;
    case 0x29: CMP(u8, 16, a.i8[i] <= b.i8[i]); break;
    case 0x2a: CMP(u8, 16, a.u8[i] <= b.u8[i]); break;
    case 0x2b: CMP(u8, 16, a.i8[i] >= b.i8[i]); break;
    case 0x2c: CMP(u8, 16, a.u8[i] >= b.u8[i]); break;
    case 0x2d: CMP(u16, 8, a.u16[i] == b.u16[i]); break;
    case 0x2e: CMP(u16, 8, a.u16[i] != b.u16[i]); break;
    case 0x2f: CMP(u16, 8, a.i16[i] < b.i16[i]); break;
    case 0x30: CMP(u16, 8, a.u16[i] < b.u16[i]); break;
    case 0x31: CMP(u16, 8, a.i16[i] > b.i16[i]); break;
    case 0x32: CMP(u16, 8, a.u16[i] > b.u16[i]); break;
    case 0x33: CMP(u16, 8, a.i16[i] <= b.i16[i]); break;
    case 0x34: CMP(u16, 8, a.u16[i] <= b.u16[i]); break;
    case 0x35: CMP(u16, 8, a.i16[i] >= b.i16[i]); break;
    case 0x36: CMP(u16, 8, a.u16[i] >= b.u16[i]); break;
    case 0x37: CMP(u32, 4, a.u32[i] == b.u32[i]); break;
    case 0x38: CMP(u32, 4, a.u32[i] != b.u32[i]); break;
    case 0x39: CMP(u32, 4, a.i32[i] < b.i32[i]); break;
    case 0x3a: CMP(u32, 4, a.u32[i] < b.u32[i]); break;
    case 0x3b: CMP(u32, 4, a.i32[i] > b.i32[i]); break;
    case 0x3c: CMP(u32, 4, a.u32[i] > b.u32[i]); break;
    case 0x3d: CMP(u32, 4, a.i32[i] <= b.i32[i]); break;
    case 0x3e: CMP(u32, 4, a.u32[i] <= b.u32[i]); break;
    case 0x3f: CMP(u32, 4, a.i32[i] >= b.i32[i]); break;
    case 0x40: CMP(u32, 4, a.u32[i] >= b.u32[i]); break;
    case 0x41: CMP(u32, 4, a.f32[i] == b.f32[i]); break;
    case 0x42: CMP(u32, 4, a.f32[i] != b.f32[i]); break;
    case 0x43: CMP(u32, 4, a.f32[i] < b.f32[i]); break;
    case 0x44: CMP(u32, 4, a.f32[i] > b.f32[i]); break;
    case 0x45: CMP(u32, 4, a.f32[i] <= b.f32[i]); break;
    case 0x46: CMP(u32, 4, a.f32[i] >= b.f32[i]); break;
    case 0x47: CMP(u64, 2, a.f64[i] == b.f64[i]); break;
    case 0x48: CMP(u64, 2, a.f64[i] != b.f64[i]); break;
    case 0x49: CMP(u64, 2, a.f64[i] < b.f64[i]); break;
    case 0x4a: CMP(u64, 2, a.f64[i] > b.f64[i]); break;
    case 0x4b: CMP(u64, 2, a.f64[i] <= b.f64[i]); break;
    case 0x4c: CMP(u64, 2, a.f64[i] >= b.f64[i]); break;
    case 0xd6: CMP(u64, 2, a.u64[i] == b.u64[i]); break;
    case 0xd7: CMP(u64, 2, a.u64[i] != b.u64[i]); break;
    case 0xd8: CMP(u64, 2, a.i64[i] < b.i64[i]); break;
    case 0xd9: CMP(u64, 2, a.i64[i] > b.i64[i]); break;
    case 0xda: CMP(u64, 2, a.i64[i] <= b.i64[i]); break;
    case 0xdb: CMP(u64, 2, a.i64[i] >= b.i64[i]); break;
    /* bitwise */
    case 0x4e: MAP1(u64, 2, a.u64[i] & b.u64[i]); break;
    case 0x4f: MAP1(u64, 2, a.u64[i] & ~b.u64[i]); break;
    case 0x50: MAP1(u64, 2, a.u64[i] | b.u64[i]); break;
    case 0x51: MAP1(u64, 2, a.u64[i] ^ b.u64[i]); break;
    /* narrowing with signed saturation of signed inputs (§4.3.2 narrow) */
    case 0x65:
      for (int i = 0; i < 8; i++) r.i8[i] = (int8_t)sat_i8(a.i16[i]);
      for (int i = 0; i < 8; i++) r.i8[i + 8] = (int8_t)sat_i8(b.i16[i]);
      break;
    case 0x66:
      for (int i = 0; i < 8; i++) r.u8[i] = (uint8_t)sat_u8(a.i16[i]);
      for (int i = 0; i < 8; i++) r.u8[i + 8] = (uint8_t)sat_u8(b.i16[i]);
      break;
    case 0x85:
      for (int i = 0; i < 4; i++) r.i16[i] = (int16_t)sat_i16(a.i32[i]);
      for (int i = 0; i < 4; i++) r.i16[i + 4] = (int16_t)sat_i16(b.i32[i]);
      break;
    case 0x86:
      for (int i = 0; i < 4; i++) r.u16[i] = (uint16_t)(a.i32[i] < 0 ? 0 : a.i32[i] > 65535 ? 65535 : a.i32[i]);
      for (int i = 0; i < 4; i++) r.u16[i + 4] = (uint16_t)(b.i32[i] < 0 ? 0 : b.i32[i] > 65535 ? 65535 : b.i32[i]);
      break;
    /* i8x16 arithmetic */
    case 0x6e: MAP1(u8, 16, (uint8_t)(a.u8[i] + b.u8[i])); break;
    case 0x6f: MAP1(i8, 16, (int8_t)sat_i8(a.i8[i] + b.i8[i])); break;
    case 0x70: MAP1(u8, 16, (uint8_t)sat_u8(a.u8[i] + b.u8[i])); break;
    case 0x71: MAP1(u8, 16, (uint8_t)(a.u8[i] - b.u8[i])); break;
    case 0x72: MAP1(i8, 16, (int8_t)sat_i8(a.i8[i] - b.i8[i])); break;
    case 0x73: MAP1(u8, 16, (uint8_t)sat_u8(a.u8[i] - b.u8[i])); break;
    case 0x76: MAP1(i8, 16, a.i8[i] < b.i8[i] ? a.i8[i] : b.i8[i]); break;
    case 0x77: MAP1(u8, 16, a.u8[i] < b.u8[i] ? a.u8[i] : b.u8[i]); break;
    case 0x78: MAP1(i8, 16, a.i8[i] > b.i8[i] ? a.i8[i] : b.i8[i]); break;
    case 0x79: MAP1(u8, 16, a.u8[i] > b.u8[i] ? a.u8[i] : b.u8[i]); break;
    case 0x7b: MAP1(u8, 16, (uint8_t)((a.u8[i] + b.u8[i] + 1u) >> 1)); break;
    /* i16x8 */
    case 0x82: /* q15mulr_sat_s: (a*b + 2^14) >> 15, saturated */
      MAP1(i16, 8, (int16_t)sat_i16((int32_t)(((int64_t)a.i16[i] * b.i16[i] + 0x4000) >> 15)));
      break;
    case 0x8e: MAP1(u16, 8, (uint16_t)(a.u16[i] + b.u16[i])); break;
    case 0x8f: MAP1(i16, 8, (int16_t)sat_i16(a.i16[i] + b.i16[i])); break;
    case 0x90: MAP1(u16, 8, (uint16_t)sat_u16(a.u16[i] + b.u16[i])); break;
    case 0x91: MAP1(u16, 8, (uint16_t)(a.u16[i] - b.u16[i])); break;
    case 0x92: MAP1(i16, 8, (int16_t)sat_i16(a.i16[i] - b.i16[i])); break;
    case 0x93: MAP1(u16, 8, (uint16_t)sat_u16(a.u16[i] - b.u16[i])); break;
    case 0x95: MAP1(u16, 8, (uint16_t)((uint32_t)a.u16[i] * b.u16[i])); break;
    case 0x96: MAP1(i16, 8, a.i16[i] < b.i16[i] ? a.i16[i] : b.i16[i]); break;
    case 0x97: MAP1(u16, 8, a.u16[i] < b.u16[i] ? a.u16[i] : b.u16[i]); break;
    case 0x98: MAP1(i16, 8, a.i16[i] > b.i16[i] ? a.i16[i] : b.i16[i]); break;
    case 0x99: MAP1(u16, 8, a.u16[i] > b.u16[i] ? a.u16[i] : b.u16[i]); break;
    case 0x9b: MAP1(u16, 8, (uint16_t)((a.u16[i] + b.u16[i] + 1u) >> 1)); break;
    case 0x9c: MAP1(i16, 8, (int16_t)(a.i8[i] * b.i8[i])); break;
    case 0x9d: MAP1(i16, 8, (int16_t)(a.i8[i + 8] * b.i8[i + 8])); break;
    case 0x9e: MAP1(u16, 8, (uint16_t)(a.u8[i] * b.u8[i])); break;
    case 0x9f: MAP1(u16, 8, (uint16_t)(a.u8[i + 8] * b.u8[i + 8])); break;
    /* i32x4 */
    case 0xae: MAP1(u32, 4, a.u32[i] + b.u32[i]); break;
    case 0xb1: MAP1(u32, 4, a.u32[i] - b.u32[i]); break;
    case 0xb5: MAP1(u32, 4, a.u32[i] * b.u32[i]); break;
    case 0xb6: MAP1(i32, 4, a.i32[i] < b.i32[i] ? a.i32[i] : b.i32[i]); break;
    case 0xb7: MAP1(u32, 4, a.u32[i] < b.u32[i] ? a.u32[i] : b.u32[i]); break;
    case 0xb8: MAP1(i32, 4, a.i32[i] > b.i32[i] ? a.i32[i] : b.i32[i]); break;
    case 0xb9: MAP1(u32, 4, a.u32[i] > b.u32[i] ? a.u32[i] : b.u32[i]); break;
    case 0xba: /* dot_i16x8_s: the sum of two products can reach 2^31, so add in 64 bits */
      MAP1(u32, 4, (uint32_t)((int64_t)a.i16[2 * i] * b.i16[2 * i] +
                              (int64_t)a.i16[2 * i + 1] * b.i16[2 * i + 1]));
      break;
    case 0xbc: MAP1(i32, 4, (int32_t)a.i16[i] * b.i16[i]); break;
    case 0xbd: MAP1(i32, 4, (int32_t)a.i16[i + 4] * b.i16[i + 4]); break;
    case 0xbe: MAP1(u32, 4, (uint32_t)a.u16[i] * b.u16[i]); break;
    case 0xbf: MAP1(u32, 4, (uint32_t)a.u16[i + 4] * b.u16[i + 4]); break;
    /* i64x2 */
    case 0xce: MAP1(u64, 2, a.u64[i] + b.u64[i]); break;
    case 0xd1: MAP1(u64, 2, a.u64[i] - b.u64[i]); break;
    case 0xd5: MAP1(u64, 2, a.u64[i] * b.u64[i]); break;
    case 0xdc: MAP1(i64, 2, (int64_t)a.i32[i] * b.i32[i]); break;
    case 0xdd: MAP1(i64, 2, (int64_t)a.i32[i + 2] * b.i32[i + 2]); break;
    case 0xde: MAP1(u64, 2, (uint64_t)a.u32[i] * b.u32[i]); break;
    case 0xdf: MAP1(u64, 2, (uint64_t)a.u32[i + 2] * b.u32[i + 2]); break;
    /* f32x4 */
    case 0xe4: MAP1(f32, 4, a.f32[i] + b.f32[i]); break;
    case 0xe5: MAP1(f32, 4, a.f32[i] - b.f32[i]); break;
    case 0xe6: MAP1(f32, 4, a.f32[i] * b.f32[i]); break;
    case 0xe7: MAP1(f32, 4, a.f32[i] / b.f32[i]); break;
    case 0xe8: MAP1(f32, 4, wasm__f32_min(a.f32[i], b.f32[i])); break;
    case 0xe9: MAP1(f32, 4, wasm__f32_max(a.f32[i], b.f32[i])); break;
    /* pmin/pmax (§4.3.3 fpmin: b < a ? b : a), selecting the operand's bits. */
    case 0xea: MAP1(u32, 4, b.f32[i] < a.f32[i] ? b.u32[i] : a.u32[i]); break;
    case 0xeb: MAP1(u32, 4, a.f32[i] < b.f32[i] ? b.u32[i] : a.u32[i]); break;
    /* f64x2 */
    case 0xf0: MAP1(f64, 2, a.f64[i] + b.f64[i]); break;
    case 0xf1: MAP1(f64, 2, a.f64[i] - b.f64[i]); break;
    case 0xf2: MAP1(f64, 2, a.f64[i] * b.f64[i]); break;
    case 0xf3: MAP1(f64, 2, a.f64[i] / b.f64[i]); break;
    case 0xf4: MAP1(f64, 2, wasm__f64_min(a.f64[i], b.f64[i])); break;
    case 0xf5: MAP1(f64, 2, wasm__f64_max(a.f64[i], b.f64[i])); break;
    case 0xf6: MAP1(u64, 2, b.f64[i] < a.f64[i] ? b.u64[i] : a.u64[i]); break;
    case 0xf7: MAP1(u64, 2, a.f64[i] < b.f64[i] ? b.u64[i] : a.u64[i]); break;
    default: return ENCLOS_WASM_TRAP_HOST; /* not produced by the compiler */
    }
    break;
  }
  stv(fp, hd, d, &r);
  return ENCLOS_WASM_TRAP_NONE;
}

