/* http_write.c: HTTP/1.1 responses (RFC 9112 §4, RFC 9110 §15), JSON error bodies
 * (RFC 8259), percent-decoding (RFC 3986 §2.1) and query strings.
 *
 * Divisions: 1. status table  2. response writer  3. JSON errors  4. percent-decoding
 */
#include <string.h>

#include <enclos/server_http.h>

#include "server_int.h"

/* 1. Status table: reason phrase (RFC 9110 §15) and our stable error code. --------------- */

static const struct {
  int status;
  const char *reason;
  const char *code;
} statuses[] = {
    {100, "Continue", "continue"},
    {101, "Switching Protocols", "switching_protocols"},
    {200, "OK", "ok"},
    {201, "Created", "created"},
    {202, "Accepted", "accepted"},
    {204, "No Content", "no_content"},
    {206, "Partial Content", "partial_content"},
    {301, "Moved Permanently", "moved_permanently"},
    {302, "Found", "found"},
    {304, "Not Modified", "not_modified"},
    {307, "Temporary Redirect", "temporary_redirect"},
    {308, "Permanent Redirect", "permanent_redirect"},
    {400, "Bad Request", "bad_request"},
    {401, "Unauthorized", "unauthorized"},
    {403, "Forbidden", "forbidden"},
    {404, "Not Found", "not_found"},
    {405, "Method Not Allowed", "method_not_allowed"},
    {406, "Not Acceptable", "not_acceptable"},
    {408, "Request Timeout", "request_timeout"},
    {409, "Conflict", "conflict"},
    {410, "Gone", "gone"},
    {411, "Length Required", "length_required"},
    {412, "Precondition Failed", "precondition_failed"},
    {413, "Content Too Large", "content_too_large"},
    {414, "URI Too Long", "uri_too_long"},
    {415, "Unsupported Media Type", "unsupported_media_type"},
    {416, "Range Not Satisfiable", "range_not_satisfiable"},
    {417, "Expectation Failed", "expectation_failed"},
    {421, "Misdirected Request", "misdirected_request"},
    {422, "Unprocessable Content", "unprocessable_content"},
    {425, "Too Early", "too_early"},
    {426, "Upgrade Required", "upgrade_required"},
    {428, "Precondition Required", "precondition_required"},
    {429, "Too Many Requests", "too_many_requests"},
    {431, "Request Header Fields Too Large", "request_header_fields_too_large"},
    {500, "Internal Server Error", "internal_error"},
    {501, "Not Implemented", "not_implemented"},
    {502, "Bad Gateway", "bad_gateway"},
    {503, "Service Unavailable", "service_unavailable"},
    {504, "Gateway Timeout", "gateway_timeout"},
    {505, "HTTP Version Not Supported", "http_version_not_supported"},
    {507, "Insufficient Storage", "insufficient_storage"},
};

static int status_index(int status) {
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
    if (statuses[i].status == status) return (int)i;
  return -1;
}

const char *enclos_http_reason(int status) {
  int i = status_index(status);
  return i < 0 ? "Unknown" : statuses[i].reason;
}

const char *enclos_http_error_code(int status) {
  int i = status_index(status);
  if (i >= 0) return statuses[i].code;
  return status >= 500 ? "internal_error" : "error";
}

/* 2. Response writer ------------------------------------------------------------------------ */

/* Header names must be tokens and values must not carry CR/LF/NUL (response splitting). */
static bool header_text_ok(const char *s, bool name) {
  if (!s || (name && !*s)) return false;
  for (const char *c = s; *c; c++) {
    unsigned char u = (unsigned char)*c;
    if (u == '\r' || u == '\n' || (u < 0x20 && u != '\t') || u == 0x7f) return false;
    if (name && (u == ':' || u == ' ' || u == '\t')) return false;
  }
  return true;
}

