/**
 * \file wasi.h
 * \brief WASI preview 1 (`wasi_snapshot_preview1`) host functions for the enclos engine.
 *
 * A context (`enclos_wasi`) holds what one guest run sees: arguments, environment, the three
 * stdio descriptors (host descriptors, an in-memory stdin buffer and captured stdout/stderr),
 * the preopened directories, and the descriptor table. enclos_wasi_add_imports() registers all
 * preview-1 functions in an import set; the context is the host functions' `env`, so it must
 * outlive every instance linked against those imports.
 *
 * Filesystems sit behind a small vtable (`enclos_wasi_fs_ops`), one per preopen: the host
 * directory backend (enclos_wasi_preopen_host) confines every path beneath its directory with
 * openat2(RESOLVE_BENEATH) or an O_NOFOLLOW component walk; another backend (the sealed store's
 * per-app table) plugs in through enclos_wasi_preopen_fs(). Backends speak WASI errno values
 * (`ENCLOS_WASI_E*`, numbered as in the preview-1 witx / wasi-libc `wasi/api.h`).
 *
 * Thread-safety: a context is used by one thread at a time (like a store).
 */
#ifndef ENCLOS_WASI_H
#define ENCLOS_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/error.h>
#include <enclos/wasm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** WASI errno values used by backends (preview-1 `errno` enum; full list in wasi/api.h). */
enum {
  ENCLOS_WASI_ESUCCESS = 0,
  ENCLOS_WASI_EACCES = 2,
  ENCLOS_WASI_EAGAIN = 6,
  ENCLOS_WASI_EBADF = 8,
  ENCLOS_WASI_EEXIST = 20,
  ENCLOS_WASI_EFAULT = 21,
  ENCLOS_WASI_EFBIG = 22,
  ENCLOS_WASI_EINVAL = 28,
  ENCLOS_WASI_EIO = 29,
  ENCLOS_WASI_EISDIR = 31,
  ENCLOS_WASI_ELOOP = 32,
  ENCLOS_WASI_ENAMETOOLONG = 37,
  ENCLOS_WASI_ENOENT = 44,
  ENCLOS_WASI_ENOMEM = 48,
  ENCLOS_WASI_ENOSPC = 51,
  ENCLOS_WASI_ENOSYS = 52,
  ENCLOS_WASI_ENOTDIR = 54,
  ENCLOS_WASI_ENOTEMPTY = 55,
  ENCLOS_WASI_ENOTSUP = 58,
  ENCLOS_WASI_EOVERFLOW = 61,
  ENCLOS_WASI_EPERM = 63,
  ENCLOS_WASI_ESPIPE = 70,
  ENCLOS_WASI_EXDEV = 75,
  ENCLOS_WASI_ENOTCAPABLE = 76,
};

