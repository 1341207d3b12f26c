/* hello: a CGI-style HTTP handler. The server passes the request as environment variables
 * (REQUEST_METHOD, PATH_INFO, QUERY_STRING, CONTENT_TYPE, HTTP_*) and the body on stdin; what
 * the app writes to stdout is the response: an optional CGI header block (Status:,
 * Content-Type:), a blank line, then the body. Also runs as is under `enclos run`. */
#include <stdio.h>
#include <stdlib.h>

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v ? v : dflt;
}

int main(void) {
  size_t body = 0;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) body += n;
  printf("Status: 200 OK\r\n");
  printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
  printf("Hello from enclos!\n");
  printf("method=%s path=%s query=%s body=%zu bytes\n", env_or("REQUEST_METHOD", "GET"),
         env_or("PATH_INFO", "/"), env_or("QUERY_STRING", ""), body);
  return 0;
}
