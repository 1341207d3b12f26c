/* fuzz_app_cgi: the CGI response parser (src/app/http.c, app__cgi_parse): arbitrary app stdout.
 * Properties: no crash or out-of-bounds access; on success the status is 100..599, the
 * content type and every header are NUL-terminated within their fields and free of CR/LF, and
 * the body is a suffix of the input. Byte 0 bit 0 = the app exited with a non-zero code. */
#include <stdlib.h>
#include <string.h>

#include "app/app_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  enclos_app_http_response r;
  memset(&r, 0, sizeof(r));
  enclos_err rc = app__cgi_parse(data + 1, size - 1, data[0] & 1, &r);
  if (rc == ENCLOS_OK) {
    if (r.status < 100 || r.status > 599) abort();
    if (!memchr(r.content_type, 0, sizeof(r.content_type))) abort();
    if (strpbrk(r.content_type, "\r\n")) abort();
    if (r.nheaders > ENCLOS_APP_MAX_RESPONSE_HEADERS) abort();
    for (size_t i = 0; i < r.nheaders; i++) {
      if (!memchr(r.headers[i].name, 0, sizeof(r.headers[i].name)) ||
          !memchr(r.headers[i].value, 0, sizeof(r.headers[i].value)))
        abort();
      if (strpbrk(r.headers[i].name, "\r\n:") || strpbrk(r.headers[i].value, "\r\n")) abort();
    }
    if (r.body.len > size - 1 || (r.body.len && memcmp(r.body.data, data + size - r.body.len, r.body.len) != 0))
      abort();
  }
  enclos_buf_free(&r.body);
  return 0;
}
