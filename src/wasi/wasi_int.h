/* wasi_int.h: private to src/wasi. Internals shared by the core (wasi.c), the host-directory
 * backend (fs_host.c) and the unit tests, which call them directly. */
#ifndef ENCLOS_WASI_INT_H
#define ENCLOS_WASI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/wasi.h>

/* Host errno -> WASI errno (preview-1 `errno`). Unknown values map to EIO. */
uint16_t wasi__errno(int host_errno);

/* Resolution mode of the host backend: true = openat2(RESOLVE_BENEATH) is available and used,
 * false = component walk with O_NOFOLLOW. Probed once; tests may force the fallback. */
bool wasi__have_openat2(void);
void wasi__force_fallback(bool on);

/* Resolves \p path beneath directory \p root and opens it with \p flags (O_* flags; O_CLOEXEC
 * is added; O_CREAT uses mode 0666). \p follow: follow a symlink in the last component. Returns 0
 * and a new descriptor in *out, or a WASI errno; any escape (`..` above the root, an absolute
 * path or symlink target, a magic link) gives ENOTCAPABLE. */
uint16_t wasi__resolve(int root, const char *path, int flags, bool follow, int *out);

/* True when [ptr, ptr+len) lies inside a memory of \p mem_size bytes (64-bit arithmetic). */
bool wasi__in_bounds(size_t mem_size, uint32_t ptr, uint64_t len);

/* Reads \p count guest iovecs (8 bytes each: u32 buf, u32 len) at \p iovs into \p out, which
 * holds ENCLOS_WASI_MAX_IOVS entries. Every iovec is bounds-checked. Returns a WASI errno:
 * EINVAL when count > ENCLOS_WASI_MAX_IOVS, EFAULT when anything lies outside memory. */
uint16_t wasi__load_iovs(uint8_t *mem, size_t mem_size, uint32_t iovs, uint32_t count,
                         enclos_wasi_iov *out, size_t *total);

/* Copies a guest path into \p out (ENCLOS_WASI_MAX_PATH + 1 bytes) as a C string. Refuses
 * out-of-bounds (EFAULT), too long (ENAMETOOLONG), embedded NUL (EILSEQ=25) and absolute paths
 * (ENOTCAPABLE). */
uint16_t wasi__load_path(const uint8_t *mem, size_t mem_size, uint32_t ptr, uint32_t len,
                         char *out);

/* Forgets a previous proc_exit (before a new run in the same context). */
void wasi__reset_exit(enclos_wasi *w);

/* Opens a host directory as a preopen root handle for enclos_wasi_host_fs_ops(). */
void *wasi__host_open_root(const char *host_path, uint16_t *err);

#endif
