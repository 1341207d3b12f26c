/* api.c: the HTTP API of `enclos serve` (docs/server.md, "API").
 *
 * Every failure is a JSON body {"error":{"code","message"}} with a 4xx/5xx status: never a
 * 200 for a failure. Cheap public routes (health, readiness, metrics, configuration) are
 * answered on the event loop; everything that can block — fresh evidence, JWT checks (a JWKS
 * URL may be fetched), management, app calls — runs on a pool thread (server__run_job). */
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

/* ---- Responses -------------------------------------------------------------------------------- */

static bool is_head(const srv_req_view *v) { return v->req && v->req->method == ENCLOS_HTTP_HEAD; }

static void respond(srv_req_view *v, int status, const char *ctype, const void *body, size_t len,
                    const enclos_http_out_header *h, size_t nh) {
  v->status = status;
  enclos_buf_reset(v->out);
  enclos_err rc = is_head(v) ? enclos_http_write_head(v->out, status, v->req->version_minor, v->keep_alive, ctype,
                                                      len, h, nh)
                             : enclos_http_write_response(v->out, status, v->req ? v->req->version_minor : 1,
                                                          v->keep_alive, ctype, body, len, h, nh);
  if (rc != ENCLOS_OK) {
    /* Only an invalid app-supplied header can get here: answer without it. */
    enclos_buf_reset(v->out);
    v->status = 502;
    (void)enclos_http_write_error(v->out, 502, 1, v->keep_alive, "bad_app_response",
                                  "the app's response headers are invalid", NULL, 0);
  }
}

static void fail(srv_req_view *v, int status, const char *code, const char *message, const enclos_http_out_header *h,
                 size_t nh) {
  v->status = status;
  enclos_buf_reset(v->out);
  if (is_head(v)) { /* RFC 9110 §9.3.2: the same head, no body */
    enclos_buf body = ENCLOS_BUF_INIT;
    enclos_err rc = enclos_http_json_error_body(&body, code ? code : enclos_http_error_code(status), message);
    if (rc == ENCLOS_OK) respond(v, status, "application/json", body.data, body.len, h, nh);
    enclos_buf_free(&body);
    if (rc == ENCLOS_OK) return;
  }
  if (enclos_http_write_error(v->out, status, v->req ? v->req->version_minor : 1, v->keep_alive, code, message, h,
                              nh) != ENCLOS_OK) {
    enclos_buf_reset(v->out);
    v->keep_alive = false;
    (void)enclos_http_write_error(v->out, 500, 1, false, "internal_error", "error response", NULL, 0);
  }
}

