/* Guest: unsupported or refused calls return the proper WASI errno, never a trap. Calls the
 * preview-1 functions directly. Prints "errors ok" or the first mismatch and exits 1. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

/* Not declared by Debian's wasi-libc any more; import them directly. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t raw_proc_raise(int32_t sig);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("sock_accept")))
int32_t raw_sock_accept(int32_t fd, int32_t flags, int32_t out);

static int bad;

static void expect(const char *what, __wasi_errno_t got, __wasi_errno_t want) {
  if (got != want) {
    printf("FAIL %s: errno %u, want %u\n", what, got, want);
    bad = 1;
  }
}

int main(void) {
  __wasi_filesize_t off;
  __wasi_fd_t fd;
  __wasi_fdstat_t st;
  expect("proc_raise", (__wasi_errno_t)raw_proc_raise(15), __WASI_ERRNO_NOSYS);
  expect("sock_accept", (__wasi_errno_t)raw_sock_accept(0, 0, (int32_t)(uintptr_t)&fd), __WASI_ERRNO_NOTSUP);
  expect("fd_close bad", __wasi_fd_close(999), __WASI_ERRNO_BADF);
  expect("fd_seek stdout", __wasi_fd_seek(1, 0, __WASI_WHENCE_SET, &off), __WASI_ERRNO_NOTCAPABLE);
  expect("fd_prestat stdin", __wasi_fd_prestat_get(0, &(__wasi_prestat_t){0}), __WASI_ERRNO_BADF);
  expect("fdstat stdout", __wasi_fd_fdstat_get(1, &st), 0);
  if (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK) expect("stdout seekable", 1, 0);
  /* Reading from the sandbox directory descriptor itself is refused (no fd_read right). */
  char buf[4];
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof(buf)};
  __wasi_size_t n;
  expect("fd_read on dir", __wasi_fd_read(3, &iov, 1, &n), __WASI_ERRNO_NOTCAPABLE);
  /* Guest pointers outside memory: EFAULT. */
  expect("fd_write bad iov", __wasi_fd_write(1, (const __wasi_ciovec_t *)0xfffffff0u, 1, &n),
         __WASI_ERRNO_FAULT);
  expect("random_get bad buf", __wasi_random_get((uint8_t *)0xffffff00u, 0x1000),
         __WASI_ERRNO_FAULT);
  expect("clock bad id", __wasi_clock_time_get(42, 1, &off), __WASI_ERRNO_INVAL);
  /* Paths: absolute, escaping, NUL inside. */
  expect("open absolute", __wasi_path_open(3, 0, "/etc/passwd", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd),
         __WASI_ERRNO_NOTCAPABLE);
  expect("open ..", __wasi_path_open(3, 0, "../x", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd),
         __WASI_ERRNO_NOTCAPABLE);
  /* Rights beyond the directory's inheriting set. */
  expect("open too many rights",
         __wasi_path_open(3, 0, "x", __WASI_OFLAGS_CREAT, ~(__wasi_rights_t)0, 0, 0, &fd),
         __WASI_ERRNO_NOTCAPABLE);
  /* A read-only open cannot write. */
  expect("create", __wasi_path_open(3, 0, "f", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_READ, 0, 0, &fd), 0);
  __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
  expect("write read-only", __wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_NOTCAPABLE);
  expect("close", __wasi_fd_close(fd), 0);
  expect("unlink", __wasi_path_unlink_file(3, "f"), 0);
  expect("poll zero subs", __wasi_poll_oneoff(NULL, NULL, 0, &n), __WASI_ERRNO_INVAL);
  if (bad) return 1;
  puts("errors ok");
  return 0;
}
