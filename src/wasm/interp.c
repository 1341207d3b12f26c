/* interp.c: the dispatch loop over compiled code (see compile.c for the code format).
 *
 * Divisions:
 *   1. Value helpers and float semantics (§4.3.3: fmin/fmax, nearest, truncation).
 *   2. Host calls.
 *   3. wasm__invoke: explicit call-frame stack (never recursing on the native stack per wasm
 *      call), computed-goto dispatch (the only use of the `&&label` extension in enclos),
 *      fuel and interrupt checks at FUEL ops (function entry and loop headers).
 */
#include <math.h>
#include <string.h>

#include <enclos/mem.h>

#include "wasm_int.h"

/* ---- 1. Values ------------------------------------------------------------------------- */

static inline float f32_of(uint64_t v) {
  uint32_t u = (uint32_t)v;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint64_t of_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline double f64_of(uint64_t v) {
  double d;
  memcpy(&d, &v, 8);
  return d;
}
static inline uint64_t of_f64(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

/* §4.3.3 fmin/fmax: NaN in -> NaN out; -0 < +0. */
static float f32_min(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static float f32_max(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? b : a;
  return a > b ? a : b;
}
static double f64_min(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static double f64_max(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? b : a;
  return a > b ? a : b;
}

static inline uint32_t rotl32(uint32_t x, uint32_t n) {
  n &= 31;
  return n ? (x << n) | (x >> (32 - n)) : x;
}
static inline uint32_t rotr32(uint32_t x, uint32_t n) {
  n &= 31;
  return n ? (x >> n) | (x << (32 - n)) : x;
}
static inline uint64_t rotl64(uint64_t x, uint64_t n) {
  n &= 63;
  return n ? (x << n) | (x >> (64 - n)) : x;
}
static inline uint64_t rotr64(uint64_t x, uint64_t n) {
  n &= 63;
  return n ? (x >> n) | (x << (64 - n)) : x;
}

/* Saturating truncations (§4.3.3 trunc_sat). */
static uint64_t sat_i32_s(double d) {
  if (d != d) return 0;
  if (d <= -2147483648.0) return (uint32_t)INT32_MIN;
  if (d >= 2147483647.0) return (uint32_t)INT32_MAX;
  return (uint32_t)(int32_t)d;
}
static uint64_t sat_i32_u(double d) {
  if (d != d || d <= -1.0) return 0;
  if (d >= 4294967295.0) return UINT32_MAX;
  return (uint32_t)d;
}
static uint64_t sat_i64_s(double d) {
  if (d != d) return 0;
  if (d < -9223372036854775808.0) return (uint64_t)INT64_MIN;
  if (d >= 9223372036854775808.0) return (uint64_t)INT64_MAX;
  return (uint64_t)(int64_t)d;
}
static uint64_t sat_i64_u(double d) {
  if (d != d || d <= -1.0) return 0;
  if (d >= 18446744073709551616.0) return UINT64_MAX;
  return (uint64_t)d;
}

/* ---- 2. Host calls ---------------------------------------------------------------------- */

/* Slot \p x of \p fp as a value; a v128's high half is hd slots further (simd.c). */
static void slot_to_val(enclos_wasm_type t, const uint64_t *fp, size_t hd, uint32_t x,
                        enclos_wasm_val *v) {
  uint64_t s = fp[x];
  memset(v, 0, sizeof(*v));
  v->type = t;
  if (t == ENCLOS_WASM_FUNCREF || t == ENCLOS_WASM_EXTERNREF) v->of.ref = (void *)(uintptr_t)s;
  else if (t == ENCLOS_WASM_I32 || t == ENCLOS_WASM_F32) v->of.i32 = (uint32_t)s;
  else if (t == ENCLOS_WASM_V128) {
    uint64_t hi = fp[x + hd];
    memcpy(v->of.v128, &s, 8);
    memcpy(v->of.v128 + 8, &hi, 8);
  } else v->of.i64 = s;
}
static void val_to_slot(const enclos_wasm_val *v, enclos_wasm_type t, uint64_t *fp, size_t hd,
                        uint32_t x) {
  if (t == ENCLOS_WASM_FUNCREF || t == ENCLOS_WASM_EXTERNREF) fp[x] = (uintptr_t)v->of.ref;
  else if (t == ENCLOS_WASM_I32 || t == ENCLOS_WASM_F32) fp[x] = v->of.i32;
  else if (t == ENCLOS_WASM_V128) {
    memcpy(&fp[x], v->of.v128, 8);
    memcpy(&fp[x + hd], v->of.v128 + 8, 8);
  } else fp[x] = v->of.i64;
}

#define HOST_MAX_VALUES 64
static enclos_err call_host(enclos_wasm_store *s, wfunc *f, winst *caller_inst, uint64_t *args) {
  const enclos_wasm_functype *t = f->type;
  enclos_wasm_val in[HOST_MAX_VALUES], out[HOST_MAX_VALUES];
  if (t->nparams > HOST_MAX_VALUES || t->nresults > HOST_MAX_VALUES)
    return wasm__trap(s, ENCLOS_WASM_TRAP_HOST, f, "host function has too many values");
  for (uint32_t i = 0; i < t->nparams; i++) slot_to_val(t->params[i], args, s->stack_slots, i, &in[i]);
  for (uint32_t i = 0; i < t->nresults; i++) {
    memset(&out[i], 0, sizeof(out[i]));
    out[i].type = t->results[i];
  }
  enclos_wasm_caller caller = {.store = s, .inst = caller_inst};
  enclos_err rc = f->host(&caller, f->env, in, out);
  if (caller.exit) {
    s->trap.exit_code = caller.exit_code;
    return wasm__trap(s, ENCLOS_WASM_TRAP_EXIT, f, "exit");
  }
  if (rc != ENCLOS_OK) {
    if (rc == ENCLOS_E_TRAP || rc == ENCLOS_E_FUEL || rc == ENCLOS_E_INTERRUPTED) return rc;
    return wasm__trap(s, ENCLOS_WASM_TRAP_HOST, f, enclos_err_detail());
  }
  for (uint32_t i = 0; i < t->nresults; i++)
    val_to_slot(&out[i], t->results[i], args, s->stack_slots, i);
  return ENCLOS_OK;
}

/* ---- 3. The loop ------------------------------------------------------------------------- */

/* Zeroes the n slots at p. Every frame has at least 4 slots past its parameters (compile.c
 * pads frame_slots), so the usual few locals take 4 plain stores and no call to memset. */
static inline void zero_slots(uint64_t *p, uint32_t n) {
  p[0] = 0;
  p[1] = 0;
  p[2] = 0;
  p[3] = 0;
  if (__builtin_expect(n > 4, 0)) memset(p + 4, 0, (size_t)(n - 4) * sizeof(*p));
}

/* Dispatch. Building with -DENCLOS_WASM_OPSTATS counts every executed op and every pair of
 * consecutive ops and prints the most frequent ones at exit: a development aid for choosing
 * fused instructions (bench/README.md), never part of a normal build. */
#ifdef ENCLOS_WASM_OPSTATS
#include <stdio.h>
#include <stdlib.h>
static uint64_t opstat_n[WOP_DISPATCH_SIZE], opstat_pair[WOP_DISPATCH_SIZE][WOP_DISPATCH_SIZE];
static uint32_t opstat_prev;
static void opstat_dump(void) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < WOP_DISPATCH_SIZE; i++) total += opstat_n[i];
  fprintf(stderr, "opstats: %llu ops\n", (unsigned long long)total);
  for (int k = 0; k < 40; k++) {
    uint32_t best = 0;
    for (uint32_t i = 0; i < WOP_DISPATCH_SIZE; i++) if (opstat_n[i] > opstat_n[best]) best = i;
    if (!opstat_n[best]) break;
    fprintf(stderr, "  op 0x%03x %12llu %5.1f%%\n", best, (unsigned long long)opstat_n[best],
            100.0 * (double)opstat_n[best] / (double)total);
    opstat_n[best] = 0;
  }
  for (int k = 0; k < 40; k++) {
    uint32_t ba = 0, bb = 0;
    for (uint32_t a = 0; a < WOP_DISPATCH_SIZE; a++)
      for (uint32_t b = 0; b < WOP_DISPATCH_SIZE; b++)
        if (opstat_pair[a][b] > opstat_pair[ba][bb]) { ba = a; bb = b; }
    if (!opstat_pair[ba][bb]) break;
    fprintf(stderr, "  pair 0x%03x 0x%03x %12llu %5.1f%%\n", ba, bb,
            (unsigned long long)opstat_pair[ba][bb], 100.0 * (double)opstat_pair[ba][bb] / (double)total);
    opstat_pair[ba][bb] = 0;
  }
}
static inline void opstat(uint32_t op) {
  static bool registered;
  if (!registered) { registered = true; atexit(opstat_dump); }
  opstat_n[op]++;
  opstat_pair[opstat_prev][op]++;
  opstat_prev = op;
}
#define DISPATCH()      \
  do {                  \
    opstat(*ip);        \
    goto *labels[*ip];  \
  } while (0)
#else
#define DISPATCH() goto *labels[*ip]
#endif

#define I32(x) ((uint32_t)fp[x])
#define S32(x) ((int32_t)(uint32_t)fp[x])
#define I64(x) (fp[x])
#define S64(x) ((int64_t)fp[x])
#define F32(x) f32_of(fp[x])
#define F64(x) f64_of(fp[x])

enclos_err wasm__invoke(enclos_wasm_store *s, wfunc *f, uint64_t *fp) {
  static const void *const labels[WOP_DISPATCH_SIZE] = {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winitializer-overrides"
      [0 ... WOP_DISPATCH_SIZE - 1] = &&op_bad,
#define L(h) [0x##h] = &&op_##h,
      L(28) L(29) L(2a) L(2b) L(2c) L(2d) L(2e) L(2f) L(30) L(31) L(32) L(33) L(34) L(35)
      L(36) L(37) L(38) L(39) L(3a) L(3b) L(3c) L(3d) L(3e)
      L(45) L(46) L(47) L(48) L(49) L(4a) L(4b) L(4c) L(4d) L(4e) L(4f)
      L(50) L(51) L(52) L(53) L(54) L(55) L(56) L(57) L(58) L(59) L(5a) L(5b) L(5c) L(5d) L(5e) L(5f)
      L(60) L(61) L(62) L(63) L(64) L(65) L(66) L(67) L(68) L(69) L(6a) L(6b) L(6c) L(6d) L(6e) L(6f)
      L(70) L(71) L(72) L(73) L(74) L(75) L(76) L(77) L(78) L(79) L(7a) L(7b) L(7c) L(7d) L(7e) L(7f)
      L(80) L(81) L(82) L(83) L(84) L(85) L(86) L(87) L(88) L(89) L(8a) L(8b) L(8c) L(8d) L(8e) L(8f)
      L(90) L(91) L(92) L(93) L(94) L(95) L(96) L(97) L(98) L(99) L(9a) L(9b) L(9c) L(9d) L(9e) L(9f)
      L(a0) L(a1) L(a2) L(a3) L(a4) L(a5) L(a6) L(a7) L(a8) L(a9) L(aa) L(ab) L(ac) L(ad) L(ae) L(af)
      L(b0) L(b1) L(b2) L(b3) L(b4) L(b5) L(b6) L(b7) L(b8) L(b9) L(ba) L(bb) L(bc) L(bd) L(be) L(bf)
      L(c0) L(c1) L(c2) L(c3) L(c4)
      L(100) L(101) L(102) L(103) L(104) L(105) L(106) L(107)
#undef L
#define W(n) [WOP_##n] = &&w_##n,
      WOPS(W)
#undef W
      [WOP_SIMD] = &&w_SIMD,
#pragma GCC diagnostic pop
  };
  wframe *frames = s->frames + s->frames_used;
  wframe *fr = frames;
  wframe *fr_end = s->frames + s->lim.max_call_depth;
  uint64_t *stack_end = s->stack + s->stack_slots;
  int64_t fuel = s->fuel;
  enclos_wasm_trap_kind tk = ENCLOS_WASM_TRAP_NONE;
  const char *tdetail = NULL;
  enclos_err rc = ENCLOS_OK;
  const uint32_t *ip = NULL;
  winst *inst = NULL;
  uint8_t *mb = NULL;
  uint64_t ms = 0;
  wfunc *cur = f;

  if (!f->inst) return call_host(s, f, NULL, fp);
  if (fr >= fr_end) { tk = ENCLOS_WASM_TRAP_STACK_EXHAUSTED; goto trap; }

#define LOAD_MEM()                                                   \
  do {                                                               \
    if (inst->module->nmems) {                                       \
      mb = inst->mems[0]->base;                                      \
      ms = inst->mems[0]->size;                                      \
    }                                                                \
  } while (0)
  /* Enters wasm function fn whose frame starts at fp: zeroes its non-parameter locals,
   * switches instance (and memory registers) only when it changes, and runs the FUEL op
   * that starts every body (compile.c) inline, sparing a dispatch per call. */
#define ENTER(fn)                                                                   \
  do {                                                                              \
    const wcode *c_ = (fn)->code;                                                   \
    if (fp + c_->frame_slots > stack_end) { tk = ENCLOS_WASM_TRAP_STACK_EXHAUSTED; goto trap; } \
    zero_slots(fp + c_->nparams, c_->nlocals - c_->nparams);                        \
    ip = c_->code;                                                                  \
    cur = (fn);                                                                     \
    if (cur->inst != inst) {                                                        \
      inst = cur->inst;                                                             \
      LOAD_MEM();                                                                   \
    }                                                                               \
    fuel -= (int64_t)ip[1];                                                         \
    if (__builtin_expect(fuel < 0, 0)) TRAP(ENCLOS_WASM_TRAP_FUEL_EXHAUSTED);       \
    if (__builtin_expect(atomic_load_explicit(&s->interrupt, memory_order_relaxed), 0)) \
      TRAP(ENCLOS_WASM_TRAP_INTERRUPTED);                                           \
    ip += 2;                                                                        \
  } while (0)
#define NEXT(n)             \
  do {                      \
    ip += (n);              \
    DISPATCH();             \
  } while (0)
  /* Branch operand k holds the target relative to the operand's own position. */
#define JUMP(k)                          \
  do {                                   \
    ip += (ptrdiff_t)(k) + (int32_t)ip[k]; \
    DISPATCH();                          \
  } while (0)
#define TRAP(k)     \
  do {              \
    tk = (k);       \
    goto trap;      \
  } while (0)

  ENTER(f);
  DISPATCH();

op_bad:
  tk = ENCLOS_WASM_TRAP_HOST;
  tdetail = "internal error: bad opcode";
  goto trap;

  /* -- control -- */
w_UNREACHABLE: TRAP(ENCLOS_WASM_TRAP_UNREACHABLE);
w_FUEL:
  fuel -= (int64_t)ip[1];
  if (__builtin_expect(fuel < 0, 0)) TRAP(ENCLOS_WASM_TRAP_FUEL_EXHAUSTED);
  if (__builtin_expect(atomic_load_explicit(&s->interrupt, memory_order_relaxed), 0))
    TRAP(ENCLOS_WASM_TRAP_INTERRUPTED);
  NEXT(2);
w_BR: JUMP(1);
w_BR_IF:
  if (I32(ip[1])) JUMP(2);
  NEXT(3);
w_BR_UNLESS:
  if (!I32(ip[1])) JUMP(2);
  NEXT(3);
w_BR_TABLE: {
  uint32_t i = I32(ip[1]), n = ip[2];
  if (i > n) i = n;
  JUMP(3 + i);
}
#define CMPBR(name, T, get, cmp)                                          \
  w_##name:                                                               \
  if ((T)get(ip[1]) cmp(T) get(ip[2])) JUMP(3);                           \
  NEXT(4);
  CMPBR(I32_LT_S_BR, int32_t, S32, <)
  CMPBR(I32_LT_U_BR, uint32_t, I32, <)
  CMPBR(I32_GT_S_BR, int32_t, S32, >)
  CMPBR(I32_GT_U_BR, uint32_t, I32, >)
  CMPBR(I32_LE_S_BR, int32_t, S32, <=)
  CMPBR(I32_LE_U_BR, uint32_t, I32, <=)
  CMPBR(I32_GE_S_BR, int32_t, S32, >=)
  CMPBR(I32_GE_U_BR, uint32_t, I32, >=)
  CMPBR(I32_EQ_BR, uint32_t, I32, ==)
  CMPBR(I32_NE_BR, uint32_t, I32, !=)
  /* compare with an immediate + branch: [op, a, imm, target] */
#define CMPBR_IMM(name, T, get, cmp)                                      \
  w_##name:                                                               \
  if ((T)get(ip[1]) cmp(T) ip[2]) JUMP(3);                                \
  NEXT(4);
  CMPBR_IMM(I32_EQ_IMM_BR, uint32_t, I32, ==)
  CMPBR_IMM(I32_NE_IMM_BR, uint32_t, I32, !=)
  CMPBR_IMM(I32_LT_S_IMM_BR, int32_t, S32, <)
  CMPBR_IMM(I32_LT_U_IMM_BR, uint32_t, I32, <)
  CMPBR_IMM(I32_GT_S_IMM_BR, int32_t, S32, >)
  CMPBR_IMM(I32_GT_U_IMM_BR, uint32_t, I32, >)
  CMPBR_IMM(I32_LE_S_IMM_BR, int32_t, S32, <=)
  CMPBR_IMM(I32_LE_U_IMM_BR, uint32_t, I32, <=)
  CMPBR_IMM(I32_GE_S_IMM_BR, int32_t, S32, >=)
  CMPBR_IMM(I32_GE_U_IMM_BR, uint32_t, I32, >=)
w_I32_EQZ_BR:
  if (!I32(ip[1])) JUMP(2);
  NEXT(3);
w_I32_NEZ_BR:
  if (I32(ip[1])) JUMP(2);
  NEXT(3);
w_COPY: fp[ip[1]] = fp[ip[2]]; NEXT(3);
w_COPY2: /* two COPYs in order (the second may read the first's destination) */
  fp[ip[1]] = fp[ip[2]];
  fp[ip[3]] = fp[ip[4]];
  NEXT(5);
w_CONST32: fp[ip[1]] = ip[2]; NEXT(3);
w_CONST64: fp[ip[1]] = (uint64_t)ip[2] | ((uint64_t)ip[3] << 32); NEXT(4);
w_SELECT: fp[ip[1]] = I32(ip[2]) ? fp[ip[3]] : fp[ip[4]]; NEXT(5);
w_GLOBAL_GET: fp[ip[1]] = inst->globals[ip[2]]->val; NEXT(3);
w_GLOBAL_SET: inst->globals[ip[1]]->val = fp[ip[2]]; NEXT(3);

w_RETURN:
  if (fr == frames) goto done;
  fr--;
  ip = fr->ip;
  fp = fr->fp;
  cur = fr->func;
  if (cur->inst != inst) {
    inst = cur->inst;
    LOAD_MEM();
  }
  DISPATCH();

w_CALL: {
  wfunc *callee = inst->funcs[ip[1]];
  uint64_t *nfp = fp + ip[2];
  const uint32_t *ret = ip + 3;
call_common:
  if (!callee->inst) {
    s->stack_used = (size_t)(nfp - s->stack) + callee->type->nparams + callee->type->nresults;
    s->frames_used = (uint32_t)(fr - s->frames) + 1;
    s->fuel = fuel;
    rc = call_host(s, callee, inst, nfp);
    fuel = s->fuel;
    if (rc != ENCLOS_OK) goto out;
    LOAD_MEM();
    ip = ret;
    DISPATCH();
  }
  if (fr + 1 >= fr_end) TRAP(ENCLOS_WASM_TRAP_STACK_EXHAUSTED);
  fr->ip = ret;
  fr->fp = fp;
  fr->func = cur;
  fr++;
  fp = nfp;
  ENTER(callee);
  DISPATCH();
w_CALL_INDIRECT: {
  wtable *t = inst->tables[ip[1]];
  uint32_t i = I32(ip[3]);
  if (i >= t->size) TRAP(ENCLOS_WASM_TRAP_UNDEFINED_ELEMENT);
  callee = t->elems[i];
  if (!callee) TRAP(ENCLOS_WASM_TRAP_UNINITIALIZED_ELEMENT);
  if (callee->type_id != inst->type_ids[ip[2]]) TRAP(ENCLOS_WASM_TRAP_INDIRECT_TYPE_MISMATCH);
  nfp = fp + ip[4];
  ret = ip + 5;
  goto call_common;
}
}

  /* -- memory -- */
#define EA(n)                                                   \
  uint64_t ea = (uint64_t)I32(ip[2]) + ip[3];                   \
  if (__builtin_expect(ea + (n) > ms, 0)) TRAP(ENCLOS_WASM_TRAP_MEMORY_OOB);
#define LOADOP(h, T, n, conv)                \
  op_##h: {                                  \
    EA(n);                                   \
    T v;                                     \
    memcpy(&v, mb + ea, n);                  \
    fp[ip[1]] = conv;                        \
    NEXT(4);                                 \
  }
  LOADOP(28, uint32_t, 4, v)
  LOADOP(29, uint64_t, 8, v)
  LOADOP(2a, uint32_t, 4, v)
  LOADOP(2b, uint64_t, 8, v)
  LOADOP(2c, int8_t, 1, (uint32_t)(int32_t)v)
  LOADOP(2d, uint8_t, 1, v)
  LOADOP(2e, int16_t, 2, (uint32_t)(int32_t)v)
  LOADOP(2f, uint16_t, 2, v)
  LOADOP(30, int8_t, 1, (uint64_t)(int64_t)v)
  LOADOP(31, uint8_t, 1, v)
  LOADOP(32, int16_t, 2, (uint64_t)(int64_t)v)
  LOADOP(33, uint16_t, 2, v)
  LOADOP(34, int32_t, 4, (uint64_t)(int64_t)v)
  LOADOP(35, uint32_t, 4, v)
#define STOREOP(h, T, n)                                        \
  op_##h: {                                                     \
    uint64_t ea = (uint64_t)I32(ip[1]) + ip[3];                 \
    if (__builtin_expect(ea + (n) > ms, 0)) TRAP(ENCLOS_WASM_TRAP_MEMORY_OOB); \
    T v = (T)fp[ip[2]];                                         \
    memcpy(mb + ea, &v, n);                                     \
    NEXT(4);                                                    \
  }
  STOREOP(36, uint32_t, 4)
  STOREOP(37, uint64_t, 8)
  STOREOP(38, uint32_t, 4)
  STOREOP(39, uint64_t, 8)
  STOREOP(3a, uint8_t, 1)
  STOREOP(3b, uint16_t, 2)
  STOREOP(3c, uint8_t, 1)
  STOREOP(3d, uint16_t, 2)
  STOREOP(3e, uint32_t, 4)
w_MEMORY_SIZE: fp[ip[1]] = inst->mems[0]->pages; NEXT(2);
w_MEMORY_GROW: {
  int64_t r = wasm__mem_grow(inst->mems[0], I32(ip[2]));
  fp[ip[1]] = (uint32_t)(int32_t)r;
  LOAD_MEM();
  NEXT(3);
}
w_MEMORY_FILL: {
  uint64_t d = I32(ip[2]), n = I32(ip[4]);
  if (d + n > ms) TRAP(ENCLOS_WASM_TRAP_MEMORY_OOB);
  memset(mb + d, (int)(uint8_t)fp[ip[3]], n);
  NEXT(5);
}
w_MEMORY_COPY: {
  uint64_t d = I32(ip[2]), sr = I32(ip[3]), n = I32(ip[4]);
  if (d + n > ms || sr + n > ms) TRAP(ENCLOS_WASM_TRAP_MEMORY_OOB);
  memmove(mb + d, mb + sr, n);
  NEXT(5);
}
w_MEMORY_INIT: {
  const wdata *seg = &inst->module->datas[ip[1]];
  uint64_t segsize = inst->data_dropped[ip[1]] ? 0 : seg->size;
  uint64_t d = I32(ip[2]), sr = I32(ip[3]), n = I32(ip[4]);
  if (d + n > ms || sr + n > segsize) TRAP(ENCLOS_WASM_TRAP_MEMORY_OOB);
  if (n) memcpy(mb + d, seg->bytes + sr, n);
  NEXT(5);
}
w_DATA_DROP: inst->data_dropped[ip[1]] = 1; NEXT(2);

  /* -- tables and references -- */
w_TABLE_GET: {
  wtable *t = inst->tables[ip[2]];
  uint32_t i = I32(ip[3]);
  if (i >= t->size) TRAP(ENCLOS_WASM_TRAP_TABLE_OOB);
  fp[ip[1]] = (uintptr_t)t->elems[i];
  NEXT(4);
}
w_TABLE_SET: {
  wtable *t = inst->tables[ip[1]];
  uint32_t i = I32(ip[2]);
  if (i >= t->size) TRAP(ENCLOS_WASM_TRAP_TABLE_OOB);
  t->elems[i] = (void *)(uintptr_t)fp[ip[3]];
  NEXT(4);
}
w_TABLE_SIZE: fp[ip[1]] = inst->tables[ip[2]]->size; NEXT(3);
w_TABLE_GROW: {
  int64_t r = wasm__table_grow(inst->tables[ip[2]], I32(ip[4]), (void *)(uintptr_t)fp[ip[3]]);
  fp[ip[1]] = (uint32_t)(int32_t)r;
  NEXT(5);
}
w_TABLE_FILL: {
  wtable *t = inst->tables[ip[1]];
  uint64_t d = I32(ip[2]), n = I32(ip[4]);
  void *v = (void *)(uintptr_t)fp[ip[3]];
  if (d + n > t->size) TRAP(ENCLOS_WASM_TRAP_TABLE_OOB);
  for (uint64_t k = 0; k < n; k++) t->elems[d + k] = v;
  NEXT(5);
}
w_TABLE_COPY: {
  wtable *td = inst->tables[ip[1]], *ts = inst->tables[ip[2]];
  uint64_t d = I32(ip[3]), sr = I32(ip[4]), n = I32(ip[5]);
  if (d + n > td->size || sr + n > ts->size) TRAP(ENCLOS_WASM_TRAP_TABLE_OOB);
  memmove(td->elems + d, ts->elems + sr, n * sizeof(void *));
  NEXT(6);
}
w_TABLE_INIT: {
  wtable *t = inst->tables[ip[1]];
  const welem *seg = &inst->module->elems[ip[2]];
  uint64_t segsize = inst->elem_dropped[ip[2]] ? 0 : seg->count;
  uint64_t d = I32(ip[3]), sr = I32(ip[4]), n = I32(ip[5]);
  if (d + n > t->size || sr + n > segsize) TRAP(ENCLOS_WASM_TRAP_TABLE_OOB);
  for (uint64_t k = 0; k < n; k++) {
    const wconst *e = &seg->items[sr + k];
    void *v = NULL;
    if (e->op == 0xd2) v = inst->funcs[e->val];
    else if (e->op == 0x23) v = (void *)(uintptr_t)inst->globals[e->val]->val;
    t->elems[d + k] = v;
  }
  NEXT(6);
}
w_ELEM_DROP: inst->elem_dropped[ip[1]] = 1; NEXT(2);

  /* -- SIMD (simd.c): one out-of-line call per vector instruction -- */
w_SIMD: {
  uint32_t k = wasm__simd_exec(ip, fp, s->stack_slots, inst, mb, ms);
  if (__builtin_expect(k != ENCLOS_WASM_TRAP_NONE, 0)) TRAP((enclos_wasm_trap_kind)k);
  NEXT(ip[1]);
}
w_REF_IS_NULL: fp[ip[1]] = fp[ip[2]] == 0; NEXT(3);
w_REF_FUNC: fp[ip[1]] = (uintptr_t)inst->funcs[ip[2]]; NEXT(3);

  /* -- immediates -- */
#define IMM32(name, expr)               \
  w_##name: {                           \
    uint32_t a = I32(ip[2]), b = ip[3]; \
    fp[ip[1]] = (uint32_t)(expr);       \
    NEXT(4);                            \
  }
  IMM32(I32_ADD_IMM, a + b)
  IMM32(I32_SUB_IMM, a - b)
  IMM32(I32_MUL_IMM, a * b)
  IMM32(I32_AND_IMM, a & b)
  IMM32(I32_OR_IMM, a | b)
  IMM32(I32_XOR_IMM, a ^ b)
  IMM32(I32_SHL_IMM, a << (b & 31))
  IMM32(I32_SHR_U_IMM, a >> (b & 31))
  IMM32(I32_SHR_S_IMM, (uint32_t)((int32_t)a >> (b & 31)))
  IMM32(I32_ROTL_IMM, rotl32(a, b))
  IMM32(I32_ROTR_IMM, rotr32(a, b))
  IMM32(I32_EQ_IMM, a == b)
  IMM32(I32_NE_IMM, a != b)
  IMM32(I32_LT_S_IMM, (int32_t)a < (int32_t)b)
  IMM32(I32_LT_U_IMM, a < b)
  IMM32(I32_GT_S_IMM, (int32_t)a > (int32_t)b)
  IMM32(I32_GT_U_IMM, a > b)
  IMM32(I32_LE_S_IMM, (int32_t)a <= (int32_t)b)
  IMM32(I32_LE_U_IMM, a <= b)
  IMM32(I32_GE_S_IMM, (int32_t)a >= (int32_t)b)
  IMM32(I32_GE_U_IMM, a >= b)
