/* http.c: the CGI-style handler (docs/apps.md, "CGI-style HTTP handler"; RFC 3875 subset).
 *
 * Request -> environment (RFC 3875 §4.1: REQUEST_METHOD, PATH_INFO, QUERY_STRING,
 * CONTENT_TYPE, CONTENT_LENGTH, HTTP_<NAME>) + stdin (the body). The module's `_start` runs, or
 * its `handle` export when it has no `_start`.
 *
 * Response (RFC 3875 §6): stdout is an optional header block, then the body. The output has a
 * header block exactly when its first line has the shape of a header field (a token, then
 * ':'); the block ends at the first empty line (LF or CRLF line ends) and is then validated
 * strictly: `Status: NNN [reason]` (100..599), `Content-Type:`, and other fields with token
 * names and values free of control characters. Framing and hop-by-hop fields (Content-Length,
 * Transfer-Encoding, Connection, ...) belong to the server and are refused, as are duplicate
 * Status/Content-Type lines, oversized names/values and more than
 * ENCLOS_APP_MAX_RESPONSE_HEADERS fields. Anything else is ENCLOS_E_MALFORMED naming the line.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <enclos/mem.h>

#include "app_int.h"

/* ---- CGI output ----------------------------------------------------------------------------- */

static bool is_tchar(unsigned char c) {
  /* RFC 9110 §5.6.2 token characters */
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Fields the server owns: framing (RFC 9112 §6) and hop-by-hop (RFC 9110 §7.6.1). */
static bool server_owned(const char *n, size_t len) {
  static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                      "keep-alive",     "upgrade",           "te",
                                      "trailer",        "proxy-connection"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strlen(names[i]) == len && strncasecmp(names[i], n, len) == 0) return true;
  return false;
}

static bool looks_like_header(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len && is_tchar(p[i])) i++;
  return i > 0 && i < len && p[i] == ':';
}

enclos_err app__cgi_parse(const uint8_t *out, size_t len, bool failed_exit,
                          enclos_app_http_response *resp) {
  resp->status = failed_exit ? 500 : 200;
  snprintf(resp->content_type, sizeof(resp->content_type), "application/octet-stream");
  resp->nheaders = 0;
  size_t body = 0;
  if (len > 0 && looks_like_header(out, len)) {
    bool have_status = false, have_ct = false;
    size_t pos = 0, line_no = 0;
    for (;;) {
      line_no++;
      const uint8_t *nl = memchr(out + pos, '\n', len - pos);
      ENCLOS_ENSUREF(nl, ENCLOS_E_MALFORMED,
                     "CGI header block: line %zu is not terminated (no empty line ends the block)",
                     line_no);
      size_t end = (size_t)(nl - out), next = end + 1;
      if (end > pos && out[end - 1] == '\r') end--;
      ENCLOS_ENSUREF(next <= APP_MAX_CGI_HEADER, ENCLOS_E_MALFORMED,
                     "CGI header block longer than %u bytes", APP_MAX_CGI_HEADER);
      if (end == pos) { /* the empty line */
        body = next;
        break;
      }
      const uint8_t *l = out + pos;
      size_t ll = end - pos, nlen = 0;
      while (nlen < ll && is_tchar(l[nlen])) nlen++;
      ENCLOS_ENSUREF(nlen > 0 && nlen < ll && l[nlen] == ':', ENCLOS_E_MALFORMED,
                     "CGI header line %zu: not \"Name: value\"", line_no);
      size_t v = nlen + 1, vend = ll;
      while (v < vend && (l[v] == ' ' || l[v] == '\t')) v++;
      while (vend > v && (l[vend - 1] == ' ' || l[vend - 1] == '\t')) vend--;
      for (size_t i = v; i < vend; i++)
        ENCLOS_ENSUREF(l[i] == '\t' || (l[i] >= 0x20 && l[i] != 0x7f), ENCLOS_E_MALFORMED,
                       "CGI header line %zu (%.*s): control character 0x%02x in the value",
                       line_no, (int)nlen, (const char *)l, l[i]);
      const char *name = (const char *)l, *val = (const char *)l + v;
      size_t vlen = vend - v;
      if (nlen == 6 && strncasecmp(name, "Status", 6) == 0) {
        ENCLOS_ENSUREF(!have_status, ENCLOS_E_MALFORMED, "CGI header line %zu: second Status", line_no);
        have_status = true;
        ENCLOS_ENSUREF(vlen >= 3 && val[0] >= '1' && val[0] <= '5' && val[1] >= '0' &&
                           val[1] <= '9' && val[2] >= '0' && val[2] <= '9' &&
                           (vlen == 3 || val[3] == ' '),
                       ENCLOS_E_MALFORMED,
                       "CGI header line %zu: Status must be a code 100..599 and a reason, got \"%.*s\"",
                       line_no, (int)(vlen > 40 ? 40 : vlen), val);
        resp->status = (val[0] - '0') * 100 + (val[1] - '0') * 10 + (val[2] - '0');
        ENCLOS_ENSUREF(resp->status >= 100, ENCLOS_E_MALFORMED, "CGI header line %zu: Status %d",
                       line_no, resp->status);
      } else if (nlen == 12 && strncasecmp(name, "Content-Type", 12) == 0) {
        ENCLOS_ENSUREF(!have_ct, ENCLOS_E_MALFORMED, "CGI header line %zu: second Content-Type",
                       line_no);
        have_ct = true;
        ENCLOS_ENSUREF(vlen > 0 && vlen < sizeof(resp->content_type), ENCLOS_E_MALFORMED,
                       "CGI header line %zu: Content-Type of %zu bytes (1..%zu)", line_no, vlen,
                       sizeof(resp->content_type) - 1);
        memcpy(resp->content_type, val, vlen);
        resp->content_type[vlen] = '\0';
      } else {
        ENCLOS_ENSUREF(!server_owned(name, nlen), ENCLOS_E_MALFORMED,
                       "CGI header line %zu: %.*s is set by the server, not the app", line_no,
                       (int)nlen, name);
        ENCLOS_ENSUREF(resp->nheaders < ENCLOS_APP_MAX_RESPONSE_HEADERS, ENCLOS_E_MALFORMED,
                       "CGI header block: more than %d fields", ENCLOS_APP_MAX_RESPONSE_HEADERS);
        ENCLOS_ENSUREF(nlen < sizeof(resp->headers[0].name) && vlen < sizeof(resp->headers[0].value),
                       ENCLOS_E_MALFORMED,
                       "CGI header line %zu: name of %zu or value of %zu bytes (limits %zu, %zu)",
                       line_no, nlen, vlen, sizeof(resp->headers[0].name) - 1,
                       sizeof(resp->headers[0].value) - 1);
        memcpy(resp->headers[resp->nheaders].name, name, nlen);
        resp->headers[resp->nheaders].name[nlen] = '\0';
        memcpy(resp->headers[resp->nheaders].value, val, vlen);
        resp->headers[resp->nheaders].value[vlen] = '\0';
        resp->nheaders++;
      }
      pos = next;
    }
  }
  return enclos_buf_append(&resp->body, out + body, len - body);
}

