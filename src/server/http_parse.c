/* http_parse.c: incremental HTTP/1.1 request parser (RFC 9112 message syntax, RFC 9110
 * semantics), a table-driven state machine (STYLE.md §18).
 *
 * Divisions: 1. character classes  2. refusal helper  3. field semantics (Content-Length,
 * Transfer-Encoding, Connection, Expect, Host)  4. state handlers  5. the state table and
 * the driver  6. helpers for callers.
 *
 * Each state handler consumes bytes through an enclos_reader positioned at p->pos and
 * returns ENCLOS_OK after moving to another state, ENCLOS_E_AGAIN when the input ran out,
 * or a refusal. The parser never allocates and never looks at a byte twice, so resuming
 * after any split of the input gives the same result as parsing it whole.
 *
 * Strictness, chosen against request smuggling (RFC 9112 §11.2): lines end in CRLF only
 * (bare LF and bare CR are refused), obs-fold is refused (§5.2), whitespace before the
 * colon is refused (§5.1), Content-Length must be digits and appear once, Transfer-Encoding
 * together with Content-Length is refused (§6.3), the only coding understood is a single
 * final "chunked" (§6.1), and Transfer-Encoding in an HTTP/1.0 request is refused.
 */
#include <string.h>

#include <enclos/reader.h>
#include <enclos/server_http.h>

#include "server_int.h"

/* 1. Character classes (RFC 9110 §5.6.2 tchar, RFC 5234 VCHAR, RFC 9110 §5.5 obs-text) -- */

enum { C_TCHAR = 1, C_VCHAR = 2, C_OBS = 4, C_HEX = 8, C_DIGIT = 16, C_WS = 32 };

static const uint8_t cls[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  32, 0,  0,  0,  0,  0,  0,  /* 0x00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
    32, 3,  2,  3,  3,  3,  3,  3,  2,  2,  3,  3,  2,  3,  3,  2,  /* 0x20 */
    27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 2,  2,  2,  2,  2,  2,  /* 0x30 */
    2,  11, 11, 11, 11, 11, 11, 3,  3,  3,  3,  3,  3,  3,  3,  3,  /* 0x40 */
    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  2,  2,  2,  3,  3,  /* 0x50 */
    3,  11, 11, 11, 11, 11, 11, 3,  3,  3,  3,  3,  3,  3,  3,  3,  /* 0x60 */
    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  2,  3,  2,  3,  0,  /* 0x70 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0x80 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0x90 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xa0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xb0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xc0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xd0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xe0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xf0 */
};

#define IS(c, k) ((cls[(c)] & (k)) != 0)
#define CR 0x0d
#define LF 0x0a

/* Most codings in Transfer-Encoding (we understand one; a long list is an attack). */
#define HTTP_MAX_CODINGS 8
/* Longest Content-Length in digits (2^64 has 20). */
#define HTTP_MAX_CL_DIGITS 19

/* 2. Refusals: record the HTTP status, park the parser, and set the error detail. ------- */

#define REFUSE(p, st, code, ...)                                                   \
  do {                                                                             \
    (p)->status = (st);                                                            \
    (p)->state = S_ERROR;                                                          \
    ENCLOS_FAILF((code), __VA_ARGS__);                                             \
  } while (0)
#define BAD(p, ...) REFUSE((p), 400, ENCLOS_E_MALFORMED, __VA_ARGS__)

enum {
  S_START,
  S_START_LF,
  S_METHOD,
  S_TARGET,
  S_VERSION,
  S_REQLINE_LF,
  S_HDR_START,
  S_HDR_NAME,
  S_HDR_OWS,
  S_HDR_VALUE,
  S_HDR_LF,
  S_HDR_END_LF,
  S_BODY,
  S_CHUNK_SIZE,
  S_CHUNK_EXT,
  S_CHUNK_SIZE_LF,
  S_CHUNK_DATA,
  S_CHUNK_DATA_CR,
  S_CHUNK_DATA_LF,
  S_TRAILER_START,
  S_TRAILER_NAME,
  S_TRAILER_VALUE,
  S_TRAILER_LF,
  S_TRAILER_END_LF,
  S_DONE,
  S_ERROR,
  S__COUNT
};

typedef struct http_in {
  uint8_t *buf;
  size_t len;
} http_in;

static bool span_ieq(const uint8_t *buf, size_t off, size_t len, const char *s) {
  size_t n = strlen(s);
  if (n != len) return false;
  for (size_t i = 0; i < n; i++) {
    uint8_t a = buf[off + i], b = (uint8_t)s[i];
    if (a >= 'A' && a <= 'Z') a = (uint8_t)(a + 32);
    if (b >= 'A' && b <= 'Z') b = (uint8_t)(b + 32);
    if (a != b) return false;
  }
  return true;
}

