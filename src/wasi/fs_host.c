/* fs_host.c: the host-directory filesystem backend of WASI (enclos_wasi_fs_ops).
 *
 * Divisions: errno mapping; path confinement (openat2 RESOLVE_BENEATH, or a component walk
 * with O_NOFOLLOW when openat2 is missing); descriptor operations; path operations; vtable.
 *
 * Confinement: every guest path is resolved beneath the preopen's directory descriptor. With
 * openat2 the kernel refuses `..` above the root, absolute paths and symlinks that lead out
 * (RESOLVE_BENEATH) and /proc magic links (RESOLVE_NO_MAGICLINKS); all of those come back as
 * EXDEV, which we report as ENOTCAPABLE. The fallback walks one component at a time with
 * O_PATH|O_NOFOLLOW, keeps a stack of directory descriptors so `..` can never pop the root, and
 * expands relative symlinks itself (absolute targets are refused), at most 40 of them (Linux's
 * MAXSYMLINKS). Operations on a final component (mkdir, unlink, rename, ...) resolve the parent
 * directory that way and then act on one plain name with the *at() call, which never follows a
 * symlink in that name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <enclos/mem.h>

#include "wasi_int.h"

#define HOST_MAX_SYMLINKS 40 /* Linux MAXSYMLINKS */
#define HOST_MAX_DEPTH 256   /* directories on the fallback walk's stack */

/* ---- errno mapping ------------------------------------------------------------------- */

uint16_t wasi__errno(int e) {
  switch (e) {
  case 0: return 0;
  case E2BIG: return 1;
  case EACCES: return 2;
  case EADDRINUSE: return 3;
  case EADDRNOTAVAIL: return 4;
  case EAFNOSUPPORT: return 5;
  case EAGAIN: return 6;
  case EALREADY: return 7;
  case EBADF: return 8;
  case EBADMSG: return 9;
  case EBUSY: return 10;
  case ECANCELED: return 11;
  case ECHILD: return 12;
  case ECONNABORTED: return 13;
  case ECONNREFUSED: return 14;
  case ECONNRESET: return 15;
  case EDEADLK: return 16;
  case EDESTADDRREQ: return 17;
  case EDOM: return 18;
  case EDQUOT: return 19;
  case EEXIST: return 20;
  case EFAULT: return 21;
  case EFBIG: return 22;
  case EHOSTUNREACH: return 23;
  case EIDRM: return 24;
  case EILSEQ: return 25;
  case EINPROGRESS: return 26;
  case EINTR: return 27;
  case EINVAL: return 28;
  case EIO: return 29;
  case EISCONN: return 30;
  case EISDIR: return 31;
  case ELOOP: return 32;
  case EMFILE: return 33;
  case EMLINK: return 34;
  case EMSGSIZE: return 35;
  case EMULTIHOP: return 36;
  case ENAMETOOLONG: return 37;
  case ENETDOWN: return 38;
  case ENETRESET: return 39;
  case ENETUNREACH: return 40;
  case ENFILE: return 41;
  case ENOBUFS: return 42;
  case ENODEV: return 43;
  case ENOENT: return 44;
  case ENOEXEC: return 45;
  case ENOLCK: return 46;
  case ENOLINK: return 47;
  case ENOMEM: return 48;
  case ENOMSG: return 49;
  case ENOPROTOOPT: return 50;
  case ENOSPC: return 51;
  case ENOSYS: return 52;
  case ENOTCONN: return 53;
  case ENOTDIR: return 54;
  case ENOTEMPTY: return 55;
  case ENOTRECOVERABLE: return 56;
  case ENOTSOCK: return 57;
  case ENOTSUP: return 58;
  case ENOTTY: return 59;
  case ENXIO: return 60;
  case EOVERFLOW: return 61;
  case EOWNERDEAD: return 62;
  case EPERM: return 63;
  case EPIPE: return 64;
  case EPROTO: return 65;
  case EPROTONOSUPPORT: return 66;
  case EPROTOTYPE: return 67;
  case ERANGE: return 68;
  case EROFS: return 69;
  case ESPIPE: return 70;
  case ESRCH: return 71;
  case ESTALE: return 72;
  case ETIMEDOUT: return 73;
  case ETXTBSY: return 74;
  case EXDEV: return 75;
  default: return ENCLOS_WASI_EIO;
  }
}

