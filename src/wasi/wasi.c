/* wasi.c: WASI preview 1 (`wasi_snapshot_preview1`) host functions.
 *
 * Divisions: guest-memory access (bounds-checked, 64-bit arithmetic); the context and its
 * descriptor table; configuration API; args/environ; clocks and random; descriptor calls
 * (fd_*); path calls (path_*); poll_oneoff; process calls; registration.
 *
 * Spec: WebAssembly/WASI `legacy/preview1/witx/wasi_snapshot_preview1.witx` and its generated
 * docs. Structure layouts are the wasm32 ones (wasi-libc `wasi/api.h` static asserts). Every
 * guest-visible failure is a WASI errno result; host functions return an enclos error (a trap)
 * only for proc_exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <enclos/buf.h>
#include <enclos/mem.h>

#include "wasi_int.h"

/* Rights (preview-1 `rights` flags, bit numbers from the witx). */
#define R_FD_DATASYNC (1ull << 0)
#define R_FD_READ (1ull << 1)
#define R_FD_SEEK (1ull << 2)
#define R_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define R_FD_SYNC (1ull << 4)
#define R_FD_TELL (1ull << 5)
#define R_FD_WRITE (1ull << 6)
#define R_FD_ADVISE (1ull << 7)
#define R_FD_ALLOCATE (1ull << 8)
#define R_PATH_CREATE_DIRECTORY (1ull << 9)
#define R_PATH_CREATE_FILE (1ull << 10)
#define R_PATH_LINK_SOURCE (1ull << 11)
#define R_PATH_LINK_TARGET (1ull << 12)
#define R_PATH_OPEN (1ull << 13)
#define R_FD_READDIR (1ull << 14)
#define R_PATH_READLINK (1ull << 15)
#define R_PATH_RENAME_SOURCE (1ull << 16)
#define R_PATH_RENAME_TARGET (1ull << 17)
#define R_PATH_FILESTAT_GET (1ull << 18)
#define R_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define R_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define R_FD_FILESTAT_GET (1ull << 21)
#define R_FD_FILESTAT_SET_SIZE (1ull << 22)
#define R_FD_FILESTAT_SET_TIMES (1ull << 23)
#define R_PATH_SYMLINK (1ull << 24)
#define R_PATH_REMOVE_DIRECTORY (1ull << 25)
#define R_PATH_UNLINK_FILE (1ull << 26)
#define R_POLL_FD_READWRITE (1ull << 27)

#define RIGHTS_FILE                                                                       \
  (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_TELL | \
   R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_SIZE | \
   R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
#define RIGHTS_DIR                                                                         \
  (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE | R_PATH_CREATE_DIRECTORY |              \
   R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN |             \
   R_FD_READDIR | R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET |            \
   R_PATH_FILESTAT_GET | R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES |             \
   R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK | R_PATH_REMOVE_DIRECTORY |  \
   R_PATH_UNLINK_FILE | R_POLL_FD_READWRITE)
#define RIGHTS_STDIO                                                                       \
  (R_FD_READ | R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE)
#define RIGHTS_ALL ((1ull << 30) - 1)

/* ---- guest memory ------------------------------------------------------------------- */

bool wasi__in_bounds(size_t mem_size, uint32_t ptr, uint64_t len) {
  return (uint64_t)ptr + len <= (uint64_t)mem_size && len <= (uint64_t)mem_size;
}

static uint32_t ld32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32; }
static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void st16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void st32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void st64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint16_t wasi__load_iovs(uint8_t *mem, size_t mem_size, uint32_t iovs, uint32_t count,
                         enclos_wasi_iov *out, size_t *total) {
  if (count > ENCLOS_WASI_MAX_IOVS) return ENCLOS_WASI_EINVAL;
  if (!wasi__in_bounds(mem_size, iovs, (uint64_t)count * 8u)) return ENCLOS_WASI_EFAULT;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t buf = ld32(mem + iovs + 8u * i), len = ld32(mem + iovs + 8u * i + 4);
    if (!wasi__in_bounds(mem_size, buf, len)) return ENCLOS_WASI_EFAULT;
    out[i].buf = mem + buf;
    out[i].size = len;
    sum += len;
  }
  /* WASI sizes are u32: a transfer larger than that could not be reported. */
  if (sum > UINT32_MAX) return ENCLOS_WASI_EINVAL;
  *total = (size_t)sum;
  return 0;
}

uint16_t wasi__load_path(const uint8_t *mem, size_t mem_size, uint32_t ptr, uint32_t len,
                         char *out) {
  if (len > ENCLOS_WASI_MAX_PATH) return ENCLOS_WASI_ENAMETOOLONG;
  if (!wasi__in_bounds(mem_size, ptr, len)) return ENCLOS_WASI_EFAULT;
  if (memchr(mem + ptr, 0, len)) return 25; /* EILSEQ: a path cannot hold NUL */
  memcpy(out, mem + ptr, len);
  out[len] = '\0';
  if (len > 0 && out[0] == '/') return ENCLOS_WASI_ENOTCAPABLE;
  return 0;
}

/* ---- context ------------------------------------------------------------------------ */

typedef enum fd_kind { FD_FREE = 0, FD_HOST, FD_STDIN_BUF, FD_CAPTURE, FD_FS } fd_kind;

typedef struct wasi_fd {
  fd_kind kind;
  uint8_t filetype;
  uint16_t fdflags;
  uint64_t rights;
  uint64_t inheriting;
  int host_fd;  /* FD_HOST */
  int capture;  /* FD_CAPTURE: index into cap[] */
  const enclos_wasi_fs_ops *ops; /* FD_FS */
  void *fs;
  void *h;
  const char *preopen; /* guest name when this is a preopened directory (owned by pre[]) */
  bool root;           /* a preopen's root handle: owned by pre[], not closed with the fd */
} wasi_fd;

#define WASI_MAX_PREOPENS 64u

/* A preopen as configured: re-created at its descriptor by enclos_wasi_reset. */
typedef struct wasi_preopen {
  const enclos_wasi_fs_ops *ops;
  void *fs;
  void *root;
  char *name;
  uint32_t fd;
} wasi_preopen;

struct enclos_wasi {
  char **argv;
  size_t argc;
  char **env;
  size_t envc;
  wasi_fd *fds;
  uint32_t nfds; /* table capacity (entries [0, nfds) exist, some FD_FREE) */
  uint8_t *stdin_data;
  size_t stdin_size, stdin_pos;
  enclos_buf cap[3];
  size_t cap_max[3];
  bool exited;
  uint32_t exit_code;
  wasi_fd stdio[3]; /* fds 0-2 as configured (restored by reset) */
  wasi_preopen pre[WASI_MAX_PREOPENS];
  uint32_t npre;
  enclos_wasi_iov iovs[ENCLOS_WASI_MAX_IOVS];
  char path[ENCLOS_WASI_MAX_PATH + 1];
  char path2[ENCLOS_WASI_MAX_PATH + 1];
};

static void fd_release(wasi_fd *f) {
  if (f->kind == FD_FS && !f->root && f->ops->close) f->ops->close(f->fs, f->h);
  memset(f, 0, sizeof(*f));
}

