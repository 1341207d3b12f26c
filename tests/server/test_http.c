/* HTTP/1.1 parser, writer, percent-decoding: positive cases, every limit, every smuggling
 * shape, and every split position (including byte-at-a-time and pipelined pairs). */
#include <enclos/mem.h>
#include <enclos/server_http.h>

#include "test.h"

typedef struct parsed {
  enclos_err rc;
  int status;
  size_t consumed;
  enclos_http_parser p;
  uint8_t *buf;
  size_t len;
} parsed;

/* Parses \p s (may contain NULs: size given) in one call. */
static parsed *parse_n(const char *s, size_t n, const enclos_http_limits *lim) {
  parsed *r = calloc(1, sizeof(*r));
  r->buf = malloc(n ? n : 1);
  memcpy(r->buf, s, n);
  r->len = n;
  enclos_http_parser_init(&r->p, lim);
  r->rc = enclos_http_parse(&r->p, r->buf, n, &r->consumed);
  r->status = enclos_http_parser_status(&r->p);
  return r;
}
static parsed *parse(const char *s) { return parse_n(s, strlen(s), NULL); }
static void done(parsed *r) {
  free(r->buf);
  free(r);
}

static bool span_is(const parsed *r, enclos_http_span sp, const char *want) {
  return sp.len == strlen(want) && memcmp(r->buf + sp.off, want, sp.len) == 0;
}

/* Expects a refusal with \p status; the detail must mention \p what. */
#define REFUSED(text, st, what)                                                    \
  do {                                                                             \
    parsed *r_ = parse(text);                                                      \
    CHECK_MSG(r_->rc != ENCLOS_OK && r_->rc != ENCLOS_E_AGAIN, "accepted: %s", #text); \
    CHECK_EQ_INT(r_->status, st);                                                  \
    CHECK_CONTAINS(enclos_err_detail(), what);                                     \
    done(r_);                                                                      \
  } while (0)

TEST(http_simple_get) {
  parsed *r = parse("GET /apps/x/call/f?nonce=ab%20c&y HTTP/1.1\r\nHost: h\r\nX-A:  v 1 \r\n\r\n");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->consumed, r->len);
  CHECK_EQ_INT(r->p.req.method, ENCLOS_HTTP_GET);
  CHECK(span_is(r, r->p.req.path, "/apps/x/call/f"));
  CHECK(r->p.req.has_query);
  CHECK(span_is(r, r->p.req.query, "nonce=ab%20c&y"));
  CHECK_EQ_INT(r->p.req.version_minor, 1);
  CHECK_EQ_INT(r->p.req.header_count, 2);
  CHECK(span_is(r, r->p.req.host, "h"));
  const enclos_http_header *h = enclos_http_find_header(&r->p.req, r->buf, "x-a");
  CHECK(h != NULL);
  CHECK(span_is(r, h->value, "v 1")); /* OWS trimmed, inner SP kept */
  CHECK(r->p.req.keep_alive);
  CHECK(!r->p.req.expect_continue);
  CHECK_EQ_INT(r->p.req.body.len, 0);
  CHECK(enclos_http_find_header(&r->p.req, r->buf, "nope") == NULL);
  done(r);
}

