/* Route table: every route, 404 vs 405 (with Allow), decoding, app-name rules, and the
 * management / app auth policy. */
#include <enclos/server_auth.h>
#include <enclos/server_http.h>

#include "test.h"

static enclos_err route(enclos_http_method m, const char *path, enclos_route_match *out) {
  return enclos_route_match_path(m, (const uint8_t *)path, strlen(path), out);
}

TEST(router_matches_every_route) {
  static const struct {
    enclos_http_method m;
    const char *path;
    enclos_route_id id;
  } cases[] = {
      {ENCLOS_HTTP_GET, "/healthz", ENCLOS_ROUTE_HEALTHZ},
      {ENCLOS_HTTP_HEAD, "/healthz", ENCLOS_ROUTE_HEALTHZ},
      {ENCLOS_HTTP_GET, "/readyz", ENCLOS_ROUTE_READYZ},
      {ENCLOS_HTTP_GET, "/metrics", ENCLOS_ROUTE_METRICS},
      {ENCLOS_HTTP_GET, "/.well-known/enclos/attestation", ENCLOS_ROUTE_ATTESTATION},
      {ENCLOS_HTTP_GET, "/.well-known/enclos/config", ENCLOS_ROUTE_CONFIG},
      {ENCLOS_HTTP_GET, "/apps", ENCLOS_ROUTE_APPS_LIST},
      {ENCLOS_HTTP_POST, "/apps", ENCLOS_ROUTE_APPS_DEPLOY},
      {ENCLOS_HTTP_GET, "/apps/hello-1", ENCLOS_ROUTE_APP_GET},
      {ENCLOS_HTTP_DELETE, "/apps/hello-1", ENCLOS_ROUTE_APP_DELETE},
      {ENCLOS_HTTP_POST, "/apps/hello/call/add", ENCLOS_ROUTE_APP_CALL},
      {ENCLOS_HTTP_GET, "/apps/hello/http", ENCLOS_ROUTE_APP_HTTP},
      {ENCLOS_HTTP_PUT, "/apps/hello/http/a/b", ENCLOS_ROUTE_APP_HTTP},
      {ENCLOS_HTTP_OTHER, "/apps/hello/http/", ENCLOS_ROUTE_APP_HTTP},
      {ENCLOS_HTTP_GET, "/h%65althz", ENCLOS_ROUTE_HEALTHZ},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    enclos_route_match m;
    CHECK_OK(route(cases[i].m, cases[i].path, &m));
    CHECK_MSG(m.id == cases[i].id, "%s -> %s", cases[i].path, enclos_route_name(m.id));
    CHECK_EQ_INT(m.status, 0);
  }
  enclos_route_match m;
  CHECK_OK(route(ENCLOS_HTTP_POST, "/apps/my-app/call/do%20it", &m));
  CHECK_STR(m.app, "my-app");
  CHECK_STR(m.export_name, "do it");
  const char *p = "/apps/web/http/x/y?z";
  CHECK_OK(route(ENCLOS_HTTP_GET, p, &m));
  CHECK_STR(m.app, "web");
  CHECK_EQ_INT(m.rest_len, strlen("/x/y?z"));
  CHECK_MEM(p + m.rest_off, "/x/y?z", m.rest_len);
  CHECK_OK(route(ENCLOS_HTTP_GET, "/apps/web/http", &m));
  CHECK_EQ_INT(m.rest_len, 0);
  CHECK_STR(enclos_route_name(ENCLOS_ROUTE_APP_CALL), "app_call");
  CHECK_STR(enclos_route_name(ENCLOS_ROUTE_NONE), "none");
  CHECK(enclos_route_is_management(ENCLOS_ROUTE_APPS_DEPLOY));
  CHECK(enclos_route_is_management(ENCLOS_ROUTE_APP_DELETE));
  CHECK(!enclos_route_is_management(ENCLOS_ROUTE_APP_CALL));
  CHECK(!enclos_route_is_management(ENCLOS_ROUTE_HEALTHZ));
}