static bool span_eq(const uint8_t *buf, enclos_http_span sp, const char *s) {
  size_t n = strlen(s);
  return n == sp.len && memcmp(buf + sp.off, s, n) == 0;
}

/* 3. Field semantics ------------------------------------------------------------------ */

/* Calls fn on each non-empty element of a comma-separated list (RFC 9110 §5.6.1), with
 * surrounding whitespace trimmed. Empty elements are ignored as the RFC requires. */
typedef enclos_err (*list_fn)(enclos_http_parser *p, const uint8_t *buf, size_t off, size_t len);

static enclos_err for_each_element(enclos_http_parser *p, const uint8_t *buf, enclos_http_span v,
                                   list_fn fn) {
  size_t i = v.off, end = v.off + v.len;
  while (i <= end) {
    size_t s = i;
    while (i < end && buf[i] != ',') i++;
    size_t e = i;
    while (s < e && IS(buf[s], C_WS)) s++;
    while (e > s && IS(buf[e - 1], C_WS)) e--;
    if (e > s) ENCLOS_TRY(fn(p, buf, s, e - s));
    i++; /* past the comma (or past the end) */
  }
  return ENCLOS_OK;
}

static bool all_tchar(const uint8_t *buf, size_t off, size_t len) {
  if (len == 0) return false;
  for (size_t i = 0; i < len; i++)
    if (!IS(buf[off + i], C_TCHAR)) return false;
  return true;
}

static enclos_err te_coding(enclos_http_parser *p, const uint8_t *buf, size_t off, size_t len) {
  if (++p->te_codings > HTTP_MAX_CODINGS)
    BAD(p, "Transfer-Encoding lists more than %d codings", HTTP_MAX_CODINGS);
  /* RFC 9112 §6.1: a sender MUST NOT apply chunked more than once, and chunked must be
   * the final coding; anything after chunked makes the length undeterminable. */
  if (p->te_chunked_seen) BAD(p, "Transfer-Encoding has a coding after chunked");
  if (span_ieq(buf, off, len, "chunked")) {
    p->te_chunked_seen = true;
    p->te_chunked_last = true;
    return ENCLOS_OK;
  }
  /* A coding with parameters ("gzip;q=1") or any other token: not something we decode. */
  size_t tok = 0;
  while (tok < len && IS(buf[off + tok], C_TCHAR)) tok++;
  if (tok == 0) BAD(p, "Transfer-Encoding element is not a token");
  p->te_unsupported = true;
  p->te_chunked_last = false;
  return ENCLOS_OK;
}

static enclos_err conn_option(enclos_http_parser *p, const uint8_t *buf, size_t off, size_t len) {
  if (!all_tchar(buf, off, len)) BAD(p, "Connection option is not a token");
  if (span_ieq(buf, off, len, "close")) p->close_seen = true;
  if (span_ieq(buf, off, len, "keep-alive")) p->keepalive_seen = true;
  return ENCLOS_OK;
}

