/* App layer (include/enclos/app.h): the examples and tests/app/guest/probe.c through the CGI
 * handler and the function-call ABI, with their failure modes (bad JSON, wrong arity/types,
 * pointers outside memory, bad CGI blocks, output limits, traps, fuel, timeouts), the host
 * crypto module, and isolation between calls. */
#include <pthread.h>

#include <enclos/app.h>
#include <enclos/crypto.h>
#include <enclos/mem.h>
#include <enclos/store.h>

#include "app/app_int.h"
#include "test.h"

#ifdef APP_GUEST_DIR

static enclos_app *load_file(const char *path, const enclos_app_limits *lim,
                             const enclos_app_services *svc) {
  size_t n;
  uint8_t *w = test_read_file(path, &n);
  enclos_app *a = NULL;
  enclos_err rc = enclos_app_load("probe", w, n, lim, svc, &a);
  free(w);
  CHECK_OK(rc);
  return a;
}

#define PROBE APP_GUEST_DIR "/probe.wasm"
#define EXAMPLE(x) APP_EXAMPLES_DIR "/" x ".wasm"

typedef struct http_out {
  enclos_app_http_response resp;
  enclos_app_call_info info;
  enclos_err rc;
} http_out;

static void http(enclos_app *a, const char *method, const char *path, const char *query,
                 const char *body, http_out *o) {
  memset(o, 0, sizeof(*o));
  enclos_app_http_request req = {0};
  req.method = method;
  req.path = path;
  req.query = query;
  req.body = (const uint8_t *)body;
  req.body_len = body ? strlen(body) : 0;
  o->rc = enclos_app_http(a, &req, &o->resp, &o->info);
}

static const char *body_str(http_out *o) {
  const char *s = "";
  CHECK_OK(enclos_buf_cstr(&o->resp.body, &s));
  return s;
}

/* Calls \p fn with \p args; returns the error, the result (NUL-terminated) in \p out. */
static enclos_err call(enclos_app *a, const char *fn, const char *args, enclos_buf *out,
                       enclos_app_call_info *info) {
  enclos_buf_reset(out);
  enclos_err rc = enclos_app_call(a, fn, args, strlen(args), out, info);
  const char *s;
  CHECK_OK(enclos_buf_cstr(out, &s));
  return rc;
}

static void expect_call(enclos_app *a, const char *fn, const char *args, const char *want) {
  enclos_buf out = ENCLOS_BUF_INIT;
  enclos_app_call_info info;
  enclos_err rc = call(a, fn, args, &out, &info);
  CHECK_MSG(rc == ENCLOS_OK, "%s(%s) -> %s (%s)", fn, args, enclos_err_name(rc), enclos_err_detail());
  CHECK_MSG(strcmp((const char *)out.data, want) == 0, "%s(%s) = %s, want %s", fn, args,
            (const char *)out.data, want);
  enclos_buf_free(&out);
}

static void expect_call_err(enclos_app *a, const char *fn, const char *args, enclos_err want,
                            const char *detail_part) {
  enclos_buf out = ENCLOS_BUF_INIT;
  enclos_app_call_info info;
  enclos_err rc = call(a, fn, args, &out, &info);
  CHECK_MSG(rc == want, "%s(%s) -> %s, want %s (%s)", fn, args, enclos_err_name(rc),
            enclos_err_name(want), enclos_err_detail());
  CHECK_MSG(out.len == 0, "%s(%s) left output %s", fn, args, (const char *)out.data);
  if (detail_part)
    CHECK_MSG(strstr(enclos_err_detail(), detail_part), "%s(%s): detail \"%s\" lacks \"%s\"", fn,
              args, enclos_err_detail(), detail_part);
  enclos_buf_free(&out);
}

/* ---- load ------------------------------------------------------------------------------------- */

TEST(app_load_basics) {
  size_t n;
  uint8_t *w = test_read_file(PROBE, &n);
  enclos_app *a = NULL;
  CHECK_OK(enclos_app_load("probe-1.x", w, n, NULL, NULL, &a));
  CHECK_STR(enclos_app_name(a), "probe-1.x");
  uint8_t h[32];
  CHECK_OK(enclos_hash(ENCLOS_SHA256, w, n, h));
  CHECK_MEM(enclos_app_code_hash(a), h, 32);
  CHECK(enclos_app_module(a) != NULL);
  const enclos_app_limits *l = enclos_app_get_limits(a);
  CHECK_EQ_U64(l->fuel, 1000000000ull);
  CHECK_EQ_INT(l->max_memory_pages, 256);
  CHECK_EQ_INT(l->timeout_ms, 10000);
  CHECK(enclos_app_ref(a) == a);
  enclos_app_unref(a);
  enclos_app_unref(a);
  enclos_app_unref(NULL);
  CHECK_ERR(enclos_app_load("bad/name", w, n, NULL, NULL, &a), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_app_load("", w, n, NULL, NULL, &a), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_app_load("x", w, 20, NULL, NULL, &a), ENCLOS_E_MALFORMED);
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  lim.max_memory_pages = 1; /* the probe needs 2+ pages */
  CHECK_ERR(enclos_app_load("x", w, n, &lim, NULL, &a), ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "app \"x\"");
  free(w);
}