TEST(router_404_and_405) {
  enclos_route_match m;
  static const char *missing[] = {"/", "", "/nope", "/healthz/", "//healthz", "/apps/",
                                  "/apps/x/call", "/apps/x/httpx", "/apps/x/call/y/z",
                                  "/.well-known/enclos", "/HEALTHZ", "*", "/apps/x/call/"};
  for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
    CHECK_ERR(route(ENCLOS_HTTP_GET, missing[i], &m), ENCLOS_E_NOT_FOUND);
    CHECK_MSG(m.status == 404, "%s -> %d", missing[i], m.status);
  }
  CHECK_ERR(route(ENCLOS_HTTP_POST, "/healthz", &m), ENCLOS_E_NOT_FOUND);
  CHECK_EQ_INT(m.status, 405);
  CHECK_STR(m.allow, "GET, HEAD");
  CHECK_ERR(route(ENCLOS_HTTP_DELETE, "/apps", &m), ENCLOS_E_NOT_FOUND);
  CHECK_EQ_INT(m.status, 405);
  CHECK_STR(m.allow, "GET, HEAD, POST");
  CHECK_ERR(route(ENCLOS_HTTP_PUT, "/apps/x", &m), ENCLOS_E_NOT_FOUND);
  CHECK_STR(m.allow, "GET, HEAD, DELETE");
  CHECK_ERR(route(ENCLOS_HTTP_GET, "/apps/x/call/f", &m), ENCLOS_E_NOT_FOUND);
  CHECK_EQ_INT(m.status, 405);
  CHECK_STR(m.allow, "POST");
  CHECK_ERR(route(ENCLOS_HTTP_OTHER, "/metrics", &m), ENCLOS_E_NOT_FOUND);
  CHECK_EQ_INT(m.status, 405);
}

TEST(router_refuses_bad_names_and_encodings) {
  enclos_route_match m;
  static const char *bad[] = {"/apps/UPPER", "/apps/-x", "/apps/x-", "/apps/a_b", "/apps/a%2Fb",
                              "/apps/a%2fb/call/f", "/apps/a%00", "/apps/a%zz",
                              "/apps/x/call/a%2Fb", "/apps/x/call/%00",
                              "/apps/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                              "/apps/x/call/a%20%0a"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_ERR(route(ENCLOS_HTTP_GET, bad[i], &m), ENCLOS_E_NOT_FOUND);
    CHECK_MSG(m.status == 400, "%s -> %d", bad[i], m.status);
  }
  CHECK(enclos_app_name_valid("a", 1));
  CHECK(enclos_app_name_valid("0-9", 3));
  CHECK(!enclos_app_name_valid("", 0));
  CHECK(!enclos_app_name_valid(NULL, 1));
  char long_name[65];
  memset(long_name, 'a', 64);
  CHECK(enclos_app_name_valid(long_name, 63));
  CHECK(!enclos_app_name_valid(long_name, 64));
  CHECK(!enclos_app_name_valid("a.b", 3));
}