static enclos_err on_field(enclos_http_parser *p, const uint8_t *buf, const enclos_http_header *h) {
  enclos_http_request *q = &p->req;
  if (span_ieq(buf, h->name.off, h->name.len, "content-length")) {
    /* RFC 9112 §6.3 (5): a list or repeated Content-Length is a smuggling vector; we
     * refuse any repetition, even of the same value. */
    if (q->has_content_length) BAD(p, "duplicate Content-Length");
    if (h->value.len == 0) BAD(p, "empty Content-Length");
    uint64_t v = 0;
    for (size_t i = 0; i < h->value.len; i++) {
      uint8_t c = buf[h->value.off + i];
      if (!IS(c, C_DIGIT)) BAD(p, "Content-Length is not 1*DIGIT (byte 0x%02x)", c);
      if (i >= HTTP_MAX_CL_DIGITS)
        REFUSE(p, 413, ENCLOS_E_LIMIT, "Content-Length has more than %d digits",
               HTTP_MAX_CL_DIGITS);
      v = v * 10 + (uint64_t)(c - '0');
    }
    q->has_content_length = true;
    q->content_length = v;
  } else if (span_ieq(buf, h->name.off, h->name.len, "transfer-encoding")) {
    /* The field may be repeated; the codings of all lines form one list (RFC 9110 §5.3). */
    unsigned before = p->te_codings;
    ENCLOS_TRY(for_each_element(p, buf, h->value, te_coding));
    if (p->te_codings == before) BAD(p, "Transfer-Encoding lists no coding");
  } else if (span_ieq(buf, h->name.off, h->name.len, "connection")) {
    ENCLOS_TRY(for_each_element(p, buf, h->value, conn_option));
  } else if (span_ieq(buf, h->name.off, h->name.len, "expect")) {
    if (span_ieq(buf, h->value.off, h->value.len, "100-continue"))
      q->expect_continue = true;
    else
      p->expect_other = true;
  } else if (span_ieq(buf, h->name.off, h->name.len, "host")) {
    /* RFC 9112 §3.2: an invalid Host is a 400. Host = uri-host [ ":" port ] (RFC 3986
     * §3.2.2): unreserved, pct-encoded, sub-delims, and ":" "[" "]" for ports and IPv6. */
    for (size_t i = 0; i < h->value.len; i++) {
      uint8_t c = buf[h->value.off + i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IS(c, C_DIGIT) ||
                (c != 0 && strchr("-._~%!$&'()*+,;=:[]", c) != NULL);
      if (!ok) BAD(p, "Host contains byte 0x%02x", c);
    }
    p->host_count++;
    q->host = h->value;
  }
  return ENCLOS_OK;
}

/* The request line is complete: classify the method and split the target (RFC 9112 §3.2). */
static enclos_err on_request_line(enclos_http_parser *p, const uint8_t *buf) {
  enclos_http_request *q = &p->req;
  static const struct {
    const char *name;
    enclos_http_method m;
  } methods[] = {{"GET", ENCLOS_HTTP_GET},         {"HEAD", ENCLOS_HTTP_HEAD},
                 {"POST", ENCLOS_HTTP_POST},       {"PUT", ENCLOS_HTTP_PUT},
                 {"DELETE", ENCLOS_HTTP_DELETE},   {"OPTIONS", ENCLOS_HTTP_OPTIONS},
                 {"PATCH", ENCLOS_HTTP_PATCH},     {"CONNECT", ENCLOS_HTTP_CONNECT},
                 {"TRACE", ENCLOS_HTTP_TRACE}};
  q->method = ENCLOS_HTTP_OTHER;
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if (span_eq(buf, q->method_text, methods[i].name)) q->method = methods[i].m; /* §9.1: case-sensitive */

  size_t off = q->target.off, len = q->target.len, end = off + len;
  if (len == 1 && buf[off] == '*') {
    /* asterisk-form, only for a server-wide OPTIONS (RFC 9112 §3.2.4). */
    if (q->method != ENCLOS_HTTP_OPTIONS) BAD(p, "asterisk-form target outside OPTIONS");
    q->path = q->target;
    return ENCLOS_OK;
  }
  size_t path = off;
  if (buf[off] != '/') {
    /* absolute-form (RFC 9112 §3.2.2): "http://authority/path?query"; a server MUST accept it. */
    size_t scheme = 0;
    if (len > 7 && span_ieq(buf, off, 7, "http://")) scheme = 7;
    else if (len > 8 && span_ieq(buf, off, 8, "https://")) scheme = 8;
    if (scheme == 0) BAD(p, "request target is neither origin-form nor absolute-form");
    path = off + scheme;
    if (path >= end || buf[path] == '/' || buf[path] == '?') BAD(p, "absolute-form without authority");
    while (path < end && buf[path] != '/' && buf[path] != '?') path++;
  }
  size_t i = path;
  while (i < end && buf[i] != '?') {
    if (buf[i] == '#') BAD(p, "fragment in request target");
    i++;
  }
  q->path.off = path;
  q->path.len = i - path;
  if (i < end) {
    q->has_query = true;
    q->query.off = i + 1;
    q->query.len = end - i - 1;
    for (size_t j = q->query.off; j < end; j++)
      if (buf[j] == '#') BAD(p, "fragment in request target");
  }
  return ENCLOS_OK;
}

/* The header section is complete: decide framing and connection persistence. */
static enclos_err on_headers_done(enclos_http_parser *p) {
  enclos_http_request *q = &p->req;
  q->headers_complete = true;
  /* RFC 9112 §3.2: a 1.1 request without exactly one Host, or any request with several. */
  if (q->version_minor == 1 && p->host_count != 1)
    BAD(p, "HTTP/1.1 request has %u Host fields, want exactly 1", p->host_count);
  if (p->host_count > 1) BAD(p, "request has %u Host fields", p->host_count);
  if (p->te_codings > 0) {
    if (q->version_minor == 0) BAD(p, "Transfer-Encoding in an HTTP/1.0 request");
    if (q->has_content_length)
      BAD(p, "both Content-Length and Transfer-Encoding (request smuggling, RFC 9112 §6.3)");
    if (p->te_unsupported || !p->te_chunked_last)
      REFUSE(p, 501, ENCLOS_E_UNSUPPORTED, "unsupported transfer coding (only chunked)");
    q->chunked = true;
  }
  if (p->expect_other) REFUSE(p, 417, ENCLOS_E_UNSUPPORTED, "unsupported Expect value");
  /* RFC 9110 §10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request. */
  if (q->version_minor == 0) q->expect_continue = false;
  /* RFC 9112 §9.3: persistence. */
  q->keep_alive = q->version_minor == 1 ? !p->close_seen : (p->keepalive_seen && !p->close_seen);
  if (q->has_content_length && q->content_length > p->limits.max_body)
    REFUSE(p, 413, ENCLOS_E_LIMIT, "Content-Length %llu exceeds the body limit %llu",
           (unsigned long long)q->content_length, (unsigned long long)p->limits.max_body);
  p->body_start = p->pos;
  p->write = p->pos;
  q->body.off = p->pos;
  q->body.len = 0;
  if (q->chunked) {
    p->state = S_CHUNK_SIZE;
  } else if (q->has_content_length && q->content_length > 0) {
    p->remaining = q->content_length;
    p->state = S_BODY;
  } else {
    p->state = S_DONE; /* RFC 9112 §6.3 (7): no framing fields means no body */
  }
  return ENCLOS_OK;
}

/* 4. State handlers --------------------------------------------------------------------- */

/* The part of the message a byte belongs to, each with its own size limit. */
enum { LIM_NONE, LIM_LINE, LIM_HEADERS, LIM_TRAILERS, LIM_CHUNK_LINE };

/* Refuses the byte at off if it makes its part of the message larger than its limit. */
static inline enclos_err check_limit(enclos_http_parser *p, int lim, size_t off) {
  switch (lim) {
  case LIM_LINE:
    if (off + 1 - p->line_start > p->limits.max_request_line)
      REFUSE(p, 414, ENCLOS_E_LIMIT, "request line longer than %zu bytes",
             p->limits.max_request_line);
    break;
  case LIM_HEADERS:
    if (off + 1 - p->section_start > p->limits.max_header_section)
      REFUSE(p, 431, ENCLOS_E_LIMIT, "header section larger than %zu bytes",
             p->limits.max_header_section);
    break;
  case LIM_TRAILERS:
    if (off + 1 - p->section_start > p->limits.max_trailer_section)
      REFUSE(p, 431, ENCLOS_E_LIMIT, "trailer section larger than %zu bytes",
             p->limits.max_trailer_section);
    break;
  case LIM_CHUNK_LINE:
    if (off + 1 - p->line_start > ENCLOS_HTTP_MAX_CHUNK_LINE)
      BAD(p, "chunk-size line longer than %d bytes", ENCLOS_HTTP_MAX_CHUNK_LINE);
    break;
  default: break;
  }
  return ENCLOS_OK;
}

/* Reads the next byte and its offset, charged to the limit lim, or returns AGAIN. */
static inline enclos_err next(enclos_http_parser *p, enclos_reader *r, int lim, uint8_t *c,
                              size_t *off) {
  if (enclos_rd_u8(r, c) != ENCLOS_OK) return ENCLOS_E_AGAIN;
  *off = enclos_rd_offset(r) - 1;
  return check_limit(p, lim, *off);
}

/* Consumes the bytes of class k; returns the first byte of another class. */
static inline enclos_err scan(enclos_http_parser *p, enclos_reader *r, int lim, uint8_t k,
                              uint8_t *c, size_t *off) {
  do ENCLOS_TRY(next(p, r, lim, c, off));
  while (IS(*c, k));
  return ENCLOS_OK;
}

/* Consumes the bytes of class k up to the byte `end`; a byte of neither is refused as one
 * that `what` contains. */
static inline enclos_err scan_to(enclos_http_parser *p, enclos_reader *r, int lim, uint8_t k,
                                 uint8_t end, const char *what, size_t *off) {
  uint8_t c;
  ENCLOS_TRY(scan(p, r, lim, k, &c, off));
  if (c != end) BAD(p, "%s contains byte 0x%02x at offset %zu", what, c, *off);
  return ENCLOS_OK;
}

/* Reads the one byte that may come next (the LF of a CRLF, or the CR after chunk data);
 * any other byte is refused with `what` and its offset. */
static inline enclos_err expect(enclos_http_parser *p, enclos_reader *r, int lim, uint8_t want,
                                const char *what) {
  uint8_t c;
  size_t off;
  ENCLOS_TRY(next(p, r, lim, &c, &off));
  if (c != want) BAD(p, "%s at offset %zu", what, off);
  return ENCLOS_OK;
}

static enclos_err st_start(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  uint8_t c;
  size_t off;
  ENCLOS_TRY(next(p, r, LIM_NONE, &c, &off));
  if (c == CR) {
    /* RFC 9112 §2.2: ignore a few empty lines before the request line. */
    if (++p->aux > ENCLOS_HTTP_MAX_LEADING_EMPTY_LINES)
      BAD(p, "more than %d empty lines before the request line",
          ENCLOS_HTTP_MAX_LEADING_EMPTY_LINES);
    p->state = S_START_LF;
    return ENCLOS_OK;
  }
  if (!IS(c, C_TCHAR)) BAD(p, "request line starts with byte 0x%02x, not a method", c);
  p->line_start = off;
  p->mark = off;
  p->state = S_METHOD;
  return ENCLOS_OK;
}

static enclos_err st_start_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_NONE, LF, "bare CR before the request line"));
  p->state = S_START;
  return ENCLOS_OK;
}