w_I64_ADD_IMM: fp[ip[1]] = fp[ip[2]] + ip[3]; NEXT(4);

  /* -- numeric (§4.3) -- */
#define UN(h, expr)              \
  op_##h: {                      \
    uint32_t s_ = ip[2];         \
    (void)s_;                    \
    fp[ip[1]] = (expr);          \
    NEXT(3);                     \
  }
#define BIN(h, expr)             \
  op_##h: {                      \
    uint32_t a_ = ip[2], b_ = ip[3]; \
    (void)a_; (void)b_;          \
    fp[ip[1]] = (expr);          \
    NEXT(4);                     \
  }
  UN(45, I32(s_) == 0)
  BIN(46, I32(a_) == I32(b_))
  BIN(47, I32(a_) != I32(b_))
  BIN(48, S32(a_) < S32(b_))
  BIN(49, I32(a_) < I32(b_))
  BIN(4a, S32(a_) > S32(b_))
  BIN(4b, I32(a_) > I32(b_))
  BIN(4c, S32(a_) <= S32(b_))
  BIN(4d, I32(a_) <= I32(b_))
  BIN(4e, S32(a_) >= S32(b_))
  BIN(4f, I32(a_) >= I32(b_))
  UN(50, I64(s_) == 0)
  BIN(51, I64(a_) == I64(b_))
  BIN(52, I64(a_) != I64(b_))
  BIN(53, S64(a_) < S64(b_))
  BIN(54, I64(a_) < I64(b_))
  BIN(55, S64(a_) > S64(b_))
  BIN(56, I64(a_) > I64(b_))
  BIN(57, S64(a_) <= S64(b_))
  BIN(58, I64(a_) <= I64(b_))
  BIN(59, S64(a_) >= S64(b_))
  BIN(5a, I64(a_) >= I64(b_))
  BIN(5b, F32(a_) == F32(b_))
  BIN(5c, F32(a_) != F32(b_))
  BIN(5d, F32(a_) < F32(b_))
  BIN(5e, F32(a_) > F32(b_))
  BIN(5f, F32(a_) <= F32(b_))
  BIN(60, F32(a_) >= F32(b_))
  BIN(61, F64(a_) == F64(b_))
  BIN(62, F64(a_) != F64(b_))
  BIN(63, F64(a_) < F64(b_))
  BIN(64, F64(a_) > F64(b_))
  BIN(65, F64(a_) <= F64(b_))
  BIN(66, F64(a_) >= F64(b_))
  UN(67, (uint64_t)(I32(s_) ? __builtin_clz(I32(s_)) : 32))
  UN(68, (uint64_t)(I32(s_) ? __builtin_ctz(I32(s_)) : 32))
  UN(69, (uint64_t)__builtin_popcount(I32(s_)))
  BIN(6a, (uint32_t)(I32(a_) + I32(b_)))
  BIN(6b, (uint32_t)(I32(a_) - I32(b_)))
  BIN(6c, (uint32_t)(I32(a_) * I32(b_)))
