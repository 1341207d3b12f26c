/* fuzz_wasi_path: the WASI path-confinement property. Input byte 0 picks the resolver
 * (openat2 or the O_NOFOLLOW walk) and whether the last component is followed; the rest is a
 * guest path resolved beneath a fixed tree full of escape hazards (`..`, a symlink to the
 * parent, to "/", to a sibling through "..", a loop). Whatever the path, a successful
 * resolution must name the root or something beneath it (checked through /proc/self/fd), and
 * the guest-memory helpers (iovec and path loading) must stay in bounds on the same bytes. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_root = -1;
static char g_root_real[PATH_MAX];

static void setup(void) {
  char tmpl[] = "/tmp/fuzz_wasi_XXXXXX";
  char *base = mkdtemp(tmpl);
  if (!base) abort();
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/root", base);
  if (mkdir(p, 0755) != 0) abort();
  if (!realpath(p, g_root_real)) abort();
  g_root = open(p, O_RDONLY | O_DIRECTORY);
  if (g_root < 0) abort();
  snprintf(p, sizeof(p), "%s/outside", base);
  if (mkdir(p, 0755) != 0) abort();
  if (mkdirat(g_root, "a", 0755) || mkdirat(g_root, "a/b", 0755)) abort();
  int fd = openat(g_root, "a/b/file", O_CREAT | O_WRONLY, 0644);
  if (fd < 0) abort();
  close(fd);
  if (symlinkat("..", g_root, "up") || symlinkat("/", g_root, "abs") ||
      symlinkat("a", g_root, "in") || symlinkat("a/../../outside", g_root, "side") ||
      symlinkat("loop", g_root, "loop") || symlinkat("../../..", g_root, "a/b/up3") ||
      symlinkat("b/file", g_root, "a/f"))
    abort();
}

/* The resolved object must be the root or lie beneath it. */
static void check_inside(int fd) {
  char proc[64], real[PATH_MAX];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc, real, sizeof(real) - 1);
  if (n < 0) abort();
  real[n] = '\0';
  size_t rl = strlen(g_root_real);
  if (strncmp(real, g_root_real, rl) != 0 || (real[rl] != '\0' && real[rl] != '/')) {
    fprintf(stderr, "escaped to %s\n", real);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (g_root < 0) setup();
  if (size < 1) return 0;
  static char path[ENCLOS_WASI_MAX_PATH + 1];
  static enclos_wasi_iov iov[ENCLOS_WASI_MAX_IOVS];
  uint8_t mode = data[0];
  /* Guest-memory helpers on the raw input as "memory". */
  uint8_t *mem = malloc(size);
  if (!mem) return 0;
  memcpy(mem, data, size);
  size_t total;
  uint32_t a = size >= 5 ? (uint32_t)data[1] | (uint32_t)data[2] << 8 : 0;
  uint32_t b = size >= 5 ? (uint32_t)data[3] | (uint32_t)data[4] << 8 : 0;
  if (wasi__load_iovs(mem, size, a, b % 64, iov, &total) == 0)
    for (uint32_t i = 0; i < b % 64; i++)
      if (iov[i].size && (iov[i].buf < mem || iov[i].buf + iov[i].size > mem + size)) abort();
  (void)wasi__load_path(mem, size, a, b, path);
  free(mem);

  size_t len = size - 1 > ENCLOS_WASI_MAX_PATH ? ENCLOS_WASI_MAX_PATH : size - 1;
  memcpy(path, data + 1, len);
  path[len] = '\0';
  wasi__force_fallback((mode & 1) != 0);
  bool follow = (mode & 2) != 0;
  int flags = (mode & 4) ? O_PATH : O_RDONLY;
  int fd = -1;
  if (wasi__resolve(g_root, path, flags, follow, &fd) == 0) {
    check_inside(fd);
    close(fd);
  }
  wasi__force_fallback(false);
  return 0;
}