static enclos_err st_method(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  size_t off;
  ENCLOS_TRY(scan_to(p, r, LIM_LINE, C_TCHAR, ' ', "method", &off));
  p->req.method_text.off = p->mark;
  p->req.method_text.len = off - p->mark;
  p->mark = off + 1;
  p->state = S_TARGET;
  return ENCLOS_OK;
}

static enclos_err st_target(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  size_t off;
  ENCLOS_TRY(scan_to(p, r, LIM_LINE, C_VCHAR, ' ', "request target", &off));
  if (off == p->mark) BAD(p, "empty request target");
  p->req.target.off = p->mark;
  p->req.target.len = off - p->mark;
  p->mark = off + 1;
  p->state = S_VERSION;
  return ENCLOS_OK;
}

static enclos_err st_version(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  uint8_t c;
  size_t off;
  for (;;) {
    ENCLOS_TRY(next(p, r, LIM_LINE, &c, &off));
    if (c == CR) break;
    if (off - p->mark >= 8 || !(IS(c, C_TCHAR) || c == '/'))
      BAD(p, "bad HTTP-version at offset %zu", off);
  }
  /* HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive. */
  const uint8_t *v = in->buf + p->mark;
  if (off - p->mark != 8 || memcmp(v, "HTTP/", 5) != 0 || !IS(v[5], C_DIGIT) || v[6] != '.' ||
      !IS(v[7], C_DIGIT))
    BAD(p, "bad HTTP-version");
  if (v[5] != '1') REFUSE(p, 505, ENCLOS_E_UNSUPPORTED, "HTTP/%c.%c not supported", v[5], v[7]);
  if (v[7] != '0' && v[7] != '1')
    REFUSE(p, 505, ENCLOS_E_UNSUPPORTED, "HTTP/1.%c not supported", v[7]);
  p->req.version_minor = v[7] - '0';
  p->state = S_REQLINE_LF;
  return ENCLOS_OK;
}