/* ---- path confinement ---------------------------------------------------------------- */

static int g_openat2 = -1; /* -1 unknown, 0 missing, 1 available */
static bool g_force_fallback;

bool wasi__have_openat2(void) {
  if (g_force_fallback) return false;
  if (g_openat2 < 0) {
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
    if (fd >= 0) close((int)fd);
    g_openat2 = fd >= 0 ? 1 : 0;
  }
  return g_openat2 == 1;
}

void wasi__force_fallback(bool on) { g_force_fallback = on; }

static uint16_t resolve_openat2(int root, const char *path, int flags, bool follow, int *out) {
  struct open_how how = {0};
  how.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  if (flags & O_CREAT) how.mode = 0666;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) return errno == EXDEV ? ENCLOS_WASI_ENOTCAPABLE : wasi__errno(errno);
  *out = (int)fd;
  return 0;
}

/* The fallback walk (see the file comment). `rest` holds the components still to visit. */
static uint16_t resolve_walk(int root, const char *path, int flags, bool follow, int *out) {
  enum { CAP = 2 * ENCLOS_WASI_MAX_PATH + 2 };
  char *rest = enclos_malloc(CAP), *tmp = enclos_malloc(CAP);
  int stack[HOST_MAX_DEPTH];
  size_t depth = 0; /* stack[0..depth) are our descriptors; the root is below them */
  int links = 0;
  uint16_t err = 0;
  if (!rest || !tmp) {
    err = ENCLOS_WASI_ENOMEM;
    goto done;
  }
  if (path[0] == '/') {
    err = ENCLOS_WASI_ENOTCAPABLE;
    goto done;
  }
  snprintf(rest, CAP, "%s", path);
  size_t pos = 0;
  for (;;) {
    while (rest[pos] == '/') pos++;
    int top = depth ? stack[depth - 1] : root;
    if (rest[pos] == '\0') {
      /* Path ended in '/' or was empty/only dots: open the directory we stand in. */
      int fd = openat(top, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
      if (fd < 0) err = wasi__errno(errno);
      else *out = fd;
      goto done;
    }
    size_t end = pos;
    while (rest[end] && rest[end] != '/') end++;
    bool last = true;
    for (size_t k = end; rest[k]; k++)
      if (rest[k] != '/') {
        last = false;
        break;
      }
    bool trailing_slash = rest[end] == '/';
    char name[NAME_MAX + 1];
    size_t nlen = end - pos;
    if (nlen > NAME_MAX) {
      err = ENCLOS_WASI_ENAMETOOLONG;
      goto done;
    }
    memcpy(name, rest + pos, nlen);
    name[nlen] = '\0';
    pos = end;
    if (strcmp(name, ".") == 0 && !last) continue;
    if (strcmp(name, "..") == 0) {
      if (depth == 0) {
        err = ENCLOS_WASI_ENOTCAPABLE;
        goto done;
      }
      close(stack[--depth]);
      if (!last) continue;
      int fd = openat(depth ? stack[depth - 1] : root, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
      if (fd < 0) err = wasi__errno(errno);
      else *out = fd;
      goto done;
    }
    int fd;
    if (last) {
      int f = flags | O_NOFOLLOW | O_CLOEXEC | (trailing_slash ? O_DIRECTORY : 0);
      fd = openat(top, name, f, 0666);
    } else {
      fd = openat(top, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    }
    bool is_link = false;
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
      struct stat st;
      is_link = fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      if (!is_link || (last && !follow && !trailing_slash)) {
        err = wasi__errno(errno);
        goto done;
      }
    } else if (fd < 0) {
      err = wasi__errno(errno);
      goto done;
    } else if (last && (flags & O_PATH) && follow) {
      struct stat st;
      if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
        close(fd);
        is_link = true;
      }
    }
    if (is_link) {
      if (++links > HOST_MAX_SYMLINKS) {
        err = ENCLOS_WASI_ELOOP;
        goto done;
      }
      ssize_t n = readlinkat(top, name, tmp, CAP - 1);
      if (n < 0) {
        err = wasi__errno(errno);
        goto done;
      }
      if (n == 0 || tmp[0] == '/') {
        err = ENCLOS_WASI_ENOTCAPABLE; /* absolute targets always point outside */
        goto done;
      }
      size_t rlen = strlen(rest + pos);
      if ((size_t)n + 1 + rlen + 1 > CAP) {
        err = ENCLOS_WASI_ENAMETOOLONG;
        goto done;
      }
      /* target + "/" + the rest (no slash added when nothing follows, so a link to a
       * file used as the last component is not turned into "file/"). */
      size_t at = (size_t)n;
      if (rlen) tmp[at++] = '/';
      memcpy(tmp + at, rest + pos, rlen + 1);
      memcpy(rest, tmp, at + rlen + 1);
      pos = 0;
      continue;
    }
    if (last) {
      *out = fd;
      goto done;
    }
    if (depth == HOST_MAX_DEPTH) {
      close(fd);
      err = ENCLOS_WASI_ENAMETOOLONG;
      goto done;
    }
    stack[depth++] = fd;
  }
done:
  while (depth) close(stack[--depth]);
  enclos_free(rest);
  enclos_free(tmp);
  return err;
}

uint16_t wasi__resolve(int root, const char *path, int flags, bool follow, int *out) {
  if (path[0] == '/') return ENCLOS_WASI_ENOTCAPABLE;
  if (path[0] == '\0') return ENCLOS_WASI_ENOENT;
  if (wasi__have_openat2()) return resolve_openat2(root, path, flags, follow, out);
  return resolve_walk(root, path, flags, follow, out);
}

/* Splits `path` into its parent directory (resolved and opened O_PATH beneath root) and the
 * final name (into `name`). A final "." or ".." is refused with \p dot_err. */
static uint16_t resolve_parent(int root, const char *path, uint16_t dot_err, int *dirfd,
                               char name[NAME_MAX + 1]) {
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  size_t slash = len;
  while (slash > 0 && path[slash - 1] != '/') slash--;
  size_t nlen = len - slash;
  if (nlen == 0) return ENCLOS_WASI_ENOENT;
  if (nlen > NAME_MAX) return ENCLOS_WASI_ENAMETOOLONG;
  memcpy(name, path + slash, nlen);
  name[nlen] = '\0';
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return dot_err;
  if (slash == 0) return wasi__resolve(root, ".", O_PATH | O_DIRECTORY, true, dirfd);
  char dir[ENCLOS_WASI_MAX_PATH + 1];
  if (slash > ENCLOS_WASI_MAX_PATH) return ENCLOS_WASI_ENAMETOOLONG;
  memcpy(dir, path, slash);
  dir[slash] = '\0';
  return wasi__resolve(root, dir, O_PATH | O_DIRECTORY, true, dirfd);
}

/* ---- descriptor operations ----------------------------------------------------------- */

typedef struct host_file {
  int fd;
} host_file;

static int hfd(void *h) { return ((host_file *)h)->fd; }

static uint8_t filetype_of(mode_t m) {
  if (S_ISREG(m)) return ENCLOS_WASI_FILETYPE_REGULAR_FILE;
  if (S_ISDIR(m)) return ENCLOS_WASI_FILETYPE_DIRECTORY;
  if (S_ISCHR(m)) return ENCLOS_WASI_FILETYPE_CHARACTER_DEVICE;
  if (S_ISBLK(m)) return ENCLOS_WASI_FILETYPE_BLOCK_DEVICE;
  if (S_ISLNK(m)) return ENCLOS_WASI_FILETYPE_SYMBOLIC_LINK;
  if (S_ISSOCK(m)) return ENCLOS_WASI_FILETYPE_SOCKET_STREAM;
  return ENCLOS_WASI_FILETYPE_UNKNOWN;
}

static uint64_t ts_ns(struct timespec t) {
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void stat_to_wasi(const struct stat *st, enclos_wasi_filestat *o) {
  o->dev = (uint64_t)st->st_dev;
  o->ino = (uint64_t)st->st_ino;
  o->filetype = filetype_of(st->st_mode);
  o->nlink = (uint64_t)st->st_nlink;
  o->size = (uint64_t)st->st_size;
  o->atim = ts_ns(st->st_atim);
  o->mtim = ts_ns(st->st_mtim);
  o->ctim = ts_ns(st->st_ctim);
}

/* WASI fstflags (ATIM=1, ATIM_NOW=2, MTIM=4, MTIM_NOW=8) to utimensat's timespec pair. */
static void times_of(uint64_t atim, uint64_t mtim, uint16_t fl, struct timespec ts[2]) {
  ts[0].tv_sec = 0;
  ts[1].tv_sec = 0;
  ts[0].tv_nsec = (fl & 2) ? UTIME_NOW : (fl & 1) ? 0 : UTIME_OMIT;
  ts[1].tv_nsec = (fl & 8) ? UTIME_NOW : (fl & 4) ? 0 : UTIME_OMIT;
  if ((fl & 3) == 1) {
    ts[0].tv_sec = (time_t)(atim / 1000000000u);
    ts[0].tv_nsec = (long)(atim % 1000000000u);
  }
  if ((fl & 12) == 4) {
    ts[1].tv_sec = (time_t)(mtim / 1000000000u);
    ts[1].tv_nsec = (long)(mtim % 1000000000u);
  }
}

static uint16_t host_open(void *fs, void *dir, const char *path, bool follow, uint16_t oflags,
                          uint16_t fdflags, uint32_t access, void **out, uint8_t *filetype) {
  int flags = 0;
  if ((access & ENCLOS_WASI_ACCESS_READ) && (access & ENCLOS_WASI_ACCESS_WRITE)) flags = O_RDWR;
  else if (access & ENCLOS_WASI_ACCESS_WRITE) flags = O_WRONLY;
  else flags = O_RDONLY;
  if (oflags & 1) flags |= O_CREAT;
  if (oflags & 2) flags |= O_DIRECTORY;
  if (oflags & 4) flags |= O_EXCL;
  if (oflags & 8) flags |= O_TRUNC;
  if (fdflags & 1) flags |= O_APPEND;
  if (fdflags & 2) flags |= O_DSYNC;
  if (fdflags & 4) flags |= O_NONBLOCK;
  if (fdflags & 8) flags |= O_RSYNC;
  if (fdflags & 16) flags |= O_SYNC;
  host_file *f = enclos_malloc(sizeof(*f));
  if (!f) return ENCLOS_WASI_ENOMEM;
  int fd = -1;
  uint16_t err = wasi__resolve(hfd(dir), path, flags, follow, &fd);
  if (err) {
    enclos_free(f);
    return err;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    err = wasi__errno(errno);
    close(fd);
    enclos_free(f);
    return err;
  }
  f->fd = fd;
  *filetype = filetype_of(st.st_mode);
  *out = f;
  return 0;
}

static void host_close(void *fs, void *h) {
  if (!h) return;
  close(hfd(h));
  enclos_free(h);
}

/* enclos_wasi_iov and struct iovec have the same members; convert in chunks without
 * allocating. */
#define HOST_IOV_CHUNK 64
static uint16_t host_rw(int fd, const enclos_wasi_iov *iov, size_t n, int64_t offset, bool wr,
                        size_t *done) {
  struct iovec v[HOST_IOV_CHUNK];
  size_t total = 0;
  for (size_t i = 0; i < n;) {
    size_t k = 0, want = 0;
    for (; k < HOST_IOV_CHUNK && i + k < n; k++) {
      v[k].iov_base = iov[i + k].buf;
      v[k].iov_len = iov[i + k].size;
      want += iov[i + k].size;
    }
    ssize_t r;
    do {
      if (offset >= 0)
        r = wr ? pwritev(fd, v, (int)k, (off_t)offset + (off_t)total)
               : preadv(fd, v, (int)k, (off_t)offset + (off_t)total);
      else
        r = wr ? writev(fd, v, (int)k) : readv(fd, v, (int)k);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (total) break;
      return wasi__errno(errno);
    }
    total += (size_t)r;
    if ((size_t)r < want) break; /* short transfer: report what was done */
    i += k;
  }
  *done = total;
  return 0;
}

static uint16_t host_read(void *fs, void *h, const enclos_wasi_iov *iov, size_t n,
                          int64_t offset, size_t *done) {
  return host_rw(hfd(h), iov, n, offset, false, done);
}

static uint16_t host_write(void *fs, void *h, const enclos_wasi_iov *iov, size_t n,
                           int64_t offset, size_t *done) {
  return host_rw(hfd(h), iov, n, offset, true, done);
}

static uint16_t host_seek(void *fs, void *h, int64_t offset, uint8_t whence, uint64_t *newoff) {
  int w = whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : whence == 2 ? SEEK_END : -1;
  if (w < 0) return ENCLOS_WASI_EINVAL;
  off_t r = lseek(hfd(h), (off_t)offset, w);
  if (r < 0) return wasi__errno(errno);
  *newoff = (uint64_t)r;
  return 0;
}

static uint16_t host_stat(void *fs, void *h, enclos_wasi_filestat *out) {
  struct stat st;
  if (fstat(hfd(h), &st) != 0) return wasi__errno(errno);
  stat_to_wasi(&st, out);
  return 0;
}

static uint16_t host_set_size(void *fs, void *h, uint64_t size) {
  if (size > INT64_MAX) return ENCLOS_WASI_EFBIG;
  return ftruncate(hfd(h), (off_t)size) == 0 ? 0 : wasi__errno(errno);
}

static uint16_t host_set_times(void *fs, void *h, uint64_t atim, uint64_t mtim, uint16_t fl) {
  struct timespec ts[2];
  times_of(atim, mtim, fl, ts);
  return futimens(hfd(h), ts) == 0 ? 0 : wasi__errno(errno);
}

static uint16_t host_sync(void *fs, void *h, bool data_only) {
  int r = data_only ? fdatasync(hfd(h)) : fsync(hfd(h));
  return r == 0 ? 0 : wasi__errno(errno);
}

static uint16_t host_advise(void *fs, void *h, uint64_t offset, uint64_t len, uint8_t advice) {
  static const int map[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                            POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  if (advice > 5) return ENCLOS_WASI_EINVAL;
  if (offset > INT64_MAX || len > INT64_MAX) return ENCLOS_WASI_EINVAL;
  int r = posix_fadvise(hfd(h), (off_t)offset, (off_t)len, map[advice]);
  return wasi__errno(r);
}

static uint16_t host_allocate(void *fs, void *h, uint64_t offset, uint64_t len) {
  if (offset > INT64_MAX || len > INT64_MAX || offset + len > INT64_MAX)
    return ENCLOS_WASI_EFBIG;
  int r = posix_fallocate(hfd(h), (off_t)offset, (off_t)len);
  return wasi__errno(r);
}

static uint16_t host_set_flags(void *fs, void *h, uint16_t fdflags) {
  if (fdflags & (2 | 8 | 16)) return ENCLOS_WASI_ENOTSUP; /* sync modes are fixed at open */
  int cur = fcntl(hfd(h), F_GETFL);
  if (cur < 0) return wasi__errno(errno);
  cur &= ~(O_APPEND | O_NONBLOCK);
  if (fdflags & 1) cur |= O_APPEND;
  if (fdflags & 4) cur |= O_NONBLOCK;
  return fcntl(hfd(h), F_SETFL, cur) == 0 ? 0 : wasi__errno(errno);
}

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Directory cookies are the kernel's d_off values, so reading is stateless: seek to the
 * cookie, then getdents64. */
static uint16_t host_readdir(void *fs, void *h, uint64_t cookie, enclos_wasi_dirent_fn emit,
                             void *arg) {
  int fd = hfd(h);
  if (lseek(fd, (off_t)cookie, SEEK_SET) < 0) return wasi__errno(errno);
  _Alignas(8) char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n < 0) return wasi__errno(errno);
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(void *)(buf + off);
      uint8_t t;
      switch (d->d_type) {
      case DT_REG: t = ENCLOS_WASI_FILETYPE_REGULAR_FILE; break;
      case DT_DIR: t = ENCLOS_WASI_FILETYPE_DIRECTORY; break;
      case DT_LNK: t = ENCLOS_WASI_FILETYPE_SYMBOLIC_LINK; break;
      case DT_CHR: t = ENCLOS_WASI_FILETYPE_CHARACTER_DEVICE; break;
      case DT_BLK: t = ENCLOS_WASI_FILETYPE_BLOCK_DEVICE; break;
      case DT_SOCK: t = ENCLOS_WASI_FILETYPE_SOCKET_STREAM; break;
      default: t = ENCLOS_WASI_FILETYPE_UNKNOWN; break;
      }
      if (!emit(arg, (uint64_t)d->d_off, d->d_ino, t, d->d_name, strlen(d->d_name))) return 0;
      off += d->d_reclen;
    }
  }
}

