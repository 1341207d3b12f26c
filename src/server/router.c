/* router.c: the route table of `enclos serve` (issue 8) and app-name rules.
 *
 * Routes are a table of path patterns (literal segments, {name}, {export}, and a trailing
 * "rest" for the CGI-style handler) with the methods each accepts. Matching decodes every
 * path segment (RFC 3986 §2.1, so "/h%65althz" is "/healthz") with "%00" and encoded "/"
 * refused, then distinguishes 404 (no pattern matches the path) from 405 (a pattern
 * matches, the method does not; RFC 9110 §15.5.6 requires an Allow header).
 */
#include <stdio.h>
#include <string.h>

#include <enclos/server_http.h>

#include "server_int.h"

/* Longest decoded literal segment we compare (longer ones cannot match any literal). */
#define ROUTER_MAX_SEGMENT 256
/* Most segments in a pattern. */
#define ROUTER_MAX_PATTERN 6

enum {
  M_GET = 1 << 0,
  M_HEAD = 1 << 1,
  M_POST = 1 << 2,
  M_PUT = 1 << 3,
  M_DELETE = 1 << 4,
  M_OPTIONS = 1 << 5,
  M_PATCH = 1 << 6,
  M_ANY = 0xffff,
};

typedef struct route_def {
  enclos_route_id id;
  const char *name;
  unsigned methods;
  bool management;
  bool rest; /* the pattern may be followed by "" or "/..." (kept raw) */
  const char *segments[ROUTER_MAX_PATTERN + 1];
} route_def;

static const route_def routes[] = {
    {ENCLOS_ROUTE_HEALTHZ, "healthz", M_GET, false, false, {"healthz", NULL}},
    {ENCLOS_ROUTE_READYZ, "readyz", M_GET, false, false, {"readyz", NULL}},
    {ENCLOS_ROUTE_METRICS, "metrics", M_GET, false, false, {"metrics", NULL}},
    {ENCLOS_ROUTE_ATTESTATION, "attestation", M_GET, false, false,
     {".well-known", "enclos", "attestation", NULL}},
    {ENCLOS_ROUTE_CONFIG, "config", M_GET, false, false, {".well-known", "enclos", "config", NULL}},
    {ENCLOS_ROUTE_APPS_LIST, "apps_list", M_GET, true, false, {"apps", NULL}},
    {ENCLOS_ROUTE_APPS_DEPLOY, "apps_deploy", M_POST, true, false, {"apps", NULL}},
    {ENCLOS_ROUTE_APP_GET, "app_get", M_GET, true, false, {"apps", "{name}", NULL}},
    {ENCLOS_ROUTE_APP_DELETE, "app_delete", M_DELETE, true, false, {"apps", "{name}", NULL}},
    {ENCLOS_ROUTE_APP_CALL, "app_call", M_POST, false, false,
     {"apps", "{name}", "call", "{export}", NULL}},
    {ENCLOS_ROUTE_APP_HTTP, "app_http", M_ANY, false, true, {"apps", "{name}", "http", NULL}},
};

static unsigned method_bit(enclos_http_method m) {
  switch (m) {
    case ENCLOS_HTTP_GET: return M_GET;
    case ENCLOS_HTTP_HEAD: return M_HEAD | M_GET; /* HEAD wherever GET (RFC 9110 §9.3.2) */
    case ENCLOS_HTTP_POST: return M_POST;
    case ENCLOS_HTTP_PUT: return M_PUT;
    case ENCLOS_HTTP_DELETE: return M_DELETE;
    case ENCLOS_HTTP_OPTIONS: return M_OPTIONS;
    case ENCLOS_HTTP_PATCH: return M_PATCH;
    default: return 1u << 15; /* matched only by M_ANY */
  }
}

const char *enclos_route_name(enclos_route_id id) {
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
    if (routes[i].id == id) return routes[i].name;
  return "none";
}

bool enclos_route_is_management(enclos_route_id id) {
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
    if (routes[i].id == id) return routes[i].management;
  return false;
}

bool enclos_app_name_valid(const char *name, size_t len) {
  if (!name || len == 0 || len > ENCLOS_APP_NAME_MAX) return false;
  if (name[0] == '-' || name[len - 1] == '-') return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

/* Export names (wasm names are any UTF-8): 1..ENCLOS_EXPORT_NAME_MAX decoded bytes, no
 * control bytes and no '/'. */
static bool export_name_valid(const char *s, size_t len) {
  if (len == 0 || len > ENCLOS_EXPORT_NAME_MAX) return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f || s[i] == '/') return false;
  return true;
}

