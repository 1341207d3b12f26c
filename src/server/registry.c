/* registry.c: the deployed apps of `enclos serve`, their manifests, configuration trees and
 * RA-TLS identities, and their persistence in the sealed store (docs/server.md).
 *
 * Store layout (system table): "app/<name>/wasm" = module bytes, "app/<name>/manifest" =
 * canonical manifest JSON, written in one transaction. At boot every app found there is
 * loaded again, so the configuration tree is rebuilt from what the store holds.
 *
 * Configuration trees (attest.h): an app's tree has the leaves "code" (its code hash),
 * "manifest" (SHA-256 of the canonical manifest) and "config/<key>" per manifest config
 * entry; its root is the app's config-root claim. The runtime tree has "server/auth" (the
 * auth settings) and "app/<name>" = that app's root; its root is the runtime certificate's
 * config-root claim, so any deploy, replace or unload changes the runtime certificate. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <enclos/encoding.h>
#include <enclos/log.h>
#include <enclos/mem.h>
#include <enclos/ratls.h>
#include <enclos/time.h>

#include "server_int.h"

#define MOD "server"
#define KEY_MAX 128

/* ---- Identities ---------------------------------------------------------------------- */

srv_identity *server__ident_ref(srv_identity *id) {
  if (id) atomic_fetch_add(&id->refs, 1);
  return id;
}

void server__ident_unref(srv_identity *id) {
  if (!id || atomic_fetch_sub(&id->refs, 1) != 1) return;
  enclos_tls_ctx_free(id->ctx);
  enclos_x509_free(id->cert);
  enclos_pkey_free(id->key);
  enclos_free(id);
}

/* Mints a leaf for the runtime (\p a NULL, claims carry the runtime config root) or for app
 * \p a (claims carry its name, code hash and config root). */
static enclos_err mint(enclos_server *s, const srv_app *a, srv_identity **out) {
  srv_identity *id = enclos_calloc(1, sizeof(*id));
  ENCLOS_ENSURE(id != NULL, ENCLOS_E_NOMEM);
  atomic_init(&id->refs, 1);
  enclos_err rc = ENCLOS_OK;
  char alt[ENCLOS_APP_NAME_MAX + 256 + 2];
  const char *names[2];
  enclos_ratls_leaf_opts o = {.lifetime_s = s->cfg.leaf_lifetime_s};
  if (a) {
    snprintf(alt, sizeof(alt), "%s.%s", a->name, s->domain);
    names[0] = a->name;
    names[1] = alt;
    o.cn = a->name;
    o.dns_names = names;
    o.dns_count = 2;
    o.app_name = a->name;
    o.app_code_hash = a->code_hash;
    o.app_config_root = a->config_root;
  } else {
    names[0] = s->domain;
    o.cn = "enclos";
    o.dns_names = names;
    o.dns_count = 1;
    o.config_root = s->runtime_root;
  }
  pthread_mutex_lock(&s->tee_lock);
  rc = enclos_ratls_mint_leaf(s->tee, &o, s->ca_cert, s->ca_key, &id->key, &id->cert);
  pthread_mutex_unlock(&s->tee_lock);
  if (rc != ENCLOS_OK) goto cleanup;
  enclos_x509 *chain[2] = {id->cert, s->ca_cert};
  ENCLOS_GUARD(enclos_tls_server_ctx(id->key, chain, s->ca_cert ? 2 : 1, &id->ctx));
  if (!a) enclos_tls_ctx_set_sni(id->ctx, server__sni, s);
  *out = id;
  return ENCLOS_OK;
cleanup:
  server__ident_unref(id);
  return rc;
}

srv_identity *server__runtime_ident(enclos_server *s) {
  pthread_rwlock_rdlock(&s->reg_lock);
  srv_identity *id = server__ident_ref(s->runtime_id);
  pthread_rwlock_unlock(&s->reg_lock);
  return id;
}

/* ---- Apps -------------------------------------------------------------------------------- */

srv_app *server__app_ref(srv_app *a) {
  if (a) atomic_fetch_add(&a->refs, 1);
  return a;
}

void server__app_unref(srv_app *a) {
  if (!a || atomic_fetch_sub(&a->refs, 1) != 1) return;
  enclos_app_unref(a->app);
  enclos_config_free(a->tree);
  server__ident_unref(a->ident);
  enclos_free(a->manifest);
  enclos_free(a);
}

static ssize_t find_locked(enclos_server *s, const char *name, size_t len) {
  for (size_t i = 0; i < s->napps; i++)
    if (strlen(s->apps[i]->name) == len && memcmp(s->apps[i]->name, name, len) == 0) return (ssize_t)i;
  return -1;
}

