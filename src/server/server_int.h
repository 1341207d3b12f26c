/* server_int.h: private to src/server. Internals shared between the module's files. */
#ifndef ENCLOS_SERVER_INT_H
#define ENCLOS_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Name of a parser state (for diagnostics and tests). */
const char *server__http_state_name(int state);

/* Appends \p s as the inside of a JSON string (RFC 8259 §7); invalid UTF-8 -> U+FFFD. */
#include <enclos/buf.h>
enclos_err server__json_escape(enclos_buf *out, const char *s, size_t len);

/* ---- `enclos serve` internals (serve.c, api.c, registry.c, metrics.c, config.c) ---------- */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>

#include <enclos/app.h>
#include <enclos/attest.h>
#include <enclos/crypto.h>
#include <enclos/server.h>
#include <enclos/server_auth.h>
#include <enclos/store.h>
#include <enclos/tee.h>
#include <enclos/tls.h>
#include <enclos/x509.h>

struct event_base;
struct event;

/* A certificate, its key and the TLS context presenting them. Reference-counted: a
 * connection keeps the identity it was accepted with until it closes. */
typedef struct srv_identity {
  atomic_int refs;
  enclos_pkey *key;
  enclos_x509 *cert;
  enclos_tls_ctx *ctx;
} srv_identity;

srv_identity *server__ident_ref(srv_identity *id);
void server__ident_unref(srv_identity *id);

/* Limits a manifest may ask for (docs/server.md, "Manifest"). */
#define SRV_MAX_FUEL 100000000000ull
#define SRV_MAX_PAGES 16384u
#define SRV_MAX_TIMEOUT_MS 60000u
#define SRV_MAX_OUTPUT (16u << 20)
#define SRV_MAX_DEPTH 100000u
#define SRV_MAX_CONFIG_ENTRIES 256
#define SRV_MAX_CONFIG_KEY 128
#define SRV_MAX_CONFIG_VALUE 4096

/* A deployed app: the loaded module, its manifest, identity and counters. */
typedef struct srv_app {
  atomic_int refs;
  char name[ENCLOS_APP_NAME_MAX + 1];
  enclos_app *app;
  uint8_t code_hash[32];
  uint8_t config_root[32];
  char *manifest;          /* canonical JSON (sorted keys, compact) */
  size_t manifest_len;
  size_t module_size;
  enclos_app_auth_mode auth_mode;
  char role[ENCLOS_JWT_MAX_ROLE + 1];
  enclos_app_limits limits;
  enclos_config_tree *tree; /* the app's configuration tree */
  srv_identity *ident;      /* guarded by the registry lock */
  int64_t deployed_at;
  atomic_uint_least64_t calls, failures, traps, fuel;
} srv_app;

srv_app *server__app_ref(srv_app *a);
void server__app_unref(srv_app *a);

/* Metrics (Prometheus text exposition format 0.0.4). */
#define SRV_HIST_BUCKETS 15
#define SRV_STATUS_SLOTS 24
typedef struct srv_metrics {
  atomic_uint_least64_t conns_open, conns_total, conns_rejected, tls_failures, timeouts;
  atomic_uint_least64_t bad_requests, queue_full;
  atomic_uint_least64_t req[ENCLOS_ROUTE__COUNT][SRV_STATUS_SLOTS];
  atomic_uint_least64_t hist[ENCLOS_ROUTE__COUNT][SRV_HIST_BUCKETS];
  atomic_uint_least64_t hist_sum_ns[ENCLOS_ROUTE__COUNT];
  atomic_uint_least64_t hist_count[ENCLOS_ROUTE__COUNT];
} srv_metrics;

void server__metrics_request(srv_metrics *m, enclos_route_id route, int status, uint64_t ns);
struct enclos_server;
ENCLOS_MUST_USE enclos_err server__metrics_render(struct enclos_server *s, enclos_buf *out);

typedef struct srv_conn srv_conn;
typedef struct srv_worker srv_worker;

/* One app-call (or other blocking) job: the connection is parked while a pool thread runs it. */
typedef struct srv_job {
  srv_conn *conn;
  struct srv_job *next;
} srv_job;

struct srv_worker {
  struct enclos_server *srv;
  unsigned index;
  pthread_t thread;
  struct event_base *base;
  struct event *accept_ev, *notify_ev;
  int notify_fd; /* eventfd: job completions and stop requests */
  pthread_mutex_t done_lock;
  srv_conn *done_head; /* completed jobs, handed back by pool threads */
  srv_conn *conns;     /* every open connection of this loop */
  size_t nconns;
  bool stopping;
};