typedef enum { PM_NO, PM_YES, PM_BAD } pm_result;

/* Matches one pattern against the raw path; fills captures on a match. */
static pm_result match_pattern(const route_def *rd, const uint8_t *path, size_t len,
                               enclos_route_match *out) {
  size_t i = 0;
  for (size_t k = 0; rd->segments[k]; k++) {
    if (i >= len || path[i] != '/') return PM_NO;
    size_t s = ++i;
    while (i < len && path[i] != '/') i++;
    const char *pat = rd->segments[k];
    if (pat[0] == '{' && i == s) return PM_NO; /* an empty capture names nothing: 404 */
    char seg[ROUTER_MAX_SEGMENT + 1];
    size_t seg_len = 0;
    enclos_err rc = enclos_http_pct_decode(path + s, i - s, seg, sizeof(seg), &seg_len,
                                           ENCLOS_HTTP_PCT_NO_SLASH);
    if (strcmp(pat, "{name}") == 0) {
      if (rc != ENCLOS_OK || !enclos_app_name_valid(seg, seg_len)) {
        if (rc == ENCLOS_OK)
          enclos_err_set(ENCLOS_E_INVALID, __FILE__, __LINE__, "invalid app name \"%s\"", seg);
        return PM_BAD;
      }
      memcpy(out->app, seg, seg_len + 1);
    } else if (strcmp(pat, "{export}") == 0) {
      if (rc != ENCLOS_OK || !export_name_valid(seg, seg_len)) {
        if (rc == ENCLOS_OK)
          enclos_err_set(ENCLOS_E_INVALID, __FILE__, __LINE__, "invalid export name");
        return PM_BAD;
      }
      memcpy(out->export_name, seg, seg_len + 1);
    } else {
      if (rc != ENCLOS_OK || strcmp(seg, pat) != 0) return PM_NO;
    }
  }
  if (rd->rest) {
    if (i < len && path[i] != '/') return PM_NO;
    out->rest_off = i;
    out->rest_len = len - i;
    return PM_YES;
  }
  return i == len ? PM_YES : PM_NO;
}

static void allow_list(unsigned mask, char *out, size_t cap) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{M_GET, "GET"},         {M_HEAD, "HEAD"},   {M_POST, "POST"},
               {M_PUT, "PUT"},         {M_DELETE, "DELETE"}, {M_OPTIONS, "OPTIONS"},
               {M_PATCH, "PATCH"}};
  size_t o = 0;
  out[0] = '\0';
  if (mask & M_GET) mask |= M_HEAD;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (!(mask & names[i].bit)) continue;
    size_t n = strlen(names[i].name);
    if (o + n + 3 > cap) break;
    if (o) {
      memcpy(out + o, ", ", 2);
      o += 2;
    }
    memcpy(out + o, names[i].name, n);
    o += n;
    out[o] = '\0';
  }
}

enclos_err enclos_route_match_path(enclos_http_method method, const uint8_t *path, size_t len,
                                   enclos_route_match *out) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE(path != NULL || len == 0, ENCLOS_E_INVAL);
  memset(out, 0, sizeof(*out));
  static const uint8_t root[] = "/";
  if (len == 0) { /* absolute-form with an empty path means "/" (RFC 9112 §3.2.2) */
    path = root;
    len = 1;
  }
  unsigned want = method_bit(method), allowed = 0;
  bool path_known = false;
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
    enclos_route_match m;
    memset(&m, 0, sizeof(m));
    pm_result r = match_pattern(&routes[i], path, len, &m);
    if (r == PM_BAD) {
      char why[200];
      snprintf(why, sizeof(why), "%s", enclos_err_detail());
      out->status = 400;
      ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "bad path for route %s: %s", routes[i].name, why);
    }
    if (r == PM_NO) continue;
    path_known = true;
    allowed |= routes[i].methods;
    if (routes[i].methods & want) {
      *out = m;
      out->id = routes[i].id;
      out->status = 0;
      return ENCLOS_OK;
    }
  }
  if (path_known) {
    out->status = 405;
    allow_list(allowed, out->allow, sizeof(out->allow));
    ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "method %s not allowed (Allow: %s)",
                 enclos_http_method_name(method), out->allow);
  }
  out->status = 404;
  ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "no route for this path");
}
