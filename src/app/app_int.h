/* app_int.h: private to src/app (the app model, include/enclos/app.h).
 *
 * Files: app.c (load, references, the per-call runner pool, limits, the call wrapper),
 * http.c (CGI request/response), call.c (function-call ABI marshalling), host.c (the `enclos`
 * import module), kvfs.c (the WASI `/data` backend over the app's store table), timer.c (the
 * deadline watchdog).
 *
 * A call runs in a *runner*: a wasm store, a WASI context, the import set whose host
 * functions point at that runner, and one instance of the app's module. Runners are pooled per
 * app; each call takes one, resets it to the app's snapshot (fresh state), and returns it.
 */
#ifndef ENCLOS_APP_INT_H
#define ENCLOS_APP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/app.h>
#include <enclos/buf.h>
#include <enclos/wasi.h>
#include <enclos/wasm.h>

/* ---- Limits on what an app or a caller hands us ------------------------------------------ */
#define APP_MAX_NAME 64u               /* bytes of an app name */
#define APP_MAX_CALL_ARGS_JSON (16u << 20) /* bytes of a function call's JSON arguments */
#define APP_MAX_CALL_ARGS 256u         /* JSON arguments of one call */
#define APP_MAX_CALL_PARAMS 512u       /* wasm parameters of a callable export */
#define APP_MAX_CALL_RESULTS 16u       /* wasm results of a callable export */
#define APP_MAX_STDERR (64u << 10)     /* bytes of an app's stderr kept per call (to the log) */
#define APP_MAX_LOG_LINE 4096u         /* bytes of one `enclos.log` line kept */
#define APP_MAX_CGI_HEADER (16u << 10) /* bytes of a CGI header block */
#define APP_MAX_ENV_BYTES (256u << 10) /* bytes of the CGI environment */
#define APP_MAX_REQUEST_HEADERS 100u   /* request headers passed as HTTP_* */
#define APP_MAX_KV_VALUE ((size_t)16 << 20) /* bytes of one kv value through kv_get/kv_put */
#define APP_MAX_POOL 64u               /* idle runners kept per app */

/* Result kinds declared by marker exports "enclos.returns.string.<export>" /
 * "enclos.returns.bytes.<export>" (docs/apps.md, "Function calls"). */
enum { APP_RESULT_NUMBER = 0, APP_RESULT_STRING = 1, APP_RESULT_BYTES = 2 };

typedef struct app_result_decl {
  enclos_wasm_name export_name; /* points into the module */
  uint8_t kind;
} app_result_decl;

typedef struct app_runner app_runner;

/** What the `enclos` host functions see (their env). */
typedef struct app_host {
  enclos_app *app;
  app_runner *runner;
} app_host;

struct app_runner {
  enclos_app *app;
  enclos_wasm_store *store;
  enclos_wasm_imports *imp;
  enclos_wasi *wasi;
  enclos_wasm_instance *inst;
  enclos_wasm_extern memory; /* the "memory" export, if any */
  bool has_memory;
  app_host host;
  app_runner *next; /* pool free list */
  /* deadline watchdog registration (timer.c) */
  uint64_t deadline_ns; /* 0 = not registered */
  app_runner *tnext, *tprev;
};

struct enclos_app {
  atomic_uint refs;
  char name[APP_MAX_NAME + 1];
  uint8_t code_hash[ENCLOS_APP_CODE_HASH_SIZE];
  enclos_wasm_module *module;
  enclos_app_limits limits;
  enclos_wasm_limits wlimits;
  enclos_app_services svc;
  bool has_svc;
  bool reactor; /* exports _initialize */
  app_result_decl *results;
  size_t nresults;
  enclos_wasm_snapshot *snap; /* the initialised state every call starts from */
  pthread_mutex_t lock; /* protects pool */
  app_runner *pool;
  size_t npool;
};

/* app.c */
/** A runner reset to the app's initial state, ready for one call. */
ENCLOS_MUST_USE enclos_err app__runner_get(enclos_app *a, app_runner **out);
/** Returns a runner after a call (resets it, or frees it when it cannot be reused). */
void app__runner_put(app_runner *r);
/** Calls \p f with the app's limits (fuel, deadline) and fills \p info. */
ENCLOS_MUST_USE enclos_err app__run(app_runner *r, enclos_wasm_extern f, const enclos_wasm_val *args,
                                    size_t nargs, enclos_wasm_val *results, size_t nresults,
                                    enclos_app_call_info *info, uint64_t *fuel_left);
/** Forwards the runner's captured stderr to the log, one line at a time. */
void app__flush_stderr(app_runner *r);
/** Logs one app line through the services' log hook or the enclos log. */
void app__log(const enclos_app *a, int level, const char *msg, size_t len);
uint64_t app__now_ns(void);
/** Kind of results declared for export \p name (APP_RESULT_*). */
uint8_t app__result_kind(const enclos_app *a, const char *name, size_t len);

/* host.c */
/** Registers the `enclos` import module for runner \p r in \p imp. */
ENCLOS_MUST_USE enclos_err app__host_add_imports(app_runner *r, enclos_wasm_imports *imp);

/* kvfs.c */
/** The `/data` backend over the app's store table. */
const enclos_wasi_fs_ops *app__kvfs_ops(void);
/** Resolves guest \p path below directory key \p base into a key (ENCLOS_STORE_MAX_KEY + 1
 *  bytes at \p out); a WASI errno (ENOTCAPABLE above /data, ENAMETOOLONG). For the fuzz target. */
uint16_t app__kvfs_resolve(const char *base, const char *path, char *out, size_t *out_len);
/** A root directory handle for enclos_wasi_preopen_fs (NULL on allocation failure). */
void *app__kvfs_root(const enclos_app *a);

/** Serialises the app layer's use of store handles (not thread-safe, store.h). */
void app__store_lock(void);
void app__store_unlock(void);

/* timer.c */
/** Arms a deadline \p timeout_ms from now: the watchdog interrupts r->store when it passes. */
void app__timer_arm(app_runner *r, uint32_t timeout_ms);
void app__timer_disarm(app_runner *r);

/* http.c: exposed for the tests and the fuzz target */
/** Parses CGI output (optional header block, then body) into \p resp. */
ENCLOS_MUST_USE enclos_err app__cgi_parse(const uint8_t *out, size_t len, bool failed_exit,
                                          enclos_app_http_response *resp);

/* call.c: exposed for the fuzz target */
/** Checks \p args_json against \p type; on success \p *out holds the parsed array (json_t*). */
ENCLOS_MUST_USE enclos_err app__call_parse(const char *export_name, const enclos_wasm_functype *type,
                                           const char *args_json, size_t args_len, void **out);

#endif