static void set_host_stdio(wasi_fd *f, uint32_t fd, int host_fd) {
  f->kind = FD_HOST;
  f->host_fd = host_fd;
  f->rights = RIGHTS_STDIO;
  f->inheriting = 0;
  struct stat st;
  f->filetype = ENCLOS_WASI_FILETYPE_UNKNOWN;
  if (fstat(host_fd, &st) == 0) {
    if (S_ISCHR(st.st_mode)) f->filetype = ENCLOS_WASI_FILETYPE_CHARACTER_DEVICE;
    else if (S_ISREG(st.st_mode)) f->filetype = ENCLOS_WASI_FILETYPE_REGULAR_FILE;
    else if (S_ISSOCK(st.st_mode)) f->filetype = ENCLOS_WASI_FILETYPE_SOCKET_STREAM;
  }
  (void)fd;
}

enclos_err enclos_wasi_new(enclos_wasi **out) {
  ENCLOS_ENSURE_REF(out);
  enclos_wasi *w = enclos_calloc(1, sizeof(*w));
  ENCLOS_ENSUREF(w, ENCLOS_E_NOMEM, "wasi context");
  w->nfds = 8;
  w->fds = enclos_calloc(w->nfds, sizeof(*w->fds));
  if (!w->fds) {
    enclos_free(w);
    ENCLOS_FAILF(ENCLOS_E_NOMEM, "wasi descriptor table");
  }
  for (uint32_t i = 0; i < 3; i++) {
    set_host_stdio(&w->fds[i], i, (int)i);
    w->stdio[i] = w->fds[i];
  }
  *out = w;
  return ENCLOS_OK;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) enclos_free(v[i]);
  enclos_free(v);
}

void enclos_wasi_free(enclos_wasi *w) {
  if (!w) return;
  for (uint32_t i = 0; i < w->nfds; i++) fd_release(&w->fds[i]);
  for (uint32_t i = 0; i < w->npre; i++) {
    if (w->pre[i].ops->close) w->pre[i].ops->close(w->pre[i].fs, w->pre[i].root);
    enclos_free(w->pre[i].name);
  }
  enclos_free(w->fds);
  free_strv(w->argv, w->argc);
  free_strv(w->env, w->envc);
  enclos_free(w->stdin_data);
  for (int i = 0; i < 3; i++) enclos_buf_free(&w->cap[i]);
  enclos_free(w);
}

static size_t strv_bytes(char **v, size_t n) {
  size_t s = 0;
  for (size_t i = 0; i < n; i++) s += strlen(v[i]) + 1;
  return s;
}

enclos_err enclos_wasi_set_args(enclos_wasi *w, size_t argc, const char *const *argv) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSUREF(argc == 0 || argv, ENCLOS_E_INVAL, "argv is NULL");
  size_t bytes = 0;
  for (size_t i = 0; i < argc; i++) bytes += strlen(argv[i]) + 1;
  ENCLOS_ENSUREF(bytes <= ENCLOS_WASI_MAX_ARGS_BYTES && argc <= ENCLOS_WASI_MAX_ARGS_BYTES / 2,
                 ENCLOS_E_LIMIT, "arguments take %zu bytes, limit %u", bytes,
                 ENCLOS_WASI_MAX_ARGS_BYTES);
  char **v = enclos_calloc(argc ? argc : 1, sizeof(*v));
  ENCLOS_ENSUREF(v, ENCLOS_E_NOMEM, "argv");
  for (size_t i = 0; i < argc; i++) {
    v[i] = enclos_strdup(argv[i]);
    if (!v[i]) {
      free_strv(v, i);
      ENCLOS_FAILF(ENCLOS_E_NOMEM, "argv[%zu]", i);
    }
  }
  free_strv(w->argv, w->argc);
  w->argv = v;
  w->argc = argc;
  return ENCLOS_OK;
}

enclos_err enclos_wasi_add_env(enclos_wasi *w, const char *kv) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSURE_REF(kv);
  ENCLOS_ENSUREF(strchr(kv, '=') && kv[0] != '=', ENCLOS_E_INVAL,
                 "environment entry \"%s\" is not KEY=VALUE", kv);
  ENCLOS_ENSUREF(strv_bytes(w->env, w->envc) + strlen(kv) + 1 <= ENCLOS_WASI_MAX_ARGS_BYTES,
                 ENCLOS_E_LIMIT, "environment exceeds %u bytes", ENCLOS_WASI_MAX_ARGS_BYTES);
  char **v = enclos_realloc(w->env, (w->envc + 1) * sizeof(*v));
  ENCLOS_ENSUREF(v, ENCLOS_E_NOMEM, "environ");
  w->env = v;
  v[w->envc] = enclos_strdup(kv);
  ENCLOS_ENSUREF(v[w->envc], ENCLOS_E_NOMEM, "environ entry");
  w->envc++;
  return ENCLOS_OK;
}

enclos_err enclos_wasi_stdio_host(enclos_wasi *w, uint32_t fd, int host_fd) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSUREF(fd <= 2 && host_fd >= 0, ENCLOS_E_INVAL, "stdio fd %u / host fd %d", fd,
                 host_fd);
  fd_release(&w->fds[fd]);
  set_host_stdio(&w->fds[fd], fd, host_fd);
  w->stdio[fd] = w->fds[fd];
  return ENCLOS_OK;
}

enclos_err enclos_wasi_stdin_buffer(enclos_wasi *w, const void *data, size_t size) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSUREF(size == 0 || data, ENCLOS_E_INVAL, "stdin data is NULL");
  uint8_t *copy = NULL;
  if (size) {
    copy = enclos_memdup(data, size);
    ENCLOS_ENSUREF(copy, ENCLOS_E_NOMEM, "stdin buffer of %zu bytes", size);
  }
  enclos_free(w->stdin_data);
  w->stdin_data = copy;
  w->stdin_size = size;
  w->stdin_pos = 0;
  fd_release(&w->fds[0]);
  w->fds[0].kind = FD_STDIN_BUF;
  w->fds[0].rights = RIGHTS_STDIO & ~R_FD_WRITE;
  w->fds[0].filetype = ENCLOS_WASI_FILETYPE_UNKNOWN;
  w->stdio[0] = w->fds[0];
  return ENCLOS_OK;
}

enclos_err enclos_wasi_stdio_capture(enclos_wasi *w, uint32_t fd, size_t max) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSUREF(fd == 1 || fd == 2, ENCLOS_E_INVAL, "capture fd %u (1 or 2)", fd);
  fd_release(&w->fds[fd]);
  enclos_buf_reset(&w->cap[fd]);
  w->cap_max[fd] = max;
  w->fds[fd].kind = FD_CAPTURE;
  w->fds[fd].capture = (int)fd;
  w->fds[fd].rights = RIGHTS_STDIO & ~R_FD_READ;
  w->fds[fd].filetype = ENCLOS_WASI_FILETYPE_UNKNOWN;
  w->stdio[fd] = w->fds[fd];
  return ENCLOS_OK;
}

enclos_err enclos_wasi_captured(const enclos_wasi *w, uint32_t fd, const uint8_t **data,
                                size_t *size) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSUREF(fd == 1 || fd == 2, ENCLOS_E_INVAL, "capture fd %u (1 or 2)", fd);
  *data = w->cap[fd].data;
  *size = w->cap[fd].len;
  return ENCLOS_OK;
}