TEST(app_load_unlinkable) {
  /* (module (import "env" "f" (func))) */
  static const uint8_t m[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01,
                              0x60, 0x00, 0x00, 0x02, 0x09, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x01,
                              0x66, 0x00, 0x00};
  enclos_app *a = NULL;
  CHECK_ERR(enclos_app_load("x", m, sizeof(m), NULL, NULL, &a), ENCLOS_E_UNLINKABLE);
  CHECK_CONTAINS(enclos_err_detail(), "\"env\".\"f\"");
  CHECK(a == NULL);
}

/* ---- CGI ---------------------------------------------------------------------------------------- */

TEST(app_http_hello_example) {
  enclos_app *a = load_file(EXAMPLE("hello"), NULL, NULL);
  http_out o;
  http(a, "POST", "/greet", "a=1&b=2", "12345", &o);
  CHECK_OK(o.rc);
  CHECK_EQ_INT(o.resp.status, 200);
  CHECK_STR(o.resp.content_type, "text/plain; charset=utf-8");
  CHECK_EQ_INT(o.resp.nheaders, 0);
  CHECK_STR(body_str(&o),
            "Hello from enclos!\nmethod=POST path=/greet query=a=1&b=2 body=5 bytes\n");
  CHECK(!o.info.trapped);
  CHECK_EQ_INT(o.info.exit_code, 0);
  CHECK(o.info.fuel_used > 0);
  CHECK(o.info.duration_ns > 0);
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

TEST(app_http_environment) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  enclos_app_header hs[] = {{"User-Agent", 10, "tester/1", 8},
                            {"x-custom-thing", 14, "v=1", 3},
                            {"Content-Type", 12, "ignored", 7}};
  enclos_app_http_request req = {.method = "PUT", .path = "/env", .query = "q=1",
                                 .content_type = "text/csv", .headers = hs, .nheaders = 3,
                                 .body = (const uint8_t *)"a,b\n", .body_len = 4};
  enclos_app_http_response resp = {0};
  enclos_app_call_info info;
  CHECK_OK(enclos_app_http(a, &req, &resp, &info));
  CHECK_EQ_INT(resp.status, 200);
  CHECK_STR(resp.content_type, "text/plain");
  CHECK_EQ_INT(resp.nheaders, 1);
  CHECK_STR(resp.headers[0].name, "X-Probe");
  CHECK_STR(resp.headers[0].value, "yes");
  const char *s;
  CHECK_OK(enclos_buf_cstr(&resp.body, &s));
  CHECK_STR(s, "method=PUT\nquery=q=1\nctype=text/csv\nclen=4\nagent=tester/1\ncustom=v=1\nbody=a,b\n");
  enclos_buf_free(&resp.body);
  /* a header name that is not a token is refused before the app runs */
  enclos_app_header bad[] = {{"Bad Name", 8, "x", 1}};
  req.headers = bad;
  req.nheaders = 1;
  CHECK_ERR(enclos_app_http(a, &req, &resp, &info), ENCLOS_E_INVAL);
  enclos_buf_free(&resp.body);
  enclos_app_unref(a);
}

TEST(app_http_responses) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  http_out o;
  http(a, "GET", "/nohdr", "", NULL, &o);
  CHECK_OK(o.rc);
  CHECK_EQ_INT(o.resp.status, 200);
  CHECK_STR(o.resp.content_type, "application/octet-stream");
  CHECK_STR(body_str(&o), "just a body\n");
  enclos_buf_free(&o.resp.body);

  http(a, "GET", "/status", NULL, NULL, &o);
  CHECK_OK(o.rc);
  CHECK_EQ_INT(o.resp.status, 404);
  CHECK_STR(o.resp.content_type, "application/json");
  CHECK_STR(body_str(&o), "{\"error\":\"none here\"}");
  enclos_buf_free(&o.resp.body);

  /* exit code != 0 without Status: 500 with the output as body; with Status: that status */
  http(a, "GET", "/exit3", NULL, NULL, &o);
  CHECK_OK(o.rc);
  CHECK_EQ_INT(o.resp.status, 500);
  CHECK_EQ_INT(o.info.exit_code, 3);
  CHECK(!o.info.trapped);
  CHECK_STR(body_str(&o), "partial");
  enclos_buf_free(&o.resp.body);
  http(a, "GET", "/exit3status", NULL, NULL, &o);
  CHECK_OK(o.rc);
  CHECK_EQ_INT(o.resp.status, 400);
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