srv_app *server__app_get(enclos_server *s, const char *name, size_t len) {
  pthread_rwlock_rdlock(&s->reg_lock);
  ssize_t i = find_locked(s, name, len);
  srv_app *a = i >= 0 ? server__app_ref(s->apps[i]) : NULL;
  pthread_rwlock_unlock(&s->reg_lock);
  return a;
}

/* SNI (RFC 6066 §3): "NAME" or "NAME.<domain>" selects app NAME's certificate; anything else,
 * or no name, keeps the runtime's. */
enclos_tls_ctx *server__sni(void *arg, const char *name) {
  enclos_server *s = arg;
  if (!name) return NULL;
  size_t n = strlen(name), dl = strlen(s->domain);
  size_t label = strcspn(name, ".");
  if (label < n && !(n == label + 1 + dl && strcasecmp(name + label + 1, s->domain) == 0)) return NULL;
  char lower[ENCLOS_APP_NAME_MAX + 1];
  if (label == 0 || label > ENCLOS_APP_NAME_MAX) return NULL;
  for (size_t i = 0; i < label; i++) lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  enclos_tls_ctx *ctx = NULL;
  pthread_rwlock_rdlock(&s->reg_lock);
  ssize_t i = find_locked(s, lower, label);
  if (i >= 0 && s->apps[i]->ident) ctx = enclos_tls_ctx_ref(s->apps[i]->ident->ctx);
  pthread_rwlock_unlock(&s->reg_lock);
  return ctx;
}

/* ---- Manifest ------------------------------------------------------------------------------ */

static enclos_err get_uint(json_t *lim, const char *key, uint64_t max, uint64_t *v) {
  json_t *x = json_object_get(lim, key);
  if (!x) return ENCLOS_OK;
  ENCLOS_ENSUREF(json_is_integer(x) && json_integer_value(x) >= 0, ENCLOS_E_INVALID,
                 "manifest: limits.%s must be a non-negative integer", key);
  uint64_t u = (uint64_t)json_integer_value(x);
  ENCLOS_ENSUREF(u <= max, ENCLOS_E_LIMIT, "manifest: limits.%s %llu exceeds the server maximum %llu", key,
                 (unsigned long long)u, (unsigned long long)max);
  *v = u;
  return ENCLOS_OK;
}

/* Parses and checks a manifest (docs/server.md, "Manifest"); fills the app's policy, limits
 * and configuration tree and the canonical JSON. Unknown keys are errors. */