static void failf(srv_req_view *v, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failf(srv_req_view *v, int status, const char *code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fail(v, status, code, msg, NULL, 0);
}

static void respond_buf(srv_req_view *v, int status, const char *ctype, enclos_buf *b) {
  respond(v, status, ctype, b->data, b->len, NULL, 0);
}

/* ---- Routing on the event loop ------------------------------------------------------------------ */

bool server__dispatch(srv_conn *c) {
  srv_req_view *v = server__conn_view(c);
  enclos_server *s = v->srv;
  const enclos_http_request *r = v->req;
  if (enclos_route_match_path(r->method, v->buf + r->path.off, r->path.len, &v->route) != ENCLOS_OK) {
    int st = v->route.status ? v->route.status : 404;
    v->route.id = ENCLOS_ROUTE_NONE;
    if (st == 405) {
      enclos_http_out_header h[1] = {{"Allow", v->route.allow}};
      fail(v, 405, NULL, "method not allowed on this path", h, 1);
    } else if (st == 400) {
      fail(v, 400, NULL, enclos_err_detail(), NULL, 0);
    } else {
      fail(v, 404, NULL, "no such route (see docs/server.md)", NULL, 0);
    }
    return false;
  }
  switch (v->route.id) {
  case ENCLOS_ROUTE_HEALTHZ:
    respond(v, 200, "application/json", "{\"status\":\"ok\"}\n", 16, NULL, 0);
    return false;
  case ENCLOS_ROUTE_READYZ: {
    if (!atomic_load(&s->ready)) {
      fail(v, 503, "not_ready", "the server is starting or stopping", NULL, 0);
      return false;
    }
    char body[64];
    pthread_rwlock_rdlock(&s->reg_lock);
    int n = snprintf(body, sizeof(body), "{\"status\":\"ready\",\"apps\":%zu}\n", s->napps);
    pthread_rwlock_unlock(&s->reg_lock);
    respond(v, 200, "application/json", body, (size_t)n, NULL, 0);
    return false;
  }
  case ENCLOS_ROUTE_METRICS: {
    enclos_buf b = ENCLOS_BUF_INIT;
    if (server__metrics_render(s, &b) == ENCLOS_OK) respond_buf(v, 200, "text/plain; version=0.0.4", &b);
    else fail(v, 500, NULL, "cannot render metrics", NULL, 0);
    enclos_buf_free(&b);
    return false;
  }
  case ENCLOS_ROUTE_CONFIG: {
    enclos_buf b = ENCLOS_BUF_INIT;
    pthread_rwlock_rdlock(&s->reg_lock);
    enclos_err rc = enclos_buf_append(&b, s->config_doc, s->config_doc_len);
    pthread_rwlock_unlock(&s->reg_lock);
    if (rc == ENCLOS_OK) respond_buf(v, 200, "application/json", &b);
    else fail(v, 500, NULL, "out of memory", NULL, 0);
    enclos_buf_free(&b);
    return false;
  }
  default:
    return true;
  }
}

/* ---- Auth ------------------------------------------------------------------------------------------- */

typedef struct auth_state {
  enclos_jwks *keys;
  bool present;          /* an Authorization header was sent */
  bool valid;            /* and it verified */
  enclos_jwt_reason why; /* why not */
  enclos_jwt_claims claims;
} auth_state;

static void check_token(srv_req_view *v, auth_state *a) {
  enclos_server *s = v->srv;
  memset(a, 0, sizeof(*a));
  int64_t now = enclos_time_now();
  if (s->jwks && enclos_jwks_source_get(s->jwks, now, &a->keys) != ENCLOS_OK) {
    ENCLOS_ERROR_LOG(MOD, "no JWKS available: %s", enclos_err_detail());
    a->keys = NULL;
  }
  const enclos_http_header *h = enclos_http_find_header(v->req, v->buf, "authorization");
  if (!h) return;
  a->present = true;
  a->why = ENCLOS_JWT_MALFORMED;
  const char *tok;
  size_t tl;
  if (enclos_auth_bearer((const char *)v->buf + h->value.off, h->value.len, &tok, &tl) != ENCLOS_OK || !a->keys)
    return;
  if (enclos_jwt_verify(a->keys, &s->jwt, now, tok, tl, &a->claims, &a->why) == ENCLOS_OK) {
    a->valid = true;
    a->why = ENCLOS_JWT_OK;
    snprintf(v->sub, sizeof(v->sub), "%s", a->claims.sub);
  } else if (a->why == ENCLOS_JWT_UNKNOWN_KID) {
    enclos_jwks_source_invalidate(s->jwks); /* keys may have rotated */
  }
}

/* Answers 401/403 for a refused decision; true when the request may go on. */
static bool enforce(srv_req_view *v, const auth_state *a, const enclos_auth_decision *d) {
  if (d->verdict == ENCLOS_AUTH_ALLOW) return true;
  if (d->verdict == ENCLOS_AUTH_ALLOW_INSECURE) {
    ENCLOS_WARN_LOG(MOD, "INSECURE: %s %s allowed without authentication (--dev-insecure-admin)",
                    enclos_route_name(v->route.id), v->route.app[0] ? v->route.app : "");
    return true;
  }
  if (d->status == 401) {
    char www[256];
    enclos_auth_www_authenticate(a->present ? (a->why ? a->why : ENCLOS_JWT_MALFORMED) : ENCLOS_JWT_OK, www,
                                 sizeof(www));
    enclos_http_out_header h[1] = {{"WWW-Authenticate", www}};
    char msg[256];
    snprintf(msg, sizeof(msg), "%s%s%s", d->reason, a->present ? ": token refused: " : "",
             a->present ? enclos_jwt_reason_name(a->why ? a->why : ENCLOS_JWT_MALFORMED) : "");
    fail(v, 401, "unauthorized", msg, h, 1);
  } else {
    fail(v, d->status ? d->status : 403, "forbidden", d->reason, NULL, 0);
  }
  return false;
}

/* ---- Fresh evidence ------------------------------------------------------------------------------------ */

static void attestation(srv_req_view *v) {
  enclos_server *s = v->srv;
  char hex[2 * ENCLOS_CLAIMS_MAX_NONCE + 2];
  size_t hl = 0;
  uint8_t nonce[ENCLOS_CLAIMS_MAX_NONCE];
  if (!v->req->has_query ||
      enclos_http_query_get(v->buf + v->req->query.off, v->req->query.len, "nonce", hex, sizeof(hex), &hl) !=
          ENCLOS_OK ||
      hl == 0 || hl % 2 || hl / 2 > sizeof(nonce) || enclos_hex_decode_to(nonce, hl / 2, hex, hl) != ENCLOS_OK) {
    failf(v, 400, "bad_nonce", "nonce must be 1..%d bytes of hex in ?nonce=", ENCLOS_CLAIMS_MAX_NONCE);
    return;
  }
  enclos_x509 *leaf = NULL;
  enclos_buf ext = ENCLOS_BUF_INIT;
  if (enclos_tls_own_cert(v->tls, &leaf) != ENCLOS_OK) {
    fail(v, 500, NULL, enclos_err_detail(), NULL, 0);
    return;
  }
  /* The runtime's config root is added only when this connection presented the current
   * runtime certificate; an app certificate (or an older one) carries its own claims. */
  uint8_t root[32];
  bool with_root = false;
  pthread_rwlock_rdlock(&s->reg_lock);
  const uint8_t *d1, *d2;
  size_t n1, n2;
  enclos_x509_der(leaf, &d1, &n1);
  enclos_x509_der(s->runtime_id->cert, &d2, &n2);
  if (n1 == n2 && memcmp(d1, d2, n1) == 0) {
    memcpy(root, s->runtime_root, 32);
    with_root = true;
  }
  pthread_rwlock_unlock(&s->reg_lock);
  pthread_mutex_lock(&s->tee_lock);
  enclos_err rc = enclos_ratls_fresh_evidence(s->tee, v->tls, leaf, nonce, hl / 2, with_root ? root : NULL, &ext);
  pthread_mutex_unlock(&s->tee_lock);
  if (rc == ENCLOS_OK) respond_buf(v, 200, "application/cbor", &ext);
  else failf(v, 500, "evidence_failed", "fresh evidence: %s", enclos_err_detail());
  enclos_x509_free(leaf);
  enclos_buf_free(&ext);
}

/* ---- Management ----------------------------------------------------------------------------------------- */

static int load_status(enclos_err rc) {
  switch (rc) {
  case ENCLOS_E_NOMEM: return 503;
  case ENCLOS_E_IO:
  case ENCLOS_E_INTERNAL:
  case ENCLOS_E_CRYPTO:
  case ENCLOS_E_STATE:
  case ENCLOS_E_TAMPERED:
  case ENCLOS_E_ROLLBACK: return 500;
  default: return 422; /* the module or manifest is not acceptable */
  }
}

static void deploy(srv_req_view *v) {
  const enclos_http_request *r = v->req;
  json_error_t jerr;
  enclos_buf wasm = ENCLOS_BUF_INIT;
  char *man = NULL;
  json_t *root = json_loadb((const char *)v->buf + r->body.off, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root || !json_is_object(root)) {
    failf(v, 400, "bad_request", "deploy body must be a JSON object {\"name\",\"module\",\"manifest\"}: %s",
          root ? "not an object" : jerr.text);
    goto done;
  }
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "name") && strcmp(key, "module") && strcmp(key, "manifest")) {
      failf(v, 400, "bad_request", "unknown key '%.64s' in the deploy body (name, module, manifest)", key);
      goto done;
    }
  }
  const char *name = json_string_value(json_object_get(root, "name"));
  const char *mod = json_string_value(json_object_get(root, "module"));
  json_t *mj = json_object_get(root, "manifest");
  if (!name || !enclos_app_name_valid(name, strlen(name))) {
    fail(v, 400, "bad_app_name", "name must be 1..63 of [a-z0-9-], not starting or ending with '-'", NULL, 0);
    goto done;
  }
  if (!mod || enclos_b64_decode(&wasm, mod, strlen(mod), ENCLOS_B64_STD) != ENCLOS_OK || wasm.len == 0) {
    failf(v, 400, "bad_module", "module must be the wasm bytes in standard base64: %s",
          mod ? enclos_err_detail() : "missing");
    goto done;
  }
  if (mj && !json_is_object(mj)) {
    fail(v, 400, "invalid_manifest", "manifest must be a JSON object", NULL, 0);
    goto done;
  }
  man = mj ? json_dumps(mj, JSON_COMPACT) : NULL;
  snprintf(v->app, sizeof(v->app), "%s", name);
  srv_app *a = NULL;
  bool replaced = false;
  enclos_err rc = server__deploy(v->srv, name, wasm.data, wasm.len, man, man ? strlen(man) : 0, true, &a, &replaced);
  if (rc != ENCLOS_OK) {
    failf(v, load_status(rc), load_status(rc) == 422 ? "invalid_app" : NULL, "deploy '%s' refused: %s: %s", name,
          enclos_strerror(rc), enclos_err_detail());
    goto done;
  }
  ENCLOS_INFO_LOG(MOD, "app '%s' %s (%zu bytes) by %s", name, replaced ? "replaced" : "deployed", wasm.len,
                  v->sub[0] ? v->sub : "(no token)");
  enclos_buf b = ENCLOS_BUF_INIT;
  if (enclos_buf_printf(&b, "{\"replaced\":%s,\"app\":", replaced ? "true" : "false") == ENCLOS_OK &&
      server__app_json(a, &b) == ENCLOS_OK && enclos_buf_append_str(&b, "}\n") == ENCLOS_OK)
    respond_buf(v, replaced ? 200 : 201, "application/json", &b);
  else
    fail(v, 500, NULL, "out of memory", NULL, 0);
  enclos_buf_free(&b);
  server__app_unref(a);
