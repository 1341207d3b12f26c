/* fuzz_app_kvpath: path resolution of the /data backend (src/app/kvfs.c): a guest path below
 * a directory key becomes a store key. Input: base directory and path separated by the first
 * NUL. Properties: a resolved key is at most ENCLOS_STORE_MAX_KEY - 1 bytes, never starts or
 * ends with '/', and has no empty, "." or ".." component, so no key can name anything outside
 * the app's /data namespace; ENOTCAPABLE only when ".." would climb above /data. */
#include <stdlib.h>
#include <string.h>

#include <enclos/store.h>

#include "app/app_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool key_ok(const char *k, size_t n) {
  if (n == 0) return true;
  if (k[0] == '/' || k[n - 1] == '/') return false;
  const char *p = k, *end = k + n;
  while (p < end) {
    const char *s = memchr(p, '/', (size_t)(end - p));
    size_t cl = s ? (size_t)(s - p) : (size_t)(end - p);
    if (cl == 0 || (cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.')) return false;
    p += cl + 1;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *buf = malloc(size + 2);
  if (!buf) abort();
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = '\0';
  const char *base = buf, *path = buf + strlen(buf) + 1;
  if (path > buf + size) path = buf + size; /* no separator: empty path */
  size_t bl = strlen(base);
  /* a base directory key is itself a resolved key */
  if (!key_ok(base, bl) || bl > ENCLOS_STORE_MAX_KEY - 1) {
    free(buf);
    return 0;
  }
  char out[ENCLOS_STORE_MAX_KEY + 1];
  size_t n = 0;
  uint16_t e = app__kvfs_resolve(base, path, out, &n);
  if (e == 0) {
    if (n > ENCLOS_STORE_MAX_KEY - 1 || strlen(out) != n || !key_ok(out, n)) abort();
  } else if (e != ENCLOS_WASI_ENOTCAPABLE && e != ENCLOS_WASI_ENAMETOOLONG) {
    abort();
  }
  free(buf);
  return 0;
}