enclos_err server__manifest_parse(const char *name, const char *text, size_t len, srv_app *a) {
  enclos_err rc = ENCLOS_OK;
  json_error_t jerr;
  json_t *root = NULL;
  char *canon = NULL;
  ENCLOS_ENSUREF(len <= ENCLOS_SERVER_MAX_MANIFEST, ENCLOS_E_LIMIT, "manifest of %zu bytes (limit %u)", len,
                 ENCLOS_SERVER_MAX_MANIFEST);
  root = len ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
  ENCLOS_GUARD_ENSUREF(root != NULL, ENCLOS_E_MALFORMED, "manifest is not JSON: %s (line %d, column %d)",
                       jerr.text, jerr.line, jerr.column);
  ENCLOS_GUARD_ENSUREF(json_is_object(root), ENCLOS_E_INVALID, "manifest must be a JSON object");
  enclos_app_limits_default(&a->limits);
  a->auth_mode = ENCLOS_APP_AUTH_PUBLIC;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "name") == 0) {
      ENCLOS_GUARD_ENSUREF(json_is_string(v) && strcmp(json_string_value(v), name) == 0, ENCLOS_E_INVALID,
                           "manifest: name does not match the app name '%s'", name);
    } else if (strcmp(key, "auth") == 0) {
      const char *mode = json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "mode"));
      ENCLOS_GUARD_ENSUREF(mode != NULL, ENCLOS_E_INVALID, "manifest: auth must be a string or {\"mode\":...}");
      if (json_is_object(v)) {
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) ENCLOS_GUARD_ENSUREF(strcmp(k2, "mode") == 0 || strcmp(k2, "role") == 0,
                                                            ENCLOS_E_INVALID, "manifest: unknown key auth.%s", k2);
      }
      if (strcmp(mode, "public") == 0) {
        a->auth_mode = ENCLOS_APP_AUTH_PUBLIC;
      } else if (strcmp(mode, "authenticated") == 0) {
        a->auth_mode = ENCLOS_APP_AUTH_AUTHENTICATED;
      } else if (strcmp(mode, "role") == 0) {
        const char *role = json_string_value(json_object_get(v, "role"));
        ENCLOS_GUARD_ENSUREF(role && role[0] && strlen(role) <= ENCLOS_JWT_MAX_ROLE, ENCLOS_E_INVALID,
                             "manifest: auth mode role needs \"role\": 1..%d bytes", ENCLOS_JWT_MAX_ROLE);
        a->auth_mode = ENCLOS_APP_AUTH_ROLE;
        snprintf(a->role, sizeof(a->role), "%s", role);
      } else {
        ENCLOS_GUARD_FAILF(ENCLOS_E_INVALID, "manifest: unknown auth mode '%s' (public, authenticated, role)", mode);
      }
    } else if (strcmp(key, "limits") == 0) {
      ENCLOS_GUARD_ENSUREF(json_is_object(v), ENCLOS_E_INVALID, "manifest: limits must be an object");
      const char *k2;
      json_t *v2;
      json_object_foreach(v, k2, v2) {
        (void)v2;
        ENCLOS_GUARD_ENSUREF(strcmp(k2, "fuel") == 0 || strcmp(k2, "memory_pages") == 0 ||
                                 strcmp(k2, "timeout_ms") == 0 || strcmp(k2, "max_output") == 0 ||
                                 strcmp(k2, "max_call_depth") == 0,
                             ENCLOS_E_INVALID, "manifest: unknown key limits.%s", k2);
      }
      uint64_t fuel = a->limits.fuel, pages = a->limits.max_memory_pages, to = a->limits.timeout_ms,
               outm = a->limits.max_output, depth = a->limits.max_call_depth;
      ENCLOS_GUARD(get_uint(v, "fuel", SRV_MAX_FUEL, &fuel));
      ENCLOS_GUARD(get_uint(v, "memory_pages", SRV_MAX_PAGES, &pages));
      ENCLOS_GUARD(get_uint(v, "timeout_ms", SRV_MAX_TIMEOUT_MS, &to));
      ENCLOS_GUARD(get_uint(v, "max_output", SRV_MAX_OUTPUT, &outm));
      ENCLOS_GUARD(get_uint(v, "max_call_depth", SRV_MAX_DEPTH, &depth));
      /* Unmetered or unbounded calls would let one app hold a call thread forever. */
      ENCLOS_GUARD_ENSUREF(fuel > 0 && to > 0, ENCLOS_E_INVALID, "manifest: limits.fuel and limits.timeout_ms must be > 0");
      a->limits.fuel = fuel;
      a->limits.max_memory_pages = (uint32_t)pages;
      a->limits.timeout_ms = (uint32_t)to;
      a->limits.max_output = (size_t)outm;
      a->limits.max_call_depth = (uint32_t)depth;
    } else if (strcmp(key, "config") == 0) {
      ENCLOS_GUARD_ENSUREF(json_is_object(v), ENCLOS_E_INVALID, "manifest: config must be an object of strings");
      ENCLOS_GUARD_ENSUREF(json_object_size(v) <= SRV_MAX_CONFIG_ENTRIES, ENCLOS_E_LIMIT,
                           "manifest: %zu config entries (limit %d)", json_object_size(v), SRV_MAX_CONFIG_ENTRIES);
      const char *k2;
      json_t *v2;
      json_object_foreach(v, k2, v2) {
        ENCLOS_GUARD_ENSUREF(strlen(k2) >= 1 && strlen(k2) <= SRV_MAX_CONFIG_KEY, ENCLOS_E_LIMIT,
                             "manifest: config key of %zu bytes (1..%d)", strlen(k2), SRV_MAX_CONFIG_KEY);
        ENCLOS_GUARD_ENSUREF(json_is_string(v2) && json_string_length(v2) <= SRV_MAX_CONFIG_VALUE, ENCLOS_E_INVALID,
                             "manifest: config.%s must be a string of at most %d bytes", k2, SRV_MAX_CONFIG_VALUE);
      }
    } else {
      ENCLOS_GUARD_FAILF(ENCLOS_E_INVALID, "manifest: unknown key '%s' (name, auth, limits, config)", key);
    }
  }
  /* Canonical form: sorted keys, no whitespace (jansson's dump is deterministic for that). */
  canon = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  ENCLOS_GUARD_ENSUREF(canon != NULL, ENCLOS_E_NOMEM, "manifest");
  a->manifest_len = strlen(canon);
  a->manifest = enclos_memdup(canon, a->manifest_len + 1);
  ENCLOS_GUARD_ENSUREF(a->manifest != NULL, ENCLOS_E_NOMEM, "manifest");
  /* The app's configuration tree. */
  ENCLOS_GUARD(enclos_config_new(&a->tree));
  ENCLOS_GUARD(enclos_config_add_hash(a->tree, "code", a->code_hash));
  ENCLOS_GUARD(enclos_config_add(a->tree, "manifest", a->manifest, a->manifest_len));
  json_t *cfg = json_object_get(root, "config");
  if (cfg) {
    const char *k2;
    json_t *v2;
    json_object_foreach(cfg, k2, v2) {
      char leaf[8 + SRV_MAX_CONFIG_KEY + 1];
      snprintf(leaf, sizeof(leaf), "config/%s", k2);
      ENCLOS_GUARD(enclos_config_add(a->tree, leaf, json_string_value(v2), json_string_length(v2)));
    }
  }
  ENCLOS_GUARD(enclos_config_root(a->tree, a->config_root));