/* Lowest free descriptor (POSIX rule), growing the table up to ENCLOS_WASI_MAX_FDS. */
static uint16_t fd_alloc(enclos_wasi *w, uint32_t *out) {
  for (uint32_t i = 0; i < w->nfds; i++)
    if (w->fds[i].kind == FD_FREE) {
      *out = i;
      return 0;
    }
  if (w->nfds >= ENCLOS_WASI_MAX_FDS) return 33; /* EMFILE */
  uint32_t n = w->nfds * 2 > ENCLOS_WASI_MAX_FDS ? ENCLOS_WASI_MAX_FDS : w->nfds * 2;
  wasi_fd *t = enclos_realloc(w->fds, n * sizeof(*t));
  if (!t) return ENCLOS_WASI_ENOMEM;
  memset(t + w->nfds, 0, (n - w->nfds) * sizeof(*t));
  w->fds = t;
  *out = w->nfds;
  w->nfds = n;
  return 0;
}

static void set_preopen_fd(wasi_fd *f, const wasi_preopen *p) {
  memset(f, 0, sizeof(*f));
  f->kind = FD_FS;
  f->filetype = ENCLOS_WASI_FILETYPE_DIRECTORY;
  f->rights = RIGHTS_DIR;
  f->inheriting = RIGHTS_DIR | RIGHTS_FILE;
  f->ops = p->ops;
  f->fs = p->fs;
  f->h = p->root;
  f->preopen = p->name;
  f->root = true;
}

enclos_err enclos_wasi_preopen_fs(enclos_wasi *w, const enclos_wasi_fs_ops *ops, void *fs,
                                  void *root, const char *guest_path) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSURE_REF(ops);
  ENCLOS_ENSURE_REF(guest_path);
  ENCLOS_ENSUREF(strlen(guest_path) > 0 && strlen(guest_path) <= ENCLOS_WASI_MAX_PATH,
                 ENCLOS_E_INVAL, "guest path \"%s\"", guest_path);
  ENCLOS_ENSUREF(w->npre < WASI_MAX_PREOPENS, ENCLOS_E_LIMIT, "more than %u preopens",
                 WASI_MAX_PREOPENS);
  char *name = enclos_strdup(guest_path);
  ENCLOS_ENSUREF(name, ENCLOS_E_NOMEM, "preopen name");
  uint32_t fd;
  uint16_t e = fd_alloc(w, &fd);
  if (e) {
    enclos_free(name);
    ENCLOS_FAILF(ENCLOS_E_LIMIT, "no descriptor for preopen \"%s\" (wasi errno %u)", guest_path,
                 e);
  }
  wasi_preopen *p = &w->pre[w->npre++];
  p->ops = ops;
  p->fs = fs;
  p->root = root;
  p->name = name;
  p->fd = fd;
  set_preopen_fd(&w->fds[fd], p);
  return ENCLOS_OK;
}

enclos_err enclos_wasi_reset(enclos_wasi *w) {
  ENCLOS_ENSURE_REF(w);
  for (uint32_t i = 0; i < w->nfds; i++) fd_release(&w->fds[i]);
  for (uint32_t i = 0; i < 3; i++) w->fds[i] = w->stdio[i];
  for (uint32_t i = 0; i < w->npre; i++) set_preopen_fd(&w->fds[w->pre[i].fd], &w->pre[i]);
  free_strv(w->env, w->envc);
  w->env = NULL;
  w->envc = 0;
  enclos_free(w->stdin_data);
  w->stdin_data = NULL;
  w->stdin_size = w->stdin_pos = 0;
  for (int i = 1; i < 3; i++) {
    /* The output of the previous run may be confidential: wipe it. Keep moderate storage for
     * the next run, release large buffers. */
    if (w->cap[i].len) enclos_wipe(w->cap[i].data, w->cap[i].len);
    if (w->cap[i].cap > ((size_t)1 << 20)) enclos_buf_free(&w->cap[i]);
    else enclos_buf_reset(&w->cap[i]);
  }
  w->exited = false;
  w->exit_code = 0;
  return ENCLOS_OK;
}

enclos_err enclos_wasi_preopen_host(enclos_wasi *w, const char *host_path,
                                    const char *guest_path) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSURE_REF(host_path);
  uint16_t e;
  void *root = wasi__host_open_root(host_path, &e);
  ENCLOS_ENSUREF(root, e == ENCLOS_WASI_ENOENT ? ENCLOS_E_NOT_FOUND : ENCLOS_E_IO,
                 "cannot open directory \"%s\" to preopen (wasi errno %u)", host_path, e);
  enclos_err rc = enclos_wasi_preopen_fs(w, enclos_wasi_host_fs_ops(), NULL, root, guest_path);
  if (rc != ENCLOS_OK) enclos_wasi_host_fs_ops()->close(NULL, root);
  return rc;
}

void wasi__reset_exit(enclos_wasi *w) {
  w->exited = false;
  w->exit_code = 0;
}

bool enclos_wasi_exited(const enclos_wasi *w, uint32_t *code) {
  if (!w || !w->exited) return false;
  if (code) *code = w->exit_code;
  return true;
}

/* ---- host-function plumbing --------------------------------------------------------- */

#define WASI_FN(name)                                                                   \
  static enclos_err wasi_##name(enclos_wasm_caller *caller, void *env,                 \
                                const enclos_wasm_val *args, enclos_wasm_val *results)
#define RET(e)                                                                          \
  do {                                                                                  \
    results[0].type = ENCLOS_WASM_I32;                                                  \
    results[0].of.i32 = (uint32_t)(e);                                                  \
    return ENCLOS_OK;                                                                   \
  } while (0)
#define A32(i) (args[i].of.i32)
#define A64(i) (args[i].of.i64)
#define W ((enclos_wasi *)env)
/* Guest memory of the caller: `mem`, `msz`. */
#define MEM                                                                             \
  uint8_t *mem;                                                                         \
  size_t msz;                                                                           \
  enclos_wasm_caller_memory(caller, &mem, &msz)
#define CHECK_OUT(ptr, len)                                                             \
  do {                                                                                  \
    if (!wasi__in_bounds(msz, (ptr), (len))) RET(ENCLOS_WASI_EFAULT);                   \
  } while (0)

/* The descriptor \p fd if open and holding every right in \p need. */
static uint16_t get_fd(enclos_wasi *w, uint32_t fd, uint64_t need, wasi_fd **out) {
  if (fd >= w->nfds || w->fds[fd].kind == FD_FREE) return ENCLOS_WASI_EBADF;
  if ((w->fds[fd].rights & need) != need) return ENCLOS_WASI_ENOTCAPABLE;
  *out = &w->fds[fd];
  return 0;
}

/* A directory descriptor of a filesystem backend, for path_* calls. */
static uint16_t get_dir(enclos_wasi *w, uint32_t fd, uint64_t need, wasi_fd **out) {
  uint16_t e = get_fd(w, fd, need, out);
  if (e) return e;
  if ((*out)->kind != FD_FS || (*out)->filetype != ENCLOS_WASI_FILETYPE_DIRECTORY)
    return ENCLOS_WASI_ENOTDIR;
  return 0;
}

/* ---- args and environ --------------------------------------------------------------- */

