/**
 * \file app.h
 * \brief The app model (ARCHITECTURE.md §4-5): a WASM app is loaded, linked and initialised
 *        once, snapshotted, and then called many times, each call in its own fresh
 *        copy-on-write instance of that snapshot, so no state leaks between calls.
 *
 * This is the contract between the app layer (`src/app`, prefix `enclos_app_`) and the server.
 * An app links against WASI preview 1 (`wasi_snapshot_preview1`) and the enclos host module
 * (`enclos`: log, crypto, kv, ...; docs/apps.md). Any other import fails the load with
 * ENCLOS_E_UNLINKABLE naming the import.
 *
 * Two ways to call an app (docs/apps.md):
 *  - enclos_app_http(): CGI-style; the request becomes environment + stdin, stdout becomes
 *    the response (the module's `_start` runs, or its `handle` export if it has no `_start`).
 *  - enclos_app_call(): function-call ABI; a JSON array of arguments is mapped onto an
 *    export's parameters (strings/bytes through the guest's `cabi_realloc`), the results come
 *    back as a JSON array.
 *
 * Thread-safety: an enclos_app is immutable after load and reference-counted; calls may run
 * concurrently from many threads (each call gets its own instance). A replaced or unloaded
 * app stays alive until its last in-flight call drops its reference.
 */
#ifndef ENCLOS_APP_H
#define ENCLOS_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/error.h>
#include <enclos/store.h>
#include <enclos/wasm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_APP_CODE_HASH_SIZE 32 /**< SHA-256 of the module bytes */

/** Per-call limits. Untrusted apps cannot exceed them. */
typedef struct enclos_app_limits {
  uint64_t fuel;             /**< instruction budget per call; 0 = unmetered */
  uint32_t max_memory_pages; /**< linear-memory cap (64 KiB pages) */
  uint32_t max_call_depth;   /**< nested wasm calls */
  uint32_t timeout_ms;       /**< wall-clock deadline per call (interrupts it); 0 = none */
  size_t max_output;         /**< bytes of stdout (HTTP) or result (function call) kept */
} enclos_app_limits;

/** Defaults: fuel 1e9, 256 pages (16 MiB), depth 10,000, 10 s, 16 MiB output. */
void enclos_app_limits_default(enclos_app_limits *l);

/**
 * Host services reachable from the app's `enclos` imports and WASI. A NULL member means the
 * service is absent: its imports still link but return EUNSUPPORTED (-4), and no `/data`
 * preopen is offered.
 */
typedef struct enclos_app_services {
  enclos_store *store;       /**< sealed store; with \p table: kv_* imports and WASI `/data` */
  enclos_store_table *table; /**< the app's own table in \p store */
  /** One line an app logged (level 0 error .. 3 debug); NULL: the enclos log. */
  void (*log)(void *log_ctx, const char *app, int level, const char *msg, size_t len);
  void *log_ctx;
} enclos_app_services;

typedef struct enclos_app enclos_app;

/**
 * Store handles are single-threaded (store.h) while app calls run on many threads: the app
 * layer takes this process-wide lock around every store access it makes (kv_* imports, /data).
 * Code that uses the same store handle concurrently with app calls (the server's system table)
 * must hold it too.
 */
void enclos_app_store_lock(void);
void enclos_app_store_unlock(void);

/**
 * Loads \p wasm as app \p name: decode, validate, compile, link, instantiate once, run the
 * start function and a reactor's `_initialize` export if present, then snapshot the
 * initialised state (memory, globals, tables). \p limits NULL: defaults. \p svc may be NULL
 * (no services); it is copied, but the store and table must outlive the app.
 * Errors: the engine's (ENCLOS_E_MALFORMED, _INVALID, _LIMIT, _UNLINKABLE, _TRAP, _FUEL),
 * with the detail naming what was wrong. The app starts with one reference.
 */
ENCLOS_MUST_USE enclos_err enclos_app_load(const char *name, const void *wasm, size_t size,
                                           const enclos_app_limits *limits,
                                           const enclos_app_services *svc, enclos_app **out);