static enclos_err st_reqline_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  ENCLOS_TRY(expect(p, r, LIM_LINE, LF, "bare CR in the request line"));
  ENCLOS_TRY(on_request_line(p, in->buf));
  p->section_start = enclos_rd_offset(r);
  p->state = S_HDR_START;
  return ENCLOS_OK;
}

static enclos_err st_hdr_start(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  uint8_t c;
  size_t off;
  ENCLOS_TRY(next(p, r, LIM_HEADERS, &c, &off));
  if (c == CR) {
    p->state = S_HDR_END_LF;
    return ENCLOS_OK;
  }
  if (IS(c, C_WS))
    BAD(p, "line starts with whitespace at offset %zu (obs-fold, RFC 9112 §5.2)", off);
  if (!IS(c, C_TCHAR)) BAD(p, "field name starts with byte 0x%02x at offset %zu", c, off);
  if (p->req.header_count >= p->limits.max_headers)
    REFUSE(p, 431, ENCLOS_E_LIMIT, "more than %zu header fields", p->limits.max_headers);
  p->mark = off;
  p->state = S_HDR_NAME;
  return ENCLOS_OK;
}

static enclos_err st_hdr_name(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  uint8_t c;
  size_t off;
  ENCLOS_TRY(scan(p, r, LIM_HEADERS, C_TCHAR, &c, &off));
  if (c != ':') {
    if (IS(c, C_WS)) BAD(p, "whitespace between field name and colon (RFC 9112 §5.1)");
    BAD(p, "field name contains byte 0x%02x at offset %zu", c, off);
  }
  enclos_http_header *h = &p->req.headers[p->req.header_count];
  h->name.off = p->mark;
  h->name.len = off - p->mark;
  h->value.off = off + 1;
  h->value.len = 0;
  p->state = S_HDR_OWS;
  return ENCLOS_OK;
}

