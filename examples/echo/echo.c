/* echo: the function-call ABI (docs/apps.md, "Function calls"). The host copies the string
 * argument into guest memory through the exported cabi_realloc and calls
 * echo(ptr, len); the export returns a pointer to a (pointer, length) pair holding the JSON
 * result {"echo": <the argument as a JSON string>, "length": <bytes>}, declared a string with
 * ENCLOS_RETURNS_STRING so the host returns it as a JSON string.
 * As a command (`enclos run echo.wasm < in`), main() does the same with stdin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos.h>

ENCLOS_DEFINE_CABI_REALLOC()
ENCLOS_RETURNS_STRING("echo")

static char *out_buf;
static size_t out_len, out_cap;

static void out_grow(size_t extra) {
  if (out_len + extra <= out_cap) return;
  size_t cap = out_cap ? out_cap : 256;
  while (cap < out_len + extra) cap *= 2;
  char *p = realloc(out_buf, cap);
  if (!p) __builtin_trap();
  out_buf = p;
  out_cap = cap;
}

static void out_put(const char *s, size_t n) {
  out_grow(n);
  memcpy(out_buf + out_len, s, n);
  out_len += n;
}

/* Builds {"echo":"...","length":N} with JSON string escaping (RFC 8259 §7). */
static void build(const char *in, size_t len) {
  static const char hex[] = "0123456789abcdef";
  out_len = 0;
  out_put("{\"echo\":\"", 9);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      out_put(e, 2);
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out_put(e, 6);
    } else {
      out_put((const char *)&in[i], 1);
    }
  }
  char tail[48];
  int n = snprintf(tail, sizeof(tail), "\",\"length\":%zu}", len);
  out_put(tail, (size_t)n);
}

static enclos_result result;

ENCLOS_EXPORT("echo") enclos_result *echo(const char *ptr, size_t len) {
  build(ptr, len);
  result.ptr = out_buf;
  result.len = out_len;
  return &result;
}

int main(void) {
  char *in = NULL;
  size_t len = 0, cap = 0, n;
  do {
    if (len == cap) {
      cap = cap ? cap * 2 : 1024;
      in = realloc(in, cap);
      if (!in) return 1;
    }
    n = fread(in + len, 1, cap - len, stdin);
    len += n;
  } while (n > 0);
  while (len && (in[len - 1] == '\n' || in[len - 1] == '\r')) len--;
  enclos_result *r = echo(in, len);
  fwrite(r->ptr, 1, r->len, stdout);
  putchar('\n');
  free(in);
  return 0;
}