/* ---- path operations ----------------------------------------------------------------- */

static uint16_t host_path_stat(void *fs, void *dir, const char *path, bool follow,
                               enclos_wasi_filestat *out) {
  int fd;
  uint16_t err = wasi__resolve(hfd(dir), path, O_PATH, follow, &fd);
  if (err) return err;
  struct stat st;
  err = fstat(fd, &st) == 0 ? 0 : wasi__errno(errno);
  if (!err) stat_to_wasi(&st, out);
  close(fd);
  return err;
}

static uint16_t host_path_set_times(void *fs, void *dir, const char *path, bool follow,
                                    uint64_t atim, uint64_t mtim, uint16_t fl) {
  int fd;
  uint16_t err = wasi__resolve(hfd(dir), path, O_PATH, follow, &fd);
  if (err) return err;
  struct timespec ts[2];
  times_of(atim, mtim, fl, ts);
  err = utimensat(fd, "", ts, AT_EMPTY_PATH | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) == 0
            ? 0
            : wasi__errno(errno);
  close(fd);
  return err;
}

static uint16_t host_mkdir(void *fs, void *dir, const char *path) {
  int dfd;
  char name[NAME_MAX + 1];
  uint16_t err = resolve_parent(hfd(dir), path, ENCLOS_WASI_EEXIST, &dfd, name);
  if (err) return err;
  err = mkdirat(dfd, name, 0777) == 0 ? 0 : wasi__errno(errno);
  close(dfd);
  return err;
}