TEST(app_http_bad_cgi_blocks) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  static const struct {
    const char *path, *detail;
  } cases[] = {{"/badblock", "line 3"},
               {"/unterminated", "not terminated"},
               {"/badstatus", "Status must be"},
               {"/framing", "Content-Length is set by the server"},
               {"/ctl", "control character 0x01"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    http_out o;
    http(a, "GET", cases[i].path, NULL, NULL, &o);
    CHECK_MSG(o.rc == ENCLOS_E_MALFORMED, "%s -> %s", cases[i].path, enclos_err_name(o.rc));
    CHECK_MSG(strstr(enclos_err_detail(), cases[i].detail), "%s: detail \"%s\"", cases[i].path,
              enclos_err_detail());
    enclos_buf_free(&o.resp.body);
  }
  enclos_app_unref(a);
}

TEST(app_cgi_parser_units) {
  enclos_app_http_response r = {0};
  /* LF line ends, extra headers, optional whitespace */
  const char *o = "Status: 201 Created\nX-A:  b \nContent-Type:text/html\n\nbody\n\nmore";
  CHECK_OK(app__cgi_parse((const uint8_t *)o, strlen(o), false, &r));
  CHECK_EQ_INT(r.status, 201);
  CHECK_STR(r.content_type, "text/html");
  CHECK_EQ_INT(r.nheaders, 1);
  CHECK_STR(r.headers[0].value, "b");
  CHECK_MEM(r.body.data, "body\n\nmore", 10);
  enclos_buf_free(&r.body);
  /* a body that does not start like a header is all body */
  o = "Hello: no wait\nthis is text";
  CHECK_ERR(app__cgi_parse((const uint8_t *)o, strlen(o), false, &r), ENCLOS_E_MALFORMED);
  o = "Hello there: body\n\n";
  CHECK_OK(app__cgi_parse((const uint8_t *)o, strlen(o), true, &r));
  CHECK_EQ_INT(r.status, 500);
  CHECK_EQ_INT(r.body.len, strlen(o));
  enclos_buf_free(&r.body);
  static const char *const bad[] = {
      "Status: 200\nStatus: 201\n\n",  "Content-Type: a\nContent-Type: b\n\n",
      "Status: 2000\n\n",               "Status: 600 Nope\n\n",
      "Transfer-Encoding: chunked\n\n", "X: a\rb\n\n",
      "Content-Type:\n\n",              "X-A: 1\n: v\n\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_MSG(app__cgi_parse((const uint8_t *)bad[i], strlen(bad[i]), false, &r) ==
                  ENCLOS_E_MALFORMED,
              "accepted %s", bad[i]);
    enclos_buf_free(&r.body);
  }
  /* too many headers */
  enclos_buf many = ENCLOS_BUF_INIT;
  for (int i = 0; i <= ENCLOS_APP_MAX_RESPONSE_HEADERS; i++) CHECK_OK(enclos_buf_printf(&many, "X-%d: v\n", i));
  CHECK_OK(enclos_buf_append_str(&many, "\n"));
  CHECK_ERR(app__cgi_parse(many.data, many.len, false, &r), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "more than 32");
  enclos_buf_free(&many);
  enclos_buf_free(&r.body);
}