op_6d: {
  int32_t a = S32(ip[2]), b = S32(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  if (a == INT32_MIN && b == -1) TRAP(ENCLOS_WASM_TRAP_INT_OVERFLOW);
  fp[ip[1]] = (uint32_t)(a / b);
  NEXT(4);
}
op_6e: {
  uint32_t a = I32(ip[2]), b = I32(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  fp[ip[1]] = a / b;
  NEXT(4);
}
op_6f: {
  int32_t a = S32(ip[2]), b = S32(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  fp[ip[1]] = (b == -1) ? 0 : (uint32_t)(a % b);
  NEXT(4);
}
op_70: {
  uint32_t a = I32(ip[2]), b = I32(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  fp[ip[1]] = a % b;
  NEXT(4);
}
  BIN(71, I32(a_) & I32(b_))
  BIN(72, I32(a_) | I32(b_))
  BIN(73, I32(a_) ^ I32(b_))
  BIN(74, (uint32_t)(I32(a_) << (I32(b_) & 31)))
  BIN(75, (uint32_t)(S32(a_) >> (I32(b_) & 31)))
  BIN(76, I32(a_) >> (I32(b_) & 31))
  BIN(77, rotl32(I32(a_), I32(b_)))
  BIN(78, rotr32(I32(a_), I32(b_)))
  UN(79, (uint64_t)(I64(s_) ? __builtin_clzll(I64(s_)) : 64))
  UN(7a, (uint64_t)(I64(s_) ? __builtin_ctzll(I64(s_)) : 64))
  UN(7b, (uint64_t)__builtin_popcountll(I64(s_)))
  BIN(7c, I64(a_) + I64(b_))
  BIN(7d, I64(a_) - I64(b_))
  BIN(7e, I64(a_) * I64(b_))
op_7f: {
  int64_t a = S64(ip[2]), b = S64(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  if (a == INT64_MIN && b == -1) TRAP(ENCLOS_WASM_TRAP_INT_OVERFLOW);
  fp[ip[1]] = (uint64_t)(a / b);
  NEXT(4);
}
op_80: {
  uint64_t a = I64(ip[2]), b = I64(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  fp[ip[1]] = a / b;
  NEXT(4);
}
op_81: {
  int64_t a = S64(ip[2]), b = S64(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  fp[ip[1]] = (b == -1) ? 0 : (uint64_t)(a % b);
  NEXT(4);
}
op_82: {
  uint64_t a = I64(ip[2]), b = I64(ip[3]);
  if (b == 0) TRAP(ENCLOS_WASM_TRAP_DIV_BY_ZERO);
  fp[ip[1]] = a % b;
  NEXT(4);
}
  BIN(83, I64(a_) & I64(b_))
  BIN(84, I64(a_) | I64(b_))
  BIN(85, I64(a_) ^ I64(b_))
  BIN(86, I64(a_) << (I64(b_) & 63))
  BIN(87, (uint64_t)(S64(a_) >> (I64(b_) & 63)))
  BIN(88, I64(a_) >> (I64(b_) & 63))
  BIN(89, rotl64(I64(a_), I64(b_)))
  BIN(8a, rotr64(I64(a_), I64(b_)))
  UN(8b, fp[s_] & 0x7fffffffu)
  UN(8c, (fp[s_] ^ 0x80000000u) & 0xffffffffu)
  UN(8d, of_f32(ceilf(F32(s_))))
  UN(8e, of_f32(floorf(F32(s_))))
  UN(8f, of_f32(truncf(F32(s_))))
  UN(90, of_f32(nearbyintf(F32(s_))))
  UN(91, of_f32(sqrtf(F32(s_))))
  BIN(92, of_f32(F32(a_) + F32(b_)))
  BIN(93, of_f32(F32(a_) - F32(b_)))
  BIN(94, of_f32(F32(a_) * F32(b_)))
  BIN(95, of_f32(F32(a_) / F32(b_)))
  BIN(96, of_f32(f32_min(F32(a_), F32(b_))))
  BIN(97, of_f32(f32_max(F32(a_), F32(b_))))
  BIN(98, ((fp[a_] & 0x7fffffffu) | (fp[b_] & 0x80000000u)))
  UN(99, fp[s_] & 0x7fffffffffffffffull)
  UN(9a, fp[s_] ^ 0x8000000000000000ull)
  UN(9b, of_f64(ceil(F64(s_))))
  UN(9c, of_f64(floor(F64(s_))))
  UN(9d, of_f64(trunc(F64(s_))))
  UN(9e, of_f64(nearbyint(F64(s_))))
  UN(9f, of_f64(sqrt(F64(s_))))
  BIN(a0, of_f64(F64(a_) + F64(b_)))
  BIN(a1, of_f64(F64(a_) - F64(b_)))
  BIN(a2, of_f64(F64(a_) * F64(b_)))
  BIN(a3, of_f64(F64(a_) / F64(b_)))
  BIN(a4, of_f64(f64_min(F64(a_), F64(b_))))
  BIN(a5, of_f64(f64_max(F64(a_), F64(b_))))
  BIN(a6, ((fp[a_] & 0x7fffffffffffffffull) | (fp[b_] & 0x8000000000000000ull)))
  UN(a7, (uint32_t)fp[s_])
  /* Trapping truncations (§4.3.3 trunc): NaN -> invalid conversion, out of range -> overflow. */
#define TRUNC(h, getf, lo, hi, T, conv)                                \
  op_##h: {                                                            \
    double d = (double)getf(ip[2]);                                    \
    if (d != d) TRAP(ENCLOS_WASM_TRAP_INVALID_CONVERSION);             \
    if (!(d > (lo) && d < (hi))) TRAP(ENCLOS_WASM_TRAP_INT_OVERFLOW);  \
    fp[ip[1]] = conv((T)d);                                            \
    NEXT(3);                                                           \
  }
#define C32(v) (uint32_t)(v)
#define C64(v) (uint64_t)(v)
  TRUNC(a8, F32, -2147483649.0, 2147483648.0, int32_t, C32)
  TRUNC(a9, F32, -1.0, 4294967296.0, uint32_t, C32)
  TRUNC(aa, F64, -2147483649.0, 2147483648.0, int32_t, C32)
  TRUNC(ab, F64, -1.0, 4294967296.0, uint32_t, C32)
  UN(ac, (uint64_t)(int64_t)S32(s_))
  UN(ad, (uint64_t)I32(s_))
  TRUNC(ae, F32, -9223373136366403584.0, 9223372036854775808.0, int64_t, C64)
  TRUNC(af, F32, -1.0, 18446744073709551616.0, uint64_t, C64)
  TRUNC(b0, F64, -9223372036854777856.0, 9223372036854775808.0, int64_t, C64)
  TRUNC(b1, F64, -1.0, 18446744073709551616.0, uint64_t, C64)
  UN(b2, of_f32((float)S32(s_)))
  UN(b3, of_f32((float)I32(s_)))
  UN(b4, of_f32((float)S64(s_)))
  UN(b5, of_f32((float)I64(s_)))
  UN(b6, of_f32((float)F64(s_)))
  UN(b7, of_f64((double)S32(s_)))
  UN(b8, of_f64((double)I32(s_)))
  UN(b9, of_f64((double)S64(s_)))
  UN(ba, of_f64((double)I64(s_)))
  UN(bb, of_f64((double)F32(s_)))
  UN(bc, (uint32_t)fp[s_])
  UN(bd, fp[s_])
  UN(be, (uint32_t)fp[s_])
  UN(bf, fp[s_])
  UN(c0, (uint32_t)(int32_t)(int8_t)fp[s_])
  UN(c1, (uint32_t)(int32_t)(int16_t)fp[s_])
  UN(c2, (uint64_t)(int64_t)(int8_t)fp[s_])
  UN(c3, (uint64_t)(int64_t)(int16_t)fp[s_])
  UN(c4, (uint64_t)(int64_t)(int32_t)fp[s_])
  UN(100, sat_i32_s((double)F32(s_)))
  UN(101, sat_i32_u((double)F32(s_)))
  UN(102, sat_i32_s(F64(s_)))
  UN(103, sat_i32_u(F64(s_)))
  UN(104, sat_i64_s((double)F32(s_)))
  UN(105, sat_i64_u((double)F32(s_)))
  UN(106, sat_i64_s(F64(s_)))
  UN(107, sat_i64_u(F64(s_)))

trap:
  /* ip is at the trapping instruction (or the call whose callee did not fit), NULL if the
   * first frame could not even be entered. */
  rc = wasm__trap_at(s, tk, cur, ip ? (uint32_t)(ip - cur->code->code) : UINT32_MAX, tdetail);
  goto out;
done:
  rc = ENCLOS_OK;
out:
  s->fuel = fuel;
  return rc;
}