static uint16_t host_unlink_flags(void *dir, const char *path, int flags) {
  int dfd;
  char name[NAME_MAX + 1];
  uint16_t err = resolve_parent(hfd(dir), path, ENCLOS_WASI_EINVAL, &dfd, name);
  if (err) return err;
  err = unlinkat(dfd, name, flags) == 0 ? 0 : wasi__errno(errno);
  close(dfd);
  return err;
}

static uint16_t host_rmdir(void *fs, void *dir, const char *path) {
  return host_unlink_flags(dir, path, AT_REMOVEDIR);
}

static uint16_t host_unlink(void *fs, void *dir, const char *path) {
  size_t n = strlen(path);
  if (n && path[n - 1] == '/') return ENCLOS_WASI_ENOTDIR; /* "file/" names a directory */
  return host_unlink_flags(dir, path, 0);
}

static uint16_t host_rename(void *fs, void *old_dir, const char *old_path, void *new_dir,
                            const char *new_path) {
  int od, nd;
  char on[NAME_MAX + 1], nn[NAME_MAX + 1];
  uint16_t err = resolve_parent(hfd(old_dir), old_path, ENCLOS_WASI_EINVAL, &od, on);
  if (err) return err;
  err = resolve_parent(hfd(new_dir), new_path, ENCLOS_WASI_EINVAL, &nd, nn);
  if (err) {
    close(od);
    return err;
  }
  err = renameat(od, on, nd, nn) == 0 ? 0 : wasi__errno(errno);
  close(od);
  close(nd);
  return err;
}