TEST(app_http_limits_traps) {
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  lim.max_output = 64 * 1024;
  lim.fuel = 2000000;
  enclos_app *a = load_file(PROBE, &lim, NULL);
  http_out o;
  http(a, "GET", "/big", NULL, NULL, &o);
  CHECK_ERR(o.rc, ENCLOS_E_LIMIT);
  CHECK_CONTAINS(enclos_err_detail(), "max_output");
  enclos_buf_free(&o.resp.body);

  http(a, "GET", "/trap", NULL, NULL, &o);
  CHECK_ERR(o.rc, ENCLOS_E_TRAP);
  CHECK(o.info.trapped);
  CHECK_EQ_INT(o.info.trap.kind, ENCLOS_WASM_TRAP_UNREACHABLE);
  CHECK_CONTAINS(enclos_err_detail(), "unreachable");
  enclos_buf_free(&o.resp.body);

  http(a, "GET", "/spin", NULL, NULL, &o);
  CHECK_ERR(o.rc, ENCLOS_E_FUEL);
  CHECK(o.info.trapped);
  CHECK_EQ_INT(o.info.trap.kind, ENCLOS_WASM_TRAP_FUEL_EXHAUSTED);
  CHECK_EQ_U64(o.info.fuel_used, 2000000);
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

TEST(app_http_timeout) {
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  lim.fuel = 0;
  lim.timeout_ms = 200;
  enclos_app *a = load_file(PROBE, &lim, NULL);
  http_out o;
  http(a, "GET", "/spin", NULL, NULL, &o);
  CHECK_ERR(o.rc, ENCLOS_E_INTERRUPTED);
  CHECK(o.info.trapped);
  CHECK_EQ_INT(o.info.trap.kind, ENCLOS_WASM_TRAP_INTERRUPTED);
  CHECK_MSG(o.info.duration_ns >= 190000000ull && o.info.duration_ns < 5000000000ull,
            "duration %" PRIu64 " ns", o.info.duration_ns);
  enclos_buf_free(&o.resp.body);
  /* the next call on the same app is not affected by the previous interrupt */
  http(a, "GET", "/nohdr", NULL, NULL, &o);
  CHECK_OK(o.rc);
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

typedef struct log_rec {
  char lines[8][256];
  int levels[8];
  int n;
} log_rec;

static void rec_log(void *ctx, const char *app, int level, const char *msg, size_t len) {
  log_rec *r = ctx;
  (void)app;
  if (r->n >= 8) return;
  snprintf(r->lines[r->n], sizeof(r->lines[0]), "%.*s", (int)len, msg);
  r->levels[r->n++] = level;
}

TEST(app_http_stderr_to_log) {
  log_rec rec = {0};
  enclos_app_services svc = {.log = rec_log, .log_ctx = &rec};
  enclos_app *a = load_file(PROBE, NULL, &svc);
  http_out o;
  http(a, "GET", "/stderr", NULL, NULL, &o);
  CHECK_OK(o.rc);
  CHECK_STR(body_str(&o), "ok");
  CHECK_EQ_INT(rec.n, 2);
  CHECK_STR(rec.lines[0], "line one");
  CHECK_STR(rec.lines[1], "line two");
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

/* ---- function calls ---------------------------------------------------------------------------- */

TEST(app_call_echo_example) {
  enclos_app *a = load_file(EXAMPLE("echo"), NULL, NULL);
  expect_call(a, "echo", "[\"hi \\\"there\\\"\"]",
              "[\"{\\\"echo\\\":\\\"hi \\\\\\\"there\\\\\\\"\\\",\\\"length\\\":10}\"]");
  /* 1 KiB of text, with a NUL and non-ASCII characters */
  enclos_buf args = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append_str(&args, "[\"\\u0000\xc3\xa9"));
  for (int i = 0; i < 1021; i++) CHECK_OK(enclos_buf_append_u8(&args, (uint8_t)('a' + i % 26)));
  CHECK_OK(enclos_buf_append_str(&args, "\"]"));
  enclos_buf out = ENCLOS_BUF_INIT;
  enclos_app_call_info info;
  CHECK_OK(enclos_app_call(a, "echo", (const char *)args.data, args.len, &out, &info));
  const char *s;
  CHECK_OK(enclos_buf_cstr(&out, &s));
  CHECK_CONTAINS(s, "\\\\u0000\xc3\xa9" "abc");
  CHECK_CONTAINS(s, "\\\"length\\\":1024}\"]");
  CHECK(info.fuel_used > 0);
  enclos_buf_free(&args);
  enclos_buf_free(&out);
  enclos_app_unref(a);
}

TEST(app_call_numbers) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  expect_call(a, "add", "[2, 3]", "[5]");
  expect_call(a, "add", "[-1, 4294967295]", "[-2]");
  expect_call(a, "add", "[1e3, 0]", "[1000]");
  expect_call(a, "mix", "[1, 0.5, 0.25]", "[1.75]");
  expect_call(a, "wide", "[9007199254740993]", "[9007199254740993]");
  expect_call(a, "wide", "[-9223372036854775808]", "[-9223372036854775808]");
  expect_call(a, "none", "[]", "[]");
  expect_call(a, "none", " [ ] ", "[]");
  enclos_app_unref(a);
}

TEST(app_call_strings_bytes) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  expect_call(a, "concat", "[\"ab\", \"cd\"]", "[\"abcd\"]");
  expect_call(a, "concat", "[\"\", \"\"]", "[\"\"]");
  expect_call(a, "concat", "[\"\\n\\t\", \"\\\\\"]", "[\"\\u000a\\u0009\\\\\"]");
  expect_call(a, "rev", "[{\"base64\": \"AQID\"}]", "[{\"base64\":\"AwIB\"}]");
  expect_call(a, "rev", "[{\"base64\": \"\"}]", "[{\"base64\":\"\"}]");
  enclos_app_unref(a);
}