cleanup:
  free(canon);
  json_decref(root);
  return rc;
}

/* ---- Runtime configuration tree and the config document ------------------------------------ */

static enclos_err proof_json(enclos_config_tree *t, const char *name, const uint8_t vh[32], enclos_buf *out) {
  size_t index;
  enclos_buf path = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_config_prove(t, name, &index, &path));
  ENCLOS_GUARD(enclos_buf_append_str(out, "{\"name\":\""));
  ENCLOS_GUARD(server__json_escape(out, name, strlen(name)));
  ENCLOS_GUARD(enclos_buf_append_str(out, "\",\"value_hash\":"));
  ENCLOS_GUARD(server__json_hex(out, vh, 32));
  ENCLOS_GUARD(enclos_buf_printf(out, ",\"index\":%zu,\"proof\":[", index));
  for (size_t i = 0; i < path.len / 32; i++) {
    if (i) ENCLOS_GUARD(enclos_buf_append_u8(out, ','));
    ENCLOS_GUARD(server__json_hex(out, path.data + 32 * i, 32));
  }
  ENCLOS_GUARD(enclos_buf_append_str(out, "]}"));
cleanup:
  enclos_buf_free(&path);
  return rc;
}

static enclos_err auth_summary(enclos_server *s, enclos_buf *out) {
  const enclos_server_config *c = &s->cfg;
  return enclos_buf_printf(out, "jwks=%s;issuer=%s;audience=%s;roles_claim=%s;admin_role=%s;dev_insecure_admin=%d",
                           c->jwks ? c->jwks : "", c->jwt_issuer ? c->jwt_issuer : "",
                           c->jwt_audience ? c->jwt_audience : "", c->roles_claim ? c->roles_claim : "roles",
                           c->admin_role ? c->admin_role : "", c->dev_insecure_admin ? 1 : 0);
}

