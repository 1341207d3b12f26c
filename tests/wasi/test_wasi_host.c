/* Host-side WASI logic, called directly (no engine needed): errno mapping, guest-pointer and
 * iovec bounds checks, path loading, path confinement in both resolution modes, and the
 * host-directory backend through its vtable. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/mem.h>
#include <enclos/wasi.h>

#include "test.h"
#include "wasi/wasi_int.h"

TEST(wasi_errno_mapping) {
  CHECK_EQ_INT(wasi__errno(0), 0);
  CHECK_EQ_INT(wasi__errno(ENOENT), 44);
  CHECK_EQ_INT(wasi__errno(EACCES), 2);
  CHECK_EQ_INT(wasi__errno(EEXIST), 20);
  CHECK_EQ_INT(wasi__errno(ENOTEMPTY), 55);
  CHECK_EQ_INT(wasi__errno(EXDEV), 75);
  CHECK_EQ_INT(wasi__errno(ELOOP), 32);
  CHECK_EQ_INT(wasi__errno(ENOTDIR), 54);
  CHECK_EQ_INT(wasi__errno(99999), ENCLOS_WASI_EIO); /* unknown -> EIO, never a crash */
}

TEST(wasi_bounds) {
  CHECK(wasi__in_bounds(65536, 0, 65536));
  CHECK(wasi__in_bounds(65536, 65536, 0));
  CHECK(!wasi__in_bounds(65536, 65536, 1));
  CHECK(!wasi__in_bounds(65536, 65535, 2));
  CHECK(!wasi__in_bounds(65536, UINT32_MAX, 2));      /* would wrap in 32 bits */
  CHECK(!wasi__in_bounds(65536, 0, UINT64_MAX));      /* would wrap in 64 bits */
  CHECK(!wasi__in_bounds(0, 0, 1));
  CHECK(wasi__in_bounds(0, 0, 0));
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

TEST(wasi_iovs) {
  static uint8_t mem[4096];
  static enclos_wasi_iov iov[ENCLOS_WASI_MAX_IOVS];
  size_t total = 0;
  put32(mem + 0, 100);
  put32(mem + 4, 10);
  put32(mem + 8, 200);
  put32(mem + 12, 20);
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), 0, 2, iov, &total), 0);
  CHECK_EQ_INT(total, 30);
  CHECK(iov[0].buf == mem + 100 && iov[0].size == 10);
  CHECK(iov[1].buf == mem + 200 && iov[1].size == 20);
  /* Negative: count over the limit, array outside memory, a buffer running off the end,
   * a buffer pointer near 4 GiB. */
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), 0, ENCLOS_WASI_MAX_IOVS + 1, iov, &total),
               ENCLOS_WASI_EINVAL);
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), 4090, 1, iov, &total), ENCLOS_WASI_EFAULT);
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), UINT32_MAX - 3, 1, iov, &total),
               ENCLOS_WASI_EFAULT);
  put32(mem + 16, 4000);
  put32(mem + 20, 97);
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), 16, 1, iov, &total), ENCLOS_WASI_EFAULT);
  put32(mem + 16, UINT32_MAX);
  put32(mem + 20, 1);
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), 16, 1, iov, &total), ENCLOS_WASI_EFAULT);
  CHECK_EQ_INT(wasi__load_iovs(mem, sizeof(mem), 0, 0, iov, &total), 0);
  CHECK_EQ_INT(total, 0);
}

TEST(wasi_load_path) {
  static uint8_t mem[8192];
  static char out[ENCLOS_WASI_MAX_PATH + 1];
  memcpy(mem, "dir/file.txt", 12);
  CHECK_EQ_INT(wasi__load_path(mem, sizeof(mem), 0, 12, out), 0);
  CHECK_STR(out, "dir/file.txt");
  memcpy(mem + 100, "/etc/passwd", 11);
  CHECK_EQ_INT(wasi__load_path(mem, sizeof(mem), 100, 11, out), ENCLOS_WASI_ENOTCAPABLE);
  memcpy(mem + 200, "a\0b", 3);
  CHECK_EQ_INT(wasi__load_path(mem, sizeof(mem), 200, 3, out), 25 /* EILSEQ */);
  CHECK_EQ_INT(wasi__load_path(mem, sizeof(mem), 8190, 3, out), ENCLOS_WASI_EFAULT);
  CHECK_EQ_INT(wasi__load_path(mem, sizeof(mem), 0, ENCLOS_WASI_MAX_PATH + 1, out),
               ENCLOS_WASI_ENAMETOOLONG);
}