TEST(policy_management_needs_auth) {
  enclos_auth_decision d;
  enclos_jwt_claims tok;
  memset(&tok, 0, sizeof(tok));
  /* Public routes: always allowed. */
  enclos_auth_route(NULL, ENCLOS_ROUTE_HEALTHZ, NULL, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW);
  /* No auth configured: management refused... */
  enclos_auth_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  enclos_auth_route(&cfg, ENCLOS_ROUTE_APPS_DEPLOY, &tok, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_FORBIDDEN);
  CHECK_EQ_INT(d.status, 403);
  CHECK_CONTAINS(d.reason, "no auth configured");
  enclos_auth_route(NULL, ENCLOS_ROUTE_APPS_LIST, NULL, &d);
  CHECK_EQ_INT(d.status, 403);
  /* ...unless the insecure dev flag is set, and then the verdict says so. */
  cfg.dev_insecure_admin = true;
  enclos_auth_route(&cfg, ENCLOS_ROUTE_APP_DELETE, NULL, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW_INSECURE);
  CHECK_EQ_INT(d.status, 0);
  /* With keys: token required, admin role required when configured. */
  cfg.keys = (const enclos_jwks *)&cfg; /* only compared with NULL */
  enclos_auth_route(&cfg, ENCLOS_ROUTE_APP_DELETE, NULL, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_UNAUTHENTICATED);
  CHECK_EQ_INT(d.status, 401);
  enclos_auth_route(&cfg, ENCLOS_ROUTE_APP_DELETE, &tok, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW);
  cfg.admin_role = "admin";
  enclos_auth_route(&cfg, ENCLOS_ROUTE_APP_GET, &tok, &d);
  CHECK_EQ_INT(d.status, 403);
  strcpy(tok.roles[0], "admin");
  tok.role_count = 1;
  enclos_auth_route(&cfg, ENCLOS_ROUTE_APP_GET, &tok, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW);
}

TEST(policy_app_modes) {
  enclos_auth_decision d;
  enclos_auth_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  enclos_jwt_claims tok;
  memset(&tok, 0, sizeof(tok));
  enclos_auth_app(NULL, ENCLOS_APP_AUTH_PUBLIC, NULL, NULL, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW);
  enclos_auth_app(&cfg, ENCLOS_APP_AUTH_AUTHENTICATED, NULL, &tok, &d);
  CHECK_EQ_INT(d.status, 403); /* no keys: cannot authenticate anyone */
  cfg.keys = (const enclos_jwks *)&cfg;
  enclos_auth_app(&cfg, ENCLOS_APP_AUTH_AUTHENTICATED, NULL, NULL, &d);
  CHECK_EQ_INT(d.status, 401);
  enclos_auth_app(&cfg, ENCLOS_APP_AUTH_AUTHENTICATED, NULL, &tok, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW);
  enclos_auth_app(&cfg, ENCLOS_APP_AUTH_ROLE, "reader", &tok, &d);
  CHECK_EQ_INT(d.status, 403);
  enclos_auth_app(&cfg, ENCLOS_APP_AUTH_ROLE, NULL, &tok, &d);
  CHECK_EQ_INT(d.status, 403);
  strcpy(tok.roles[0], "reader");
  tok.role_count = 1;
  enclos_auth_app(&cfg, ENCLOS_APP_AUTH_ROLE, "reader", &tok, &d);
  CHECK_EQ_INT(d.verdict, ENCLOS_AUTH_ALLOW);
}

TEST(bearer_credentials) {
  const char *t;
  size_t n;
  const char *v = "Bearer abc.def-_~+/=";
  CHECK_OK(enclos_auth_bearer(v, strlen(v), &t, &n));
  CHECK_EQ_INT(n, strlen("abc.def-_~+/="));
  v = "bEaReR   x";
  CHECK_OK(enclos_auth_bearer(v, strlen(v), &t, &n));
  CHECK_EQ_INT(n, 1);
  static const char *bad[] = {"Basic abc", "Bearer", "Bearer ", "Bearerx abc", "Bearer a b",
                              "Bearer a,b", ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_ERR(enclos_auth_bearer(bad[i], strlen(bad[i]), &t, &n), ENCLOS_E_AUTH);
}

TEST(www_authenticate_values) {
  char v[128];
  enclos_auth_www_authenticate(ENCLOS_JWT_OK, v, sizeof(v));
  CHECK_STR(v, "Bearer realm=\"enclos\"");
  enclos_auth_www_authenticate(ENCLOS_JWT_EXPIRED, v, sizeof(v));
  CHECK_STR(v, "Bearer realm=\"enclos\", error=\"invalid_token\", error_description=\"expired\"");
  /* Usable as a response header as is. */
  enclos_http_out_header h[] = {{"WWW-Authenticate", v}};
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_http_write_error(&b, 401, 1, true, NULL, "token expired", h, 1));
  enclos_buf_free(&b);
}