TEST(app_call_bad_arguments) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  expect_call_err(a, "add", "[1,", ENCLOS_E_MALFORMED, "call arguments");
  expect_call_err(a, "add", "", ENCLOS_E_MALFORMED, NULL);
  expect_call_err(a, "add", "[1, 2] x", ENCLOS_E_MALFORMED, NULL);
  expect_call_err(a, "add", "{\"a\": 1}", ENCLOS_E_INVAL, "JSON array");
  expect_call_err(a, "add", "[1]", ENCLOS_E_INVAL, "takes 2 parameters");
  expect_call_err(a, "add", "[1, 2, 3]", ENCLOS_E_INVAL, "takes only 2");
  expect_call_err(a, "add", "[\"x\", 1]", ENCLOS_E_INVAL, "takes only 2");
  expect_call_err(a, "add", "[1, \"x\"]", ENCLOS_E_INVAL, "two i32");
  expect_call_err(a, "mix", "[\"x\", 1]", ENCLOS_E_INVAL, "two i32");
  expect_call_err(a, "add", "[1.5, 2]", ENCLOS_E_INVAL, "exact integer");
  expect_call_err(a, "add", "[4294967296, 2]", ENCLOS_E_INVAL, "does not fit an i32");
  expect_call_err(a, "add", "[-2147483649, 2]", ENCLOS_E_INVAL, "does not fit an i32");
  expect_call_err(a, "add", "[true, 1]", ENCLOS_E_INVAL, "only numbers");
  expect_call_err(a, "add", "[null, 1]", ENCLOS_E_INVAL, "only numbers");
  expect_call_err(a, "add", "[[1], 1]", ENCLOS_E_INVAL, "only numbers");
  expect_call_err(a, "concat", "[\"a\", 1]", ENCLOS_E_INVAL, "fill 3");
  expect_call_err(a, "mix", "[1, 2, 1e300]", ENCLOS_E_INVAL, "out of range for f32");
  expect_call_err(a, "rev", "[{\"base64\": \"A\"}]", ENCLOS_E_INVAL, "base64");
  expect_call_err(a, "rev", "[{\"base64\": \"AQID\", \"x\": 1}]", ENCLOS_E_INVAL, NULL);
  expect_call_err(a, "rev", "[{\"hex\": \"00\"}]", ENCLOS_E_INVAL, NULL);
  expect_call_err(a, "nosuch", "[]", ENCLOS_E_NOT_FOUND, "nosuch");
  expect_call_err(a, "memory", "[]", ENCLOS_E_NOT_FOUND, NULL);
  expect_call_err(a, "cabi_realloc", "[0,0,1,4]", ENCLOS_E_NOT_FOUND, NULL);
  expect_call_err(a, "enclos.returns.string.concat", "[]", ENCLOS_E_NOT_FOUND, NULL);
  enclos_app_unref(a);
}

TEST(app_call_bad_results) {
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  lim.max_output = 1000;
  enclos_app *a = load_file(PROBE, &lim, NULL);
  expect_call_err(a, "badpair", "[]", ENCLOS_E_RANGE, "outside memory");
  expect_call_err(a, "badbytes", "[]", ENCLOS_E_RANGE, "outside memory");
  expect_call_err(a, "notutf8", "[]", ENCLOS_E_INVALID, "not UTF-8 (byte 2");
  expect_call_err(a, "nan", "[]", ENCLOS_E_RANGE, "NaN");
  expect_call(a, "bigresult", "[10]", "[\"yyyyyyyyyy\"]");
  expect_call_err(a, "bigresult", "[1001]", ENCLOS_E_LIMIT, "max_output");
  enclos_app_unref(a);
}

TEST(app_call_traps_fuel_timeout) {
  enclos_app_limits lim;
  enclos_app_limits_default(&lim);
  lim.fuel = 1000000;
  lim.timeout_ms = 0;
  enclos_app *a = load_file(PROBE, &lim, NULL);
  enclos_buf out = ENCLOS_BUF_INIT;
  enclos_app_call_info info;
  CHECK_ERR(call(a, "trap", "[]", &out, &info), ENCLOS_E_TRAP);
  CHECK(info.trapped);
  CHECK_EQ_INT(info.trap.kind, ENCLOS_WASM_TRAP_UNREACHABLE);
  CHECK(info.trap.func_index > 0); /* the export is a wrapper; the inner function has no name */
  CHECK(info.trap.func_name.data == NULL);
  CHECK_ERR(call(a, "spin", "[]", &out, &info), ENCLOS_E_FUEL);
  CHECK(info.trapped);
  CHECK_EQ_U64(info.fuel_used, 1000000);
  CHECK_ERR(call(a, "quit", "[]", &out, &info), ENCLOS_E_TRAP);
  CHECK(!info.trapped);
  CHECK_EQ_INT(info.exit_code, 7);
  CHECK_CONTAINS(enclos_err_detail(), "proc_exit(7)");
  /* fuel is one budget for cabi_realloc and the export together */
  CHECK_OK(call(a, "concat", "[\"a\", \"b\"]", &out, &info));
  CHECK(info.fuel_used > 0 && info.fuel_used < 1000000);
  enclos_app_unref(a);

  lim.fuel = 0;
  lim.timeout_ms = 150;
  a = load_file(PROBE, &lim, NULL);
  CHECK_ERR(call(a, "spin", "[]", &out, &info), ENCLOS_E_INTERRUPTED);
  CHECK(info.trapped);
  CHECK(info.duration_ns >= 140000000ull);
  CHECK_CONTAINS(enclos_err_detail(), "150 ms");
  expect_call(a, "add", "[1, 1]", "[2]");
  enclos_buf_free(&out);
  enclos_app_unref(a);
}