/** Takes another reference (returns \p a). */
enclos_app *enclos_app_ref(enclos_app *a);
/** Drops a reference; the last one frees the app. NULL is fine. */
void enclos_app_unref(enclos_app *a);

const char *enclos_app_name(const enclos_app *a);
/** SHA-256 of the module bytes as loaded: the `code-hash` of the app's claims. */
const uint8_t *enclos_app_code_hash(const enclos_app *a);
/** The compiled module (inspection: exports, imports, custom sections). */
const enclos_wasm_module *enclos_app_module(const enclos_app *a);
const enclos_app_limits *enclos_app_get_limits(const enclos_app *a);

/** What one call did (filled on success and on traps). */
typedef struct enclos_app_call_info {
  uint64_t fuel_used;
  uint64_t duration_ns;      /**< instance + call + teardown */
  uint32_t exit_code;        /**< WASI proc_exit code (0 when the entry point returned) */
  bool trapped;              /**< trap, fuel exhaustion or timeout */
  enclos_wasm_trap trap;     /**< the trap; trap.func_name is not valid after the call */
  char trap_func[64];        /**< the trapping function's name, NUL-terminated ("" if none) */
} enclos_app_call_info;

/* ---- CGI-style HTTP handler (RFC 3875 subset; docs/apps.md) --------------------------- */

typedef struct enclos_app_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} enclos_app_header;

typedef struct enclos_app_http_request {
  const char *method;       /**< REQUEST_METHOD, e.g. "GET" */
  const char *path;         /**< PATH_INFO: the path below /apps/{name}/http, "/" at least */
  const char *query;        /**< QUERY_STRING without '?', "" if none */
  const char *content_type; /**< CONTENT_TYPE, NULL if none */
  const enclos_app_header *headers; /**< become HTTP_<NAME> variables */
  size_t nheaders;
  const uint8_t *body; /**< stdin */
  size_t body_len;
} enclos_app_http_request;

#define ENCLOS_APP_MAX_RESPONSE_HEADERS 32 /**< headers an app may emit in its CGI block */

typedef struct enclos_app_http_response {
  int status;             /**< from `Status:`, default 200 */
  char content_type[128]; /**< from `Content-Type:`, default application/octet-stream */
  size_t nheaders;        /**< other headers of the CGI block (validated: token name, no CR/LF) */
  struct {
    char name[64];
    char value[512];
  } headers[ENCLOS_APP_MAX_RESPONSE_HEADERS];
  enclos_buf body;        /**< caller-initialised; the body is appended */
} enclos_app_http_response;

/**
 * Runs one request through a fresh instance of \p a. ENCLOS_OK when the app produced a
 * response (an exit code != 0 without a `Status:` line gives 500); ENCLOS_E_TRAP / _FUEL /
 * _INTERRUPTED (timeout) when the call was cut short (\p info says how); ENCLOS_E_MALFORMED when the CGI header block is invalid;
 * ENCLOS_E_LIMIT when the output exceeded max_output.
 */
ENCLOS_MUST_USE enclos_err enclos_app_http(enclos_app *a, const enclos_app_http_request *req,
                                           enclos_app_http_response *resp,
                                           enclos_app_call_info *info);

/* ---- Function-call ABI (docs/apps.md) ------------------------------------------------- */

/**
 * Calls export \p export_name of a fresh instance with the JSON array \p args_json
 * (\p args_len bytes) and appends the results, as a JSON array, to \p result_json.
 * Errors: ENCLOS_E_NOT_FOUND (no such function export), ENCLOS_E_INVAL (arguments do not fit
 * the export's signature; the detail says which), ENCLOS_E_MALFORMED (not JSON), ENCLOS_E_TRAP
 * / _FUEL / _INTERRUPTED, ENCLOS_E_LIMIT (result too large), ENCLOS_E_RANGE (a result pointer
 * outside guest memory).
 */
ENCLOS_MUST_USE enclos_err enclos_app_call(enclos_app *a, const char *export_name,
                                           const char *args_json, size_t args_len,
                                           enclos_buf *result_json, enclos_app_call_info *info);

#ifdef __cplusplus
}
#endif
#endif
