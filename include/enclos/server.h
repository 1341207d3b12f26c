/**
 * \file server.h
 * \brief `enclos serve`: the attested application server (ARCHITECTURE.md §3, docs/server.md).
 *
 * TLS 1.3 (RA-TLS certificates) on libevent, one event loop per worker thread, HTTP/1.1
 * keep-alive; apps run in a bounded pool of call threads so a slow app never stalls a loop.
 * Each deployed app has its own certificate (selected by SNI) whose claims name the app, its
 * code hash and its configuration root; the runtime's certificate carries the configuration
 * root of every deployed app. Apps and manifests persist in the sealed store under the data
 * directory and come back at boot.
 */
#ifndef ENCLOS_SERVER_H
#define ENCLOS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/error.h>
#include <enclos/server_http.h>
#include <enclos/tee.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_SERVER_DEFAULT_LISTEN "127.0.0.1:8443"
#define ENCLOS_SERVER_MAX_WORKERS 64      /**< event-loop threads */
#define ENCLOS_SERVER_MAX_APP_THREADS 256 /**< app-call threads */
#define ENCLOS_SERVER_DEFAULT_MAX_CONNECTIONS 10000
#define ENCLOS_SERVER_MAX_CONNECTIONS_CAP 1000000
#define ENCLOS_SERVER_DEFAULT_IDLE_MS 60000      /**< keep-alive idle time before close */
#define ENCLOS_SERVER_DEFAULT_REQUEST_MS 30000   /**< first byte to complete request -> 408 */
#define ENCLOS_SERVER_DEFAULT_HANDSHAKE_MS 10000 /**< TCP accept to finished TLS handshake */
#define ENCLOS_SERVER_DEFAULT_QUEUE 1024         /**< app calls waiting for a thread -> 503 */
#define ENCLOS_SERVER_MAX_APPS 256               /**< deployed apps */
#define ENCLOS_SERVER_MAX_BOOT_APPS 32           /**< --app NAME=FILE at boot */
#define ENCLOS_SERVER_MAX_MANIFEST (64u * 1024u) /**< manifest JSON bytes */
#define ENCLOS_SERVER_MAX_CONFIG_FILE (256u * 1024u)

/** An app deployed from local files at boot (`--app NAME=FILE.wasm[,MANIFEST.json]`). */
typedef struct enclos_server_boot_app {
  const char *name;
  const char *wasm_path;
  const char *manifest_path; /**< NULL: the default manifest (public, default limits) */
} enclos_server_boot_app;

typedef struct enclos_server_config {
  const char *listen;        /**< "HOST:PORT" (port 0: any free port) */
  const char *data_dir;      /**< required: sealed store, sim TEE state */
  enclos_tee_kind tee;       /**< ENCLOS_TEE_SIM by default */
  const char *domain;        /**< SNI "APP" or "APP.<domain>" selects an app; default "localhost" */
  unsigned workers;          /**< event loops; 0 = one per core */
  unsigned app_threads;      /**< app-call threads; 0 = one per core */
  size_t max_connections;
  size_t max_queue;          /**< app calls waiting for a thread */
  uint32_t idle_timeout_ms, request_timeout_ms, handshake_timeout_ms;
  enclos_http_limits http;
  int64_t leaf_lifetime_s;   /**< 0: ENCLOS_RATLS_DEFAULT_LIFETIME */
  /* PKI (docs/server.md, "PKI"): neither = self-signed leaves (zero-setup). */
  const char *ca_dir;        /**< operator root (root.key, root.crt of `enclos ca init`) */
  bool dev_pki;              /**< a development root in DATA/pki/root */
  /* Auth (docs/server.md, "Auth"). */
  const char *jwks;          /**< JWKS file or URL; NULL: no JWT auth (management refused) */
  const char *jwt_issuer;
  const char *jwt_audience;
  const char *roles_claim;
  const char *admin_role;
  int64_t jwt_skew;
  bool dev_insecure_admin;
  const char *access_log;    /**< path, "-" = stderr, NULL = off */
  const char *ready_file;    /**< written with the bound port once serving (tests, scripts) */
  enclos_server_boot_app boot_apps[ENCLOS_SERVER_MAX_BOOT_APPS];
  size_t boot_app_count;
} enclos_server_config;

/** Built-in defaults (everything but data_dir). */
void enclos_server_config_default(enclos_server_config *cfg);

/** Strings of a loaded configuration file; they back the config's pointers. */
typedef struct enclos_server_config_file enclos_server_config_file;
/**
 * Reads the JSON configuration file \p path over \p cfg (docs/server.md, "Configuration
 * file"): unknown keys and values of the wrong type are errors naming the key.
 */
ENCLOS_MUST_USE enclos_err enclos_server_config_load(const char *path, enclos_server_config *cfg,
                                                     enclos_server_config_file **holder);
void enclos_server_config_file_free(enclos_server_config_file *holder);

typedef struct enclos_server enclos_server;

/** Opens the TEE, the store, reloads deployed apps, mints identities and binds the socket. */
ENCLOS_MUST_USE enclos_err enclos_server_new(const enclos_server_config *cfg, enclos_server **out);
/** The bound TCP port. */
int enclos_server_port(const enclos_server *s);
/** Serves until enclos_server_stop; then drains in-flight requests (graceful shutdown). */
ENCLOS_MUST_USE enclos_err enclos_server_run(enclos_server *s);
/** Asks a running server to stop. Async-signal-safe (SIGTERM/SIGINT handlers). */
void enclos_server_stop(enclos_server *s);
void enclos_server_free(enclos_server *s);

#ifdef __cplusplus
}
#endif
#endif