enclos_err enclos_http_write_head(enclos_buf *out, int status, int version_minor, bool keep_alive,
                                  const char *content_type, uint64_t content_length,
                                  const enclos_http_out_header *headers, size_t header_count) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(status >= 100 && status <= 599, ENCLOS_E_INVAL, "status %d out of range", status);
  ENCLOS_ENSURE(headers != NULL || header_count == 0, ENCLOS_E_INVAL);
  for (size_t i = 0; i < header_count; i++)
    ENCLOS_ENSUREF(header_text_ok(headers[i].name, true) && header_text_ok(headers[i].value, false),
                   ENCLOS_E_INVAL, "response header %zu has a bad name or value", i);
  ENCLOS_ENSUREF(content_type == NULL || header_text_ok(content_type, false), ENCLOS_E_INVAL,
                 "bad Content-Type");
  size_t start = out->len;
  enclos_err rc = ENCLOS_OK;
  /* RFC 9112 §2.3: we answer with our highest 1.x version whatever the request's minor. */
  ENCLOS_GUARD(enclos_buf_printf(out, "HTTP/1.1 %d %s\r\n", status, enclos_http_reason(status)));
  for (size_t i = 0; i < header_count; i++)
    ENCLOS_GUARD(enclos_buf_printf(out, "%s: %s\r\n", headers[i].name, headers[i].value));
  bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (content_type && !no_body)
    ENCLOS_GUARD(enclos_buf_printf(out, "Content-Type: %s\r\n", content_type));
  /* RFC 9110 §8.6: no Content-Length in 1xx and 204 responses. */
  if (!no_body)
    ENCLOS_GUARD(enclos_buf_printf(out, "Content-Length: %llu\r\n",
                                   (unsigned long long)content_length));
  if (status >= 200) {
    /* RFC 9112 §9.3: 1.1 persists by default, so only "close" needs saying; an HTTP/1.0
     * client keeps the connection only when told "keep-alive". */
    if (!keep_alive)
      ENCLOS_GUARD(enclos_buf_append_str(out, "Connection: close\r\n"));
    else if (version_minor == 0)
      ENCLOS_GUARD(enclos_buf_append_str(out, "Connection: keep-alive\r\n"));
  }
  ENCLOS_GUARD(enclos_buf_append_str(out, "\r\n"));
cleanup:
  if (rc != ENCLOS_OK) out->len = start;
  return rc;
}

enclos_err enclos_http_write_response(enclos_buf *out, int status, int version_minor,
                                      bool keep_alive, const char *content_type, const void *body,
                                      size_t size, const enclos_http_out_header *headers,
                                      size_t header_count) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE(body != NULL || size == 0, ENCLOS_E_INVAL);
  size_t start = out->len;
  ENCLOS_TRY(enclos_http_write_head(out, status, version_minor, keep_alive, content_type, size,
                                    headers, header_count));
  enclos_err rc = size ? enclos_buf_append(out, body, size) : ENCLOS_OK;
  if (rc != ENCLOS_OK) out->len = start;
  return rc;
}

enclos_err enclos_http_write_continue(enclos_buf *out) {
  ENCLOS_ENSURE_REF(out);
  return enclos_buf_append_str(out, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* 3. JSON errors --------------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (RFC 3629 §4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  uint32_t min, cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; cp = c & 0x1fu; }
  else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; cp = c & 0x0fu; }
  else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; cp = c & 0x07u; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

enclos_err server__json_escape(enclos_buf *out, const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    unsigned char c = u[i];
    if (c == '"' || c == '\\') {
      uint8_t esc[2] = {'\\', c};
      ENCLOS_TRY(enclos_buf_append(out, esc, 2));
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      ENCLOS_TRY(enclos_buf_printf(out, "\\u%04x", c));
      i++;
    } else {
      size_t n = utf8_seq(u + i, len - i);
      if (n == 0) {
        ENCLOS_TRY(enclos_buf_append_str(out, "\\ufffd"));
        i++;
      } else {
        ENCLOS_TRY(enclos_buf_append(out, u + i, n));
        i += n;
      }
    }
  }
  return ENCLOS_OK;
}

enclos_err enclos_http_json_error_body(enclos_buf *out, const char *code, const char *message) {
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSURE_REF(code);
  if (!message) message = "";
  size_t start = out->len;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_buf_append_str(out, "{\"error\":{\"code\":\""));
  ENCLOS_GUARD(server__json_escape(out, code, strlen(code)));
  ENCLOS_GUARD(enclos_buf_append_str(out, "\",\"message\":\""));
  ENCLOS_GUARD(server__json_escape(out, message, strlen(message)));
  ENCLOS_GUARD(enclos_buf_append_str(out, "\"}}"));