TEST(http_methods_and_forms) {
  parsed *r = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.method, ENCLOS_HTTP_OPTIONS);
  CHECK(span_is(r, r->p.req.path, "*"));
  done(r);
  r = parse("GET http://example.com:80/healthz?a=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK(span_is(r, r->p.req.path, "/healthz"));
  CHECK(span_is(r, r->p.req.query, "a=1"));
  done(r);
  r = parse("GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.path.len, 0); /* empty path = "/" */
  done(r);
  r = parse("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.method, ENCLOS_HTTP_OTHER);
  CHECK(span_is(r, r->p.req.method_text, "BREW"));
  done(r);
  r = parse("get / HTTP/1.1\r\nHost: h\r\n\r\n"); /* methods are case-sensitive */
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.method, ENCLOS_HTTP_OTHER);
  done(r);
  CHECK_STR(enclos_http_method_name(ENCLOS_HTTP_DELETE), "DELETE");
  CHECK_STR(enclos_http_method_name(ENCLOS_HTTP_OTHER), "OTHER");
}

TEST(http_content_length_body) {
  parsed *r = parse("POST /apps HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->consumed, r->len - 3);
  CHECK(r->p.req.has_content_length);
  CHECK_EQ_INT(r->p.req.content_length, 5);
  CHECK(span_is(r, r->p.req.body, "hello"));
  done(r);
  r = parse("POST /apps HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.body.len, 0);
  done(r);
  /* Incomplete body: AGAIN, with the headers already available. */
  r = parse("POST /apps HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhel");
  CHECK_ERR(r->rc, ENCLOS_E_AGAIN);
  CHECK(r->p.req.headers_complete);
  CHECK_EQ_INT(r->status, 0);
  done(r);
}

TEST(http_chunked_body_decoded_in_place) {
  const char *t = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5;ext=\"v\"\r\nhello\r\n"
                  "1 ; a\r\n \r\n"
                  "A\r\n0123456789\r\n"
                  "0\r\nX-Trailer: t\r\nY: \r\n\r\nNEXT";
  parsed *r = parse(t);
  CHECK_OK(r->rc);
  CHECK(r->p.req.chunked);
  CHECK(span_is(r, r->p.req.body, "hello 0123456789"));
  CHECK_EQ_INT(r->p.req.trailer_count, 2);
  CHECK_EQ_INT(r->consumed, strlen(t) - 4);
  CHECK_MEM(r->buf + r->consumed, "NEXT", 4);
  /* Trailer fields never become header fields. */
  CHECK(enclos_http_find_header(&r->p.req, r->buf, "x-trailer") == NULL);
  done(r);
  r = parse("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.body.len, 0);
  done(r);
  /* Transfer-Encoding split over two field lines forms one list. */
  r = parse("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\nTransfer-Encoding: chunked\r\n"
            "\r\n0\r\n\r\n");
  CHECK(r->rc != ENCLOS_OK); /* the first line lists no coding */
  done(r);
}

TEST(http_keep_alive_rules) {
  parsed *r = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK(!r->p.req.keep_alive);
  done(r);
  r = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK(!r->p.req.keep_alive);
  done(r);
  r = parse("GET / HTTP/1.0\r\n\r\n"); /* 1.0: no Host needed, closes by default */
  CHECK_OK(r->rc);
  CHECK_EQ_INT(r->p.req.version_minor, 0);
  CHECK(!r->p.req.keep_alive);
  done(r);
  r = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK(r->p.req.keep_alive);
  done(r);
  r = parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK(!r->p.req.keep_alive);
  done(r);
  REFUSED("GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n", 400, "not a token");
}

TEST(http_expect_continue) {
  parsed *r = parse("POST /a HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
  CHECK_ERR(r->rc, ENCLOS_E_AGAIN);
  CHECK(r->p.req.headers_complete);
  CHECK(r->p.req.expect_continue);
  done(r);
  r = parse("POST /a HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
  CHECK_OK(r->rc);
  CHECK(!r->p.req.expect_continue); /* ignored for HTTP/1.0 (RFC 9110 §10.1.1) */
  done(r);
  REFUSED("POST /a HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", 417, "Expect");
}

TEST(http_limits_each_with_its_status) {
  enclos_http_limits lim;
  enclos_http_limits_default(&lim);
  CHECK_EQ_INT(lim.max_request_line, ENCLOS_HTTP_DEFAULT_MAX_REQUEST_LINE);
  lim.max_request_line = 32;
  lim.max_headers = 3;
  lim.max_header_section = 64;
  lim.max_body = 10;
  lim.max_trailer_section = 16;
  /* Request line: exactly at the limit passes, one byte more is 414 (even before CRLF). */
  const char *ok = "GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: h\r\n\r\n"; /* 32-byte line */
  parsed *r = parse_n(ok, strlen(ok), &lim);
  CHECK_OK(r->rc);
  done(r);
  const char *big = "GET /aaaaaaaaaaaaaaaaa HTTP/1.1\r\n";
  r = parse_n(big, strlen(big), &lim);
  CHECK_EQ_INT(r->status, 414);
  CHECK_ERR(r->rc, ENCLOS_E_LIMIT);
  done(r);
  const char *stream = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* no CRLF yet */
  r = parse_n(stream, strlen(stream), &lim);
  CHECK_EQ_INT(r->status, 414);
  done(r);
  /* Header count. */
  const char *three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  r = parse_n(three, strlen(three), &lim);
  CHECK_OK(r->rc);
  done(r);
  const char *four = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  r = parse_n(four, strlen(four), &lim);
  CHECK_EQ_INT(r->status, 431);
  CHECK_CONTAINS(enclos_err_detail(), "header fields");
  done(r);
  /* Header section size. */
  const char *fat = "GET / HTTP/1.1\r\nHost: h\r\nA: 0123456789012345678901234567890123456789"
                    "0123456789\r\n\r\n";
  r = parse_n(fat, strlen(fat), &lim);
  CHECK_EQ_INT(r->status, 431);
  CHECK_CONTAINS(enclos_err_detail(), "header section");
  done(r);
  /* Body by Content-Length: refused as soon as the headers end. */
  const char *cl = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
  r = parse_n(cl, strlen(cl), &lim);
  CHECK_EQ_INT(r->status, 413);
  done(r);
  const char *cl10 = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
  r = parse_n(cl10, strlen(cl10), &lim);
  CHECK_OK(r->rc);
  done(r);
  /* Chunked body: the running total is checked as the size digits arrive. */
  const char *ch = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\n01234\r\n6\r\n";
  r = parse_n(ch, strlen(ch), &lim);
  CHECK_EQ_INT(r->status, 413);
  done(r);
  /* Trailer section. */
  const char *tr = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "0\r\nX: 0123456789abcdef\r\n\r\n";
  r = parse_n(tr, strlen(tr), &lim);
  CHECK_EQ_INT(r->status, 431);
  CHECK_CONTAINS(enclos_err_detail(), "trailer");
  done(r);
  /* max_headers is clamped to the fixed array. */
  lim.max_headers = 100000;
  enclos_http_parser p;
  enclos_http_parser_init(&p, &lim);
  CHECK_EQ_INT(p.limits.max_headers, ENCLOS_HTTP_MAX_HEADERS_CAP);
}

TEST(http_default_limits_hold) {
  /* Default header count: 64 fields pass, 65 are refused with 431. */
  char *buf = malloc(8192);
  for (int n = 64; n <= 65; n++) {
    size_t o = (size_t)snprintf(buf, 8192, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < n - 1; i++) o += (size_t)snprintf(buf + o, 8192 - o, "X%d: v\r\n", i);
    o += (size_t)snprintf(buf + o, 8192 - o, "Host: h\r\n\r\n");
    parsed *r = parse_n(buf, o, NULL);
    if (n == 64) CHECK_OK(r->rc);
    else CHECK_EQ_INT(r->status, 431);
    done(r);
  }
  free(buf);
  /* Chunk size overflow: 17 hex digits would overflow 64 bits. */
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n",
          413, "chunk");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 413,
          "digits");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n", 413,
          "body limit");
  /* A chunk-size line longer than ENCLOS_HTTP_MAX_CHUNK_LINE. */
  char *longext = malloc(2048);
  size_t o = (size_t)snprintf(longext, 2048,
                              "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;");
  memset(longext + o, 'a', 1100);
  longext[o + 1100] = '\0';
  parsed *r = parse(longext);
  CHECK_EQ_INT(r->status, 400);
  CHECK_CONTAINS(enclos_err_detail(), "chunk-size line");
  done(r);
  free(longext);
}

TEST(http_smuggling_shapes_refused) {
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
          400, "smuggling");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
          400, "smuggling");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400,
          "duplicate Content-Length");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n", 400, "1*DIGIT");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", 400, "1*DIGIT");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\n", 400, "1*DIGIT");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400, "empty Content-Length");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
          "after chunked");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
          400, "after chunked");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "transfer coding");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
          "transfer coding");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 501,
          "transfer coding");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 501,
          "transfer coding");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400, "token");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", 400, "no coding");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: a,b,c,d,e,f,g,h,chunked\r\n\r\n", 400,
          "codings");
  REFUSED("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400,
          "colon");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", 400, "obs-fold");
  REFUSED("POST / HTTP/1.1\r\n Host: h\r\n\r\n", 400, "obs-fold");
  REFUSED("GET / HTTP/1.1\nHost: h\n\n", 400, "bad HTTP-version");
  REFUSED("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400, "0x0a");
  REFUSED("GET / HTTP/1.1\r\nHost: h\r\n\n", 400, "field name");
  REFUSED("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", 400, "bare CR");
  REFUSED("GET / HTTP/1.1\r\nX: a\rb\r\nHost: h\r\n\r\n", 400, "bare CR");
  REFUSED("GET / HTTP/1.1\r\nHost: h\r\n\rX", 400, "bare CR");
  REFUSED("GET / HTTP/1.1\rX", 400, "bare CR");
  REFUSED("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400,
          "CRLF");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\nab", 400, "0x0a");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", 400,
          "hexadecimal");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400,
          "hexadecimal");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded\r\n\r\n",
          400, "obs-fold");
  REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n",
          400, "trailer");
  REFUSED("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host");
  REFUSED("GET / HTTP/1.1\r\n\r\n", 400, "Host");
  REFUSED("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "Host contains");
  REFUSED("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "Host contains");
  REFUSED("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "Host contains");
  REFUSED("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "Host");
}

TEST(http_bad_bytes_refused) {
  /* NUL, other CTLs, DEL and non-token characters in each element. */
  parsed *r = parse_n("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 30, NULL);
  CHECK_EQ_INT(r->status, 400);
  CHECK_CONTAINS(enclos_err_detail(), "0x00");
  done(r);
  r = parse_n("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 36, NULL);
  CHECK_EQ_INT(r->status, 400);
  CHECK_CONTAINS(enclos_err_detail(), "0x00");
  done(r);
  r = parse_n("GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n", 28, NULL);
  CHECK_EQ_INT(r->status, 400);
  done(r);
  REFUSED("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method");
  REFUSED("GE\x7fT / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method");
  REFUSED("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "target");
  REFUSED("GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "target");
  REFUSED("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400, "target");
  REFUSED("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "empty request target");
  REFUSED("GET / HTTP/1.1\r\nFo(o: h\r\n\r\n", 400, "field name");
  REFUSED("GET / HTTP/1.1\r\n: h\r\n\r\n", 400, "field name");
  REFUSED("GET / HTTP/1.1\r\nX: \x7f\r\n\r\n", 400, "field value");
  REFUSED("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400, "field value");
  REFUSED("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "not supported");
  REFUSED("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505, "not supported");
  REFUSED("GET / HTTP/1.10\r\n", 400, "HTTP-version");
  REFUSED("GET / http/1.1\r\nHost: h\r\n\r\n", 400, "HTTP-version");
  REFUSED("GET / HTTP/1,1\r\nHost: h\r\n\r\n", 400, "HTTP-version");
  REFUSED("GET /\r\n\r\n", 400, "target");
  REFUSED("GET / \r\n\r\n", 400, "HTTP-version");
  REFUSED("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, "fragment");
  REFUSED("GET /a?b#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, "fragment");
  REFUSED("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, "asterisk");
  REFUSED("GET example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "origin-form");
  REFUSED("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "authority");
  REFUSED(" GET / HTTP/1.1\r\n", 400, "method");
  REFUSED("\nGET / HTTP/1.1\r\n", 400, "method");
  REFUSED("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "empty lines");
  r = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"); /* a few are ignored (§2.2) */
  CHECK_OK(r->rc);
  done(r);
  /* obs-text is allowed in field values. */
  r = parse("GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n");
  CHECK_OK(r->rc);
  done(r);
}

TEST(http_refused_parser_stays_refused) {
  parsed *r = parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  CHECK_EQ_INT(r->status, 400);
  size_t c;
  CHECK_ERR(enclos_http_parse(&r->p, r->buf, r->len, &c), ENCLOS_E_STATE);
  done(r);
  enclos_http_parser p;
  enclos_http_parser_init(&p, NULL);
  uint8_t b[] = "GET / HT";
  CHECK_ERR(enclos_http_parse(&p, b, 8, &c), ENCLOS_E_AGAIN);
  CHECK_ERR(enclos_http_parse(&p, b, 4, &c), ENCLOS_E_INVAL); /* buffer shrank */
  CHECK_ERR(enclos_http_parse(NULL, b, 4, &c), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_parse(&p, NULL, 4, &c), ENCLOS_E_INVAL);
}

/* Compares two parses of the same request field by field. */
static void same_request(const enclos_http_request *a, const uint8_t *ba,
                         const enclos_http_request *b, const uint8_t *bb) {
  CHECK_EQ_INT(a->method, b->method);
  CHECK_EQ_INT(a->path.len, b->path.len);
  CHECK_MEM(ba + a->path.off, bb + b->path.off, a->path.len);
  CHECK_EQ_INT(a->query.len, b->query.len);
  CHECK_EQ_INT(a->header_count, b->header_count);
  for (size_t i = 0; i < a->header_count; i++) {
    CHECK_EQ_INT(a->headers[i].value.len, b->headers[i].value.len);
    CHECK_MEM(ba + a->headers[i].value.off, bb + b->headers[i].value.off, a->headers[i].value.len);
  }
  CHECK_EQ_INT(a->body.len, b->body.len);
  CHECK_MEM(ba + a->body.off, bb + b->body.off, a->body.len);
  CHECK_EQ_INT(a->keep_alive, b->keep_alive);
  CHECK_EQ_INT(a->chunked, b->chunked);
}

/* Feeds \p text one byte at a time; the result must equal the one-shot parse. */
static void bytewise_equals_whole(const char *text) {
  size_t n = strlen(text);
  parsed *whole = parse(text);
  uint8_t *buf = malloc(n);
  enclos_http_parser p;
  enclos_http_parser_init(&p, NULL);
  enclos_err rc = ENCLOS_E_AGAIN;
  size_t consumed = 0, i;
  for (i = 1; i <= n && rc == ENCLOS_E_AGAIN; i++) {
    buf[i - 1] = (uint8_t)text[i - 1];
    rc = enclos_http_parse(&p, buf, i, &consumed);
  }
  CHECK_EQ_INT(rc, whole->rc);
  CHECK_EQ_INT(enclos_http_parser_status(&p), whole->status);
  if (rc == ENCLOS_OK) {
    CHECK_EQ_INT(consumed, whole->consumed);
    same_request(&p.req, buf, &whole->p.req, whole->buf);
  }
  free(buf);
  done(whole);
}

TEST(http_byte_at_a_time_matches_whole) {
  bytewise_equals_whole("GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Y:\t z \t\r\nConnection: close\r\n\r\n");
  bytewise_equals_whole("POST /apps HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody");
  bytewise_equals_whole("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3;e=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n");
  bytewise_equals_whole("\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  /* refusals also happen at the same byte */
  bytewise_equals_whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  bytewise_equals_whole("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n");
}

/* Every split position of a pipelined pair: part 1 then the rest. Both requests must parse
 * identically to a one-shot parse, and the first must consume exactly its own bytes. */
static void pipelined_pair(const char *first, const char *second) {
  size_t n1 = strlen(first), n2 = strlen(second), n = n1 + n2;
  char *pair = malloc(n + 1);
  memcpy(pair, first, n1);
  memcpy(pair + n1, second, n2 + 1);
  parsed *w1 = parse(first), *w2 = parse(second);
  CHECK_OK(w1->rc);
  CHECK_OK(w2->rc);
  for (size_t split = 0; split <= n; split++) {
    uint8_t *buf = malloc(n);
    memcpy(buf, pair, split);
    enclos_http_parser p;
    enclos_http_parser_init(&p, NULL);
    size_t consumed = 0;
    enclos_err rc = enclos_http_parse(&p, buf, split, &consumed);
    if (split < n1) CHECK_EQ_INT(rc, ENCLOS_E_AGAIN);
    memcpy(buf + split, pair + split, n - split);
    if (rc == ENCLOS_E_AGAIN) rc = enclos_http_parse(&p, buf, n, &consumed);
    CHECK_OK(rc);
    CHECK_EQ_INT(consumed, n1);
    same_request(&p.req, buf, &w1->p.req, w1->buf);
    /* The caller shifts the buffer; the second request starts at offset 0. */
    memmove(buf, buf + consumed, n - consumed);
    enclos_http_parser_init(&p, NULL);
    CHECK_OK(enclos_http_parse(&p, buf, n - consumed, &consumed));
    CHECK_EQ_INT(consumed, n2);
    same_request(&p.req, buf, &w2->p.req, w2->buf);
    free(buf);
  }
  done(w1);
  done(w2);
  free(pair);
}

TEST(http_pipelined_pairs_every_split) {
  pipelined_pair("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n",
                 "POST /apps HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  pipelined_pair("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "2\r\nab\r\n1;x\r\nc\r\n0\r\nT: 1\r\n\r\n",
                 "GET /y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  pipelined_pair("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

TEST(http_writer_status_line_and_framing) {
  enclos_buf b = ENCLOS_BUF_INIT;
  enclos_http_out_header h[] = {{"X-Req", "42"}};
  CHECK_OK(enclos_http_write_response(&b, 200, 1, true, "text/plain", "hi", 2, h, 1));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK_STR((const char *)b.data,
            "HTTP/1.1 200 OK\r\nX-Req: 42\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
  enclos_buf_reset(&b);
  CHECK_OK(enclos_http_write_response(&b, 200, 1, false, NULL, NULL, 0, NULL, 0));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK_STR((const char *)b.data, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  enclos_buf_reset(&b);
  CHECK_OK(enclos_http_write_response(&b, 204, 0, true, "x/y", NULL, 0, NULL, 0));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK_STR((const char *)b.data, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
  enclos_buf_reset(&b);
  CHECK_OK(enclos_http_write_continue(&b));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK_STR((const char *)b.data, "HTTP/1.1 100 Continue\r\n\r\n");
  /* Response splitting and bad statuses are refused, leaving the buffer unchanged. */
  enclos_buf_reset(&b);
  enclos_http_out_header bad1[] = {{"X", "a\r\nSet-Cookie: x"}};
  enclos_http_out_header bad2[] = {{"X Y", "a"}};
  enclos_http_out_header bad3[] = {{"X", "a\nb"}};
  CHECK_ERR(enclos_http_write_head(&b, 200, 1, true, NULL, 0, bad1, 1), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_write_head(&b, 200, 1, true, NULL, 0, bad2, 1), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_write_head(&b, 200, 1, true, NULL, 0, bad3, 1), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_write_head(&b, 200, 1, true, "a\r\n", 0, NULL, 0), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_write_head(&b, 99, 1, true, NULL, 0, NULL, 0), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_write_head(&b, 600, 1, true, NULL, 0, NULL, 0), ENCLOS_E_INVAL);
  CHECK_EQ_INT(b.len, 0);
  enclos_buf_free(&b);
  CHECK_STR(enclos_http_reason(431), "Request Header Fields Too Large");
  CHECK_STR(enclos_http_reason(413), "Content Too Large");
  CHECK_STR(enclos_http_reason(299), "Unknown");
  CHECK_STR(enclos_http_error_code(404), "not_found");
  CHECK_STR(enclos_http_error_code(599), "internal_error");
}

TEST(http_json_error_bodies) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_http_json_error_body(&b, "bad_request", "say \"hi\"\\\n\x01 caf\xc3\xa9 \xff"));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK_STR((const char *)b.data, "{\"error\":{\"code\":\"bad_request\",\"message\":\"say "
                                  "\\\"hi\\\"\\\\\\u000a\\u0001 caf\xc3\xa9 \\ufffd\"}}");
  enclos_buf_reset(&b);
  enclos_http_out_header allow[] = {{"Allow", "GET, HEAD"}};
  CHECK_OK(enclos_http_write_error(&b, 405, 1, true, NULL, NULL, allow, 1));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK_CONTAINS((const char *)b.data, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n");
  CHECK_CONTAINS((const char *)b.data, "Content-Type: application/json\r\n");
  CHECK_CONTAINS((const char *)b.data,
                 "\r\n\r\n{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"Method Not Allowed\"}}");
  /* Overlong encodings and surrogates are not valid UTF-8. */
  enclos_buf_reset(&b);
  CHECK_OK(enclos_http_json_error_body(&b, "x", "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80"));
  CHECK_OK(enclos_buf_cstr(&b, &(const char *){NULL}));
  CHECK(strstr((const char *)b.data, "\xc0") == NULL);
  CHECK(strstr((const char *)b.data, "\xed") == NULL);
  /* Never 200 for a failure. */
  CHECK_ERR(enclos_http_write_error(&b, 200, 1, true, "x", "y", NULL, 0), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_http_write_error(&b, 302, 1, true, "x", "y", NULL, 0), ENCLOS_E_INVAL);
  enclos_buf_free(&b);
}

TEST(http_percent_decoding) {
  char out[16];
  size_t n;
  CHECK_OK(enclos_http_pct_decode((const uint8_t *)"a%20b%2fc", 9, out, sizeof(out), &n, 0));
  CHECK_STR(out, "a b/c");
  CHECK_EQ_INT(n, 5);
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"a%2Fc", 5, out, sizeof(out), &n,
                                   ENCLOS_HTTP_PCT_NO_SLASH),
            ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "encoded '/'");
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"a%00", 4, out, sizeof(out), &n, 0),
            ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "%00");
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"a%4", 3, out, sizeof(out), &n, 0),
            ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"a%", 2, out, sizeof(out), &n, 0),
            ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"a%g0", 4, out, sizeof(out), &n, 0),
            ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"a b", 3, out, sizeof(out), &n, 0),
            ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_http_pct_decode((const uint8_t *)"0123456789abcdef", 16, out, sizeof(out), &n,
                                   0),
            ENCLOS_E_LIMIT);
  CHECK_OK(enclos_http_pct_decode((const uint8_t *)"0123456789abcde", 15, out, sizeof(out), &n, 0));
  CHECK_OK(enclos_http_pct_decode((const uint8_t *)"a+b", 3, out, sizeof(out), &n,
                                  ENCLOS_HTTP_PCT_PLUS));
  CHECK_STR(out, "a b");
  CHECK_OK(enclos_http_pct_decode(NULL, 0, out, sizeof(out), &n, 0));
  CHECK_STR(out, "");
}

TEST(http_query_parameters) {
  const char *q = "a=1&nonce=ab%2Bc+d&flag&n%6Fnce2=z;x=";
  char out[32];
  size_t n;
  CHECK_OK(enclos_http_query_get((const uint8_t *)q, strlen(q), "nonce", out, sizeof(out), &n));
  CHECK_STR(out, "ab+c d");
  CHECK_OK(enclos_http_query_get((const uint8_t *)q, strlen(q), "flag", out, sizeof(out), &n));
  CHECK_STR(out, "");
  CHECK_OK(enclos_http_query_get((const uint8_t *)q, strlen(q), "nonce2", out, sizeof(out), &n));
  CHECK_STR(out, "z");
  CHECK_OK(enclos_http_query_get((const uint8_t *)q, strlen(q), "x", out, sizeof(out), &n));
  CHECK_STR(out, "");
  CHECK_ERR(enclos_http_query_get((const uint8_t *)q, strlen(q), "missing", out, sizeof(out), &n),
            ENCLOS_E_NOT_FOUND);
  CHECK_ERR(enclos_http_query_get((const uint8_t *)"a=%00", 5, "a", out, sizeof(out), &n),
            ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_http_query_get(NULL, 0, "a", out, sizeof(out), &n), ENCLOS_E_NOT_FOUND);
}

TEST(http_parse_and_route_do_not_allocate) {
  /* Every allocation from here on fails: the hot path must not need any. */
  const char *t = "POST /apps/x/call/f?nonce=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n";
  uint8_t *buf = malloc(strlen(t));
  memcpy(buf, t, strlen(t));
  enclos_http_parser p;
  size_t consumed;
  enclos_mem_fail_after(1);
  enclos_http_parser_init(&p, NULL);
  enclos_err rc = enclos_http_parse(&p, buf, strlen(t), &consumed);
  enclos_route_match m;
  enclos_err rr = enclos_route_match_path(p.req.method, buf + p.req.path.off, p.req.path.len, &m);
  char out[16];
  size_t n;
  enclos_err rq = enclos_http_query_get(buf + p.req.query.off, p.req.query.len, "nonce", out,
                                        sizeof(out), &n);
  uint64_t allocs = enclos_mem_alloc_count();
  enclos_mem_fail_after(0);
  CHECK_OK(rc);
  CHECK_OK(rr);
  CHECK_OK(rq);
  CHECK_EQ_INT(m.id, ENCLOS_ROUTE_APP_CALL);
  CHECK_EQ_U64(allocs, 0);
  free(buf);
}

TEST(http_host_forms_accepted) {
  static const char *hosts[] = {"example.com:443", "[::1]:8080", "127.0.0.1", "xn--bcher-kva.ch",
                                "a%41b", ""};
  for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
    char req[128];
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", hosts[i]);
    parsed *r = parse(req);
    CHECK_MSG(r->rc == ENCLOS_OK, "Host: %s refused (%s)", hosts[i], enclos_err_detail());
    CHECK(span_is(r, r->p.req.host, hosts[i]));
    done(r);
  }
}