/* Rebuilds the runtime tree over \p apps, its root, and the config document. */
static enclos_err build_config(enclos_server *s, srv_app *const *apps, size_t n, uint8_t root[32], char **doc,
                               size_t *doc_len) {
  enclos_config_tree *t = NULL;
  enclos_buf d = ENCLOS_BUF_INIT, auth = ENCLOS_BUF_INIT, man = ENCLOS_BUF_INIT, b64 = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_config_new(&t));
  ENCLOS_GUARD(auth_summary(s, &auth));
  ENCLOS_GUARD(enclos_config_add(t, "server/auth", auth.data, auth.len));
  for (size_t i = 0; i < n; i++) {
    char leaf[8 + ENCLOS_APP_NAME_MAX + 1];
    snprintf(leaf, sizeof(leaf), "app/%s", apps[i]->name);
    ENCLOS_GUARD(enclos_config_add_hash(t, leaf, apps[i]->config_root));
  }
  ENCLOS_GUARD(enclos_config_root(t, root));
  ENCLOS_GUARD(enclos_config_manifest(t, &man));
  ENCLOS_GUARD(enclos_b64_encode(&b64, man.data, man.len, ENCLOS_B64_STD));
  ENCLOS_GUARD(enclos_buf_append_str(&d, "{\"root\":"));
  ENCLOS_GUARD(server__json_hex(&d, root, 32));
  ENCLOS_GUARD(enclos_buf_printf(&d, ",\"count\":%zu,\"manifest_cbor_b64\":\"", enclos_config_count(t)));
  ENCLOS_GUARD(enclos_buf_append(&d, b64.data, b64.len));
  ENCLOS_GUARD(enclos_buf_append_str(&d, "\",\"leaves\":["));
  uint8_t vh[32];
  ENCLOS_GUARD(enclos_hash(ENCLOS_SHA256, auth.data, auth.len, vh));
  ENCLOS_GUARD(proof_json(t, "server/auth", vh, &d));
  for (size_t i = 0; i < n; i++) {
    char leaf[8 + ENCLOS_APP_NAME_MAX + 1];
    snprintf(leaf, sizeof(leaf), "app/%s", apps[i]->name);
    ENCLOS_GUARD(enclos_buf_append_u8(&d, ','));
    ENCLOS_GUARD(proof_json(t, leaf, apps[i]->config_root, &d));
  }
  ENCLOS_GUARD(enclos_buf_append_str(&d, "],\"server_auth\":\""));
  ENCLOS_GUARD(server__json_escape(&d, (const char *)auth.data, auth.len));
  ENCLOS_GUARD(enclos_buf_append_str(&d, "\",\"apps\":{"));
  for (size_t i = 0; i < n; i++) {
    const srv_app *a = apps[i];
    ENCLOS_GUARD(enclos_buf_printf(&d, "%s\"%s\":{\"code_hash\":", i ? "," : "", a->name));
    ENCLOS_GUARD(server__json_hex(&d, a->code_hash, 32));
    ENCLOS_GUARD(enclos_buf_append_str(&d, ",\"config_root\":"));
    ENCLOS_GUARD(server__json_hex(&d, a->config_root, 32));
    ENCLOS_GUARD(enclos_buf_append_str(&d, ",\"manifest\":"));
    ENCLOS_GUARD(enclos_buf_append(&d, a->manifest, a->manifest_len));
    ENCLOS_GUARD(enclos_buf_append_str(&d, ",\"leaves\":["));
    ENCLOS_GUARD(proof_json(a->tree, "code", a->code_hash, &d));
    ENCLOS_GUARD(enclos_hash(ENCLOS_SHA256, a->manifest, a->manifest_len, vh));
    ENCLOS_GUARD(enclos_buf_append_u8(&d, ','));
    ENCLOS_GUARD(proof_json(a->tree, "manifest", vh, &d));
    ENCLOS_GUARD(enclos_buf_append_str(&d, "]}"));
  }
  ENCLOS_GUARD(enclos_buf_append_str(&d, "}}\n"));
  *doc = (char *)d.data;
  *doc_len = d.len;
  d.data = NULL;
cleanup:
  enclos_buf_free(&d);
  enclos_buf_free(&auth);
  enclos_buf_free(&man);
  enclos_buf_free(&b64);
  enclos_config_free(t);
  return rc;
}

/* Installs \p apps (n of them) as the registry: new runtime tree, root and certificate.
 * Called with mgmt_lock held; takes the registry write lock only for the swap. The previous
 * app list's references are dropped by the caller. */
static enclos_err publish(enclos_server *s, srv_app **apps, size_t n) {
  uint8_t root[32];
  char *doc = NULL;
  size_t doc_len = 0;
  srv_identity *rid = NULL;
  ENCLOS_TRY(build_config(s, apps, n, root, &doc, &doc_len));
  memcpy(s->runtime_root, root, 32); /* read by mint() only, under mgmt_lock */
  enclos_err rc = mint(s, NULL, &rid);
  if (rc != ENCLOS_OK) {
    enclos_free(doc);
    return rc;
  }
  pthread_rwlock_wrlock(&s->reg_lock);
  srv_identity *old_id = s->runtime_id;
  char *old_doc = s->config_doc;
  s->runtime_id = rid;
  s->config_doc = doc;
  s->config_doc_len = doc_len;
  if (n) memcpy(s->apps, apps, n * sizeof(*apps));
  s->napps = n;
  pthread_rwlock_unlock(&s->reg_lock);
  server__ident_unref(old_id);
  enclos_free(old_doc);
  return ENCLOS_OK;
}

/* ---- Deploy / undeploy -------------------------------------------------------------------- */

static void key_of(char *k, const char *name, const char *what) { snprintf(k, KEY_MAX, "app/%s/%s", name, what); }

static enclos_err persist(enclos_server *s, const srv_app *a, const uint8_t *wasm, size_t size) {
  enclos_store_table *sys;
  enclos_store_txn *txn;
  char k1[KEY_MAX], k2[KEY_MAX];
  key_of(k1, a->name, "wasm");
  key_of(k2, a->name, "manifest");
  enclos_err rc = ENCLOS_OK;
  enclos_app_store_lock(); /* app calls use the same store handle (app.h) */
  ENCLOS_GUARD(enclos_store_system(s->store, &sys));
  ENCLOS_GUARD(enclos_store_begin(s->store, true, &txn));
  if ((rc = enclos_store_put(s->store, txn, sys, k1, strlen(k1), wasm, size)) != ENCLOS_OK ||
      (rc = enclos_store_put(s->store, txn, sys, k2, strlen(k2), a->manifest, a->manifest_len)) != ENCLOS_OK) {
    enclos_store_abort(txn);
    goto cleanup;
  }
  rc = enclos_store_commit(txn);
cleanup:
  enclos_app_store_unlock();
  return rc;
}