done:
  free(man);
  json_decref(root);
  enclos_buf_free(&wasm);
}

static void list_apps(srv_req_view *v) {
  enclos_server *s = v->srv;
  enclos_buf b = ENCLOS_BUF_INIT;
  enclos_err rc = enclos_buf_append_str(&b, "{\"apps\":[");
  pthread_rwlock_rdlock(&s->reg_lock);
  for (size_t i = 0; i < s->napps && rc == ENCLOS_OK; i++) {
    if (i) rc = enclos_buf_append_u8(&b, ',');
    if (rc == ENCLOS_OK) rc = server__app_json(s->apps[i], &b);
  }
  pthread_rwlock_unlock(&s->reg_lock);
  if (rc == ENCLOS_OK) rc = enclos_buf_append_str(&b, "]}\n");
  if (rc == ENCLOS_OK) respond_buf(v, 200, "application/json", &b);
  else fail(v, 500, NULL, "out of memory", NULL, 0);
  enclos_buf_free(&b);
}

static void get_app(srv_req_view *v) {
  srv_app *a = server__app_get(v->srv, v->route.app, strlen(v->route.app));
  if (!a) {
    failf(v, 404, "app_not_found", "no app named '%s'", v->route.app);
    return;
  }
  enclos_buf b = ENCLOS_BUF_INIT;
  if (server__app_json(a, &b) == ENCLOS_OK && enclos_buf_append_u8(&b, '\n') == ENCLOS_OK)
    respond_buf(v, 200, "application/json", &b);
  else
    fail(v, 500, NULL, "out of memory", NULL, 0);
  enclos_buf_free(&b);
  server__app_unref(a);
}