struct enclos_server {
  enclos_server_config cfg;
  char *data_dir, *listen, *domain, *access_log_path; /* owned copies */
  int listen_fd;
  int port;
  atomic_bool stop;
  int stop_pipe[2];
  enclos_tee *tee;
  pthread_mutex_t tee_lock;  /* TEE handles are used by one thread at a time */
  enclos_store *store;
  enclos_pkey *ca_key;   /* intermediate CA (pki.c); NULL: self-signed leaves */
  enclos_x509 *ca_cert;
  pthread_mutex_t mgmt_lock; /* deploy/delete/store: one management operation at a time */
  /* Registry (guarded by reg_lock). */
  pthread_rwlock_t reg_lock;
  srv_app *apps[ENCLOS_SERVER_MAX_APPS];
  size_t napps;
  srv_identity *runtime_id;
  uint8_t runtime_root[32];
  char *config_doc; /* GET /.well-known/enclos/config body */
  size_t config_doc_len;
  /* Auth. */
  enclos_jwks_source *jwks;
  enclos_jwt_config jwt;
  /* Workers and the app-call pool. */
  srv_worker *workers;
  unsigned nworkers;
  pthread_t *pool;
  unsigned npool;
  pthread_mutex_t q_lock;
  pthread_cond_t q_cond;
  srv_job *q_head, *q_tail;
  size_t q_len;
  bool q_stop;
  /* Access log. */
  FILE *access_log;
  pthread_mutex_t log_lock;
  srv_metrics metrics;
  int64_t started;
  atomic_bool ready;
};

/* registry.c */
ENCLOS_MUST_USE enclos_err server__registry_boot(struct enclos_server *s);
void server__registry_free(struct enclos_server *s);
/* Deploys or replaces \p name; \p replaced tells which. The store write happens first, so a
 * crash never leaves a running app that does not come back. */
ENCLOS_MUST_USE enclos_err server__deploy(struct enclos_server *s, const char *name,
                                          const uint8_t *wasm, size_t size,
                                          const char *manifest_json, size_t manifest_len,
                                          bool persist, srv_app **out, bool *replaced);
ENCLOS_MUST_USE enclos_err server__undeploy(struct enclos_server *s, const char *name);
/* The app named \p name (a new reference) or NULL. */
srv_app *server__app_get(struct enclos_server *s, const char *name, size_t len);
/* The runtime identity (a new reference). */
srv_identity *server__runtime_ident(struct enclos_server *s);
/* Re-mints identities that are due (a third of their lifetime left). */
void server__renew_identities(struct enclos_server *s);
/* TLS SNI hook. */
enclos_tls_ctx *server__sni(void *arg, const char *name);
/* Appends a JSON description of \p a. */
ENCLOS_MUST_USE enclos_err server__app_json(const srv_app *a, enclos_buf *out);

/* api.c: routes a parsed request; either writes the response to the connection's output
 * (returns false) or queues a job (returns true). */
bool server__dispatch(srv_conn *c);
/* Runs a queued job on a pool thread: fills the connection's response. */
void server__run_job(srv_conn *c);

/* serve.c: what api.c needs of a connection. */
typedef struct srv_req_view {
  uint8_t *buf;                 /* connection input (the request's bytes from offset 0) */
  const enclos_http_request *req;
  enclos_route_match route;
  enclos_buf *out;              /* response bytes */
  enclos_tls_conn *tls;
  struct enclos_server *srv;
  int status;                   /* response status, for logs and metrics */
  bool keep_alive;              /* cleared to close after the response */
  char app[ENCLOS_APP_NAME_MAX + 1];
  uint64_t fuel;
  char sub[ENCLOS_JWT_MAX_SUB + 1];
} srv_req_view;
srv_req_view *server__conn_view(srv_conn *c);

/* Parses and checks a manifest for app \p name (docs/server.md, "Manifest") into \p a: policy,
 * limits, canonical JSON, configuration tree and root (a->code_hash must be set). */
ENCLOS_MUST_USE enclos_err server__manifest_parse(const char *name, const char *text, size_t len, srv_app *a);

/* pki.c: loads or creates the intermediate CA when --ca or --dev-pki is set. */
ENCLOS_MUST_USE enclos_err server__pki_boot(struct enclos_server *s);

/* config.c */
ENCLOS_MUST_USE enclos_err server__config_parse(const char *text, size_t n, const char *what,
                                                enclos_server_config *cfg, enclos_server_config_file **holder);
ENCLOS_MUST_USE enclos_err server__json_hex(enclos_buf *out, const uint8_t *p, size_t n);

#endif