/* The app's own table in the sealed store (kv imports, WASI /data), created on first deploy.
 * It outlives replace and unload: a redeployed app finds its data again. */
static enclos_err app_table(enclos_server *s, const char *name, enclos_store_table **out) {
  enclos_app_store_lock();
  enclos_err rc = enclos_store_app_table(s->store, name, out);
  if (rc == ENCLOS_E_NOT_FOUND) {
    rc = enclos_store_app_create(s->store, name, 0);
    if (rc == ENCLOS_OK) rc = enclos_store_app_table(s->store, name, out);
  }
  enclos_app_store_unlock();
  return rc;
}

static void app_log(void *ctx, const char *app, int level, const char *msg, size_t len) {
  (void)ctx;
  enclos_log_level l = level <= 0 ? ENCLOS_LOG_ERROR : level == 1 ? ENCLOS_LOG_WARN : level == 2 ? ENCLOS_LOG_INFO : ENCLOS_LOG_DEBUG;
  enclos_log(l, "app", "%s: %.*s", app, (int)(len > 4096 ? 4096 : len), msg);
}

enclos_err server__deploy(enclos_server *s, const char *name, const uint8_t *wasm, size_t size,
                          const char *manifest_json, size_t manifest_len, bool persist_it, srv_app **out,
                          bool *replaced) {
  ENCLOS_ENSUREF(enclos_app_name_valid(name, strlen(name)), ENCLOS_E_INVALID,
                 "app name '%.64s' is not 1..63 of [a-z0-9-] without a leading or trailing '-'", name);
  srv_app *a = enclos_calloc(1, sizeof(*a));
  ENCLOS_ENSURE(a != NULL, ENCLOS_E_NOMEM);
  atomic_init(&a->refs, 1);
  snprintf(a->name, sizeof(a->name), "%s", name);
  a->module_size = size;
  a->deployed_at = enclos_time_now();
  enclos_err rc = ENCLOS_OK;
  bool locked = false;
  ENCLOS_GUARD(enclos_hash(ENCLOS_SHA256, wasm, size, a->code_hash));
  ENCLOS_GUARD(server__manifest_parse(name, manifest_json, manifest_len, a));
  /* App services: the app's table of the sealed store; the app layer serialises store access
   * with enclos_app_store_lock, which the server's own store use takes too. */
  enclos_app_services svc = {.store = s->store, .log = app_log, .log_ctx = s};
  ENCLOS_GUARD(app_table(s, name, &svc.table));
  ENCLOS_GUARD(enclos_app_load(name, wasm, size, &a->limits, &svc, &a->app));
  ENCLOS_GUARD_ENSUREF(memcmp(enclos_app_code_hash(a->app), a->code_hash, 32) == 0, ENCLOS_E_INTERNAL,
                       "app layer and server disagree on the code hash");
  ENCLOS_GUARD(mint(s, a, &a->ident));

  pthread_mutex_lock(&s->mgmt_lock);
  locked = true;
  srv_app *list[ENCLOS_SERVER_MAX_APPS];
  pthread_rwlock_rdlock(&s->reg_lock);
  size_t n = s->napps;
  memcpy(list, s->apps, n * sizeof(*list));
  ssize_t at = find_locked(s, name, strlen(name));
  pthread_rwlock_unlock(&s->reg_lock);
  ENCLOS_GUARD_ENSUREF(at >= 0 || n < ENCLOS_SERVER_MAX_APPS, ENCLOS_E_LIMIT, "%zu apps deployed (limit %d)", n,
                       ENCLOS_SERVER_MAX_APPS);
  if (persist_it) ENCLOS_GUARD(persist(s, a, wasm, size));
  srv_app *old = NULL;
  if (at >= 0) {
    old = list[at];
    list[at] = a;
  } else {
    /* Keep the list sorted by name: the tree, /apps and the metrics come out in that order. */
    size_t pos = 0;
    while (pos < n && strcmp(list[pos]->name, name) < 0) pos++;
    memmove(list + pos + 1, list + pos, (n - pos) * sizeof(*list));
    list[pos] = a;
    n++;
  }
  rc = publish(s, list, n);
  if (rc != ENCLOS_OK) goto cleanup; /* the store already holds it: it comes back at boot */
  pthread_mutex_unlock(&s->mgmt_lock);
  server__app_unref(old);
  if (replaced) *replaced = old != NULL;
  if (out) *out = server__app_ref(a);
  return ENCLOS_OK;
cleanup:
  if (locked) pthread_mutex_unlock(&s->mgmt_lock);
  server__app_unref(a);
  return rc;
}