/* ---- host module ------------------------------------------------------------------------------- */

TEST(app_host_crypto_example) {
  log_rec rec = {0};
  enclos_app_services svc = {.log = rec_log, .log_ctx = &rec};
  enclos_app *a = load_file(EXAMPLE("crypto"), NULL, &svc);
  http_out o;
  http(a, "GET", "/", NULL, NULL, &o);
  CHECK_OK(o.rc);
  CHECK_EQ_INT(o.info.exit_code, 0);
  CHECK_EQ_INT(o.resp.status, 200);
  CHECK_STR(body_str(&o),
            "sha256(abc)=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
            "hmac=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8\n"
            "aead ok\necdsa ok\n");
  CHECK_EQ_INT(rec.n, 1);
  CHECK_STR(rec.lines[0], "crypto demo done");
  CHECK_EQ_INT(rec.levels[0], 2);
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

TEST(app_host_errors) {
  log_rec rec = {0};
  enclos_app_services svc = {.log = rec_log, .log_ctx = &rec};
  enclos_app *a = load_file(PROBE, NULL, &svc);
  expect_call(a, "hostfault", "[]", "[-5]");
  expect_call(a, "hostbadalg", "[]", "[-1]");
  expect_call(a, "hostsmall", "[]", "[-2]");
  expect_call(a, "hostbadkey", "[]", "[-1]");
  expect_call(a, "hostbadpriv", "[]", "[-1]");
  expect_call(a, "kvtest", "[]", "[-4]"); /* no store: EUNSUPPORTED */
  expect_call_err(a, "logfault", "[]", ENCLOS_E_TRAP, "enclos.log");
  expect_call(a, "logok", "[]", "[0]");
  CHECK_EQ_INT(rec.n, 1);
  CHECK_EQ_INT(rec.levels[0], 1);
  CHECK_STR(rec.lines[0], "probe says hi\nforged line"); /* the hook gets the raw bytes */
  enclos_app_unref(a);
}

/* ---- isolation between calls ------------------------------------------------------------------- */

TEST(app_isolation_between_calls) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  /* counter (global data), scratch (static buffer) and slot (function pointer) all start
   * fresh: 0 * 1000 + 0 + one() */
  for (int i = 0; i < 3; i++) expect_call(a, "bump", "[]", "[1]");
  enclos_buf out = ENCLOS_BUF_INIT;
  enclos_app_call_info info;
  CHECK_OK(call(a, "grow", "[]", &out, &info));
  char first[32];
  snprintf(first, sizeof(first), "%s", (const char *)out.data);
  CHECK(strcmp(first, "[-1]") != 0);
  for (int i = 0; i < 3; i++) expect_call(a, "grow", "[]", first);
  enclos_buf_free(&out);
  enclos_app_unref(a);
}

typedef struct thr_arg {
  enclos_app *a;
  int bad;
} thr_arg;

static void *thr_calls(void *p) {
  thr_arg *t = p;
  enclos_buf out = ENCLOS_BUF_INIT;
  for (int i = 0; i < 200; i++) {
    enclos_buf_reset(&out);
    if (enclos_app_call(t->a, "bump", "[]", 2, &out, NULL) != ENCLOS_OK || out.len != 3 ||
        memcmp(out.data, "[1]", 3) != 0)
      t->bad++;
  }
  enclos_buf_free(&out);
  return NULL;
}

TEST(app_concurrent_calls) {
  /* calls from several threads share one app: each gets its own fresh instance */
  enclos_app *a = load_file(PROBE, NULL, NULL);
  pthread_t th[4];
  thr_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thr_arg){a, 0};
    CHECK(pthread_create(&th[i], NULL, thr_calls, &args[i]) == 0);
  }
  for (int i = 0; i < 4; i++) {
    CHECK(pthread_join(th[i], NULL) == 0);
    CHECK_EQ_INT(args[i].bad, 0);
  }
  enclos_app_unref(a);
}

