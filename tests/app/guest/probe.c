/* probe: the app-layer test guest. As a CGI handler (main) it behaves according to PATH_INFO;
 * as a function-call app it exports small functions that exercise the ABI and its failure
 * modes (tests/app/test_app.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <enclos.h>

ENCLOS_DEFINE_CABI_REALLOC()

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v ? v : dflt;
}

/* ---- CGI ---- */
int main(void) {
  const char *path = env_or("PATH_INFO", "/");
  if (strcmp(path, "/env") == 0) {
    printf("Content-Type: text/plain\r\nX-Probe: yes\r\n\r\n");
    printf("method=%s\nquery=%s\nctype=%s\nclen=%s\nagent=%s\ncustom=%s\n",
           env_or("REQUEST_METHOD", "-"), env_or("QUERY_STRING", "-"), env_or("CONTENT_TYPE", "-"),
           env_or("CONTENT_LENGTH", "-"), env_or("HTTP_USER_AGENT", "-"),
           env_or("HTTP_X_CUSTOM_THING", "-"));
    char buf[256];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
      if (total == 0) printf("body=");
      fwrite(buf, 1, n, stdout);
      total += n;
    }
    return 0;
  }
  if (strcmp(path, "/nohdr") == 0) {
    printf("just a body\n");
    return 0;
  }
  if (strcmp(path, "/status") == 0) {
    printf("Status: 404 Not Found\nContent-Type: application/json\n\n{\"error\":\"none here\"}");
    return 0;
  }
  if (strcmp(path, "/badblock") == 0) {
    printf("Status: 200 OK\r\nX-Ok: 1\r\nthis line is not a header\r\n\r\nbody");
    return 0;
  }
  if (strcmp(path, "/unterminated") == 0) {
    printf("Content-Type: text/plain\r\n");
    return 0;
  }
  if (strcmp(path, "/badstatus") == 0) {
    printf("Status: 99 Low\r\n\r\n");
    return 0;
  }
  if (strcmp(path, "/framing") == 0) {
    printf("Content-Length: 5\r\n\r\nhello");
    return 0;
  }
  if (strcmp(path, "/ctl") == 0) {
    printf("X-Bad: a\x01z\r\n\r\n");
    return 0;
  }
  if (strcmp(path, "/big") == 0) {
    static char chunk[4096];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 64; i++) fwrite(chunk, 1, sizeof(chunk), stdout); /* 256 KiB */
    return 0;
  }
  if (strcmp(path, "/exit3") == 0) {
    printf("partial");
    fflush(stdout);
    exit(3);
  }
  if (strcmp(path, "/exit3status") == 0) {
    printf("Status: 400 Bad Request\r\n\r\nno");
    fflush(stdout);
    exit(3);
  }
  if (strcmp(path, "/trap") == 0) __builtin_trap();
  if (strcmp(path, "/spin") == 0) {
    volatile unsigned x = 0;
    for (;;) x++;
  }
  if (strcmp(path, "/stderr") == 0) {
    fprintf(stderr, "line one\nline two\n");
    printf("ok");
    return 0;
  }
  printf("Status: 200 OK\r\n\r\nprobe");
  return 0;
}

/* ---- function calls ---- */
static enclos_result result;

ENCLOS_EXPORT("add") int32_t add(int32_t a, int32_t b) { return a + b; }
ENCLOS_EXPORT("mix") double mix(int64_t a, double b, float c) { return (double)a + b + (double)c; }
ENCLOS_EXPORT("wide") int64_t wide(int64_t a) { return a; }
ENCLOS_EXPORT("none") void none(void) {}
ENCLOS_EXPORT("nan") double nan_(void) { return __builtin_nan(""); }

ENCLOS_RETURNS_STRING("concat")
ENCLOS_EXPORT("concat") enclos_result *concat(const char *a, size_t al, const char *b, size_t bl) {
  char *p = malloc(al + bl + 1);
  if (!p) __builtin_trap();
  memcpy(p, a, al);
  memcpy(p + al, b, bl);
  result.ptr = p;
  result.len = al + bl;
  return &result;
}

ENCLOS_RETURNS_BYTES("rev")
ENCLOS_EXPORT("rev") enclos_result *rev(const unsigned char *a, size_t n) {
  unsigned char *p = malloc(n + 1);
  if (!p) __builtin_trap();
  for (size_t i = 0; i < n; i++) p[i] = a[n - 1 - i];
  result.ptr = p;
  result.len = n;
  return &result;
}

ENCLOS_RETURNS_STRING("badpair")
ENCLOS_EXPORT("badpair") enclos_result *badpair(void) { return (enclos_result *)0xfffffff0u; }