/* ---- the environment ------------------------------------------------------------------------ */

static enclos_err env_add(enclos_wasi *w, enclos_buf *tmp, size_t *total, const char *k,
                          const char *v, size_t vlen) {
  enclos_buf_reset(tmp);
  ENCLOS_TRY(enclos_buf_append_str(tmp, k));
  ENCLOS_TRY(enclos_buf_append_u8(tmp, '='));
  for (size_t i = 0; i < vlen; i++)
    ENCLOS_ENSUREF(v[i] != '\0', ENCLOS_E_INVAL, "request value for %s contains NUL", k);
  ENCLOS_TRY(enclos_buf_append(tmp, v, vlen));
  *total += tmp->len + 1;
  ENCLOS_ENSUREF(*total <= APP_MAX_ENV_BYTES, ENCLOS_E_LIMIT,
                 "CGI environment exceeds %u bytes", APP_MAX_ENV_BYTES);
  const char *s;
  ENCLOS_TRY(enclos_buf_cstr(tmp, &s));
  return enclos_wasi_add_env(w, s);
}

static enclos_err build_env(enclos_wasi *w, const enclos_app_http_request *req) {
  enclos_err rc = ENCLOS_OK;
  enclos_buf tmp = ENCLOS_BUF_INIT, name = ENCLOS_BUF_INIT;
  size_t total = 0;
  const char *method = req->method ? req->method : "GET";
  const char *path = req->path && req->path[0] ? req->path : "/";
  const char *query = req->query ? req->query : "";
  char clen[32];
  snprintf(clen, sizeof(clen), "%zu", req->body_len);
  ENCLOS_GUARD_ENSUREF(req->nheaders <= APP_MAX_REQUEST_HEADERS, ENCLOS_E_LIMIT,
                       "%zu request headers (limit %u)", req->nheaders, APP_MAX_REQUEST_HEADERS);
  ENCLOS_GUARD(env_add(w, &tmp, &total, "REQUEST_METHOD", method, strlen(method)));
  ENCLOS_GUARD(env_add(w, &tmp, &total, "PATH_INFO", path, strlen(path)));
  ENCLOS_GUARD(env_add(w, &tmp, &total, "QUERY_STRING", query, strlen(query)));
  if (req->content_type)
    ENCLOS_GUARD(env_add(w, &tmp, &total, "CONTENT_TYPE", req->content_type, strlen(req->content_type)));
  ENCLOS_GUARD(env_add(w, &tmp, &total, "CONTENT_LENGTH", clen, strlen(clen)));
  ENCLOS_GUARD(env_add(w, &tmp, &total, "SERVER_PROTOCOL", "HTTP/1.1", 8));
  ENCLOS_GUARD(env_add(w, &tmp, &total, "GATEWAY_INTERFACE", "CGI/1.1", 7));
  for (size_t i = 0; i < req->nheaders; i++) {
    const enclos_app_header *h = &req->headers[i];
    ENCLOS_GUARD_ENSUREF(h->name && h->name_len > 0 && h->name_len <= 256 && (h->value || !h->value_len),
                         ENCLOS_E_INVAL, "request header %zu: bad name", i);
    /* RFC 3875 §4.1.18: HTTP_ + upper case, '-' -> '_'. Content-Type/-Length already have
     * their own variables (and must not be duplicated, §4.1.18). */
    if ((h->name_len == 12 && strncasecmp(h->name, "content-type", 12) == 0) ||
        (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0))
      continue;
    enclos_buf_reset(&name);
    ENCLOS_GUARD(enclos_buf_append_str(&name, "HTTP_"));
    for (size_t k = 0; k < h->name_len; k++) {
      unsigned char c = (unsigned char)h->name[k];
      ENCLOS_GUARD_ENSUREF(is_tchar(c), ENCLOS_E_INVAL, "request header %zu: name byte 0x%02x", i, c);
      c = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
      ENCLOS_GUARD(enclos_buf_append_u8(&name, c));
    }
    const char *n;
    ENCLOS_GUARD(enclos_buf_cstr(&name, &n));
    ENCLOS_GUARD(env_add(w, &tmp, &total, n, h->value ? h->value : "", h->value_len));
  }
cleanup:
  enclos_buf_free(&tmp);
  enclos_buf_free(&name);
  return rc;
}