enclos_err server__undeploy(enclos_server *s, const char *name) {
  enclos_err rc = ENCLOS_OK;
  pthread_mutex_lock(&s->mgmt_lock);
  srv_app *list[ENCLOS_SERVER_MAX_APPS];
  pthread_rwlock_rdlock(&s->reg_lock);
  size_t n = s->napps;
  memcpy(list, s->apps, n * sizeof(*list));
  ssize_t at = find_locked(s, name, strlen(name));
  pthread_rwlock_unlock(&s->reg_lock);
  ENCLOS_GUARD_ENSUREF(at >= 0, ENCLOS_E_NOT_FOUND, "no app named '%s'", name);
  enclos_store_table *sys;
  enclos_store_txn *txn;
  char k1[KEY_MAX], k2[KEY_MAX];
  key_of(k1, name, "wasm");
  key_of(k2, name, "manifest");
  enclos_app_store_lock();
  rc = enclos_store_system(s->store, &sys);
  if (rc == ENCLOS_OK) rc = enclos_store_begin(s->store, true, &txn);
  if (rc == ENCLOS_OK) {
    enclos_err r1 = enclos_store_delete(s->store, txn, sys, k1, strlen(k1));
    enclos_err r2 = enclos_store_delete(s->store, txn, sys, k2, strlen(k2));
    if ((r1 != ENCLOS_OK && r1 != ENCLOS_E_NOT_FOUND) || (r2 != ENCLOS_OK && r2 != ENCLOS_E_NOT_FOUND)) {
      enclos_store_abort(txn);
      rc = r1 != ENCLOS_OK && r1 != ENCLOS_E_NOT_FOUND ? r1 : r2;
    } else {
      rc = enclos_store_commit(txn);
    }
  }
  enclos_app_store_unlock();
  ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK, rc, "removing app '%s' from the store: %s", name, enclos_err_detail());
  srv_app *old = list[at];
  memmove(list + at, list + at + 1, (n - (size_t)at - 1) * sizeof(*list));
  ENCLOS_GUARD(publish(s, list, n - 1));
  pthread_mutex_unlock(&s->mgmt_lock);
  server__app_unref(old); /* in-flight calls keep their own references */
  return ENCLOS_OK;
cleanup:
  pthread_mutex_unlock(&s->mgmt_lock);
  return rc;
}

/* ---- Boot, renewal, teardown -------------------------------------------------------------- */

typedef struct boot_names {
  char names[ENCLOS_SERVER_MAX_APPS][ENCLOS_APP_NAME_MAX + 1];
  size_t n;
} boot_names;

static enclos_err collect(void *ctx, const uint8_t *key, size_t ks, const uint8_t *value, size_t vs) {
  (void)value;
  (void)vs;
  boot_names *b = ctx;
  /* "app/<name>/manifest" */
  static const char suffix[] = "/manifest";
  size_t sl = sizeof(suffix) - 1;
  if (ks <= 4 + sl || memcmp(key + ks - sl, suffix, sl) != 0) return ENCLOS_OK;
  size_t nl = ks - 4 - sl;
  ENCLOS_ENSUREF(nl <= ENCLOS_APP_NAME_MAX && b->n < ENCLOS_SERVER_MAX_APPS, ENCLOS_E_LIMIT, "stored app list");
  memcpy(b->names[b->n], key + 4, nl);
  b->names[b->n][nl] = '\0';
  b->n++;
  return ENCLOS_OK;
}

enclos_err server__registry_boot(enclos_server *s) {
  enclos_store_table *sys;
  ENCLOS_TRY(enclos_store_system(s->store, &sys));
  boot_names *b = enclos_calloc(1, sizeof(*b));
  ENCLOS_ENSURE(b != NULL, ENCLOS_E_NOMEM);
  enclos_buf wasm = ENCLOS_BUF_INIT, man = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_store_list(s->store, NULL, sys, "app/", 4, collect, b)); /* before any app runs */
  ENCLOS_GUARD(publish(s, NULL, 0));
  for (size_t i = 0; i < b->n; i++) {
    char k1[KEY_MAX], k2[KEY_MAX];
    key_of(k1, b->names[i], "wasm");
    key_of(k2, b->names[i], "manifest");
    enclos_app_store_lock(); /* apps loaded so far may run initialisers that use the store */
    rc = enclos_store_get(s->store, NULL, sys, k1, strlen(k1), &wasm);
    if (rc == ENCLOS_OK) rc = enclos_store_get(s->store, NULL, sys, k2, strlen(k2), &man);
    enclos_app_store_unlock();
    ENCLOS_GUARD(rc);
    enclos_err r = server__deploy(s, b->names[i], wasm.data, wasm.len, (const char *)man.data, man.len, false,
                                  NULL, NULL);
    if (r != ENCLOS_OK)
      ENCLOS_ERROR_LOG(MOD, "stored app '%s' does not load again: %s: %s", b->names[i], enclos_strerror(r),
                       enclos_err_detail());
    else
      ENCLOS_INFO_LOG(MOD, "app '%s' reloaded from the sealed store (%zu bytes)", b->names[i], wasm.len);
  }