static void delete_app(srv_req_view *v) {
  enclos_err rc = server__undeploy(v->srv, v->route.app);
  if (rc == ENCLOS_E_NOT_FOUND) {
    failf(v, 404, "app_not_found", "no app named '%s'", v->route.app);
    return;
  }
  if (rc != ENCLOS_OK) {
    failf(v, 500, NULL, "unloading '%s': %s", v->route.app, enclos_err_detail());
    return;
  }
  ENCLOS_INFO_LOG(MOD, "app '%s' unloaded by %s", v->route.app, v->sub[0] ? v->sub : "(no token)");
  char body[128];
  int n = snprintf(body, sizeof(body), "{\"deleted\":\"%s\"}\n", v->route.app);
  respond(v, 200, "application/json", body, (size_t)n, NULL, 0);
}

/* ---- App calls ---------------------------------------------------------------------------------------------- */

static void app_failure(srv_req_view *v, const srv_app *a, enclos_err rc, const enclos_app_call_info *info,
                        bool http_route) {
  switch (rc) {
  case ENCLOS_E_FUEL:
    failf(v, 500, "fuel_exhausted", "app '%s' ran out of fuel: %llu instructions used, limit %llu", a->name,
          (unsigned long long)info->fuel_used, (unsigned long long)a->limits.fuel);
    break;
  case ENCLOS_E_INTERRUPTED:
  case ENCLOS_E_TIMEOUT:
    failf(v, 504, "app_timeout", "app '%s' did not finish within %u ms", a->name, a->limits.timeout_ms);
    break;
  case ENCLOS_E_TRAP:
    failf(v, 500, "app_trap", "app '%s' trapped%s%s: %s", a->name, info->trap_func[0] ? " in " : "", info->trap_func,
          enclos_err_detail());
    break;
  case ENCLOS_E_NOT_FOUND:
    failf(v, 404, "export_not_found", "app '%s': %s", a->name, enclos_err_detail());
    break;
  case ENCLOS_E_INVAL:
  case ENCLOS_E_MALFORMED:
    if (http_route) failf(v, 502, "bad_app_response", "app '%s' wrote an invalid CGI response: %s", a->name, enclos_err_detail());
    else failf(v, 400, "bad_arguments", "app '%s': %s", a->name, enclos_err_detail());
    break;
  case ENCLOS_E_LIMIT:
    failf(v, 502, "app_output_too_large", "app '%s': %s", a->name, enclos_err_detail());
    break;
  case ENCLOS_E_RANGE:
    failf(v, 502, "bad_app_result", "app '%s': %s", a->name, enclos_err_detail());
    break;
  case ENCLOS_E_NOMEM:
    failf(v, 503, "out_of_memory", "app '%s': %s", a->name, enclos_err_detail());
    break;
  default:
    failf(v, 500, NULL, "app '%s': %s: %s", a->name, enclos_strerror(rc), enclos_err_detail());
    break;
  }
}

