/* interp.c: the dispatch loop over compiled code (see compile.c for the code format).
 *
 * Divisions:
 *   1. Value helpers and float semantics (§4.3.3: nearest, 64-bit truncation; fmin/fmax and
 *      32-bit trunc_sat are in wasm_int.h, shared with simd.c).
 *   2. Host calls.
 *   3. Loop helpers: operand macros, frame zeroing, dispatch (and its op statistics).
 *      The loop itself is interp_loop.inc: explicit call-frame stack (never recursing on the
 *      native stack per wasm call), computed-goto dispatch (the only use of the `&&label`
 *      extension in enclos), fuel and interrupt checks at function entry and loop headers.
 *   4. Guard-page traps: the signal handler, the two instantiations of the loop (checked,
 *      guarded) and wasm__invoke, which picks one.
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

/* Saturating truncations to 64 bits (§4.3.3 trunc_sat; 32 bits: wasm__sat_s32/u32). */
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

/* ---- 3. Loop helpers ----------------------------------------------------------------------- */

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

/* ---- 4. Guard-page traps ------------------------------------------------------------------
 * With enclos_wasm_limits.guard_pages, memories are reservations of WASM_GUARD_RESERVE bytes
 * (memory.c) of which only [0, size) is accessible, and every effective address a load or
 * store can form (i32 + offset < 2^33, plus the access width) lies inside. invoke_guarded
 * therefore performs no bounds checks: an out-of-bounds access faults (SIGSEGV; SIGBUS on
 * systems that report PROT_NONE that way) and the handler below turns the fault into the
 * "out of bounds memory access" trap when, and only when
 *   - the faulting thread is running wasm code in invoke_guarded (wguard_top, thread-local,
 *     is set by wasm__invoke and cleared around host calls, so a host function's bug is never
 *     mistaken for a trap), and
 *   - the faulting address lies inside the reservation of the memory in use (g->lo, g->len).
 * It then siglongjmps back to wasm__invoke, which reports the trap at the instruction, in the
 * function and with the fuel recorded in *g. Any other fault is passed to the handler that
 * was installed before ours (ASan's, a fuzzer's), or, if that was the default action,
 * re-raised with the default action so that the process crashes exactly as before.
 * The handler is installed once per process (SA_ONSTACK: it runs on an alternate stack when
 * the thread has one, as under ASan; SA_NODEFER: the siglongjmp leaves the signal mask as it
 * was, so sigsetjmp need not save it). A handler installed later by someone else that does not
 * chain to ours disables the trap path (faults then crash); wasm__invoke checks nothing per
 * call, so this is a documented requirement (docs/architecture.md).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

/* What the signal handler needs of the running invoke_guarded (volatile: written by the
 * loop, read after a siglongjmp). */
typedef struct wguard {
  sigjmp_buf jb;
  volatile uintptr_t lo;      /* reservation of the memory in use */
  volatile size_t len;        /* 0: none yet */
  const uint32_t *volatile ip; /* the last load/store started */
  volatile int64_t fuel;      /* as of the last fuel charge */
} wguard;

static _Thread_local wguard *volatile wguard_top;
static struct sigaction guard_old_segv, guard_old_bus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static bool guard_installed;

static void guard_handler(int sig, siginfo_t *si, void *uc) {
  wguard *g = wguard_top;
  if (g && g->len && (uintptr_t)si->si_addr - g->lo < g->len) siglongjmp(g->jb, 1);
  const struct sigaction *old = sig == SIGSEGV ? &guard_old_segv : &guard_old_bus;
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
    old->sa_sigaction(sig, si, uc);
  } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
    old->sa_handler(sig);
  } else {
    /* Not ours and nobody else's: restore the default action; returning re-executes the
     * faulting instruction, which now kills the process as if we had never been here. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
  }
}

static void guard_install_once(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = guard_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &guard_old_segv) != 0) return;
  if (sigaction(SIGBUS, &sa, &guard_old_bus) != 0) {
    sigaction(SIGSEGV, &guard_old_segv, NULL);
    return;
  }
  guard_installed = true;
}

/* True when the trap path is available (installs the handler on first use). */
static bool guard_ready(void) {
#if ENCLOS_WASM_NO_SIGNAL_TRAPS
  return false;
#else
  pthread_once(&guard_once, guard_install_once);
  return guard_installed;
#endif
}

/* Memory accesses of \p in's code may rely on guard pages. */
static inline bool inst_guarded(const winst *in) {
  return !in->module->nmems || in->mems[0]->reserved >= WASM_GUARD_RESERVE;
}

static enclos_err invoke_checked(enclos_wasm_store *s, wfunc *f, uint64_t *fp, wguard *g);

#define WASM_GUARDED 0
#define WASM_LOOP invoke_checked
#include "interp_loop.inc"
#undef WASM_GUARDED
#undef WASM_LOOP

#define WASM_GUARDED 1
#define WASM_LOOP invoke_guarded
#include "interp_loop.inc"
#undef WASM_GUARDED
#undef WASM_LOOP

/* The function of the store whose code holds \p ip (any of them when instances share a
 * module: they report the same index, offset and name). Only after a fault, so the loop does
 * not track the current function for the handler. */
static wfunc *code_owner(enclos_wasm_store *s, const uint32_t *ip) {
  if (!ip) return NULL;
  for (const wobj *o = s->objs; o; o = o->next) {
    if (o->kind != ENCLOS_WASM_EXTERN_FUNC) continue;
    wfunc *f = o->p;
    if (f->inst && f->code && ip >= f->code->code && ip < f->code->code + f->code->len) return f;
  }
  return NULL;
}

enclos_err wasm__invoke(enclos_wasm_store *s, wfunc *f, uint64_t *fp) {
  if (!s->lim.guard_pages || !f->inst || !inst_guarded(f->inst) || !guard_ready())
    return invoke_checked(s, f, fp, NULL);
  wguard g;
  memset(&g, 0, sizeof(g));
  g.fuel = s->fuel;
  wguard *prev = wguard_top;
  enclos_err rc;
  if (sigsetjmp(g.jb, 0) == 0) {
    wguard_top = &g;
    rc = invoke_guarded(s, f, fp, &g);
  } else {
    /* A load or store at g.ip accessed beyond the memory (§4.4.7: trap). */
    const uint32_t *ip = g.ip;
    wfunc *cur = code_owner(s, ip);
    s->fuel = g.fuel;
    rc = wasm__trap_at(s, ENCLOS_WASM_TRAP_MEMORY_OOB, cur,
                       cur ? (uint32_t)(ip - cur->code->code) : UINT32_MAX, NULL);
  }
  wguard_top = prev;
  return rc;
}
