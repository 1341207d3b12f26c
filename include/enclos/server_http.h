/**
 * \file server_http.h
 * \brief HTTP/1.1 request parsing (RFC 9112 syntax, RFC 9110 semantics), the response
 *        writer, JSON error bodies, and the `enclos serve` route table.
 *
 * The parser is incremental and allocation-free: the caller keeps one connection buffer,
 * appends bytes as they arrive, and calls enclos_http_parse() over the whole unconsumed
 * buffer each time. The parser remembers how far it got, so bytes may arrive in any split.
 * Every position it reports is an offset span into that buffer (valid while the caller
 * keeps those bytes; offsets survive a realloc of the buffer). It parses exactly one
 * request and reports how many bytes it consumed: a pipelined next request starts there.
 *
 * Chunked bodies are decoded in place (the buffer must be writable): the decoded body is a
 * single contiguous span after the header section.
 *
 * Refusals carry the status the server must answer with (enclos_http_parser_status):
 * 400 bad syntax and request smuggling shapes, 413 body too large, 414 request line too
 * long, 431 header section too large or too many fields, 417 unknown expectation,
 * 501 unsupported transfer coding, 505 unsupported HTTP version.
 */
#ifndef ENCLOS_SERVER_HTTP_H
#define ENCLOS_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits ------------------------------------------------------------------------- */

/** Default longest request line (method SP target SP version CRLF) -> 414. */
#define ENCLOS_HTTP_DEFAULT_MAX_REQUEST_LINE 8192
/** Default most header fields -> 431. */
#define ENCLOS_HTTP_DEFAULT_MAX_HEADERS 64
/** Default largest header section (after the request line, including the empty line) -> 431. */
#define ENCLOS_HTTP_DEFAULT_MAX_HEADER_SECTION 16384
/** Default largest request body (decoded) -> 413. */
#define ENCLOS_HTTP_DEFAULT_MAX_BODY (16u * 1024u * 1024u)
/** Default largest trailer section of a chunked body -> 431. */
#define ENCLOS_HTTP_DEFAULT_MAX_TRAILER_SECTION 4096
/** Hard ceiling on header fields: the size of the parser's fixed field array. */
#define ENCLOS_HTTP_MAX_HEADERS_CAP 128
/** Longest chunk-size line (size, extensions, CRLF) -> 400. */
#define ENCLOS_HTTP_MAX_CHUNK_LINE 1024
/** Most empty lines ignored before a request line (RFC 9112 §2.2 allows "at least one"). */
#define ENCLOS_HTTP_MAX_LEADING_EMPTY_LINES 4

typedef struct enclos_http_limits {
  size_t max_request_line;
  size_t max_headers; /* at most ENCLOS_HTTP_MAX_HEADERS_CAP */
  size_t max_header_section;
  uint64_t max_body;
  size_t max_trailer_section;
} enclos_http_limits;

/** Fills \p l with the ENCLOS_HTTP_DEFAULT_* values. */
void enclos_http_limits_default(enclos_http_limits *l);

/* ---- Request ------------------------------------------------------------------------ */

/** A byte range of the connection buffer. */
typedef struct enclos_http_span {
  size_t off;
  size_t len;
} enclos_http_span;

typedef enum enclos_http_method {
  ENCLOS_HTTP_OTHER = 0, /* a syntactically valid method we do not know (501 or 405) */
  ENCLOS_HTTP_GET,
  ENCLOS_HTTP_HEAD,
  ENCLOS_HTTP_POST,
  ENCLOS_HTTP_PUT,
  ENCLOS_HTTP_DELETE,
  ENCLOS_HTTP_OPTIONS,
  ENCLOS_HTTP_PATCH,
  ENCLOS_HTTP_CONNECT,
  ENCLOS_HTTP_TRACE,
} enclos_http_method;

/** Canonical name of a method ("GET"...; "OTHER" for ENCLOS_HTTP_OTHER). */
const char *enclos_http_method_name(enclos_http_method m);

typedef struct enclos_http_header {
  enclos_http_span name;  /* token, as received (compare case-insensitively) */
  enclos_http_span value; /* without leading/trailing whitespace */
} enclos_http_header;

typedef struct enclos_http_request {
  enclos_http_method method;
  enclos_http_span method_text;
  enclos_http_span target; /* request-target as received */
  enclos_http_span path;   /* still percent-encoded; "*" for asterisk-form */
  enclos_http_span query;  /* after '?', without it (len 0 when absent) */
  bool has_query;
  int version_minor;       /* 0 or 1 (HTTP/1.x) */
  enclos_http_header headers[ENCLOS_HTTP_MAX_HEADERS_CAP];
  size_t header_count;
  enclos_http_span host;   /* the Host field value */
  bool has_content_length;
  uint64_t content_length;
  bool chunked;
  bool keep_alive;         /* RFC 9112 §9.3: 1.1 unless "close", 1.0 only with "keep-alive" */
  bool expect_continue;    /* Expect: 100-continue (RFC 9110 §10.1.1) */
  bool headers_complete;   /* set once the header section is parsed (before the body) */
  enclos_http_span body;   /* decoded body (chunked bodies are compacted in place) */
  size_t trailer_count;    /* trailer fields received (validated, not exposed) */
} enclos_http_request;