static void account(srv_app *a, enclos_err rc, const enclos_app_call_info *info, srv_req_view *v) {
  atomic_fetch_add_explicit(&a->calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&a->fuel, info->fuel_used, memory_order_relaxed);
  if (info->trapped || rc == ENCLOS_E_FUEL || rc == ENCLOS_E_TRAP || rc == ENCLOS_E_INTERRUPTED)
    atomic_fetch_add_explicit(&a->traps, 1, memory_order_relaxed);
  if (rc != ENCLOS_OK) atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
  v->fuel = info->fuel_used;
}

static void call_app(srv_req_view *v, srv_app *a) {
  const enclos_http_request *r = v->req;
  const char *args = r->body.len ? (const char *)v->buf + r->body.off : "[]";
  size_t alen = r->body.len ? r->body.len : 2;
  enclos_buf result = ENCLOS_BUF_INIT;
  enclos_app_call_info info;
  memset(&info, 0, sizeof(info));
  enclos_err rc = enclos_app_call(a->app, v->route.export_name, args, alen, &result, &info);
  account(a, rc, &info, v);
  if (rc == ENCLOS_OK) {
    char fuel[24];
    snprintf(fuel, sizeof(fuel), "%llu", (unsigned long long)info.fuel_used);
    enclos_http_out_header h[1] = {{"Enclos-Fuel-Used", fuel}};
    respond(v, 200, "application/json", result.data, result.len, h, 1);
  } else {
    app_failure(v, a, rc, &info, false);
  }
  enclos_buf_free(&result);
}

#define CGI_MAX_HEADERS ENCLOS_HTTP_MAX_HEADERS_CAP