TEST(app_isolation_stdio_env) {
  enclos_app *a = load_file(PROBE, NULL, NULL);
  enclos_app_header hs[] = {{"X-Custom-Thing", 14, "secret", 6}, {"User-Agent", 10, "ua", 2}};
  enclos_app_http_request req = {.method = "POST", .path = "/env", .query = "token=1",
                                 .content_type = "text/plain", .headers = hs, .nheaders = 2,
                                 .body = (const uint8_t *)"body-secret", .body_len = 11};
  enclos_app_http_response resp = {0};
  CHECK_OK(enclos_app_http(a, &req, &resp, NULL));
  const char *s;
  CHECK_OK(enclos_buf_cstr(&resp.body, &s));
  CHECK_CONTAINS(s, "custom=secret");
  CHECK_CONTAINS(s, "body=body-secret");
  enclos_buf_free(&resp.body);
  /* the next request sees none of it: environment, stdin and stdout are fresh */
  http_out o;
  http(a, "GET", "/env", NULL, NULL, &o);
  CHECK_OK(o.rc);
  CHECK_STR(body_str(&o), "method=GET\nquery=\nctype=-\nclen=0\nagent=-\ncustom=-\n");
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

TEST(app_isolation_memory_bounds) {
  /* a guest address beyond its own memory traps instead of reaching host or other memory */
  enclos_app *a = load_file(PROBE, NULL, NULL);
  expect_call_err(a, "peek", "[4294967295]", ENCLOS_E_TRAP, "out of bounds memory access");
  expect_call_err(a, "peek", "[16777216]", ENCLOS_E_TRAP, "out of bounds memory access");
  expect_call(a, "peek", "[0]", "[0]");
  enclos_app_unref(a);
}

/* ---- storage ------------------------------------------------------------------------------------ */

typedef struct store_fx {
  enclos_store *st;
  enclos_store_table *ta, *tb;
  enclos_app *a, *b;
} store_fx;

static void store_open(store_fx *fx) {
  memset(fx, 0, sizeof(*fx));
  const char *dir = test_tmpdir();
  enclos_store_opts o = {.seal_key = enclos_store_sim_seal_key, .seal_ctx = (void *)(uintptr_t)dir, .create = true};
  CHECK_OK(enclos_store_open(dir, &o, &fx->st));
  CHECK_OK(enclos_store_app_create(fx->st, "alpha", 0));
  CHECK_OK(enclos_store_app_create(fx->st, "beta", 0));
  CHECK_OK(enclos_store_app_table(fx->st, "alpha", &fx->ta));
  CHECK_OK(enclos_store_app_table(fx->st, "beta", &fx->tb));
  enclos_app_services sa = {.store = fx->st, .table = fx->ta}, sb = {.store = fx->st, .table = fx->tb};
  fx->a = load_file(APP_GUEST_DIR "/files.wasm", NULL, &sa);
  fx->b = load_file(APP_GUEST_DIR "/files.wasm", NULL, &sb);
}

static void store_close(store_fx *fx) {
  enclos_app_unref(fx->a);
  enclos_app_unref(fx->b);
  enclos_store_close(fx->st);
}

TEST(app_storage_files) {
  store_fx fx;
  store_open(&fx);
  enclos_app *a = fx.a;
  expect_call(a, "writef", "[\"/data/a.txt\", \"one\"]", "[0]");
  expect_call(a, "readf", "[\"/data/a.txt\"]", "[\"one\"]");
  expect_call(a, "readf", "[\"/data/./x/../a.txt\"]", "[\"one\"]");
  expect_call(a, "size", "[\"/data/a.txt\"]", "[3]");
  expect_call(a, "mkd", "[\"/data/d\"]", "[0]");
  expect_call(a, "mkd", "[\"/data/d\"]", "[-20]");       /* EEXIST */
  expect_call(a, "writef", "[\"/data/d/x\", \"X\"]", "[0]");
  expect_call(a, "writef", "[\"/data/nodir/x\", \"X\"]", "[-44]"); /* ENOENT */
  expect_call(a, "writef", "[\"/data/a.txt/x\", \"X\"]", "[-54]"); /* ENOTDIR */
  expect_call(a, "ls", "[\"/data\"]", "[\"a.txt,d/\"]");
  expect_call(a, "ls", "[\"/data/d\"]", "[\"x\"]");
  expect_call(a, "rmd", "[\"/data/d\"]", "[-55]");       /* ENOTEMPTY */
  expect_call(a, "rm", "[\"/data/d\"]", "[-31]");        /* EISDIR */
  expect_call(a, "rm", "[\"/data/d/x\"]", "[0]");
  expect_call(a, "rmd", "[\"/data/d\"]", "[0]");
  expect_call(a, "rmd", "[\"/data/d\"]", "[-44]");
  expect_call(a, "mv", "[\"/data/a.txt\", \"/data/b.txt\"]", "[0]");
  expect_call(a, "readf", "[\"/data/a.txt\"]", "[\"ERR:44\"]");
  expect_call(a, "readf", "[\"/data/b.txt\"]", "[\"one\"]");
  expect_call(a, "edit", "[]", "[0]");
  expect_call(a, "readf", "[\"/data/edit.txt\"]", "[\"hello WOR\"]");
  expect_call(a, "ls", "[\"/data\"]", "[\"b.txt,edit.txt\"]");
  /* files are kv records */
  expect_call(a, "kvget", "[\"b.txt\"]", "[\"one\"]");
  /* descriptors do not outlive a call */
  enclos_buf out = ENCLOS_BUF_INIT;
  CHECK_OK(call(a, "leakfds", "[]", &out, NULL));
  char first[32];
  snprintf(first, sizeof(first), "%s", (const char *)out.data);
  CHECK(strcmp(first, "[-1]") != 0);
  expect_call(a, "leakfds", "[]", first);
  enclos_buf_free(&out);
  /* nothing outside /data */
  expect_call(a, "escape", "[]", "[0]");
  store_close(&fx);
}

TEST(app_storage_kv) {
  store_fx fx;
  store_open(&fx);
  enclos_app *a = fx.a;
  expect_call(a, "kvset", "[\"k1\", \"v1\"]", "[0]");
  expect_call(a, "kvset", "[\"k2\", \"value two\"]", "[0]");
  expect_call(a, "kvset", "[\"other\", \"x\"]", "[0]");
  expect_call(a, "kvget", "[\"k1\"]", "[\"v1\"]");
  expect_call(a, "kvsize", "[\"k2\"]", "[9]");
  expect_call(a, "kvls", "[\"k\"]", "[\"k1,k2\"]");
  expect_call(a, "kvls", "[\"\"]", "[\"k1,k2,other\"]");
  expect_call(a, "kvdel", "[\"k1\"]", "[0]");
  expect_call(a, "kvdel", "[\"k1\"]", "[-7]");
  expect_call(a, "kvget", "[\"k1\"]", "[\"ERR:-7\"]");
  expect_call(a, "kvset", "[\"\", \"x\"]", "[-1]"); /* empty key */
  expect_call(a, "kvfault", "[]", "[-5]");
  /* kv records show up as files */
  expect_call(a, "readf", "[\"/data/k2\"]", "[\"value two\"]");
  store_close(&fx);
}

TEST(app_isolation_between_apps) {
  store_fx fx;
  store_open(&fx);
  expect_call(fx.a, "writef", "[\"/data/secret.txt\", \"alpha only\"]", "[0]");
  expect_call(fx.a, "kvset", "[\"s\", \"alpha kv\"]", "[0]");
  /* beta has its own table: none of alpha's records */
  expect_call(fx.b, "readf", "[\"/data/secret.txt\"]", "[\"ERR:44\"]");
  expect_call(fx.b, "kvget", "[\"s\"]", "[\"ERR:-7\"]");
  expect_call(fx.b, "ls", "[\"/data\"]", "[\"\"]");
  expect_call(fx.b, "kvls", "[\"\"]", "[\"\"]");
  expect_call(fx.b, "readf", "[\"/data/../alpha/secret.txt\"]", "[\"ERR:76\"]"); /* ENOTCAPABLE */
  expect_call(fx.b, "escape", "[]", "[0]");
  /* and alpha still has them, across calls */
  expect_call(fx.a, "readf", "[\"/data/secret.txt\"]", "[\"alpha only\"]");
  expect_call(fx.a, "kvget", "[\"s\"]", "[\"alpha kv\"]");
  store_close(&fx);
}

TEST(app_reactor_initialised_once) {
  enclos_app *a = load_file(APP_GUEST_DIR "/reactor.wasm", NULL, NULL);
  for (int i = 0; i < 3; i++) {
    expect_call(a, "init_runs", "[]", "[1]"); /* _initialize ran at load, not per call */
    expect_call(a, "greeting_ok", "[]", "[1]");
    expect_call(a, "inc", "[]", "[1]");
  }
  expect_call_err(a, "_initialize", "[]", ENCLOS_E_NOT_FOUND, NULL);
  http_out o;
  http(a, "GET", "/", NULL, NULL, &o);
  CHECK_ERR(o.rc, ENCLOS_E_NOT_FOUND); /* neither _start nor handle */
  enclos_buf_free(&o.resp.body);
  enclos_app_unref(a);
}

TEST(app_no_store_no_files) {
  enclos_app *a = load_file(APP_GUEST_DIR "/files.wasm", NULL, NULL);
  expect_call(a, "escape", "[]", "[0]");
  expect_call(a, "readf", "[\"/data/x\"]", "[\"ERR:76\"]"); /* no preopen: ENOTCAPABLE */
  expect_call(a, "kvset", "[\"k\", \"v\"]", "[-4]");
  enclos_app_unref(a);
}

#else

TEST(app_skipped) { printf("SKIP app tests: guests not built (clang cannot target wasm32-wasi)\n"); }

#endif
