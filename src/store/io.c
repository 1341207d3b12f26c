/* io.c: the store's own file I/O through the overridable seam (STYLE.md §20), atomic file
 * replacement for the anchor and the sim sealing secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

static int sys_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

store_io store__io = {sys_open, read, write, fsync, rename, close};

void store__io_reset(void) {
  store_io d = {sys_open, read, write, fsync, rename, close};
  store__io = d;
}

enclos_err store__write_atomic(const char *dir, const char *name, const void *data, size_t size) {
  enclos_err rc = ENCLOS_OK;
  char tmp[4096], dst[4096];
  int fd = -1;
  int n1 = snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
  int n2 = snprintf(dst, sizeof(dst), "%s/%s", dir, name);
  ENCLOS_ENSUREF(n1 > 0 && (size_t)n1 < sizeof(tmp) && n2 > 0 && (size_t)n2 < sizeof(dst),
                 ENCLOS_E_LIMIT, "path %s/%s too long", dir, name);
  fd = store__io.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ENCLOS_GUARD_ENSUREF(fd >= 0, ENCLOS_E_IO, "create %s: %s", tmp, strerror(errno));
  const uint8_t *p = data;
  size_t left = size;
  while (left > 0) {
    ssize_t w = store__io.write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    ENCLOS_GUARD_ENSUREF(w > 0, ENCLOS_E_IO, "write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
    p += w;
    left -= (size_t)w;
  }
  ENCLOS_GUARD_ENSUREF(store__io.fsync(fd) == 0, ENCLOS_E_IO, "fsync %s: %s", tmp, strerror(errno));
  int c = store__io.close(fd);
  fd = -1;
  ENCLOS_GUARD_ENSUREF(c == 0, ENCLOS_E_IO, "close %s: %s", tmp, strerror(errno));
  ENCLOS_GUARD_ENSUREF(store__io.rename(tmp, dst) == 0, ENCLOS_E_IO, "rename %s -> %s: %s", tmp,
                       dst, strerror(errno));
  /* The rename is durable only once the directory entry is on disk. */
  fd = store__io.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  ENCLOS_GUARD_ENSUREF(fd >= 0, ENCLOS_E_IO, "open directory %s: %s", dir, strerror(errno));
  ENCLOS_GUARD_ENSUREF(store__io.fsync(fd) == 0, ENCLOS_E_IO, "fsync directory %s: %s", dir,
                       strerror(errno));
cleanup:
  if (fd >= 0) (void)store__io.close(fd);
  return rc;
}

enclos_err store__read_file(const char *path, uint8_t *out, size_t max, size_t *size) {
  enclos_err rc = ENCLOS_OK;
  uint8_t tmp[257];
  size_t total = 0;
  *size = 0;
  ENCLOS_ENSUREF(max < sizeof(tmp), ENCLOS_E_INVAL, "read limit %zu too large", max);
  int fd = store__io.open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 && errno == ENOENT) ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "%s does not exist", path);
  ENCLOS_ENSUREF(fd >= 0, ENCLOS_E_IO, "open %s: %s", path, strerror(errno));
  for (;;) {
    ssize_t got = store__io.read(fd, tmp + total, max + 1 - total);
    if (got < 0 && errno == EINTR) continue;
    ENCLOS_GUARD_ENSUREF(got >= 0, ENCLOS_E_IO, "read %s: %s", path, strerror(errno));
    if (got == 0) break;
    total += (size_t)got;
    ENCLOS_GUARD_ENSUREF(total <= max, ENCLOS_E_TAMPERED, "%s is larger than %zu bytes", path, max);
  }
  memcpy(out, tmp, total);
  *size = total;
cleanup:
  (void)store__io.close(fd);
  return rc;
}