static uint16_t host_link(void *fs, void *old_dir, const char *old_path, bool follow,
                          void *new_dir, const char *new_path) {
  int nd;
  char nn[NAME_MAX + 1];
  uint16_t err = resolve_parent(hfd(new_dir), new_path, ENCLOS_WASI_EEXIST, &nd, nn);
  if (err) return err;
  if (follow) {
    /* Resolve the source (following links, confined), then link the object it names. */
    int of;
    err = wasi__resolve(hfd(old_dir), old_path, O_PATH, true, &of);
    if (!err) {
      char proc[64];
      snprintf(proc, sizeof(proc), "/proc/self/fd/%d", of);
      err = linkat(AT_FDCWD, proc, nd, nn, AT_SYMLINK_FOLLOW) == 0 ? 0 : wasi__errno(errno);
      close(of);
    }
  } else {
    int od;
    char on[NAME_MAX + 1];
    err = resolve_parent(hfd(old_dir), old_path, ENCLOS_WASI_EINVAL, &od, on);
    if (!err) {
      err = linkat(od, on, nd, nn, 0) == 0 ? 0 : wasi__errno(errno);
      close(od);
    }
  }
  close(nd);
  return err;
}

static uint16_t host_symlink(void *fs, const char *target, void *dir, const char *path) {
  /* An absolute target could never be followed from inside the sandbox and would only confuse
   * host tools; refuse it like wasmtime does. */
  if (target[0] == '/') return ENCLOS_WASI_ENOTCAPABLE;
  int dfd;
  char name[NAME_MAX + 1];
  uint16_t err = resolve_parent(hfd(dir), path, ENCLOS_WASI_EEXIST, &dfd, name);
  if (err) return err;
  err = symlinkat(target, dfd, name) == 0 ? 0 : wasi__errno(errno);
  close(dfd);
  return err;
}

