/* app.c: loading an app, references, the per-call runner pool and the call wrapper.
 *
 * Divisions:
 *   1. Limits and small helpers (time, logging).
 *   2. Result-kind markers (docs/apps.md, "Function calls").
 *   3. Runners: create (store + WASI + imports + instance + initialisation), get, put.
 *   4. Load, references, accessors.
 *   5. Running one wasm call with the app's limits (fuel across calls, deadline, trap info).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <enclos/crypto.h>
#include <enclos/log.h>
#include <enclos/mem.h>

#include "app_int.h"

/* ---- 1. Limits and helpers ---------------------------------------------------------------- */

void enclos_app_limits_default(enclos_app_limits *l) {
  memset(l, 0, sizeof(*l));
  l->fuel = 1000000000ull;
  l->max_memory_pages = 256;
  l->max_call_depth = 10000;
  l->timeout_ms = 10000;
  l->max_output = (size_t)16 << 20;
}

uint64_t app__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void app__log(const enclos_app *a, int level, const char *msg, size_t len) {
  if (level < 0) level = 0;
  if (level > 3) level = 3;
  if (len > APP_MAX_LOG_LINE) len = APP_MAX_LOG_LINE;
  if (a->svc.log) {
    a->svc.log(a->svc.log_ctx, a->name, level, msg, len);
    return;
  }
  /* The enclos log is line-oriented text: control characters from the app are escaped so an
   * app cannot forge log lines. */
  char clean[APP_MAX_LOG_LINE * 4 + 1];
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(clean + o, sizeof(clean) - o, "\\x%02x", c);
    else clean[o++] = (char)c;
  }
  clean[o] = '\0';
  enclos_log((enclos_log_level)level, "app", "%s: %s", a->name, clean);
}

void app__flush_stderr(app_runner *r) {
  const uint8_t *d;
  size_t n;
  if (enclos_wasi_captured(r->wasi, 2, &d, &n) != ENCLOS_OK || n == 0) return;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || d[i] == '\n') {
      if (i > start) app__log(r->app, 1, (const char *)d + start, i - start);
      start = i + 1;
    }
  }
}

/* ---- 2. Result-kind markers --------------------------------------------------------------- */

#define MARK_STRING "enclos.returns.string."
#define MARK_BYTES "enclos.returns.bytes."

static bool name_is(enclos_wasm_name n, const char *s, size_t len) {
  return n.len == len && memcmp(n.data, s, len) == 0;
}

/* Finds function export \p name; its type in \p type. */
static bool find_func_export(const enclos_wasm_module *m, const char *name, size_t len,
                             enclos_wasm_externtype *type) {
  size_t n = enclos_wasm_module_export_count(m);
  for (size_t i = 0; i < n; i++) {
    enclos_wasm_name en;
    enclos_wasm_externtype t;
    if (enclos_wasm_module_export(m, i, &en, &t) != ENCLOS_OK) continue;
    if (t.kind == ENCLOS_WASM_EXTERN_FUNC && name_is(en, name, len)) {
      if (type) *type = t;
      return true;
    }
  }
  return false;
}

/* Each marker must be a `() -> ()` function export naming a function export that returns
 * exactly one i32 (the pointer to the (ptr, len) pair); anything else fails the load. */
