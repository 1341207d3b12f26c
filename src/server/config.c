/* config.c: built-in defaults of `enclos serve` and the JSON configuration file
 * (docs/server.md, "Configuration file"). Unknown keys and wrongly typed values are errors
 * naming the key, so a typo never silently leaves a default in place. */
#include <string.h>

#include <jansson.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>

#include "server_int.h"

struct enclos_server_config_file {
  json_t *root; /* owns the strings the config points at */
};

void enclos_server_config_default(enclos_server_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->listen = ENCLOS_SERVER_DEFAULT_LISTEN;
  cfg->tee = ENCLOS_TEE_SIM;
  cfg->domain = "localhost";
  cfg->max_connections = ENCLOS_SERVER_DEFAULT_MAX_CONNECTIONS;
  cfg->max_queue = ENCLOS_SERVER_DEFAULT_QUEUE;
  cfg->idle_timeout_ms = ENCLOS_SERVER_DEFAULT_IDLE_MS;
  cfg->request_timeout_ms = ENCLOS_SERVER_DEFAULT_REQUEST_MS;
  cfg->handshake_timeout_ms = ENCLOS_SERVER_DEFAULT_HANDSHAKE_MS;
  enclos_http_limits_default(&cfg->http);
  cfg->jwt_skew = ENCLOS_JWT_DEFAULT_SKEW;
}

enclos_err server__json_hex(enclos_buf *out, const uint8_t *p, size_t n) {
  uint8_t *dst;
  ENCLOS_TRY(enclos_buf_append_u8(out, '"'));
  ENCLOS_TRY(enclos_buf_append_zeros(out, 2 * n, &dst));
  char tmp[2 * 64 + 1];
  for (size_t off = 0; off < n; off += 64) {
    size_t k = n - off < 64 ? n - off : 64;
    enclos_hex_encode_to(tmp, p + off, k);
    memcpy(dst + 2 * off, tmp, 2 * k);
  }
  return enclos_buf_append_u8(out, '"');
}

static enclos_err str(json_t *v, const char *key, const char **out) {
  ENCLOS_ENSUREF(json_is_string(v) || json_is_null(v), ENCLOS_E_INVALID, "config: %s must be a string", key);
  *out = json_is_null(v) ? NULL : json_string_value(v);
  return ENCLOS_OK;
}

static enclos_err num(json_t *v, const char *key, uint64_t min, uint64_t max, uint64_t *out) {
  ENCLOS_ENSUREF(json_is_integer(v), ENCLOS_E_INVALID, "config: %s must be an integer", key);
  json_int_t x = json_integer_value(v);
  ENCLOS_ENSUREF(x >= 0 && (uint64_t)x >= min && (uint64_t)x <= max, ENCLOS_E_RANGE,
                 "config: %s = %lld is outside %llu..%llu", key, (long long)x, (unsigned long long)min,
                 (unsigned long long)max);
  *out = (uint64_t)x;
  return ENCLOS_OK;
}

static enclos_err boot_apps(json_t *v, enclos_server_config *cfg) {
  ENCLOS_ENSUREF(json_is_array(v), ENCLOS_E_INVALID, "config: apps must be an array");
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    ENCLOS_ENSUREF(cfg->boot_app_count < ENCLOS_SERVER_MAX_BOOT_APPS, ENCLOS_E_LIMIT, "config: more than %d apps",
                   ENCLOS_SERVER_MAX_BOOT_APPS);
    enclos_server_boot_app *b = &cfg->boot_apps[cfg->boot_app_count];
    memset(b, 0, sizeof(*b));
    const char *k;
    json_t *x;
    ENCLOS_ENSUREF(json_is_object(e), ENCLOS_E_INVALID, "config: apps[%zu] must be an object", i);
    json_object_foreach(e, k, x) {
      if (strcmp(k, "name") == 0) ENCLOS_TRY(str(x, "apps[].name", &b->name));
      else if (strcmp(k, "wasm") == 0) ENCLOS_TRY(str(x, "apps[].wasm", &b->wasm_path));
      else if (strcmp(k, "manifest") == 0) ENCLOS_TRY(str(x, "apps[].manifest", &b->manifest_path));
      else ENCLOS_FAILF(ENCLOS_E_INVALID, "config: unknown key apps[%zu].%s (name, wasm, manifest)", i, k);
    }
    ENCLOS_ENSUREF(b->name && b->wasm_path, ENCLOS_E_INVALID, "config: apps[%zu] needs name and wasm", i);
    cfg->boot_app_count++;
  }
  return ENCLOS_OK;
}