/* tmp/root/{sub/file, up -> .., abs -> /etc, inner -> sub/file, loop -> loop, deep -> sub/../..}
 * and tmp/secret outside the root. */
static int make_tree(char *root, size_t cap) {
  const char *t = test_tmpdir();
  snprintf(root, cap, "%s/root", t);
  char p[512];
  CHECK(mkdir(root, 0755) == 0);
  snprintf(p, sizeof(p), "%s/secret", t);
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0);
  close(fd);
  snprintf(p, sizeof(p), "%s/sub", root);
  CHECK(mkdir(p, 0755) == 0);
  snprintf(p, sizeof(p), "%s/sub/file", root);
  fd = open(p, O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, "data", 4) == 4);
  close(fd);
  int rfd = open(root, O_RDONLY | O_DIRECTORY);
  CHECK(rfd >= 0);
  CHECK(symlinkat("..", rfd, "up") == 0);
  CHECK(symlinkat("/etc", rfd, "abs") == 0);
  CHECK(symlinkat("sub/file", rfd, "inner") == 0);
  CHECK(symlinkat("loop", rfd, "loop") == 0);
  CHECK(symlinkat("sub/../..", rfd, "deep") == 0);
  return rfd;
}

static void check_confinement(void) {
  char root[400];
  int rfd = make_tree(root, sizeof(root));
  int fd = -1;
  /* Allowed. */
  CHECK_EQ_INT(wasi__resolve(rfd, "sub/file", O_RDONLY, true, &fd), 0);
  close(fd);
  CHECK_EQ_INT(wasi__resolve(rfd, "sub/../sub/./file", O_RDONLY, true, &fd), 0);
  close(fd);
  CHECK_EQ_INT(wasi__resolve(rfd, "inner", O_RDONLY, true, &fd), 0);
  char buf[8] = {0};
  CHECK(read(fd, buf, 4) == 4 && memcmp(buf, "data", 4) == 0);
  close(fd);
  CHECK_EQ_INT(wasi__resolve(rfd, "sub/", O_RDONLY | O_DIRECTORY, true, &fd), 0);
  close(fd);
  /* Refused: every way out. */
  CHECK_EQ_INT(wasi__resolve(rfd, "..", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "../secret", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "sub/../../secret", O_RDONLY, true, &fd),
               ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "/etc/passwd", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "up/secret", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "abs/passwd", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "abs", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "deep/secret", O_RDONLY, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "up", O_PATH, true, &fd), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(wasi__resolve(rfd, "loop", O_RDONLY, true, &fd), ENCLOS_WASI_ELOOP);
  CHECK_EQ_INT(wasi__resolve(rfd, "", O_RDONLY, true, &fd), ENCLOS_WASI_ENOENT);
  /* Not following the last component: the link itself, never its target. */
  CHECK_EQ_INT(wasi__resolve(rfd, "up", O_PATH, false, &fd), 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
  close(fd);
  CHECK_EQ_INT(wasi__resolve(rfd, "inner", O_RDONLY, false, &fd), ENCLOS_WASI_ELOOP);
  /* Creating through a link that leads out is refused too. */
  CHECK_EQ_INT(wasi__resolve(rfd, "up/created", O_CREAT | O_WRONLY, true, &fd),
               ENCLOS_WASI_ENOTCAPABLE);
  char p[512];
  snprintf(p, sizeof(p), "%s/created", test_tmpdir());
  CHECK(access(p, F_OK) != 0);
  close(rfd);
}

TEST(wasi_confinement_openat2) {
  if (!wasi__have_openat2()) {
    printf("SKIP: openat2 is not available on this kernel (the fallback test covers it)\n");
    return;
  }
  check_confinement();
}

TEST(wasi_confinement_fallback_walk) {
  wasi__force_fallback(true);
  CHECK(!wasi__have_openat2());
  check_confinement();
  wasi__force_fallback(false);
}

typedef struct names {
  int count;
  bool saw_file;
} names;

static bool count_entry(void *arg, uint64_t next, uint64_t ino, uint8_t type, const char *name,
                        size_t len) {
  names *n = arg;
  n->count++;
  if (len == 4 && memcmp(name, "made", 4) == 0 && type == ENCLOS_WASI_FILETYPE_DIRECTORY)
    n->saw_file = true;
  return true;
}

TEST(wasi_host_backend) {
  const enclos_wasi_fs_ops *ops = enclos_wasi_host_fs_ops();
  char root[400];
  int rfd = make_tree(root, sizeof(root));
  close(rfd);
  uint16_t err;
  void *dir = wasi__host_open_root(root, &err);
  CHECK(dir && err == 0);
  CHECK_EQ_INT(ops->mkdir(NULL, dir, "made"), 0);
  CHECK_EQ_INT(ops->mkdir(NULL, dir, "made"), ENCLOS_WASI_EEXIST);
  CHECK_EQ_INT(ops->mkdir(NULL, dir, "up/escape"), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(ops->mkdir(NULL, dir, "../escape"), ENCLOS_WASI_ENOTCAPABLE);
  void *f = NULL;
  uint8_t type = 0;
  CHECK_EQ_INT(ops->open(NULL, dir, "made/x.txt", true, 1 /* CREAT */, 0,
                         ENCLOS_WASI_ACCESS_READ | ENCLOS_WASI_ACCESS_WRITE, &f, &type),
               0);
  CHECK_EQ_INT(type, ENCLOS_WASI_FILETYPE_REGULAR_FILE);
  uint8_t data[] = "hello";
  enclos_wasi_iov iov = {data, 5};
  size_t done = 0;
  CHECK_EQ_INT(ops->write(NULL, f, &iov, 1, -1, &done), 0);
  CHECK_EQ_INT(done, 5);
  uint8_t back[8] = {0};
  enclos_wasi_iov riov = {back, sizeof(back)};
  CHECK_EQ_INT(ops->read(NULL, f, &riov, 1, 1, &done), 0);
  CHECK_EQ_INT(done, 4);
  CHECK_MEM(back, "ello", 4);
  enclos_wasi_filestat st;
  CHECK_EQ_INT(ops->stat(NULL, f, &st), 0);
  CHECK_EQ_INT(st.size, 5);
  CHECK_EQ_INT(ops->set_size(NULL, f, 2), 0);
  uint64_t off = 0;
  CHECK_EQ_INT(ops->seek(NULL, f, 0, 2, &off), 0);
  CHECK_EQ_INT(off, 2);
  CHECK_EQ_INT(ops->seek(NULL, f, 0, 9, &off), ENCLOS_WASI_EINVAL);
  ops->close(NULL, f);
  /* Opening a path that escapes never yields a handle. */
  f = NULL;
  CHECK_EQ_INT(ops->open(NULL, dir, "up/secret", true, 0, 0, ENCLOS_WASI_ACCESS_READ, &f, &type),
               ENCLOS_WASI_ENOTCAPABLE);
  CHECK(f == NULL);
  CHECK_EQ_INT(ops->path_stat(NULL, dir, "made/x.txt", true, &st), 0);
  CHECK_EQ_INT(st.size, 2);
  CHECK_EQ_INT(ops->path_stat(NULL, dir, "abs", false, &st), 0);
  CHECK_EQ_INT(st.filetype, ENCLOS_WASI_FILETYPE_SYMBOLIC_LINK);
  CHECK_EQ_INT(ops->path_stat(NULL, dir, "abs", true, &st), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(ops->rename(NULL, dir, "made/x.txt", dir, "made/y.txt"), 0);
  CHECK_EQ_INT(ops->rename(NULL, dir, "made/y.txt", dir, "up/stolen"), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(ops->symlink(NULL, "/etc/passwd", dir, "newabs"), ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(ops->symlink(NULL, "y.txt", dir, "made/ln"), 0);
  char target[32];
  size_t tlen = 0;
  CHECK_EQ_INT(ops->readlink(NULL, dir, "made/ln", target, sizeof(target), &tlen), 0);
  CHECK_EQ_INT(tlen, 5);
  CHECK_MEM(target, "y.txt", 5);
  CHECK_EQ_INT(ops->link(NULL, dir, "made/y.txt", false, dir, "made/hard"), 0);
  CHECK_EQ_INT(ops->link(NULL, dir, "up/secret", true, dir, "made/stolen"),
               ENCLOS_WASI_ENOTCAPABLE);
  CHECK_EQ_INT(ops->rmdir(NULL, dir, "made"), ENCLOS_WASI_ENOTEMPTY);
  names n = {0};
  CHECK_EQ_INT(ops->readdir(NULL, dir, 0, count_entry, &n), 0);
  CHECK(n.saw_file);
  CHECK(n.count >= 8); /* . .. sub up abs inner loop deep made */
  CHECK_EQ_INT(ops->unlink(NULL, dir, "made/ln"), 0);
  CHECK_EQ_INT(ops->unlink(NULL, dir, "made/hard"), 0);
  CHECK_EQ_INT(ops->unlink(NULL, dir, "made/y.txt"), 0);
  CHECK_EQ_INT(ops->unlink(NULL, dir, "made/y.txt"), ENCLOS_WASI_ENOENT);
  CHECK_EQ_INT(ops->unlink(NULL, dir, ".."), ENCLOS_WASI_EINVAL);
  CHECK_EQ_INT(ops->rmdir(NULL, dir, "made"), 0);
  ops->close(NULL, dir);
}

TEST(wasi_context_config) {
  enclos_wasi *w = NULL;
  CHECK_OK(enclos_wasi_new(&w));
  const char *argv[] = {"prog", "a", "b"};
  CHECK_OK(enclos_wasi_set_args(w, 3, argv));
  CHECK_OK(enclos_wasi_add_env(w, "K=V"));
  CHECK_ERR(enclos_wasi_add_env(w, "novalue"), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_wasi_add_env(w, "=x"), ENCLOS_E_INVAL);
  CHECK_OK(enclos_wasi_stdin_buffer(w, "body", 4));
  CHECK_OK(enclos_wasi_stdio_capture(w, 1, 1024));
  CHECK_ERR(enclos_wasi_stdio_capture(w, 0, 1024), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_wasi_stdio_host(w, 3, 1), ENCLOS_E_INVAL);
  const uint8_t *data;
  size_t size;
  CHECK_OK(enclos_wasi_captured(w, 1, &data, &size));
  CHECK_EQ_INT(size, 0);
  CHECK_OK(enclos_wasi_preopen_host(w, test_tmpdir(), "/sandbox"));
  CHECK_ERR(enclos_wasi_preopen_host(w, "/nonexistent/dir/x", "/x"), ENCLOS_E_NOT_FOUND);
  CHECK(!enclos_wasi_exited(w, NULL));
  enclos_wasi_free(w);
}

TEST(wasi_context_oom) {
  /* Every allocation failure is reported, never a crash or a leak. */
  for (uint64_t n = 1; n < 16; n++) {
    enclos_wasi *w = NULL;
    enclos_mem_fail_after(n);
    enclos_err rc = enclos_wasi_new(&w);
    if (rc == ENCLOS_OK) {
      const char *argv[] = {"prog", "x"};
      rc = enclos_wasi_set_args(w, 2, argv);
      if (rc == ENCLOS_OK) rc = enclos_wasi_add_env(w, "A=B");
      if (rc == ENCLOS_OK) rc = enclos_wasi_preopen_host(w, test_tmpdir(), ".");
      enclos_wasi_free(w);
    }
    enclos_mem_fail_after(0);
    CHECK(rc == ENCLOS_OK || rc == ENCLOS_E_NOMEM || rc == ENCLOS_E_IO);
  }
}