ENCLOS_RETURNS_STRING("badbytes")
ENCLOS_EXPORT("badbytes") enclos_result *badbytes(void) {
  result.ptr = (const void *)0x10;
  result.len = 0x7fffffffu;
  return &result;
}

ENCLOS_RETURNS_STRING("notutf8")
ENCLOS_EXPORT("notutf8") enclos_result *notutf8(void) {
  static const char bad[] = "ok\xc0\xafno";
  result.ptr = bad;
  result.len = sizeof(bad) - 1;
  return &result;
}

ENCLOS_RETURNS_STRING("bigresult")
ENCLOS_EXPORT("bigresult") enclos_result *bigresult(int32_t n) {
  char *p = malloc((size_t)n);
  if (!p) __builtin_trap();
  memset(p, 'y', (size_t)n);
  result.ptr = p;
  result.len = (size_t)n;
  return &result;
}

ENCLOS_EXPORT("trap") int32_t trap(void) { __builtin_trap(); }
ENCLOS_EXPORT("spin") int32_t spin(void) {
  volatile unsigned x = 0;
  for (;;) x++;
}
ENCLOS_EXPORT("quit") int32_t quit(void) { exit(7); }

/* State that must not survive a call: a global counter, a heap allocation, a static buffer
 * and a function-pointer table slot. */
static int32_t counter;
static char scratch[64];
static int32_t one(void) { return 1; }
static int32_t two(void) { return 2; }
static int32_t (*volatile slot)(void) = one;
ENCLOS_EXPORT("bump") int32_t bump(void) {
  int32_t seen = counter * 1000 + (scratch[0] ? 100 : 0) + slot();
  counter++;
  scratch[0] = 'x';
  slot = two;
  return seen;
}
/* grows memory by one page and leaves a mark there; returns the page count seen on entry */
ENCLOS_EXPORT("grow") int32_t grow(void) {
  int32_t pages = (int32_t)__builtin_wasm_memory_size(0);
  int32_t old = (int32_t)__builtin_wasm_memory_grow(0, 1);
  if (old < 0) return -1;
  *(volatile char *)((size_t)old * 65536u) = 1;
  return pages;
}

/* Writes a file under /data (if preopened) or returns -1. */
ENCLOS_EXPORT("kvtest") int32_t kvtest(void) {
  static const char k[] = "greeting", v[] = "hello kv";
  char buf[64];
  int32_t r = enclos_kv_get(k, sizeof(k) - 1, buf, sizeof(buf));
  int32_t before = r;
  if (r == -ENCLOS_EUNSUPPORTED) return r;
  if (enclos_kv_put(k, sizeof(k) - 1, v, sizeof(v) - 1) != 0) return -100;
  r = enclos_kv_get(k, sizeof(k) - 1, buf, sizeof(buf));
  if (r != (int32_t)sizeof(v) - 1 || memcmp(buf, v, (size_t)r) != 0) return -101;
  return before;
}

/* Host API failure modes. */
ENCLOS_EXPORT("hostfault") int32_t hostfault(void) {
  unsigned char out[64];
  return enclos_digest(ENCLOS_SHA256, (const void *)0xfffffff0u, 100, out, sizeof(out));
}
ENCLOS_EXPORT("hostbadalg") int32_t hostbadalg(void) {
  unsigned char out[64];
  return enclos_digest(9, "abc", 3, out, sizeof(out));
}
ENCLOS_EXPORT("hostsmall") int32_t hostsmall(void) {
  unsigned char out[16];
  return enclos_digest(ENCLOS_SHA256, "abc", 3, out, sizeof(out));
}
ENCLOS_EXPORT("hostbadkey") int32_t hostbadkey(void) {
  unsigned char out[64];
  return enclos_aead_seal("short", 5, "123456789012", 12, "", 0, "x", 1, out, sizeof(out));
}
ENCLOS_EXPORT("hostbadpriv") int32_t hostbadpriv(void) {
  unsigned char zero[32] = {0}, sig[64];
  return enclos_sign(zero, 32, "m", 1, sig, sizeof(sig));
}
ENCLOS_EXPORT("logfault") int32_t logfault(void) {
  enclos_log(ENCLOS_LOG_INFO, (const char *)0xfffffff0u, 100);
  return 0;
}
ENCLOS_EXPORT("logok") int32_t logok(void) {
  enclos_log_str(ENCLOS_LOG_WARN, "probe says hi\nforged line");
  return 0;
}

ENCLOS_EXPORT("peek") int32_t peek(uint32_t addr) { return *(volatile unsigned char *)(uintptr_t)addr; }