cleanup:
  enclos_buf_free(&wasm);
  enclos_buf_free(&man);
  enclos_free(b);
  return rc;
}

void server__renew_identities(enclos_server *s) {
  int64_t now = enclos_time_now();
  pthread_mutex_lock(&s->mgmt_lock);
  pthread_rwlock_rdlock(&s->reg_lock);
  srv_app *list[ENCLOS_SERVER_MAX_APPS];
  size_t n = s->napps;
  for (size_t i = 0; i < n; i++) list[i] = server__app_ref(s->apps[i]);
  bool runtime_due = s->runtime_id && enclos_ratls_leaf_due(s->runtime_id->cert, now);
  pthread_rwlock_unlock(&s->reg_lock);
  for (size_t i = 0; i < n; i++) {
    srv_identity *id = NULL;
    if (enclos_ratls_leaf_due(list[i]->ident->cert, now) && mint(s, list[i], &id) == ENCLOS_OK) {
      pthread_rwlock_wrlock(&s->reg_lock);
      srv_identity *old = list[i]->ident;
      list[i]->ident = id;
      pthread_rwlock_unlock(&s->reg_lock);
      server__ident_unref(old);
      ENCLOS_INFO_LOG(MOD, "re-minted the certificate of app '%s'", list[i]->name);
    }
  }
  srv_identity *rid = NULL;
  if (runtime_due && mint(s, NULL, &rid) == ENCLOS_OK) {
    pthread_rwlock_wrlock(&s->reg_lock);
    srv_identity *old = s->runtime_id;
    s->runtime_id = rid;
    pthread_rwlock_unlock(&s->reg_lock);
    server__ident_unref(old);
    ENCLOS_INFO_LOG(MOD, "re-minted the runtime certificate");
  }
  for (size_t i = 0; i < n; i++) server__app_unref(list[i]);
  pthread_mutex_unlock(&s->mgmt_lock);
}

void server__registry_free(enclos_server *s) {
  for (size_t i = 0; i < s->napps; i++) server__app_unref(s->apps[i]);
  s->napps = 0;
  server__ident_unref(s->runtime_id);
  s->runtime_id = NULL;
  enclos_free(s->config_doc);
  s->config_doc = NULL;
}

enclos_err server__app_json(const srv_app *a, enclos_buf *out) {
  static const char *modes[] = {"public", "authenticated", "role"};
  ENCLOS_TRY(enclos_buf_printf(out, "{\"name\":\"%s\",\"code_hash\":", a->name));
  ENCLOS_TRY(server__json_hex(out, a->code_hash, 32));
  ENCLOS_TRY(enclos_buf_append_str(out, ",\"config_root\":"));
  ENCLOS_TRY(server__json_hex(out, a->config_root, 32));
  ENCLOS_TRY(enclos_buf_printf(out, ",\"module_size\":%zu,\"deployed_at\":%lld,\"auth\":\"%s\"", a->module_size,
                               (long long)a->deployed_at, modes[a->auth_mode]));
  ENCLOS_TRY(enclos_buf_printf(out,
                               ",\"limits\":{\"fuel\":%llu,\"memory_pages\":%u,\"timeout_ms\":%u,\"max_output\":%zu,"
                               "\"max_call_depth\":%u},\"calls\":%llu,\"failures\":%llu,\"traps\":%llu,\"fuel_used\":%llu,"
                               "\"manifest\":",
                               (unsigned long long)a->limits.fuel, a->limits.max_memory_pages, a->limits.timeout_ms,
                               a->limits.max_output, a->limits.max_call_depth,
                               (unsigned long long)atomic_load(&a->calls), (unsigned long long)atomic_load(&a->failures),
                               (unsigned long long)atomic_load(&a->traps), (unsigned long long)atomic_load(&a->fuel)));
  ENCLOS_TRY(enclos_buf_append(out, a->manifest, a->manifest_len));
  return enclos_buf_append_u8(out, '}');
}