cleanup:
  if (rc != ENCLOS_OK) out->len = start;
  return rc;
}

enclos_err enclos_http_write_error(enclos_buf *out, int status, int version_minor, bool keep_alive,
                                   const char *code, const char *message,
                                   const enclos_http_out_header *headers, size_t header_count) {
  ENCLOS_ENSURE_REF(out);
  /* Never 200 for a failure: an error response must carry a 4xx/5xx status. */
  ENCLOS_ENSUREF(status >= 400 && status <= 599, ENCLOS_E_INVAL, "error status %d is not 4xx/5xx",
                 status);
  enclos_buf body = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_http_json_error_body(&body, code ? code : enclos_http_error_code(status),
                                           message ? message : enclos_http_reason(status)));
  ENCLOS_GUARD(enclos_http_write_response(out, status, version_minor, keep_alive,
                                          "application/json", body.data, body.len, headers,
                                          header_count));
cleanup:
  enclos_buf_free(&body);
  return rc;
}

/* 4. Percent-decoding and query strings --------------------------------------------------- */

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enclos_err enclos_http_pct_decode(const uint8_t *in, size_t len, char *out, size_t cap,
                                  size_t *out_len, unsigned flags) {
  ENCLOS_ENSURE(in != NULL || len == 0, ENCLOS_E_INVAL);
  ENCLOS_ENSURE(out != NULL && cap > 0, ENCLOS_E_INVAL);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = in[i];
    if (c == '%') {
      ENCLOS_ENSUREF(len - i >= 3, ENCLOS_E_MALFORMED, "truncated %%-escape at %zu", i);
      int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
      ENCLOS_ENSUREF(h >= 0 && l >= 0, ENCLOS_E_MALFORMED, "bad %%-escape at %zu", i);
      c = (uint8_t)(h * 16 + l);
      ENCLOS_ENSUREF(c != 0, ENCLOS_E_MALFORMED, "%%00 at %zu", i);
      ENCLOS_ENSUREF(!(c == '/' && (flags & ENCLOS_HTTP_PCT_NO_SLASH)), ENCLOS_E_MALFORMED,
                     "encoded '/' at %zu", i);
      i += 2;
    } else if (c == '+' && (flags & ENCLOS_HTTP_PCT_PLUS)) {
      c = ' ';
    } else {
      ENCLOS_ENSUREF(c > 0x20 && c != 0x7f, ENCLOS_E_MALFORMED, "raw byte 0x%02x at %zu", c, i);
    }
    ENCLOS_ENSUREF(o + 1 < cap, ENCLOS_E_LIMIT, "decoded text longer than %zu bytes", cap - 1);
    out[o++] = (char)c;
  }
  out[o] = '\0';
  if (out_len) *out_len = o;
  return ENCLOS_OK;
}

enclos_err enclos_http_query_get(const uint8_t *query, size_t len, const char *name, char *out,
                                 size_t cap, size_t *out_len) {
  ENCLOS_ENSURE(query != NULL || len == 0, ENCLOS_E_INVAL);
  ENCLOS_ENSURE_REF(name);
  size_t nlen = strlen(name);
  size_t i = 0;
  while (i < len) {
    size_t s = i;
    while (i < len && query[i] != '&' && query[i] != ';') i++;
    size_t e = i, eq = s;
    while (eq < e && query[eq] != '=') eq++;
    /* Keys are compared after decoding so "n%6Fnce" finds "nonce". */
    char key[256];
    size_t klen;
    if (enclos_http_pct_decode(query + s, eq - s, key, sizeof(key), &klen, ENCLOS_HTTP_PCT_PLUS) ==
            ENCLOS_OK &&
        klen == nlen && memcmp(key, name, nlen) == 0) {
      size_t vs = eq < e ? eq + 1 : e;
      return enclos_http_pct_decode(query + vs, e - vs, out, cap, out_len, ENCLOS_HTTP_PCT_PLUS);
    }
    i++;
  }
  ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "query parameter \"%s\" absent", name);
}
