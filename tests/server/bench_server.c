/* bench_server: throughput of the server's per-request building blocks. Not a ctest test.
 *
 * Run (Release build):
 *   CC=clang cmake -S . -B build/server-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
 *   cmake --build build/server-rel --target bench_server -j2
 *   build/server-rel/tests/server/bench_server
 *
 * Measures: parse of a typical keep-alive request (whole, and fed in 16-byte pieces), route
 * match, JSON error response, and ES256 / RS256 JWT verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/server_auth.h>
#include <enclos/server_http.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char req[] =
    "POST /apps/hello/call/add HTTP/1.1\r\nHost: enclos.example:8443\r\n"
    "User-Agent: wrk/4.1\r\nAccept: application/json\r\nContent-Type: application/json\r\n"
    "Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln\r\n"
    "Content-Length: 7\r\n\r\n[1, 2]\n";

static void die(const char *what) {
  fprintf(stderr, "bench_server: %s: %s\n", what, enclos_err_detail());
  exit(1);
}

static char *make_token(enclos_pkey *k, bool rsa) {
  enclos_buf t = ENCLOS_BUF_INIT, sig = ENCLOS_BUF_INIT;
  const char *h = rsa ? "{\"alg\":\"RS256\"}" : "{\"alg\":\"ES256\"}";
  const char *p = "{\"sub\":\"bench\",\"exp\":4000000000,\"roles\":[\"admin\"]}";
  const char *s;
  if (enclos_b64_encode(&t, h, strlen(h), ENCLOS_B64_URL) || enclos_buf_append_u8(&t, '.') ||
      enclos_b64_encode(&t, p, strlen(p), ENCLOS_B64_URL) ||
      (rsa ? enclos_pkey_sign_rsa_pkcs1(k, ENCLOS_SHA256, t.data, t.len, &sig)
           : enclos_pkey_sign(k, ENCLOS_SHA256, t.data, t.len, ENCLOS_SIG_RAW, &sig)) ||
      enclos_buf_append_u8(&t, '.') || enclos_b64_encode(&t, sig.data, sig.len, ENCLOS_B64_URL) ||
      enclos_buf_cstr(&t, &s))
    die("token");
  enclos_buf_free(&sig);
  return (char *)t.data;
}

static void bench_jwt(bool rsa) {
  enclos_pkey *k;
  if (rsa ? enclos_pkey_generate_rsa(2048, &k) : enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k))
    die("keygen");
  enclos_buf j = ENCLOS_BUF_INIT, a = ENCLOS_BUF_INIT, b = ENCLOS_BUF_INIT, ea = ENCLOS_BUF_INIT,
             eb = ENCLOS_BUF_INIT;
  if (rsa) {
    if (enclos_pkey_rsa_ne(k, &a, &b)) die("ne");
  } else {
    enclos_buf pub = ENCLOS_BUF_INIT;
    if (enclos_pkey_public_raw(k, &pub) || enclos_buf_append(&a, pub.data, 32) ||
        enclos_buf_append(&b, pub.data + 32, 32))
      die("pub");
    enclos_buf_free(&pub);
  }
  if (enclos_b64_encode(&ea, a.data, a.len, ENCLOS_B64_URL) ||
      enclos_b64_encode(&eb, b.data, b.len, ENCLOS_B64_URL))
    die("b64");
  if (rsa ? enclos_buf_printf(&j, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%.*s\",\"e\":\"%.*s\"}]}",
                              (int)ea.len, (char *)ea.data, (int)eb.len, (char *)eb.data)
          : enclos_buf_printf(&j,
                              "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%.*s\","
                              "\"y\":\"%.*s\"}]}",
                              (int)ea.len, (char *)ea.data, (int)eb.len, (char *)eb.data))
    die("jwks");
  enclos_jwks *set;
  if (enclos_jwks_parse(j.data, j.len, &set)) die("jwks parse");
  char *tok = make_token(k, rsa);
  enclos_jwt_config cfg;
  enclos_jwt_config_default(&cfg);
  enclos_jwt_claims c;
  int n = 3000;
  double t0 = now();
  for (int i = 0; i < n; i++)
    if (enclos_jwt_verify(set, &cfg, 1700000000, tok, strlen(tok), &c, NULL)) die("verify");
  double dt = now() - t0;
  printf("jwt verify %s:            %9.0f /s  (%.1f us each)\n", rsa ? "RS256-2048" : "ES256     ",
         n / dt, dt / n * 1e6);
  free(tok);
  enclos_jwks_free(set);
  enclos_pkey_free(k);
  enclos_buf_free(&j);
  enclos_buf_free(&a);
  enclos_buf_free(&b);
  enclos_buf_free(&ea);
  enclos_buf_free(&eb);
}

int main(void) {
  size_t len = sizeof(req) - 1;
  uint8_t buf[sizeof(req)];
  enclos_http_parser p;
  size_t consumed;
  int n = 2000000;
  double t0 = now();
  for (int i = 0; i < n; i++) {
    memcpy(buf, req, len);
    enclos_http_parser_init(&p, NULL);
    if (enclos_http_parse(&p, buf, len, &consumed) != ENCLOS_OK) die("parse");
  }
  double dt = now() - t0;
  printf("parse (%zu-byte request, whole):   %9.0f req/s  (%.0f ns, %.0f MB/s)\n", len, n / dt,
         dt / n * 1e9, (double)len * n / dt / 1e6);
  n = 500000;
  t0 = now();
  for (int i = 0; i < n; i++) {
    memcpy(buf, req, len);
    enclos_http_parser_init(&p, NULL);
    enclos_err rc = ENCLOS_E_AGAIN;
    for (size_t have = 16; rc == ENCLOS_E_AGAIN; have += 16)
      rc = enclos_http_parse(&p, buf, have < len ? have : len, &consumed);
    if (rc != ENCLOS_OK) die("parse split");
  }
  dt = now() - t0;
  printf("parse (16-byte pieces):             %9.0f req/s  (%.0f ns)\n", n / dt, dt / n * 1e9);
  enclos_route_match m;
  n = 2000000;
  t0 = now();
  for (int i = 0; i < n; i++)
    if (enclos_route_match_path(ENCLOS_HTTP_POST, (const uint8_t *)"/apps/hello/call/add", 20, &m))
      die("route");
  dt = now() - t0;
  printf("route match (app call):             %9.0f /s     (%.0f ns)\n", n / dt, dt / n * 1e9);
  enclos_buf out = ENCLOS_BUF_INIT;
  n = 1000000;
  t0 = now();
  for (int i = 0; i < n; i++) {
    enclos_buf_reset(&out);
    if (enclos_http_write_error(&out, 404, 1, true, NULL, "no such app", NULL, 0)) die("write");
  }
  dt = now() - t0;
  printf("JSON error response:                %9.0f /s     (%.0f ns)\n", n / dt, dt / n * 1e9);
  enclos_buf_free(&out);
  bench_jwt(false);
  bench_jwt(true);
  return 0;
}