static uint16_t strv_get(char **v, size_t n, uint8_t *mem, size_t msz, uint32_t ptrs,
                         uint32_t buf) {
  size_t bytes = strv_bytes(v, n);
  if (!wasi__in_bounds(msz, ptrs, (uint64_t)n * 4u) || !wasi__in_bounds(msz, buf, bytes))
    return ENCLOS_WASI_EFAULT;
  uint32_t at = buf;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;
    st32(mem + ptrs + 4 * i, at);
    memcpy(mem + at, v[i], len);
    at += (uint32_t)len;
  }
  return 0;
}

static uint16_t strv_sizes(char **v, size_t n, uint8_t *mem, size_t msz, uint32_t count_ptr,
                           uint32_t size_ptr) {
  if (!wasi__in_bounds(msz, count_ptr, 4) || !wasi__in_bounds(msz, size_ptr, 4))
    return ENCLOS_WASI_EFAULT;
  st32(mem + count_ptr, (uint32_t)n);
  st32(mem + size_ptr, (uint32_t)strv_bytes(v, n));
  return 0;
}

WASI_FN(args_get) {
  MEM;
  RET(strv_get(W->argv, W->argc, mem, msz, A32(0), A32(1)));
}
WASI_FN(args_sizes_get) {
  MEM;
  RET(strv_sizes(W->argv, W->argc, mem, msz, A32(0), A32(1)));
}
WASI_FN(environ_get) {
  MEM;
  RET(strv_get(W->env, W->envc, mem, msz, A32(0), A32(1)));
}
WASI_FN(environ_sizes_get) {
  MEM;
  RET(strv_sizes(W->env, W->envc, mem, msz, A32(0), A32(1)));
}

/* ---- clocks and random -------------------------------------------------------------- */

static bool clock_of(uint32_t id, clockid_t *out) {
  switch (id) {
  case 0: *out = CLOCK_REALTIME; return true;
  case 1: *out = CLOCK_MONOTONIC; return true;
  case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
  case 3: *out = CLOCK_THREAD_CPUTIME_ID; return true;
  default: return false;
  }
}

static uint64_t ts_to_ns(struct timespec t) {
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* clock_res_get(id, *resolution) and clock_time_get(id, precision, *time): the clock read by
 * `get` (clock_getres or clock_gettime), stored in nanoseconds at out. */
static enclos_err clock_common(enclos_wasm_caller *caller, enclos_wasm_val *results, uint32_t id,
                               uint32_t out, int (*get)(clockid_t, struct timespec *)) {
  MEM;
  clockid_t c;
  if (!clock_of(id, &c)) RET(ENCLOS_WASI_EINVAL);
  CHECK_OUT(out, 8);
  struct timespec ts;
  if (get(c, &ts) != 0) RET(wasi__errno(errno));
  st64(mem + out, ts_to_ns(ts));
  RET(0);
}

WASI_FN(clock_res_get) { return clock_common(caller, results, A32(0), A32(1), clock_getres); }
WASI_FN(clock_time_get) { return clock_common(caller, results, A32(0), A32(2), clock_gettime); }

WASI_FN(random_get) {
  MEM;
  CHECK_OUT(A32(0), A32(1));
  uint8_t *p = mem + A32(0);
  size_t left = A32(1);
  while (left) {
    ssize_t n = getrandom(p, left, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      RET(wasi__errno(errno));
    }
    p += n;
    left -= (size_t)n;
  }
  RET(0);
}

/* ---- descriptors -------------------------------------------------------------------- */

/* Reads or writes (offset < 0: at the current position) through any kind of descriptor. */
static uint16_t fd_io(enclos_wasi *w, wasi_fd *f, size_t n, int64_t offset, bool wr,
                      size_t *done) {
  const enclos_wasi_iov *iov = w->iovs;
  *done = 0;
  switch (f->kind) {
  case FD_HOST: {
    if (offset >= 0) return ENCLOS_WASI_ESPIPE;
    struct iovec v[64];
    size_t total = 0;
    for (size_t i = 0; i < n;) {
      size_t k = 0, want = 0;
      for (; k < 64 && i + k < n; k++) {
        v[k].iov_base = iov[i + k].buf;
        v[k].iov_len = iov[i + k].size;
        want += iov[i + k].size;
      }
      ssize_t r;
      do {
        r = wr ? writev(f->host_fd, v, (int)k) : readv(f->host_fd, v, (int)k);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        if (total) break;
        return wasi__errno(errno);
      }
      total += (size_t)r;
      if ((size_t)r < want) break;
      i += k;
    }
    *done = total;
    return 0;
  }
  case FD_STDIN_BUF: {
    if (wr) return ENCLOS_WASI_EBADF;
    if (offset >= 0) return ENCLOS_WASI_ESPIPE;
    for (size_t i = 0; i < n && w->stdin_pos < w->stdin_size; i++) {
      size_t k = w->stdin_size - w->stdin_pos;
      if (k > iov[i].size) k = iov[i].size;
      memcpy(iov[i].buf, w->stdin_data + w->stdin_pos, k);
      w->stdin_pos += k;
      *done += k;
    }
    return 0;
  }
  case FD_CAPTURE: {
    if (!wr) return ENCLOS_WASI_EBADF;
    if (offset >= 0) return ENCLOS_WASI_ESPIPE;
    enclos_buf *b = &w->cap[f->capture];
    for (size_t i = 0; i < n; i++) {
      size_t room = w->cap_max[f->capture] - b->len;
      size_t k = iov[i].size < room ? iov[i].size : room;
      if (k && enclos_buf_append(b, iov[i].buf, k) != ENCLOS_OK) return ENCLOS_WASI_ENOMEM;
      *done += k;
      if (k < iov[i].size) return *done ? 0 : ENCLOS_WASI_ENOSPC;
    }
    return 0;
  }
  case FD_FS:
    if (f->filetype == ENCLOS_WASI_FILETYPE_DIRECTORY) return ENCLOS_WASI_EISDIR;
    if (wr) return f->ops->write ? f->ops->write(f->fs, f->h, iov, n, offset, done)
                                 : ENCLOS_WASI_ENOTSUP;
    return f->ops->read ? f->ops->read(f->fs, f->h, iov, n, offset, done) : ENCLOS_WASI_ENOTSUP;
  default:
    return ENCLOS_WASI_EBADF;
  }
}

static enclos_err rw_common(enclos_wasm_caller *caller, enclos_wasi *w,
                            const enclos_wasm_val *args, enclos_wasm_val *results, bool wr,
                            bool positional) {
  MEM;
  uint64_t need = (wr ? R_FD_WRITE : R_FD_READ) | (positional ? R_FD_SEEK : 0);
  wasi_fd *f;
  uint16_t e = get_fd(w, A32(0), need, &f);
  if (e) RET(e);
  uint32_t out = positional ? A32(4) : A32(3);
  CHECK_OUT(out, 4);
  if (positional && A64(3) > INT64_MAX) RET(ENCLOS_WASI_EINVAL);
  size_t total, done;
  e = wasi__load_iovs(mem, msz, A32(1), A32(2), w->iovs, &total);
  if (e) RET(e);
  e = fd_io(w, f, A32(2), positional ? (int64_t)A64(3) : -1, wr, &done);
  if (e) RET(e);
  /* Re-read memory: a host fd read cannot grow it, but stay correct if an engine moves it. */
  enclos_wasm_caller_memory(caller, &mem, &msz);
  CHECK_OUT(out, 4);
  st32(mem + out, (uint32_t)done);
  RET(0);
}

WASI_FN(fd_read) { return rw_common(caller, W, args, results, false, false); }
WASI_FN(fd_write) { return rw_common(caller, W, args, results, true, false); }
WASI_FN(fd_pread) { return rw_common(caller, W, args, results, false, true); }
WASI_FN(fd_pwrite) { return rw_common(caller, W, args, results, true, true); }

WASI_FN(fd_close) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), 0, &f);
  if (e) RET(e);
  fd_release(f);
  RET(0);
}