static enclos_err scan_markers(enclos_app *a) {
  const enclos_wasm_module *m = a->module;
  size_t n = enclos_wasm_module_export_count(m), count = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++) {
      enclos_wasm_name en;
      enclos_wasm_externtype t;
      ENCLOS_TRY(enclos_wasm_module_export(m, i, &en, &t));
      uint8_t kind;
      size_t pl;
      if (en.len > strlen(MARK_STRING) && memcmp(en.data, MARK_STRING, strlen(MARK_STRING)) == 0) {
        kind = APP_RESULT_STRING;
        pl = strlen(MARK_STRING);
      } else if (en.len > strlen(MARK_BYTES) && memcmp(en.data, MARK_BYTES, strlen(MARK_BYTES)) == 0) {
        kind = APP_RESULT_BYTES;
        pl = strlen(MARK_BYTES);
      } else {
        continue;
      }
      if (pass == 0) {
        ENCLOS_ENSUREF(t.kind == ENCLOS_WASM_EXTERN_FUNC && t.of.func.nparams == 0 &&
                           t.of.func.nresults == 0,
                       ENCLOS_E_INVALID, "app \"%s\": marker export \"%.*s\" must be a () -> () function",
                       a->name, (int)en.len, en.data);
        enclos_wasm_externtype target;
        ENCLOS_ENSUREF(find_func_export(m, en.data + pl, en.len - pl, &target), ENCLOS_E_INVALID,
                       "app \"%s\": marker \"%.*s\" names no function export", a->name,
                       (int)en.len, en.data);
        ENCLOS_ENSUREF(target.of.func.nresults == 1 && target.of.func.results[0] == ENCLOS_WASM_I32,
                       ENCLOS_E_INVALID,
                       "app \"%s\": export \"%.*s\" is marked as returning %s but does not return one i32",
                       a->name, (int)(en.len - pl), en.data + pl,
                       kind == APP_RESULT_STRING ? "a string" : "bytes");
        count++; /* duplicates are refused in pass 1 */
      } else {
        enclos_wasm_name target = {en.data + pl, en.len - pl};
        for (size_t k = 0; k < a->nresults; k++)
          ENCLOS_ENSUREF(!name_is(a->results[k].export_name, target.data, target.len),
                         ENCLOS_E_INVALID, "app \"%s\": export \"%.*s\" has two result markers",
                         a->name, (int)target.len, target.data);
        a->results[a->nresults].export_name = target;
        a->results[a->nresults].kind = kind;
        a->nresults++;
      }
    }
    if (pass == 0) {
      if (count == 0) return ENCLOS_OK;
      a->results = enclos_calloc(count, sizeof(*a->results));
      ENCLOS_ENSURE(a->results, ENCLOS_E_NOMEM);
    }
  }
  return ENCLOS_OK;
}

uint8_t app__result_kind(const enclos_app *a, const char *name, size_t len) {
  for (size_t i = 0; i < a->nresults; i++)
    if (name_is(a->results[i].export_name, name, len)) return a->results[i].kind;
  return APP_RESULT_NUMBER;
}

/* ---- 3. Runners --------------------------------------------------------------------------- */

static void runner_free(app_runner *r) {
  if (!r) return;
  enclos_wasm_store_free(r->store); /* instance first: host functions point at wasi/imports */
  enclos_wasm_imports_free(r->imp);
  enclos_wasi_free(r->wasi);
  enclos_free(r);
}

/* A new runner: links the module against WASI and `enclos` and either instantiates it
 * (running its start function and a reactor's `_initialize`: the first runner of an app, whose
 * state becomes the snapshot) or creates the instance straight from the app's snapshot. */