/** Parser state. Read-only outside server; embed it in the connection, no allocation. */
typedef struct enclos_http_parser {
  enclos_http_limits limits;
  enclos_http_request req;
  int state;         /* private */
  size_t pos;        /* private: next byte to examine */
  size_t mark;       /* private: start of the current element */
  size_t line_start; /* private */
  size_t aux;        /* private: leading empty lines, chunk line start */
  size_t section_start; /* private */
  size_t vend;          /* private: end of the field value seen so far */
  size_t body_start;    /* private */
  uint64_t remaining;   /* private: body or chunk bytes left */
  size_t write;         /* private: in-place write offset of the decoded body */
  unsigned te_codings;  /* private */
  bool te_chunked_last; /* private */
  bool te_chunked_seen; /* private */
  bool te_unsupported;  /* private */
  bool close_seen;      /* private */
  bool keepalive_seen;  /* private */
  bool expect_other;    /* private */
  unsigned host_count;  /* private */
  int status;        /* HTTP status of a refusal (0 while parsing or after success) */
} enclos_http_parser;

/** Resets \p p for a new request (NULL limits = defaults). */
void enclos_http_parser_init(enclos_http_parser *p, const enclos_http_limits *limits);

/**
 * Continues parsing one request over \p buf[0, len) (the same request's bytes so far,
 * starting at offset 0, possibly longer than in the previous call).
 * \return ENCLOS_OK with \p consumed set when a full request (and body) is parsed;
 *         ENCLOS_E_AGAIN when more bytes are needed (check req.headers_complete and
 *         req.expect_continue to send 100 Continue);
 *         otherwise a refusal: ENCLOS_E_MALFORMED, ENCLOS_E_LIMIT or ENCLOS_E_UNSUPPORTED,
 *         with enclos_http_parser_status() giving the HTTP status and the error detail
 *         naming what was wrong. After a refusal the connection must be closed.
 */
ENCLOS_MUST_USE enclos_err enclos_http_parse(enclos_http_parser *p, uint8_t *buf, size_t len,
                                             size_t *consumed);

/** HTTP status for the last refusal (400, 413, 414, 417, 431, 501, 505), 0 otherwise. */
int enclos_http_parser_status(const enclos_http_parser *p);

/** True when the span's bytes equal \p s case-insensitively (ASCII). */
bool enclos_http_span_ieq(const uint8_t *buf, enclos_http_span sp, const char *s);
/** First header named \p name (case-insensitive), or NULL. */
const enclos_http_header *enclos_http_find_header(const enclos_http_request *req,
                                                  const uint8_t *buf, const char *name);

/* ---- Percent-decoding and query strings (RFC 3986 §2.1) ------------------------------ */

/** Reject an encoded '/' ("%2F") in the decoded output (app names, path segments). */
#define ENCLOS_HTTP_PCT_NO_SLASH 1u
/** Decode '+' as space (application/x-www-form-urlencoded query values). */
#define ENCLOS_HTTP_PCT_PLUS 2u

/**
 * Percent-decodes \p len bytes into \p out (capacity \p cap, NUL-terminated, so at most
 * cap-1 bytes). Rejects malformed escapes, "%00" and raw control bytes (ENCLOS_E_MALFORMED),
 * encoded '/' with ENCLOS_HTTP_PCT_NO_SLASH, and output that does not fit (ENCLOS_E_LIMIT).
 */
ENCLOS_MUST_USE enclos_err enclos_http_pct_decode(const uint8_t *in, size_t len, char *out,
                                                  size_t cap, size_t *out_len, unsigned flags);

/**
 * Finds the first query parameter \p name in \p query (the raw query bytes) and decodes its
 * value into \p out (capacity \p cap). ENCLOS_E_NOT_FOUND when absent; a key without '='
 * has the empty value.
 */
ENCLOS_MUST_USE enclos_err enclos_http_query_get(const uint8_t *query, size_t len,
                                                 const char *name, char *out, size_t cap,
                                                 size_t *out_len);

/* ---- Responses --------------------------------------------------------------------- */

/** Reason phrase for a status code ("Unknown" for codes outside the table). */
const char *enclos_http_reason(int status);
/** Stable machine-readable error code for a status ("bad_request", "not_found", ...). */
const char *enclos_http_error_code(int status);

/** One extra response header (name and value must not contain CR, LF or NUL). */
typedef struct enclos_http_out_header {
  const char *name;
  const char *value;
} enclos_http_out_header;