static uint16_t host_readlink(void *fs, void *dir, const char *path, char *buf, size_t cap,
                              size_t *len) {
  int dfd;
  char name[NAME_MAX + 1];
  uint16_t err = resolve_parent(hfd(dir), path, ENCLOS_WASI_EINVAL, &dfd, name);
  if (err) return err;
  ssize_t n = readlinkat(dfd, name, buf, cap);
  err = n < 0 ? wasi__errno(errno) : 0;
  if (n >= 0) *len = (size_t)n;
  close(dfd);
  return err;
}

static const enclos_wasi_fs_ops host_ops = {
    .open = host_open,
    .close = host_close,
    .read = host_read,
    .write = host_write,
    .seek = host_seek,
    .stat = host_stat,
    .set_size = host_set_size,
    .set_times = host_set_times,
    .sync = host_sync,
    .advise = host_advise,
    .allocate = host_allocate,
    .set_flags = host_set_flags,
    .readdir = host_readdir,
    .path_stat = host_path_stat,
    .path_set_times = host_path_set_times,
    .mkdir = host_mkdir,
    .rmdir = host_rmdir,
    .unlink = host_unlink,
    .rename = host_rename,
    .link = host_link,
    .symlink = host_symlink,
    .readlink = host_readlink,
};

const enclos_wasi_fs_ops *enclos_wasi_host_fs_ops(void) { return &host_ops; }

/* Opens the root of a host preopen (used by enclos_wasi_preopen_host). */
void *wasi__host_open_root(const char *host_path, uint16_t *err) {
  int fd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *err = wasi__errno(errno);
    return NULL;
  }
  host_file *f = enclos_malloc(sizeof(*f));
  if (!f) {
    close(fd);
    *err = ENCLOS_WASI_ENOMEM;
    return NULL;
  }
  f->fd = fd;
  *err = 0;
  return f;
}