static enclos_err runner_new(enclos_app *a, bool from_snapshot, app_runner **out) {
  enclos_err rc = ENCLOS_OK;
  app_runner *r = enclos_calloc(1, sizeof(*r));
  ENCLOS_ENSURE(r, ENCLOS_E_NOMEM);
  r->app = a;
  r->host.app = a;
  r->host.runner = r;
  ENCLOS_GUARD(enclos_wasm_store_new(&a->wlimits, &r->store));
  ENCLOS_GUARD(enclos_wasi_new(&r->wasi));
  const char *argv[1] = {a->name};
  ENCLOS_GUARD(enclos_wasi_set_args(r->wasi, 1, argv));
  ENCLOS_GUARD(enclos_wasi_stdin_buffer(r->wasi, NULL, 0));
  ENCLOS_GUARD(enclos_wasi_stdio_capture(r->wasi, 1, a->limits.max_output + 1));
  ENCLOS_GUARD(enclos_wasi_stdio_capture(r->wasi, 2, APP_MAX_STDERR));
  if (a->has_svc && a->svc.store && a->svc.table) {
    /* The app's table as its WASI /data directory (kvfs.c). */
    void *root = app__kvfs_root(a);
    ENCLOS_GUARD_ENSUREF(root, ENCLOS_E_NOMEM, "app \"%s\": /data root", a->name);
    rc = enclos_wasi_preopen_fs(r->wasi, app__kvfs_ops(), (void *)a, root, "/data");
    if (rc != ENCLOS_OK) {
      app__kvfs_ops()->close((void *)a, root);
      goto cleanup;
    }
  }
  ENCLOS_GUARD(enclos_wasm_imports_new(&r->imp));
  ENCLOS_GUARD(enclos_wasi_add_imports(r->wasi, r->imp));
  ENCLOS_GUARD(app__host_add_imports(r, r->imp));
  enclos_wasm_store_set_fuel(r->store, a->limits.fuel);
  if (from_snapshot)
    ENCLOS_GUARD(enclos_wasm_instantiate_snapshot(r->store, a->module, r->imp, a->snap, &r->inst));
  else
    ENCLOS_GUARD(enclos_wasm_instantiate(r->store, a->module, r->imp, &r->inst));
  static const char mem_name[] = "memory";
  if (enclos_wasm_instance_export(r->inst, (enclos_wasm_name){mem_name, 6}, &r->memory) == ENCLOS_OK &&
      r->memory.kind == ENCLOS_WASM_EXTERN_MEMORY)
    r->has_memory = true;
  if (a->reactor && !from_snapshot) {
    static const char init_name[] = "_initialize";
    enclos_wasm_extern init;
    ENCLOS_GUARD(enclos_wasm_instance_export(r->inst, (enclos_wasm_name){init_name, 11}, &init));
    ENCLOS_GUARD_ENSUREF(init.kind == ENCLOS_WASM_EXTERN_FUNC, ENCLOS_E_INVALID,
                         "app \"%s\": _initialize is not a function", a->name);
    enclos_wasm_externtype t;
    ENCLOS_GUARD(enclos_wasm_extern_type(init, &t));
    ENCLOS_GUARD_ENSUREF(t.of.func.nparams == 0 && t.of.func.nresults == 0, ENCLOS_E_INVALID,
                         "app \"%s\": _initialize must take and return nothing", a->name);
    ENCLOS_GUARD(enclos_wasm_call(r->store, init, NULL, 0, NULL, 0));
  }
  *out = r;
  r = NULL;
cleanup:
  runner_free(r);
  return rc;
}

/* Back to the snapshot: memory, globals, tables (engine) and descriptors, environment, stdin,
 * captured output (WASI). */
static enclos_err runner_reset(app_runner *r) {
  ENCLOS_TRY(enclos_wasm_snapshot_restore(r->inst, r->app->snap));
  return enclos_wasi_reset(r->wasi);
}

enclos_err app__runner_get(enclos_app *a, app_runner **out) {
  /* A fresh instance per call: a pooled runner (reset to the snapshot when it was returned) or
   * a new one created from the snapshot. */
  pthread_mutex_lock(&a->lock);
  app_runner *r = a->pool;
  if (r) {
    a->pool = r->next;
    a->npool--;
  }
  pthread_mutex_unlock(&a->lock);
  if (!r) ENCLOS_TRY(runner_new(a, true, &r));
  r->next = NULL;
  if (a->limits.timeout_ms) app__timer_arm(r, a->limits.timeout_ms);
  *out = r;
  return ENCLOS_OK;
}

void app__runner_put(app_runner *r) {
  if (!r) return;
  app__timer_disarm(r);
  enclos_app *a = r->app;
  if (runner_reset(r) != ENCLOS_OK) {
    /* The runner cannot be brought back to the snapshot: never reuse it. */
    runner_free(r);
    return;
  }
  pthread_mutex_lock(&a->lock);
  if (a->npool < APP_MAX_POOL) {
    r->next = a->pool;
    a->pool = r;
    a->npool++;
    r = NULL;
  }
  pthread_mutex_unlock(&a->lock);
  runner_free(r);
}