WASI_FN(fd_renumber) {
  wasi_fd *from, *to;
  uint16_t e = get_fd(W, A32(0), 0, &from);
  if (e) RET(e);
  e = get_fd(W, A32(1), 0, &to);
  if (e) RET(e);
  if (from == to) RET(0);
  fd_release(to);
  *to = *from;
  memset(from, 0, sizeof(*from));
  RET(0);
}

WASI_FN(fd_fdstat_get) {
  MEM;
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), 0, &f);
  if (e) RET(e);
  CHECK_OUT(A32(1), 24);
  uint8_t *p = mem + A32(1);
  memset(p, 0, 24);
  p[0] = f->filetype;
  uint16_t flags = f->fdflags;
  if (f->kind == FD_HOST) {
    int fl = fcntl(f->host_fd, F_GETFL);
    if (fl >= 0) {
      flags = 0;
      if (fl & O_APPEND) flags |= 1;
      if (fl & O_NONBLOCK) flags |= 4;
    }
  }
  st16(p + 2, flags);
  st64(p + 8, f->rights);
  st64(p + 16, f->inheriting);
  RET(0);
}

WASI_FN(fd_fdstat_set_flags) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_FDSTAT_SET_FLAGS, &f);
  if (e) RET(e);
  uint16_t fl = (uint16_t)A32(1);
  if (fl & ~0x1fu) RET(ENCLOS_WASI_EINVAL);
  if (f->kind == FD_FS) {
    if (!f->ops->set_flags) RET(ENCLOS_WASI_ENOTSUP);
    e = f->ops->set_flags(f->fs, f->h, fl);
    if (!e) f->fdflags = fl;
    RET(e);
  }
  if (fl & ~(uint16_t)4) RET(ENCLOS_WASI_ENOTSUP);
  /* Non-blocking mode of stdio is noted but not applied to the host descriptor, which the
   * host process shares. */
  f->fdflags = fl;
  RET(0);
}

WASI_FN(fd_fdstat_set_rights) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), 0, &f);
  if (e) RET(e);
  /* Rights can only shrink (preview-1 `fd_fdstat_set_rights`). */
  if ((A64(1) & ~f->rights) || (A64(2) & ~f->inheriting)) RET(ENCLOS_WASI_ENOTCAPABLE);
  f->rights = A64(1);
  f->inheriting = A64(2);
  RET(0);
}

static void put_filestat(uint8_t *p, const enclos_wasi_filestat *s) {
  memset(p, 0, 64);
  st64(p, s->dev);
  st64(p + 8, s->ino);
  p[16] = s->filetype;
  st64(p + 24, s->nlink);
  st64(p + 32, s->size);
  st64(p + 40, s->atim);
  st64(p + 48, s->mtim);
  st64(p + 56, s->ctim);
}

WASI_FN(fd_filestat_get) {
  MEM;
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_FILESTAT_GET, &f);
  if (e) RET(e);
  CHECK_OUT(A32(1), 64);
  enclos_wasi_filestat s = {.filetype = f->filetype};
  if (f->kind == FD_FS) {
    if (!f->ops->stat) RET(ENCLOS_WASI_ENOTSUP);
    e = f->ops->stat(f->fs, f->h, &s);
    if (e) RET(e);
  } else if (f->kind == FD_HOST) {
    struct stat st;
    if (fstat(f->host_fd, &st) == 0) {
      s.dev = (uint64_t)st.st_dev;
      s.ino = (uint64_t)st.st_ino;
      s.nlink = (uint64_t)st.st_nlink;
      s.atim = ts_to_ns(st.st_atim);
      s.mtim = ts_to_ns(st.st_mtim);
      s.ctim = ts_to_ns(st.st_ctim);
    }
  } else if (f->kind == FD_STDIN_BUF) {
    s.size = W->stdin_size;
  } else if (f->kind == FD_CAPTURE) {
    s.size = W->cap[f->capture].len;
  }
  put_filestat(mem + A32(1), &s);
  RET(0);
}

#define FS_CALL(f, op, ...) ((f)->ops->op ? (f)->ops->op((f)->fs, __VA_ARGS__) : ENCLOS_WASI_ENOTSUP)

WASI_FN(fd_filestat_set_size) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_FILESTAT_SET_SIZE, &f);
  if (e) RET(e);
  if (f->kind != FD_FS) RET(ENCLOS_WASI_EINVAL);
  RET(FS_CALL(f, set_size, f->h, A64(1)));
}

static bool fst_valid(uint32_t fl) {
  if (fl & ~0xfu) return false;
  if ((fl & 3) == 3 || (fl & 12) == 12) return false; /* both a time and NOW: EINVAL */
  return true;
}

WASI_FN(fd_filestat_set_times) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_FILESTAT_SET_TIMES, &f);
  if (e) RET(e);
  if (!fst_valid(A32(3))) RET(ENCLOS_WASI_EINVAL);
  if (f->kind != FD_FS) RET(ENCLOS_WASI_ENOTSUP);
  RET(FS_CALL(f, set_times, f->h, A64(1), A64(2), (uint16_t)A32(3)));
}

/* fd_sync and fd_datasync; descriptors that are not files have nothing to flush. */
static enclos_err sync_common(enclos_wasi *w, const enclos_wasm_val *args,
                              enclos_wasm_val *results, bool data_only) {
  wasi_fd *f;
  uint16_t e = get_fd(w, A32(0), data_only ? R_FD_DATASYNC : R_FD_SYNC, &f);
  if (e) RET(e);
  if (f->kind != FD_FS) RET(0);
  RET(FS_CALL(f, sync, f->h, data_only));
}

WASI_FN(fd_sync) { return sync_common(W, args, results, false); }
WASI_FN(fd_datasync) { return sync_common(W, args, results, true); }

WASI_FN(fd_advise) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_ADVISE, &f);
  if (e) RET(e);
  if (A32(3) > 5) RET(ENCLOS_WASI_EINVAL);
  if (f->kind != FD_FS) RET(ENCLOS_WASI_ESPIPE);
  RET(FS_CALL(f, advise, f->h, A64(1), A64(2), (uint8_t)A32(3)));
}

WASI_FN(fd_allocate) {
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_ALLOCATE, &f);
  if (e) RET(e);
  if (f->kind != FD_FS) RET(ENCLOS_WASI_ESPIPE);
  RET(FS_CALL(f, allocate, f->h, A64(1), A64(2)));
}