/* ---- the call ------------------------------------------------------------------------------- */

enclos_err enclos_app_http(enclos_app *a, const enclos_app_http_request *req,
                           enclos_app_http_response *resp, enclos_app_call_info *info) {
  ENCLOS_ENSURE_REF(a);
  ENCLOS_ENSURE_REF(req);
  ENCLOS_ENSURE_REF(resp);
  enclos_app_call_info scratch;
  if (!info) info = &scratch;
  memset(info, 0, sizeof(*info));
  uint64_t t0 = app__now_ns();
  enclos_err rc = ENCLOS_OK;
  app_runner *r = NULL;
  ENCLOS_GUARD_ENSUREF(req->body_len == 0 || req->body, ENCLOS_E_INVAL, "request body is NULL");
  ENCLOS_GUARD(app__runner_get(a, &r));
  ENCLOS_GUARD(build_env(r->wasi, req));
  ENCLOS_GUARD(enclos_wasi_stdin_buffer(r->wasi, req->body, req->body_len));
  enclos_wasm_extern entry;
  static const char start_name[] = "_start", handle_name[] = "handle";
  if (enclos_wasm_instance_export(r->inst, (enclos_wasm_name){start_name, 6}, &entry) != ENCLOS_OK &&
      enclos_wasm_instance_export(r->inst, (enclos_wasm_name){handle_name, 6}, &entry) != ENCLOS_OK)
    ENCLOS_GUARD_FAILF(ENCLOS_E_NOT_FOUND, "app \"%s\" exports neither _start nor handle", a->name);
  enclos_wasm_externtype t;
  ENCLOS_GUARD(enclos_wasm_extern_type(entry, &t));
  ENCLOS_GUARD_ENSUREF(entry.kind == ENCLOS_WASM_EXTERN_FUNC && t.of.func.nparams == 0 &&
                           t.of.func.nresults == 0,
                       ENCLOS_E_INVALID, "app \"%s\": its HTTP entry point must be a () -> () function",
                       a->name);
  uint64_t fuel = a->limits.fuel;
  enclos_err call_rc = app__run(r, entry, NULL, 0, NULL, 0, info, &fuel);
  app__flush_stderr(r);
  bool exited = enclos_wasi_exited(r->wasi, NULL);
  if (call_rc != ENCLOS_OK && !exited) ENCLOS_GUARD(call_rc);
  const uint8_t *out;
  size_t out_len;
  ENCLOS_GUARD(enclos_wasi_captured(r->wasi, 1, &out, &out_len));
  ENCLOS_GUARD_ENSUREF(out_len <= a->limits.max_output, ENCLOS_E_LIMIT,
                       "app \"%s\": output exceeds max_output (%zu bytes)", a->name,
                       a->limits.max_output);
  ENCLOS_GUARD(app__cgi_parse(out, out_len, info->exit_code != 0, resp));
cleanup:
  app__runner_put(r);
  info->duration_ns = app__now_ns() - t0;
  return rc;
}