/* ---- 4. Load, references, accessors ------------------------------------------------------- */

static void app_free(enclos_app *a) {
  if (!a) return;
  while (a->pool) {
    app_runner *r = a->pool;
    a->pool = r->next;
    runner_free(r);
  }
  pthread_mutex_destroy(&a->lock);
  enclos_wasm_snapshot_free(a->snap);
  enclos_free(a->results);
  enclos_wasm_module_free(a->module);
  enclos_free(a);
}

static bool name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > APP_MAX_NAME) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  return true;
}

enclos_err enclos_app_load(const char *name, const void *wasm, size_t size,
                           const enclos_app_limits *limits, const enclos_app_services *svc,
                           enclos_app **out) {
  ENCLOS_ENSURE_REF(name);
  ENCLOS_ENSURE_REF(wasm);
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  ENCLOS_ENSUREF(name_ok(name), ENCLOS_E_INVAL,
                 "app name \"%.80s\" must be 1..%u characters of [A-Za-z0-9._-]", name, APP_MAX_NAME);
  enclos_err rc = ENCLOS_OK;
  enclos_app *a = enclos_calloc(1, sizeof(*a));
  ENCLOS_ENSURE(a, ENCLOS_E_NOMEM);
  if (pthread_mutex_init(&a->lock, NULL) != 0) {
    enclos_free(a);
    ENCLOS_FAILF(ENCLOS_E_INTERNAL, "mutex");
  }
  atomic_init(&a->refs, 1);
  memcpy(a->name, name, strlen(name) + 1);
  if (limits) a->limits = *limits;
  else enclos_app_limits_default(&a->limits);
  ENCLOS_GUARD_ENSUREF(a->limits.max_memory_pages >= 1 && a->limits.max_memory_pages <= 65536,
                       ENCLOS_E_INVAL, "max_memory_pages %u (1..65536)", a->limits.max_memory_pages);
  ENCLOS_GUARD_ENSUREF(a->limits.max_output <= ENCLOS_BUF_MAX - 1, ENCLOS_E_INVAL,
                       "max_output %zu exceeds %zu", a->limits.max_output, (size_t)ENCLOS_BUF_MAX - 1);
  if (svc) {
    a->svc = *svc;
    a->has_svc = true;
  }
  enclos_wasm_limits_default(&a->wlimits);
  a->wlimits.fuel = a->limits.fuel;
  a->wlimits.max_memory_pages = a->limits.max_memory_pages;
  a->wlimits.max_call_depth = a->limits.max_call_depth ? a->limits.max_call_depth : 10000;
  a->wlimits.max_table_elems = 100000;
  a->wlimits.max_stack_bytes = 1u << 20;
  ENCLOS_GUARD(enclos_hash(ENCLOS_SHA256, wasm, size, a->code_hash));
  ENCLOS_GUARD(enclos_wasm_module_load(wasm, size, &a->module));
  a->reactor = find_func_export(a->module, "_initialize", 11, NULL);
  ENCLOS_GUARD(scan_markers(a));
  /* Instantiate and initialise once now, so link errors and traps in initialisation fail the
   * load rather than the first call; that state is the snapshot every call starts from. */
  app_runner *r = NULL;
  rc = runner_new(a, false, &r);
  if (rc == ENCLOS_OK) rc = enclos_wasm_snapshot_take(r->inst, &a->snap);
  if (rc != ENCLOS_OK) {
    char detail[512];
    snprintf(detail, sizeof(detail), "%s", enclos_err_detail());
    rc = enclos_err_set(rc, __FILE__, __LINE__, "app \"%s\": %s", a->name, detail);
    runner_free(r);
    goto cleanup;
  }
  app__runner_put(r); /* resets it to the snapshot and pools it */
  *out = a;
  a = NULL;
cleanup:
  app_free(a);
  return rc;
}

enclos_app *enclos_app_ref(enclos_app *a) {
  if (a) atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
  return a;
}