static void http_app(srv_req_view *v, srv_app *a) {
  const enclos_http_request *r = v->req;
  char method[33], *query = NULL, *path = NULL, ctype[256];
  enclos_app_header hs[CGI_MAX_HEADERS];
  size_t nh = 0;
  snprintf(method, sizeof(method), "%.*s", (int)(r->method_text.len > 32 ? 32 : r->method_text.len),
           (const char *)v->buf + r->method_text.off);
  size_t rl = v->route.rest_len;
  path = enclos_malloc(rl + 2);
  query = enclos_malloc(r->query.len + 1);
  enclos_app_http_response resp;
  memset(&resp, 0, sizeof(resp));
  enclos_buf_free(&resp.body);
  if (!path || !query) {
    fail(v, 503, "out_of_memory", "out of memory", NULL, 0);
    goto done;
  }
  if (rl == 0) {
    memcpy(path, "/", 2);
  } else {
    memcpy(path, v->buf + r->path.off + v->route.rest_off, rl);
    path[rl] = '\0';
  }
  memcpy(query, v->buf + r->query.off, r->query.len);
  query[r->query.len] = '\0';
  const enclos_http_header *ct = enclos_http_find_header(r, v->buf, "content-type");
  if (ct) snprintf(ctype, sizeof(ctype), "%.*s", (int)(ct->value.len > 255 ? 255 : ct->value.len),
                   (const char *)v->buf + ct->value.off);
  for (size_t i = 0; i < r->header_count && nh < CGI_MAX_HEADERS; i++) {
    /* RFC 3875 §4.1.18: credentials are not passed on to the script. */
    if (enclos_http_span_ieq(v->buf, r->headers[i].name, "authorization") ||
        enclos_http_span_ieq(v->buf, r->headers[i].name, "proxy-authorization"))
      continue;
    hs[nh].name = (const char *)v->buf + r->headers[i].name.off;
    hs[nh].name_len = r->headers[i].name.len;
    hs[nh].value = (const char *)v->buf + r->headers[i].value.off;
    hs[nh].value_len = r->headers[i].value.len;
    nh++;
  }
  enclos_app_http_request req = {.method = method,
                                 .path = path,
                                 .query = query,
                                 .content_type = ct ? ctype : NULL,
                                 .headers = hs,
                                 .nheaders = nh,
                                 .body = v->buf + r->body.off,
                                 .body_len = r->body.len};
  enclos_app_call_info info;
  memset(&info, 0, sizeof(info));
  enclos_err rc = enclos_app_http(a->app, &req, &resp, &info);
  account(a, rc, &info, v);
  if (rc != ENCLOS_OK) {
    app_failure(v, a, rc, &info, true);
    goto done;
  }
  enclos_http_out_header oh[ENCLOS_APP_MAX_RESPONSE_HEADERS + 1];
  size_t no = 0;
  for (size_t i = 0; i < resp.nheaders && i < ENCLOS_APP_MAX_RESPONSE_HEADERS; i++) {
    /* Framing belongs to the server (RFC 9112 §6): an app cannot smuggle a second length. */
    if (strcasecmp(resp.headers[i].name, "content-length") == 0 ||
        strcasecmp(resp.headers[i].name, "transfer-encoding") == 0 ||
        strcasecmp(resp.headers[i].name, "connection") == 0)
      continue;
    oh[no].name = resp.headers[i].name;
    oh[no].value = resp.headers[i].value;
    no++;
  }
  char fuel[24];
  snprintf(fuel, sizeof(fuel), "%llu", (unsigned long long)info.fuel_used);
  oh[no].name = "Enclos-Fuel-Used";
  oh[no].value = fuel;
  no++;
  int status = resp.status >= 100 && resp.status <= 599 ? resp.status : 502;
  if (status < 200) status = 502; /* an interim status cannot be the final response */
  respond(v, status, resp.content_type[0] ? resp.content_type : "application/octet-stream", resp.body.data,
          resp.body.len, oh, no);
done:
  enclos_buf_free(&resp.body);
  enclos_free(path);
  enclos_free(query);
}

/* ---- Pool thread entry -------------------------------------------------------------------------------------- */

void server__run_job(srv_conn *c) {
  srv_req_view *v = server__conn_view(c);
  enclos_server *s = v->srv;
  auth_state a;
  check_token(v, &a);
  enclos_auth_config ac = {.keys = a.keys, .jwt = s->jwt, .admin_role = s->cfg.admin_role,
                           .dev_insecure_admin = s->cfg.dev_insecure_admin};
  enclos_auth_decision d;
  enclos_route_id id = v->route.id;
  if (enclos_route_is_management(id)) {
    enclos_auth_route(&ac, id, a.valid ? &a.claims : NULL, &d);
    if (enforce(v, &a, &d)) {
      if (id == ENCLOS_ROUTE_APPS_DEPLOY) deploy(v);
      else if (id == ENCLOS_ROUTE_APPS_LIST) list_apps(v);
      else if (id == ENCLOS_ROUTE_APP_GET) get_app(v);
      else if (id == ENCLOS_ROUTE_APP_DELETE) delete_app(v);
      else fail(v, 500, NULL, "unhandled management route", NULL, 0);
    }
  } else if (id == ENCLOS_ROUTE_ATTESTATION) {
    attestation(v);
  } else if (id == ENCLOS_ROUTE_APP_CALL || id == ENCLOS_ROUTE_APP_HTTP) {
    snprintf(v->app, sizeof(v->app), "%s", v->route.app);
    srv_app *app = server__app_get(s, v->route.app, strlen(v->route.app));
    if (!app) {
      failf(v, 404, "app_not_found", "no app named '%s'", v->route.app);
    } else {
      enclos_auth_app(&ac, app->auth_mode, app->role, a.valid ? &a.claims : NULL, &d);
      if (enforce(v, &a, &d)) {
        if (id == ENCLOS_ROUTE_APP_CALL) call_app(v, app);
        else http_app(v, app);
      }
      server__app_unref(app);
    }
  } else {
    fail(v, 500, NULL, "unhandled route", NULL, 0);
  }
  enclos_jwks_free(a.keys);
  enclos_wipe(&a.claims, sizeof(a.claims));
}