/**
 * Appends a status line and header section: "HTTP/1.1 <status> <reason>", the extra
 * headers, Content-Type (when not NULL), Content-Length, and Connection: close, or
 * keep-alive for an HTTP/1.0 client that asked for it (\p version_minor 0).
 * ENCLOS_E_INVAL for a status outside 100..599 or a header with CR/LF/NUL (response
 * splitting). 1xx, 204 and 304 responses carry no Content-Length.
 */
ENCLOS_MUST_USE enclos_err enclos_http_write_head(enclos_buf *out, int status, int version_minor,
                                                  bool keep_alive, const char *content_type,
                                                  uint64_t content_length,
                                                  const enclos_http_out_header *headers,
                                                  size_t header_count);
/** Head plus body in one go. */
ENCLOS_MUST_USE enclos_err enclos_http_write_response(enclos_buf *out, int status,
                                                      int version_minor, bool keep_alive,
                                                      const char *content_type, const void *body,
                                                      size_t size,
                                                      const enclos_http_out_header *headers,
                                                      size_t header_count);
/** Appends the interim "HTTP/1.1 100 Continue" response (RFC 9110 §15.2.1). */
ENCLOS_MUST_USE enclos_err enclos_http_write_continue(enclos_buf *out);

/** Appends {"error":{"code":"...","message":"..."}} with JSON string escaping
 *  (invalid UTF-8 in \p message becomes U+FFFD). */
ENCLOS_MUST_USE enclos_err enclos_http_json_error_body(enclos_buf *out, const char *code,
                                                       const char *message);
/** A complete JSON error response (application/json). \p code NULL = enclos_http_error_code. */
ENCLOS_MUST_USE enclos_err enclos_http_write_error(enclos_buf *out, int status, int version_minor,
                                                   bool keep_alive, const char *code,
                                                   const char *message,
                                                   const enclos_http_out_header *headers,
                                                   size_t header_count);

/* ---- Routes of `enclos serve` --------------------------------------------------------- */

typedef enum enclos_route_id {
  ENCLOS_ROUTE_NONE = 0,
  ENCLOS_ROUTE_HEALTHZ,        /* GET /healthz */
  ENCLOS_ROUTE_READYZ,         /* GET /readyz */
  ENCLOS_ROUTE_METRICS,        /* GET /metrics */
  ENCLOS_ROUTE_ATTESTATION,    /* GET /.well-known/enclos/attestation */
  ENCLOS_ROUTE_CONFIG,         /* GET /.well-known/enclos/config */
  ENCLOS_ROUTE_APPS_LIST,      /* GET /apps */
  ENCLOS_ROUTE_APPS_DEPLOY,    /* POST /apps */
  ENCLOS_ROUTE_APP_GET,        /* GET /apps/{name} */
  ENCLOS_ROUTE_APP_DELETE,     /* DELETE /apps/{name} */
  ENCLOS_ROUTE_APP_CALL,       /* POST /apps/{name}/call/{export} */
  ENCLOS_ROUTE_APP_HTTP,       /* ANY /apps/{name}/http[/...] */
  ENCLOS_ROUTE__COUNT
} enclos_route_id;

/** Longest app name (a DNS label: SNI selects the app's identity). */
#define ENCLOS_APP_NAME_MAX 63
/** Longest export name in a call route. */
#define ENCLOS_EXPORT_NAME_MAX 128

typedef struct enclos_route_match {
  enclos_route_id id;
  int status;           /* 0 on a match, else 404 / 405 / 400 (bad encoding or name) */
  char allow[64];       /* for 405: the Allow header value, e.g. "GET, HEAD, DELETE" */
  char app[ENCLOS_APP_NAME_MAX + 1];        /* decoded {name} */
  char export_name[ENCLOS_EXPORT_NAME_MAX + 1]; /* decoded {export} */
  size_t rest_off;      /* APP_HTTP: offset of the sub-path ("/..." or empty) in the raw path */
  size_t rest_len;
} enclos_route_match;

/** Name of a route for logs and metrics ("healthz", "app_call", ...). */
const char *enclos_route_name(enclos_route_id id);
/** True for management routes (apps list/deploy/get/delete) that need admin auth. */
bool enclos_route_is_management(enclos_route_id id);

/**
 * Matches \p method and the raw (percent-encoded) \p path against the route table.
 * ENCLOS_OK with out->status 0 on a match; ENCLOS_E_NOT_FOUND with status 404 (no path),
 * 405 (path known, method not; out->allow filled), or 400 (undecodable or invalid name).
 * HEAD is accepted wherever GET is (RFC 9110 §9.3.2).
 */
ENCLOS_MUST_USE enclos_err enclos_route_match_path(enclos_http_method method, const uint8_t *path,
                                                   size_t len, enclos_route_match *out);

/** App names: 1..63 of [a-z0-9-], not starting or ending with '-' (an RFC 1123 label). */
bool enclos_app_name_valid(const char *name, size_t len);

#ifdef __cplusplus
}
#endif
#endif