static enclos_err st_hdr_ows(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  uint8_t c;
  size_t off;
  ENCLOS_TRY(scan(p, r, LIM_HEADERS, C_WS, &c, &off));
  if (c == CR) {
    p->mark = p->vend = off;
    p->state = S_HDR_LF;
    return ENCLOS_OK;
  }
  if (!IS(c, C_VCHAR | C_OBS)) BAD(p, "field value contains byte 0x%02x at offset %zu", c, off);
  p->mark = off;
  p->vend = off + 1;
  p->state = S_HDR_VALUE;
  return ENCLOS_OK;
}

static enclos_err st_hdr_value(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  for (;;) {
    uint8_t c;
    size_t off;
    ENCLOS_TRY(next(p, r, LIM_HEADERS, &c, &off));
    if (IS(c, C_VCHAR | C_OBS)) {
      p->vend = off + 1;
      continue;
    }
    if (IS(c, C_WS)) continue;
    /* RFC 9110 §5.5: CR, LF and NUL inside a value MUST be rejected (or replaced). */
    if (c != CR) BAD(p, "field value contains byte 0x%02x at offset %zu", c, off);
    p->state = S_HDR_LF;
    return ENCLOS_OK;
  }
}

static enclos_err st_hdr_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  ENCLOS_TRY(expect(p, r, LIM_HEADERS, LF, "bare CR in a field line"));
  enclos_http_header *h = &p->req.headers[p->req.header_count];
  h->value.off = p->mark;
  h->value.len = p->vend - p->mark;
  p->req.header_count++;
  ENCLOS_TRY(on_field(p, in->buf, h));
  p->state = S_HDR_START;
  return ENCLOS_OK;
}

static enclos_err st_hdr_end_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_HEADERS, LF, "bare CR ending the header section"));
  p->pos = enclos_rd_offset(r);
  return on_headers_done(p);
}

static enclos_err st_body(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  size_t avail = enclos_rd_remaining(r);
  size_t n = p->remaining < avail ? (size_t)p->remaining : avail;
  ENCLOS_TRY(enclos_rd_skip(r, n));
  p->remaining -= n;
  if (p->remaining > 0) return ENCLOS_E_AGAIN;
  p->req.body.len = (size_t)p->req.content_length;
  p->state = S_DONE;
  return ENCLOS_OK;
}

/* Entered with line_start = mark = the offset of the line's first byte and remaining = 0
 * (set by the driver). */
static enclos_err st_chunk_size(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  for (;;) {
    uint8_t c;
    size_t off;
    ENCLOS_TRY(next(p, r, LIM_CHUNK_LINE, &c, &off));
    if (IS(c, C_HEX)) {
      uint64_t d = IS(c, C_DIGIT) ? (uint64_t)(c - '0') : (uint64_t)((c | 0x20) - 'a' + 10);
      /* Overflow before arithmetic: the size must fit in 64 bits and in the body limit. */
      if (p->remaining > (UINT64_MAX >> 4))
        REFUSE(p, 413, ENCLOS_E_LIMIT, "chunk size overflows 64 bits");
      p->remaining = (p->remaining << 4) | d;
      uint64_t so_far = p->write - p->body_start;
      if (p->remaining > p->limits.max_body - so_far)
        REFUSE(p, 413, ENCLOS_E_LIMIT, "chunked body exceeds the body limit %llu",
               (unsigned long long)p->limits.max_body);
      continue;
    }
    if (off == p->mark) BAD(p, "chunk-size is not hexadecimal (byte 0x%02x)", c);
    if (c == ';' || IS(c, C_WS)) {
      p->state = S_CHUNK_EXT; /* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ) */
      return ENCLOS_OK;
    }
    if (c != CR) BAD(p, "chunk-size contains byte 0x%02x at offset %zu", c, off);
    p->state = S_CHUNK_SIZE_LF;
    return ENCLOS_OK;
  }
}

static enclos_err st_chunk_ext(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  size_t off; /* extensions are ignored (RFC 9112 §7.1.1) */
  ENCLOS_TRY(scan_to(p, r, LIM_CHUNK_LINE, C_VCHAR | C_WS | C_OBS, CR, "chunk extension", &off));
  p->state = S_CHUNK_SIZE_LF;
  return ENCLOS_OK;
}

static enclos_err st_chunk_size_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_NONE, LF, "bare CR in a chunk-size line"));
  if (p->remaining == 0) {
    p->section_start = enclos_rd_offset(r);
    p->state = S_TRAILER_START;
  } else {
    p->state = S_CHUNK_DATA;
  }
  return ENCLOS_OK;
}