/* fd_seek(fd, offset, whence, *newoffset); fd_tell is fd_seek(fd, 0, CUR). */
static enclos_err seek_common(enclos_wasm_caller *caller, enclos_wasi *w,
                              enclos_wasm_val *results, uint32_t fd, uint64_t offset,
                              uint32_t whence, uint32_t out) {
  MEM;
  wasi_fd *f;
  /* Preview-1: fd_seek(0, CUR) needs only fd_tell. */
  uint64_t need = (offset == 0 && whence == 1) ? R_FD_TELL : R_FD_SEEK;
  uint16_t e = get_fd(w, fd, need, &f);
  if (e) RET(e);
  if (whence > 2) RET(ENCLOS_WASI_EINVAL);
  CHECK_OUT(out, 8);
  if (f->kind != FD_FS) RET(ENCLOS_WASI_ESPIPE);
  uint64_t off;
  e = FS_CALL(f, seek, f->h, (int64_t)offset, (uint8_t)whence, &off);
  if (e) RET(e);
  st64(mem + out, off);
  RET(0);
}

WASI_FN(fd_seek) { return seek_common(caller, W, results, A32(0), A64(1), A32(2), A32(3)); }
WASI_FN(fd_tell) { return seek_common(caller, W, results, A32(0), 0, 1, A32(1)); }

/* A preopened directory descriptor (EBADF for any other). */
static uint16_t get_preopen(enclos_wasi *w, uint32_t fd, wasi_fd **out) {
  uint16_t e = get_fd(w, fd, 0, out);
  if (e) return e;
  return (*out)->preopen ? 0 : ENCLOS_WASI_EBADF;
}

WASI_FN(fd_prestat_get) {
  MEM;
  wasi_fd *f;
  uint16_t e = get_preopen(W, A32(0), &f);
  if (e) RET(e);
  CHECK_OUT(A32(1), 8);
  uint8_t *p = mem + A32(1);
  memset(p, 0, 8);
  p[0] = 0; /* preopentype dir */
  st32(p + 4, (uint32_t)strlen(f->preopen));
  RET(0);
}

WASI_FN(fd_prestat_dir_name) {
  MEM;
  wasi_fd *f;
  uint16_t e = get_preopen(W, A32(0), &f);
  if (e) RET(e);
  size_t len = strlen(f->preopen);
  if (A32(2) < len) RET(ENCLOS_WASI_ENAMETOOLONG);
  CHECK_OUT(A32(1), len);
  memcpy(mem + A32(1), f->preopen, len);
  RET(0);
}

/* fd_readdir fills the buffer with (dirent header, name) pairs and truncates the last one
 * when full, which tells wasi-libc to retry with a larger buffer (preview-1 `fd_readdir`). */
typedef struct readdir_state {
  uint8_t *buf;
  size_t cap;
  size_t used;
} readdir_state;

static bool readdir_emit(void *arg, uint64_t next, uint64_t ino, uint8_t type, const char *name,
                         size_t name_len) {
  readdir_state *s = arg;
  uint8_t hdr[24] = {0};
  st64(hdr, next);
  st64(hdr + 8, ino);
  st32(hdr + 16, (uint32_t)name_len);
  hdr[20] = type;
  size_t k = s->cap - s->used < 24 ? s->cap - s->used : 24;
  memcpy(s->buf + s->used, hdr, k);
  s->used += k;
  if (k < 24) return false;
  k = s->cap - s->used < name_len ? s->cap - s->used : name_len;
  memcpy(s->buf + s->used, name, k);
  s->used += k;
  return s->used < s->cap;
}

WASI_FN(fd_readdir) {
  MEM;
  wasi_fd *f;
  uint16_t e = get_fd(W, A32(0), R_FD_READDIR, &f);
  if (e) RET(e);
  if (f->kind != FD_FS || f->filetype != ENCLOS_WASI_FILETYPE_DIRECTORY) RET(ENCLOS_WASI_ENOTDIR);
  CHECK_OUT(A32(1), A32(2));
  CHECK_OUT(A32(4), 4);
  readdir_state s = {mem + A32(1), A32(2), 0};
  if (s.cap > 0) {
    e = FS_CALL(f, readdir, f->h, A64(3), readdir_emit, &s);
    if (e) RET(e);
  }
  st32(mem + A32(4), (uint32_t)s.used);
  RET(0);
}

/* ---- paths -------------------------------------------------------------------------- */

/* Loads a guest path for a path_* call on directory descriptor fd. */
static uint16_t path_arg(enclos_wasi *w, uint8_t *mem, size_t msz, uint32_t fd, uint64_t need,
                         uint32_t ptr, uint32_t len, char *out, wasi_fd **dir) {
  uint16_t e = get_dir(w, fd, need, dir);
  if (e) return e;
  return wasi__load_path(mem, msz, ptr, len, out);
}

WASI_FN(path_open) {
  MEM;
  /* path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags,
   * *fd) */
  uint16_t oflags = (uint16_t)A32(4);
  uint16_t fdflags = (uint16_t)A32(7);
  uint64_t base = A64(5), inh = A64(6);
  uint64_t need = R_PATH_OPEN;
  if (oflags & 1) need |= R_PATH_CREATE_FILE;
  if (oflags & 8) need |= R_PATH_FILESTAT_SET_SIZE;
  wasi_fd *d;
  uint16_t e = path_arg(W, mem, msz, A32(0), need, A32(2), A32(3), W->path, &d);
  if (e) RET(e);
  if (oflags & ~0xfu || fdflags & ~0x1fu) RET(ENCLOS_WASI_EINVAL);
  CHECK_OUT(A32(8), 4);
  /* Requested rights beyond the directory's inheriting rights are refused (witx path_open:
   * "rights ... may not exceed the inheriting rights of the directory"). wasi-libc derives its
   * request from fd_fdstat_get, so this only bites hand-written requests. */
  if ((base & ~d->inheriting) || (inh & ~d->inheriting)) RET(ENCLOS_WASI_ENOTCAPABLE);
  uint32_t access = 0;
  if (base & (R_FD_READ | R_FD_READDIR)) access |= ENCLOS_WASI_ACCESS_READ;
  if (base & (R_FD_WRITE | R_FD_DATASYNC | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE))
    access |= ENCLOS_WASI_ACCESS_WRITE;
  if (!d->ops->open) RET(ENCLOS_WASI_ENOTSUP);
  uint32_t nfd;
  e = fd_alloc(W, &nfd);
  if (e) RET(e);
  d = &W->fds[A32(0)]; /* the table may have moved */
  void *h = NULL;
  uint8_t type = 0;
  e = d->ops->open(d->fs, d->h, W->path, (A32(1) & 1) != 0, oflags, fdflags, access, &h, &type);
  if (e) RET(e);
  wasi_fd *f = &W->fds[nfd];
  f->kind = FD_FS;
  f->filetype = type;
  f->fdflags = fdflags;
  f->rights = base & (type == ENCLOS_WASI_FILETYPE_DIRECTORY ? RIGHTS_DIR : RIGHTS_FILE);
  f->inheriting = inh;
  f->ops = d->ops;
  f->fs = d->fs;
  f->h = h;
  st32(mem + A32(8), nfd);
  RET(0);
}

/* path_create_directory, path_remove_directory and path_unlink_file: (fd, path, path_len)
 * and one backend call, the one the right `need` names. */
static enclos_err path_unary(enclos_wasm_caller *caller, enclos_wasi *w,
                             const enclos_wasm_val *args, enclos_wasm_val *results,
                             uint64_t need) {
  MEM;
  wasi_fd *d;
  uint16_t e = path_arg(w, mem, msz, A32(0), need, A32(1), A32(2), w->path, &d);
  if (e) RET(e);
  if (need == R_PATH_CREATE_DIRECTORY) RET(FS_CALL(d, mkdir, d->h, w->path));
  if (need == R_PATH_REMOVE_DIRECTORY) RET(FS_CALL(d, rmdir, d->h, w->path));
  RET(FS_CALL(d, unlink, d->h, w->path));
}