static enclos_err apply(json_t *root, enclos_server_config *cfg) {
  ENCLOS_ENSUREF(json_is_object(root), ENCLOS_E_INVALID, "config: the file must hold a JSON object");
  const char *key;
  json_t *v;
  uint64_t u;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "listen") == 0) ENCLOS_TRY(str(v, key, &cfg->listen));
    else if (strcmp(key, "data") == 0) ENCLOS_TRY(str(v, key, &cfg->data_dir));
    else if (strcmp(key, "domain") == 0) ENCLOS_TRY(str(v, key, &cfg->domain));
    else if (strcmp(key, "tee") == 0) {
      const char *t;
      ENCLOS_TRY(str(v, key, &t));
      ENCLOS_ENSUREF(t && enclos_tee_kind_parse(t, &cfg->tee) == ENCLOS_OK, ENCLOS_E_INVALID, "config: unknown tee '%s'",
                     t ? t : "null");
    } else if (strcmp(key, "workers") == 0) {
      ENCLOS_TRY(num(v, key, 0, ENCLOS_SERVER_MAX_WORKERS, &u));
      cfg->workers = (unsigned)u;
    } else if (strcmp(key, "app_threads") == 0) {
      ENCLOS_TRY(num(v, key, 0, ENCLOS_SERVER_MAX_APP_THREADS, &u));
      cfg->app_threads = (unsigned)u;
    } else if (strcmp(key, "max_connections") == 0) {
      ENCLOS_TRY(num(v, key, 1, ENCLOS_SERVER_MAX_CONNECTIONS_CAP, &u));
      cfg->max_connections = (size_t)u;
    } else if (strcmp(key, "max_queue") == 0) {
      ENCLOS_TRY(num(v, key, 1, 1000000, &u));
      cfg->max_queue = (size_t)u;
    } else if (strcmp(key, "idle_timeout_ms") == 0) {
      ENCLOS_TRY(num(v, key, 100, 3600000, &u));
      cfg->idle_timeout_ms = (uint32_t)u;
    } else if (strcmp(key, "request_timeout_ms") == 0) {
      ENCLOS_TRY(num(v, key, 100, 3600000, &u));
      cfg->request_timeout_ms = (uint32_t)u;
    } else if (strcmp(key, "handshake_timeout_ms") == 0) {
      ENCLOS_TRY(num(v, key, 100, 600000, &u));
      cfg->handshake_timeout_ms = (uint32_t)u;
    } else if (strcmp(key, "max_body") == 0) {
      ENCLOS_TRY(num(v, key, 0, 256u << 20, &u));
      cfg->http.max_body = u;
    } else if (strcmp(key, "max_headers") == 0) {
      ENCLOS_TRY(num(v, key, 1, ENCLOS_HTTP_MAX_HEADERS_CAP, &u));
      cfg->http.max_headers = (size_t)u;
    } else if (strcmp(key, "max_header_section") == 0) {
      ENCLOS_TRY(num(v, key, 256, 1u << 20, &u));
      cfg->http.max_header_section = (size_t)u;
    } else if (strcmp(key, "max_request_line") == 0) {
      ENCLOS_TRY(num(v, key, 64, 1u << 20, &u));
      cfg->http.max_request_line = (size_t)u;
    } else if (strcmp(key, "leaf_lifetime_s") == 0) {
      ENCLOS_TRY(num(v, key, 300, 7 * 24 * 3600, &u));
      cfg->leaf_lifetime_s = (int64_t)u;
    } else if (strcmp(key, "jwks") == 0) ENCLOS_TRY(str(v, key, &cfg->jwks));
    else if (strcmp(key, "jwt_issuer") == 0) ENCLOS_TRY(str(v, key, &cfg->jwt_issuer));
    else if (strcmp(key, "jwt_audience") == 0) ENCLOS_TRY(str(v, key, &cfg->jwt_audience));
    else if (strcmp(key, "roles_claim") == 0) ENCLOS_TRY(str(v, key, &cfg->roles_claim));
    else if (strcmp(key, "admin_role") == 0) ENCLOS_TRY(str(v, key, &cfg->admin_role));
    else if (strcmp(key, "jwt_skew_s") == 0) {
      ENCLOS_TRY(num(v, key, 0, ENCLOS_JWT_MAX_SKEW, &u));
      cfg->jwt_skew = (int64_t)u;
    } else if (strcmp(key, "dev_insecure_admin") == 0) {
      ENCLOS_ENSUREF(json_is_boolean(v), ENCLOS_E_INVALID, "config: %s must be true or false", key);
      cfg->dev_insecure_admin = json_is_true(v);
    } else if (strcmp(key, "access_log") == 0) ENCLOS_TRY(str(v, key, &cfg->access_log));
    else if (strcmp(key, "ready_file") == 0) ENCLOS_TRY(str(v, key, &cfg->ready_file));
    else if (strcmp(key, "apps") == 0) ENCLOS_TRY(boot_apps(v, cfg));
    else ENCLOS_FAILF(ENCLOS_E_INVALID, "config: unknown key '%s' (see docs/server.md)", key);
  }
  return ENCLOS_OK;
}

enclos_err server__config_parse(const char *text, size_t n, const char *what, enclos_server_config *cfg,
                                enclos_server_config_file **holder) {
  json_error_t jerr;
  json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
  ENCLOS_ENSUREF(root != NULL, ENCLOS_E_MALFORMED, "config file %s: %s (line %d, column %d)", what, jerr.text,
                 jerr.line, jerr.column);
  enclos_server_config_file *h = enclos_calloc(1, sizeof(*h));
  if (!h) {
    json_decref(root);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  h->root = root;
  enclos_err rc = apply(root, cfg);
  if (rc != ENCLOS_OK) {
    enclos_server_config_file_free(h);
    return rc;
  }
  *holder = h;
  return ENCLOS_OK;
}

enclos_err enclos_server_config_load(const char *path, enclos_server_config *cfg,
                                     enclos_server_config_file **holder) {
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f != NULL, ENCLOS_E_IO, "cannot open config file %s", path);
  char *text = enclos_malloc(ENCLOS_SERVER_MAX_CONFIG_FILE + 1);
  size_t n = text ? fread(text, 1, ENCLOS_SERVER_MAX_CONFIG_FILE + 1, f) : 0;
  fclose(f);
  ENCLOS_ENSURE(text != NULL, ENCLOS_E_NOMEM);
  if (n > ENCLOS_SERVER_MAX_CONFIG_FILE) {
    enclos_free(text);
    ENCLOS_FAILF(ENCLOS_E_LIMIT, "config file %s is larger than %u bytes", path, ENCLOS_SERVER_MAX_CONFIG_FILE);
  }
  enclos_err rc = server__config_parse(text, n, path, cfg, holder);
  enclos_free(text);
  return rc;
}

void enclos_server_config_file_free(enclos_server_config_file *h) {
  if (!h) return;
  json_decref(h->root);
  enclos_free(h);
}