static enclos_err st_chunk_data(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  size_t avail = enclos_rd_remaining(r);
  size_t n = p->remaining < avail ? (size_t)p->remaining : avail;
  size_t from = enclos_rd_offset(r);
  const uint8_t *src;
  ENCLOS_TRY(enclos_rd_bytes(r, n, &src));
  /* Decode in place: the decoded body never overtakes the raw bytes (write <= from). */
  if (n > 0 && p->write != from) memmove(in->buf + p->write, src, n);
  p->write += n;
  p->remaining -= n;
  if (p->remaining > 0) return ENCLOS_E_AGAIN;
  p->state = S_CHUNK_DATA_CR;
  return ENCLOS_OK;
}

static enclos_err st_chunk_data_cr(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_NONE, CR, "chunk data not followed by CRLF"));
  p->state = S_CHUNK_DATA_LF;
  return ENCLOS_OK;
}

static enclos_err st_chunk_data_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_NONE, LF, "bare CR after chunk data"));
  p->state = S_CHUNK_SIZE;
  return ENCLOS_OK;
}

/* Trailer fields are validated and counted, never merged into the header fields: framing
 * and routing fields in trailers would be a smuggling channel (RFC 9110 §6.5.1). */
static enclos_err st_trailer_start(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  uint8_t c;
  size_t off;
  ENCLOS_TRY(next(p, r, LIM_TRAILERS, &c, &off));
  if (c == CR) {
    p->state = S_TRAILER_END_LF;
    return ENCLOS_OK;
  }
  if (IS(c, C_WS)) BAD(p, "obs-fold in the trailer section at offset %zu", off);
  if (!IS(c, C_TCHAR)) BAD(p, "trailer field name starts with byte 0x%02x", c);
  p->req.trailer_count++;
  p->state = S_TRAILER_NAME;
  return ENCLOS_OK;
}

static enclos_err st_trailer_name(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  size_t off;
  ENCLOS_TRY(scan_to(p, r, LIM_TRAILERS, C_TCHAR, ':', "trailer field name", &off));
  p->state = S_TRAILER_VALUE;
  return ENCLOS_OK;
}

static enclos_err st_trailer_value(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  size_t off;
  ENCLOS_TRY(scan_to(p, r, LIM_TRAILERS, C_VCHAR | C_WS | C_OBS, CR, "trailer value", &off));
  p->state = S_TRAILER_LF;
  return ENCLOS_OK;
}

static enclos_err st_trailer_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_TRAILERS, LF, "bare CR in a trailer line"));
  p->state = S_TRAILER_START;
  return ENCLOS_OK;
}

static enclos_err st_trailer_end_lf(enclos_http_parser *p, enclos_reader *r, http_in *in) {
  (void)in;
  ENCLOS_TRY(expect(p, r, LIM_TRAILERS, LF, "bare CR ending the trailer section"));
  p->req.body.off = p->body_start;
  p->req.body.len = p->write - p->body_start;
  p->state = S_DONE;
  return ENCLOS_OK;
}

/* 5. The state table and the driver ------------------------------------------------------ */

typedef enclos_err (*state_fn)(enclos_http_parser *p, enclos_reader *r, http_in *in);

static const struct {
  const char *name;
  state_fn fn;
} states[S__COUNT] = {
    [S_START] = {"start", st_start},
    [S_START_LF] = {"start-lf", st_start_lf},
    [S_METHOD] = {"method", st_method},
    [S_TARGET] = {"target", st_target},
    [S_VERSION] = {"version", st_version},
    [S_REQLINE_LF] = {"request-line-lf", st_reqline_lf},
    [S_HDR_START] = {"field-start", st_hdr_start},
    [S_HDR_NAME] = {"field-name", st_hdr_name},
    [S_HDR_OWS] = {"field-ows", st_hdr_ows},
    [S_HDR_VALUE] = {"field-value", st_hdr_value},
    [S_HDR_LF] = {"field-lf", st_hdr_lf},
    [S_HDR_END_LF] = {"header-end-lf", st_hdr_end_lf},
    [S_BODY] = {"body", st_body},
    [S_CHUNK_SIZE] = {"chunk-size", st_chunk_size},
    [S_CHUNK_EXT] = {"chunk-ext", st_chunk_ext},
    [S_CHUNK_SIZE_LF] = {"chunk-size-lf", st_chunk_size_lf},
    [S_CHUNK_DATA] = {"chunk-data", st_chunk_data},
    [S_CHUNK_DATA_CR] = {"chunk-data-cr", st_chunk_data_cr},
    [S_CHUNK_DATA_LF] = {"chunk-data-lf", st_chunk_data_lf},
    [S_TRAILER_START] = {"trailer-start", st_trailer_start},
    [S_TRAILER_NAME] = {"trailer-name", st_trailer_name},
    [S_TRAILER_VALUE] = {"trailer-value", st_trailer_value},
    [S_TRAILER_LF] = {"trailer-lf", st_trailer_lf},
    [S_TRAILER_END_LF] = {"trailer-end-lf", st_trailer_end_lf},
    [S_DONE] = {"done", NULL},
    [S_ERROR] = {"error", NULL},
};