WASI_FN(path_create_directory) {
  return path_unary(caller, W, args, results, R_PATH_CREATE_DIRECTORY);
}
WASI_FN(path_remove_directory) {
  return path_unary(caller, W, args, results, R_PATH_REMOVE_DIRECTORY);
}
WASI_FN(path_unlink_file) { return path_unary(caller, W, args, results, R_PATH_UNLINK_FILE); }

WASI_FN(path_filestat_get) {
  MEM;
  wasi_fd *d;
  uint16_t e = path_arg(W, mem, msz, A32(0), R_PATH_FILESTAT_GET, A32(2), A32(3), W->path, &d);
  if (e) RET(e);
  CHECK_OUT(A32(4), 64);
  enclos_wasi_filestat s = {0};
  e = FS_CALL(d, path_stat, d->h, W->path, (A32(1) & 1) != 0, &s);
  if (e) RET(e);
  put_filestat(mem + A32(4), &s);
  RET(0);
}

WASI_FN(path_filestat_set_times) {
  MEM;
  wasi_fd *d;
  uint16_t e =
      path_arg(W, mem, msz, A32(0), R_PATH_FILESTAT_SET_TIMES, A32(2), A32(3), W->path, &d);
  if (e) RET(e);
  if (!fst_valid(A32(6))) RET(ENCLOS_WASI_EINVAL);
  RET(FS_CALL(d, path_set_times, d->h, W->path, (A32(1) & 1) != 0, A64(4), A64(5),
              (uint16_t)A32(6)));
}

WASI_FN(path_readlink) {
  MEM;
  wasi_fd *d;
  uint16_t e = path_arg(W, mem, msz, A32(0), R_PATH_READLINK, A32(1), A32(2), W->path, &d);
  if (e) RET(e);
  CHECK_OUT(A32(3), A32(4));
  CHECK_OUT(A32(5), 4);
  size_t n = 0;
  e = FS_CALL(d, readlink, d->h, W->path, (char *)(mem + A32(3)), A32(4), &n);
  if (e) RET(e);
  st32(mem + A32(5), (uint32_t)n);
  RET(0);
}

WASI_FN(path_symlink) {
  MEM;
  /* path_symlink(old_path, old_len, fd, new_path, new_len) */
  wasi_fd *d;
  uint16_t e = get_dir(W, A32(2), R_PATH_SYMLINK, &d);
  if (e) RET(e);
  e = wasi__load_path(mem, msz, A32(0), A32(1), W->path2);
  if (e) RET(e);
  e = wasi__load_path(mem, msz, A32(3), A32(4), W->path);
  if (e) RET(e);
  RET(FS_CALL(d, symlink, W->path2, d->h, W->path));
}

WASI_FN(path_rename) {
  MEM;
  /* path_rename(fd, old_path, old_len, new_fd, new_path, new_len) */
  wasi_fd *od, *nd;
  uint16_t e = path_arg(W, mem, msz, A32(0), R_PATH_RENAME_SOURCE, A32(1), A32(2), W->path, &od);
  if (e) RET(e);
  e = path_arg(W, mem, msz, A32(3), R_PATH_RENAME_TARGET, A32(4), A32(5), W->path2, &nd);
  if (e) RET(e);
  if (od->ops != nd->ops || od->fs != nd->fs) RET(ENCLOS_WASI_EXDEV);
  if (!od->ops->rename) RET(ENCLOS_WASI_ENOTSUP);
  RET(od->ops->rename(od->fs, od->h, W->path, nd->h, W->path2));
}

WASI_FN(path_link) {
  MEM;
  /* path_link(old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len) */
  wasi_fd *od, *nd;
  uint16_t e = path_arg(W, mem, msz, A32(0), R_PATH_LINK_SOURCE, A32(2), A32(3), W->path, &od);
  if (e) RET(e);
  e = path_arg(W, mem, msz, A32(4), R_PATH_LINK_TARGET, A32(5), A32(6), W->path2, &nd);
  if (e) RET(e);
  if (od->ops != nd->ops || od->fs != nd->fs) RET(ENCLOS_WASI_EXDEV);
  if (!od->ops->link) RET(ENCLOS_WASI_ENOTSUP);
  RET(od->ops->link(od->fs, od->h, W->path, (A32(1) & 1) != 0, nd->h, W->path2));
}

/* ---- poll_oneoff -------------------------------------------------------------------- */

/* Clock subscriptions wait (relative or absolute deadlines); fd subscriptions are reported
 * ready at once for files and buffers and polled for host stdio descriptors. */