void enclos_app_unref(enclos_app *a) {
  if (!a) return;
  if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1) app_free(a);
}

const char *enclos_app_name(const enclos_app *a) { return a ? a->name : NULL; }
const uint8_t *enclos_app_code_hash(const enclos_app *a) { return a ? a->code_hash : NULL; }
const enclos_wasm_module *enclos_app_module(const enclos_app *a) { return a ? a->module : NULL; }
const enclos_app_limits *enclos_app_get_limits(const enclos_app *a) { return a ? &a->limits : NULL; }

/* ---- 5. Running one wasm call ------------------------------------------------------------- */

enclos_err app__run(app_runner *r, enclos_wasm_extern f, const enclos_wasm_val *args, size_t nargs,
                    enclos_wasm_val *results, size_t nresults, enclos_app_call_info *info,
                    uint64_t *fuel_left) {
  const enclos_app *a = r->app;
  /* One budget for the whole app call: every wasm call (cabi_realloc, the export) draws from
   * what the previous ones left. */
  if (a->limits.fuel) {
    if (*fuel_left == 0) {
      info->trapped = true;
      info->trap.kind = ENCLOS_WASM_TRAP_FUEL_EXHAUSTED;
      ENCLOS_FAILF(ENCLOS_E_FUEL, "app \"%s\": fuel exhausted (budget %llu)", a->name,
                   (unsigned long long)a->limits.fuel);
    }
    enclos_wasm_store_set_fuel(r->store, *fuel_left);
  } else {
    enclos_wasm_store_set_fuel(r->store, 0);
  }
  if (r->deadline_ns && app__now_ns() >= r->deadline_ns) {
    info->trapped = true;
    info->trap.kind = ENCLOS_WASM_TRAP_INTERRUPTED;
    ENCLOS_FAILF(ENCLOS_E_INTERRUPTED, "app \"%s\": timeout of %u ms", a->name, a->limits.timeout_ms);
  }
  enclos_err rc = enclos_wasm_call(r->store, f, args, nargs, results, nresults);
  uint64_t used = enclos_wasm_store_fuel_used(r->store);
  info->fuel_used += used;
  if (a->limits.fuel) *fuel_left -= used < *fuel_left ? used : *fuel_left;
  if (rc == ENCLOS_OK) return ENCLOS_OK;
  uint32_t code;
  enclos_wasm_trap t;
  enclos_wasm_store_trap(r->store, &t);
  if (enclos_wasi_exited(r->wasi, &code) || t.kind == ENCLOS_WASM_TRAP_EXIT) {
    info->exit_code = enclos_wasi_exited(r->wasi, &code) ? code : t.exit_code;
    return rc; /* the caller decides what an exit means */
  }
  if (rc != ENCLOS_E_TRAP && rc != ENCLOS_E_FUEL && rc != ENCLOS_E_INTERRUPTED) return rc;
  char engine[256];
  snprintf(engine, sizeof(engine), "%s", enclos_err_detail());
  info->trapped = true;
  info->trap = t;
  size_t n = t.func_name.len < sizeof(info->trap_func) - 1 ? t.func_name.len : sizeof(info->trap_func) - 1;
  if (n && t.func_name.data) memcpy(info->trap_func, t.func_name.data, n);
  info->trap_func[n] = '\0';
  info->trap.func_name.data = NULL;
  info->trap.func_name.len = 0;
  if (rc == ENCLOS_E_INTERRUPTED)
    ENCLOS_FAILF(rc, "app \"%s\": interrupted after the timeout of %u ms", a->name, a->limits.timeout_ms);
  if (rc == ENCLOS_E_FUEL)
    ENCLOS_FAILF(rc, "app \"%s\": fuel exhausted (budget %llu)", a->name,
                 (unsigned long long)a->limits.fuel);
  ENCLOS_FAILF(rc, "app \"%s\": %s in function %u (%s) at code offset 0x%x", a->name, engine,
               t.func_index, info->trap_func[0] ? info->trap_func : "?", t.code_offset);
}