void enclos_http_limits_default(enclos_http_limits *l) {
  l->max_request_line = ENCLOS_HTTP_DEFAULT_MAX_REQUEST_LINE;
  l->max_headers = ENCLOS_HTTP_DEFAULT_MAX_HEADERS;
  l->max_header_section = ENCLOS_HTTP_DEFAULT_MAX_HEADER_SECTION;
  l->max_body = ENCLOS_HTTP_DEFAULT_MAX_BODY;
  l->max_trailer_section = ENCLOS_HTTP_DEFAULT_MAX_TRAILER_SECTION;
}

void enclos_http_parser_init(enclos_http_parser *p, const enclos_http_limits *limits) {
  memset(p, 0, sizeof(*p));
  if (limits)
    p->limits = *limits;
  else
    enclos_http_limits_default(&p->limits);
  if (p->limits.max_headers > ENCLOS_HTTP_MAX_HEADERS_CAP)
    p->limits.max_headers = ENCLOS_HTTP_MAX_HEADERS_CAP;
  p->state = S_START;
  p->mark = 0;
}

enclos_err enclos_http_parse(enclos_http_parser *p, uint8_t *buf, size_t len, size_t *consumed) {
  ENCLOS_ENSURE_REF(p);
  ENCLOS_ENSURE_REF(consumed);
  ENCLOS_ENSURE(buf != NULL || len == 0, ENCLOS_E_INVAL);
  if (p->state == S_ERROR) ENCLOS_FAILF(ENCLOS_E_STATE, "parser already refused this request");
  ENCLOS_ENSUREF(len >= p->pos, ENCLOS_E_INVAL, "buffer shrank from %zu to %zu bytes", p->pos,
                 len);
  *consumed = 0;
  enclos_reader r;
  enclos_rd_init(&r, buf, len);
  ENCLOS_TRY(enclos_rd_skip(&r, p->pos));
  http_in in = {buf, len};
  while (p->state != S_DONE) {
    enclos_err rc = states[p->state].fn(p, &r, &in);
    if (p->state != S_ERROR) p->pos = enclos_rd_offset(&r);
    if (rc == ENCLOS_E_AGAIN) return ENCLOS_E_AGAIN; /* no detail: not a failure */
    if (rc != ENCLOS_OK) return rc;
    /* Entering chunk-size: a new chunk-size line starts at the next byte. */
    if (p->state == S_CHUNK_SIZE) {
      p->line_start = p->mark = p->pos;
      p->remaining = 0;
    }
  }
  *consumed = p->pos;
  return ENCLOS_OK;
}

int enclos_http_parser_status(const enclos_http_parser *p) { return p ? p->status : 0; }

const char *server__http_state_name(int state) {
  return state >= 0 && state < S__COUNT ? states[state].name : "?";
}

/* 6. Helpers for callers ------------------------------------------------------------------ */

bool enclos_http_span_ieq(const uint8_t *buf, enclos_http_span sp, const char *s) {
  return buf && s && span_ieq(buf, sp.off, sp.len, s);
}

const enclos_http_header *enclos_http_find_header(const enclos_http_request *req,
                                                  const uint8_t *buf, const char *name) {
  for (size_t i = 0; i < req->header_count; i++)
    if (span_ieq(buf, req->headers[i].name.off, req->headers[i].name.len, name))
      return &req->headers[i];
  return NULL;
}

const char *enclos_http_method_name(enclos_http_method m) {
  switch (m) {
    case ENCLOS_HTTP_GET: return "GET";
    case ENCLOS_HTTP_HEAD: return "HEAD";
    case ENCLOS_HTTP_POST: return "POST";
    case ENCLOS_HTTP_PUT: return "PUT";
    case ENCLOS_HTTP_DELETE: return "DELETE";
    case ENCLOS_HTTP_OPTIONS: return "OPTIONS";
    case ENCLOS_HTTP_PATCH: return "PATCH";
    case ENCLOS_HTTP_CONNECT: return "CONNECT";
    case ENCLOS_HTTP_TRACE: return "TRACE";
    default: return "OTHER";
  }
}