WASI_FN(poll_oneoff) {
  MEM;
  uint32_t in = A32(0), out = A32(1), n = A32(2), nev_ptr = A32(3);
  if (n == 0) RET(ENCLOS_WASI_EINVAL);
  if (n > ENCLOS_WASI_MAX_POLL_SUBS) RET(ENCLOS_WASI_EINVAL);
  CHECK_OUT(in, (uint64_t)n * 48u);
  CHECK_OUT(out, (uint64_t)n * 32u);
  CHECK_OUT(nev_ptr, 4);
  struct timespec now_mono;
  clock_gettime(CLOCK_MONOTONIC, &now_mono);
  uint64_t start = ts_to_ns(now_mono);
  /* Earliest clock deadline, as nanoseconds from now (UINT64_MAX: none). */
  uint64_t wait_ns = UINT64_MAX;
  bool fd_ready_now = false;
  struct pollfd pfd[ENCLOS_WASI_MAX_POLL_SUBS];
  uint32_t sub_of_pfd[ENCLOS_WASI_MAX_POLL_SUBS];
  nfds_t npfd = 0;
  uint8_t *sub = mem + in;
  for (uint32_t i = 0; i < n; i++, sub += 48) {
    uint8_t tag = sub[8];
    if (tag == 0) {
      clockid_t c;
      if (!clock_of(ld32(sub + 16), &c)) continue; /* reported as EINVAL below */
      uint64_t timeout = ld64(sub + 24);
      uint16_t flags = ld16(sub + 40);
      uint64_t rel = timeout;
      if (flags & 1) { /* absolute */
        struct timespec t;
        clock_gettime(c, &t);
        uint64_t nowc = ts_to_ns(t);
        rel = timeout > nowc ? timeout - nowc : 0;
      }
      if (rel < wait_ns) wait_ns = rel;
    } else if (tag == 1 || tag == 2) {
      uint32_t fd = ld32(sub + 16);
      if (fd < W->nfds && W->fds[fd].kind == FD_HOST) {
        pfd[npfd].fd = W->fds[fd].host_fd;
        pfd[npfd].events = tag == 1 ? POLLIN : POLLOUT;
        pfd[npfd].revents = 0;
        sub_of_pfd[npfd++] = i;
      } else {
        fd_ready_now = true;
      }
    } else {
      fd_ready_now = true; /* unknown tag: reported as EINVAL at once */
    }
  }
  int timeout_ms;
  if (fd_ready_now) timeout_ms = 0;
  else if (wait_ns == UINT64_MAX) timeout_ms = -1;
  else timeout_ms = wait_ns / 1000000u > INT32_MAX ? INT32_MAX : (int)((wait_ns + 999999u) / 1000000u);
  if (npfd == 0 && timeout_ms > 0) {
    /* Clocks only: sleep with nanosecond precision. */
    struct timespec ts = {(time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  } else if (npfd > 0 || timeout_ms != 0) {
    if (npfd == 0 && timeout_ms < 0) RET(ENCLOS_WASI_EINVAL); /* nothing could ever fire */
    int r;
    do {
      r = poll(pfd, npfd, timeout_ms);
    } while (r < 0 && errno == EINTR);
  }
  clock_gettime(CLOCK_MONOTONIC, &now_mono);
  uint64_t elapsed = ts_to_ns(now_mono) - start;
  /* Memory may not move during poll, but re-read for safety. */
  enclos_wasm_caller_memory(caller, &mem, &msz);
  CHECK_OUT(in, (uint64_t)n * 48u);
  CHECK_OUT(out, (uint64_t)n * 32u);
  CHECK_OUT(nev_ptr, 4);
  uint32_t nev = 0;
  sub = mem + in;
  for (uint32_t i = 0; i < n; i++, sub += 48) {
    uint8_t tag = sub[8];
    uint16_t err = 0;
    uint64_t nbytes = 0;
    bool fire = false;
    if (tag == 0) {
      clockid_t c;
      if (!clock_of(ld32(sub + 16), &c)) {
        err = ENCLOS_WASI_EINVAL;
        fire = true;
      } else {
        uint64_t timeout = ld64(sub + 24);
        if (ld16(sub + 40) & 1) {
          struct timespec t;
          clock_gettime(c, &t);
          fire = ts_to_ns(t) >= timeout;
        } else {
          fire = elapsed >= timeout;
        }
      }
    } else if (tag == 1 || tag == 2) {
      uint32_t fd = ld32(sub + 16);
      wasi_fd *f = NULL;
      fire = true;
      err = get_fd(W, fd, R_POLL_FD_READWRITE, &f);
      if (!err && f->kind == FD_HOST) {
        fire = false;
        for (nfds_t k = 0; k < npfd; k++)
          if (sub_of_pfd[k] == i && pfd[k].revents) fire = true;
      } else if (!err && f->kind == FD_STDIN_BUF && tag == 1) {
        nbytes = W->stdin_size - W->stdin_pos;
      }
    } else {
      err = ENCLOS_WASI_EINVAL;
      fire = true;
    }
    if (!fire) continue;
    uint8_t *ev = mem + out + 32u * nev++;
    memset(ev, 0, 32);
    memcpy(ev, sub, 8); /* userdata */
    st16(ev + 8, err);
    ev[10] = tag;
    st64(ev + 16, nbytes);
  }
  st32(mem + nev_ptr, nev);
  RET(0);
}

/* ---- process ------------------------------------------------------------------------ */

WASI_FN(proc_exit) {
  W->exited = true;
  W->exit_code = A32(0);
  return enclos_wasm_caller_exit(caller, A32(0));
}

WASI_FN(proc_raise) { RET(ENCLOS_WASI_ENOSYS); }

WASI_FN(sched_yield) {
  sched_yield();
  RET(0);
}

WASI_FN(notsup) { RET(ENCLOS_WASI_ENOTSUP); }

/* ---- registration ------------------------------------------------------------------- */

typedef struct wasi_import {
  const char *name;
  const char *sig;
  enclos_wasm_host_fn fn;
} wasi_import;

/* Signatures from the witx: pointers and sizes are i32, u64/filesize/timestamp/rights are
 * i64, small enums and flags are i32, every function returns errno as i32 except proc_exit. */
static const wasi_import wasi_imports[] = {
    {"args_get", "ii:i", wasi_args_get},
    {"args_sizes_get", "ii:i", wasi_args_sizes_get},
    {"environ_get", "ii:i", wasi_environ_get},
    {"environ_sizes_get", "ii:i", wasi_environ_sizes_get},
    {"clock_res_get", "ii:i", wasi_clock_res_get},
    {"clock_time_get", "iIi:i", wasi_clock_time_get},
    {"fd_advise", "iIIi:i", wasi_fd_advise},
    {"fd_allocate", "iII:i", wasi_fd_allocate},
    {"fd_close", "i:i", wasi_fd_close},
    {"fd_datasync", "i:i", wasi_fd_datasync},
    {"fd_fdstat_get", "ii:i", wasi_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii:i", wasi_fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", "iII:i", wasi_fd_fdstat_set_rights},
    {"fd_filestat_get", "ii:i", wasi_fd_filestat_get},
    {"fd_filestat_set_size", "iI:i", wasi_fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi:i", wasi_fd_filestat_set_times},
    {"fd_pread", "iiiIi:i", wasi_fd_pread},
    {"fd_prestat_get", "ii:i", wasi_fd_prestat_get},
    {"fd_prestat_dir_name", "iii:i", wasi_fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi:i", wasi_fd_pwrite},
    {"fd_read", "iiii:i", wasi_fd_read},
    {"fd_readdir", "iiiIi:i", wasi_fd_readdir},
    {"fd_renumber", "ii:i", wasi_fd_renumber},
    {"fd_seek", "iIii:i", wasi_fd_seek},
    {"fd_sync", "i:i", wasi_fd_sync},
    {"fd_tell", "ii:i", wasi_fd_tell},
    {"fd_write", "iiii:i", wasi_fd_write},
    {"path_create_directory", "iii:i", wasi_path_create_directory},
    {"path_filestat_get", "iiiii:i", wasi_path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi:i", wasi_path_filestat_set_times},
    {"path_link", "iiiiiii:i", wasi_path_link},
    {"path_open", "iiiiiIIii:i", wasi_path_open},
    {"path_readlink", "iiiiii:i", wasi_path_readlink},
    {"path_remove_directory", "iii:i", wasi_path_remove_directory},
    {"path_rename", "iiiiii:i", wasi_path_rename},
    {"path_symlink", "iiiii:i", wasi_path_symlink},
    {"path_unlink_file", "iii:i", wasi_path_unlink_file},
    {"poll_oneoff", "iiii:i", wasi_poll_oneoff},
    {"proc_exit", "i:", wasi_proc_exit},
    {"proc_raise", "i:i", wasi_proc_raise},
    {"sched_yield", ":i", wasi_sched_yield},
    {"random_get", "ii:i", wasi_random_get},
    /* Sockets: preview 1 can only use sockets handed in as preopens; we hand in none. */
    {"sock_accept", "iii:i", wasi_notsup},
    {"sock_recv", "iiiiii:i", wasi_notsup},
    {"sock_send", "iiiii:i", wasi_notsup},
    {"sock_shutdown", "ii:i", wasi_notsup},
};

enclos_err enclos_wasi_add_imports(enclos_wasi *w, enclos_wasm_imports *imp) {
  ENCLOS_ENSURE_REF(w);
  ENCLOS_ENSURE_REF(imp);
  for (size_t i = 0; i < sizeof(wasi_imports) / sizeof(wasi_imports[0]); i++)
    ENCLOS_TRY(enclos_wasm_imports_add_func(imp, "wasi_snapshot_preview1", wasi_imports[i].name,
                                            wasi_imports[i].sig, wasi_imports[i].fn, w));
  return ENCLOS_OK;
}
