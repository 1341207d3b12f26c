/* fuzz_http: the HTTP/1.1 request parser on arbitrary bytes. The same input is then fed in
 * pieces split at points derived from the input itself; the outcome (result, status,
 * bytes consumed, every span) must be identical, since the parser never looks at a byte
 * twice. Parsed paths go through the router and queries through the decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/server_http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const enclos_http_request *a, const uint8_t *ba, const enclos_http_request *b,
                 const uint8_t *bb) {
  if (a->method != b->method || a->path.off != b->path.off || a->path.len != b->path.len ||
      a->query.off != b->query.off || a->query.len != b->query.len ||
      a->header_count != b->header_count || a->body.off != b->body.off ||
      a->body.len != b->body.len || a->keep_alive != b->keep_alive ||
      a->chunked != b->chunked || a->expect_continue != b->expect_continue)
    abort();
  for (size_t i = 0; i < a->header_count; i++)
    if (memcmp(&a->headers[i], &b->headers[i], sizeof(a->headers[i])) != 0) abort();
  if (a->body.len && memcmp(ba + a->body.off, bb + b->body.off, a->body.len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  /* The first two bytes seed the split points and small limits. */
  unsigned seed = (unsigned)data[0] | ((unsigned)data[1] << 8);
  data += 2;
  size -= 2;
  enclos_http_limits lim;
  enclos_http_limits_default(&lim);
  if (seed & 1) {
    lim.max_request_line = 64;
    lim.max_headers = 4;
    lim.max_header_section = 128;
    lim.max_body = 64;
    lim.max_trailer_section = 32;
  }
  uint8_t *whole = malloc(size ? size : 1), *split = malloc(size ? size : 1);
  if (!whole || !split) abort();
  if (size) memcpy(whole, data, size);

  enclos_http_parser p1, p2;
  enclos_http_parser_init(&p1, &lim);
  size_t c1 = 0, c2 = 0;
  enclos_err r1 = enclos_http_parse(&p1, whole, size, &c1);

  enclos_http_parser_init(&p2, &lim);
  enclos_err r2 = ENCLOS_E_AGAIN;
  size_t have = 0;
  unsigned x = seed * 2654435761u + 1;
  while (r2 == ENCLOS_E_AGAIN && have < size) {
    x = x * 1103515245u + 12345u;
    size_t step = 1 + (x >> 16) % 17;
    if (step > size - have) step = size - have;
    memcpy(split + have, data + have, step);
    have += step;
    r2 = enclos_http_parse(&p2, split, have, &c2);
  }
  if (size == 0) r2 = enclos_http_parse(&p2, split, 0, &c2);
  if (r1 != r2 || enclos_http_parser_status(&p1) != enclos_http_parser_status(&p2)) abort();
  if (r1 != ENCLOS_OK && r1 != ENCLOS_E_AGAIN && enclos_http_parser_status(&p1) < 400) abort();
  if (r1 == ENCLOS_OK) {
    if (c1 != c2 || c1 > size) abort();
    same(&p1.req, whole, &p2.req, split);
    const enclos_http_request *q = &p1.req;
    if (q->body.off + q->body.len > c1) abort();
    enclos_route_match m;
    if (enclos_route_match_path(q->method, whole + q->path.off, q->path.len, &m) == ENCLOS_OK) {
      if (m.status != 0 || m.id == ENCLOS_ROUTE_NONE) abort();
      if (m.app[0] && !enclos_app_name_valid(m.app, strlen(m.app))) abort();
    } else if (m.status != 404 && m.status != 405 && m.status != 400) {
      abort();
    }
    char out[256];
    size_t n;
    (void)enclos_http_query_get(whole + q->query.off, q->query.len, "nonce", out, sizeof(out), &n);
  }
  free(whole);
  free(split);
  return 0;
}