/** File types (preview-1 `filetype`). */
enum {
  ENCLOS_WASI_FILETYPE_UNKNOWN = 0,
  ENCLOS_WASI_FILETYPE_BLOCK_DEVICE = 1,
  ENCLOS_WASI_FILETYPE_CHARACTER_DEVICE = 2,
  ENCLOS_WASI_FILETYPE_DIRECTORY = 3,
  ENCLOS_WASI_FILETYPE_REGULAR_FILE = 4,
  ENCLOS_WASI_FILETYPE_SOCKET_DGRAM = 5,
  ENCLOS_WASI_FILETYPE_SOCKET_STREAM = 6,
  ENCLOS_WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/** Access a backend open must grant (derived from the descriptor's rights). */
#define ENCLOS_WASI_ACCESS_READ 1u
#define ENCLOS_WASI_ACCESS_WRITE 2u

/** Preview-1 `filestat`, host-side. */
typedef struct enclos_wasi_filestat {
  uint64_t dev;
  uint64_t ino;
  uint8_t filetype;
  uint64_t nlink;
  uint64_t size;
  uint64_t atim;
  uint64_t mtim;
  uint64_t ctim;
} enclos_wasi_filestat;

/** One host-side I/O vector (already bounds-checked against guest memory). */
typedef struct enclos_wasi_iov {
  uint8_t *buf;
  size_t size;
} enclos_wasi_iov;

/** Called by readdir for each entry; \p next is the cookie of the following entry. Return
 *  false to stop. */
typedef bool (*enclos_wasi_dirent_fn)(void *arg, uint64_t next, uint64_t ino, uint8_t type,
                                      const char *name, size_t name_len);

/**
 * A filesystem backend. Handles (`void *`) are backend objects: a preopen's root and whatever
 * open() returns. Paths are guest-relative, NUL-terminated, never absolute (the core refuses
 * those) and must be resolved so they never leave the preopen. Every function returns a WASI
 * errno (0 = success). `fs` is the backend's own context. Functions may be NULL: the core then
 * answers ENOTSUP.
 */
typedef struct enclos_wasi_fs_ops {
  uint16_t (*open)(void *fs, void *dir, const char *path, bool follow, uint16_t oflags,
                   uint16_t fdflags, uint32_t access, void **out, uint8_t *filetype);
  void (*close)(void *fs, void *h);
  /* offset < 0: at (and advancing) the current position. */
  uint16_t (*read)(void *fs, void *h, const enclos_wasi_iov *iov, size_t n, int64_t offset,
                   size_t *done);
  uint16_t (*write)(void *fs, void *h, const enclos_wasi_iov *iov, size_t n, int64_t offset,
                    size_t *done);
  uint16_t (*seek)(void *fs, void *h, int64_t offset, uint8_t whence, uint64_t *newoffset);
  uint16_t (*stat)(void *fs, void *h, enclos_wasi_filestat *out);
  uint16_t (*set_size)(void *fs, void *h, uint64_t size);
  uint16_t (*set_times)(void *fs, void *h, uint64_t atim, uint64_t mtim, uint16_t fstflags);
  uint16_t (*sync)(void *fs, void *h, bool data_only);
  uint16_t (*advise)(void *fs, void *h, uint64_t offset, uint64_t len, uint8_t advice);
  uint16_t (*allocate)(void *fs, void *h, uint64_t offset, uint64_t len);
  uint16_t (*set_flags)(void *fs, void *h, uint16_t fdflags);
  uint16_t (*readdir)(void *fs, void *h, uint64_t cookie, enclos_wasi_dirent_fn emit, void *arg);
  uint16_t (*path_stat)(void *fs, void *dir, const char *path, bool follow,
                        enclos_wasi_filestat *out);
  uint16_t (*path_set_times)(void *fs, void *dir, const char *path, bool follow, uint64_t atim,
                             uint64_t mtim, uint16_t fstflags);
  uint16_t (*mkdir)(void *fs, void *dir, const char *path);
  uint16_t (*rmdir)(void *fs, void *dir, const char *path);
  uint16_t (*unlink)(void *fs, void *dir, const char *path);
  uint16_t (*rename)(void *fs, void *old_dir, const char *old_path, void *new_dir,
                     const char *new_path);
  uint16_t (*link)(void *fs, void *old_dir, const char *old_path, bool follow, void *new_dir,
                   const char *new_path);
  uint16_t (*symlink)(void *fs, const char *target, void *dir, const char *path);
  uint16_t (*readlink)(void *fs, void *dir, const char *path, char *buf, size_t cap,
                       size_t *len);
} enclos_wasi_fs_ops;

typedef struct enclos_wasi enclos_wasi;

/** Limits (guest-supplied counts are checked against these before use). */
#define ENCLOS_WASI_MAX_FDS 1024u          /* open descriptors per context */
#define ENCLOS_WASI_MAX_IOVS 1024u         /* iovecs per fd_read/fd_write (IOV_MAX) */
#define ENCLOS_WASI_MAX_PATH 4096u         /* bytes in one guest path */
#define ENCLOS_WASI_MAX_POLL_SUBS 1024u    /* subscriptions per poll_oneoff */
#define ENCLOS_WASI_MAX_ARGS_BYTES (1u << 20) /* total bytes of args or of environ */

/** A new context with no args, no environment, stdio on host fds 0-2, no preopens. Free with
 *  enclos_wasi_free(). */
ENCLOS_MUST_USE enclos_err enclos_wasi_new(enclos_wasi **out);
void enclos_wasi_free(enclos_wasi *w);

/** Replaces the argument vector (argv[0] is the program name by convention). Strings are
 *  copied. */
ENCLOS_MUST_USE enclos_err enclos_wasi_set_args(enclos_wasi *w, size_t argc,
                                                const char *const *argv);
/** Appends one "KEY=VALUE" environment string (copied; must contain '='). */
ENCLOS_MUST_USE enclos_err enclos_wasi_add_env(enclos_wasi *w, const char *kv);

/** Guest fd \p fd (0, 1 or 2) reads/writes host descriptor \p host_fd (not closed by us). */
ENCLOS_MUST_USE enclos_err enclos_wasi_stdio_host(enclos_wasi *w, uint32_t fd, int host_fd);
/** Guest fd 0 reads \p size bytes from a copy of \p data, then end of file. */
ENCLOS_MUST_USE enclos_err enclos_wasi_stdin_buffer(enclos_wasi *w, const void *data,
                                                    size_t size);
/** Guest fd \p fd (1 or 2) is captured in memory, up to \p max bytes (then writes fail with
 *  ENOSPC). */
ENCLOS_MUST_USE enclos_err enclos_wasi_stdio_capture(enclos_wasi *w, uint32_t fd, size_t max);
/** What was captured so far on fd \p fd (valid until the next guest write or free). */
ENCLOS_MUST_USE enclos_err enclos_wasi_captured(const enclos_wasi *w, uint32_t fd,
                                                const uint8_t **data, size_t *size);

/** Preopens host directory \p host_path as guest directory \p guest_path (e.g. "/data" or
 *  "."). The directory is opened now; paths beneath it can never escape it. */
ENCLOS_MUST_USE enclos_err enclos_wasi_preopen_host(enclos_wasi *w, const char *host_path,
                                                    const char *guest_path);
/** Preopens a directory of another backend. \p root is its directory handle; the context
 *  calls ops->close(fs, root) when freed. */
ENCLOS_MUST_USE enclos_err enclos_wasi_preopen_fs(enclos_wasi *w, const enclos_wasi_fs_ops *ops,
                                                  void *fs, void *root,
                                                  const char *guest_path);

/**
 * Returns the context to its configured state for another run: every descriptor the guest
 * opened is closed, fds 0-2 and the preopens are back at their numbers with their rights (even
 * if the guest closed, renumbered or restricted them), the environment is emptied, stdin is
 * empty, captured output is wiped and discarded (storage up to 1 MiB kept), a proc_exit is
 * forgotten. Arguments and the preopens themselves stay. No allocation.
 */
ENCLOS_MUST_USE enclos_err enclos_wasi_reset(enclos_wasi *w);

/** Registers every `wasi_snapshot_preview1` function in \p imp with \p w as their env. */
ENCLOS_MUST_USE enclos_err enclos_wasi_add_imports(enclos_wasi *w, enclos_wasm_imports *imp);

/** True once the guest called proc_exit; \p code receives its exit code. */
bool enclos_wasi_exited(const enclos_wasi *w, uint32_t *code);

/** How a run ended (enclos_wasi_run). */
typedef struct enclos_wasi_run_result {
  uint32_t exit_code;     /* proc_exit's code, or 0 when `_start` returned */
  bool trapped;           /* true: the guest trapped (or ran out of fuel / was interrupted) */
  enclos_wasm_trap trap;  /* the engine's account of the trap when trapped */
} enclos_wasi_run_result;

/**
 * Runs a WASI command module: loads \p wasm, links it against the preview-1 functions of
 * \p w (any other import fails to link), instantiates it in a fresh store with \p limits
 * (NULL: engine defaults) and calls its `_start` export. Returns ENCLOS_OK when the guest
 * returned from `_start` or called proc_exit (\p out->exit_code), or when it trapped
 * (\p out->trapped; the trap's function name is only valid until this returns, so it is
 * copied into \p trap_name, \p trap_name_size bytes, NUL-terminated). Load, link and
 * instantiation failures are returned as errors.
 */
ENCLOS_MUST_USE enclos_err enclos_wasi_run(enclos_wasi *w, const void *wasm, size_t size,
                                           const enclos_wasm_limits *limits,
                                           enclos_wasi_run_result *out, char *trap_name,
                                           size_t trap_name_size);

/** The host-directory backend's vtable (for tests and for composing backends). */
const enclos_wasi_fs_ops *enclos_wasi_host_fs_ops(void);

#ifdef __cplusplus
}
#endif
#endif
