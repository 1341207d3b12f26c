/* Guest: files and directories under the preopen /sandbox: create, write, seek, read, pread,
 * stat, truncate, readdir, mkdir, rename, link, symlink/readlink, unlink, rmdir. Prints
 * "files ok" or the first failure and exits 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf(" (errno %d %s)\n", errno, strerror(errno)); return 1; } while (0)

int main(void) {
  FILE *f = fopen("/sandbox/hello.txt", "w");
  if (!f) FAIL("fopen w");
  fputs("hello, wasi\n", f);
  fclose(f);
  int fd = open("/sandbox/hello.txt", O_RDWR);
  if (fd < 0) FAIL("open rdwr");
  char buf[64] = {0};
  if (read(fd, buf, sizeof(buf)) != 12 || strcmp(buf, "hello, wasi\n") != 0) FAIL("read");
  if (lseek(fd, 7, SEEK_SET) != 7) FAIL("lseek");
  if (write(fd, "WASI", 4) != 4) FAIL("write");
  memset(buf, 0, sizeof(buf));
  if (pread(fd, buf, 11, 0) != 11 || strcmp(buf, "hello, WASI") != 0) FAIL("pread '%s'", buf);
  if (ftruncate(fd, 5) != 0) FAIL("ftruncate");
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size != 5 || !S_ISREG(st.st_mode)) FAIL("fstat");
  close(fd);
  if (mkdir("/sandbox/d", 0755) != 0) FAIL("mkdir");
  if (mkdir("/sandbox/d", 0755) == 0 || errno != EEXIST) FAIL("mkdir twice");
  if (rename("/sandbox/hello.txt", "/sandbox/d/moved.txt") != 0) FAIL("rename");
  if (stat("/sandbox/d/moved.txt", &st) != 0 || st.st_size != 5) FAIL("stat moved");
  if (link("/sandbox/d/moved.txt", "/sandbox/d/hard.txt") != 0) FAIL("link");
  if (symlink("moved.txt", "/sandbox/d/soft") != 0) FAIL("symlink");
  char target[64] = {0};
  if (readlink("/sandbox/d/soft", target, sizeof(target)) != 9 || strcmp(target, "moved.txt"))
    FAIL("readlink");
  if (stat("/sandbox/d/soft", &st) != 0 || st.st_size != 5) FAIL("stat through symlink");
  if (lstat("/sandbox/d/soft", &st) != 0 || !S_ISLNK(st.st_mode)) FAIL("lstat");
  DIR *dir = opendir("/sandbox/d");
  if (!dir) FAIL("opendir");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)))
    if (e->d_name[0] != '.') n++;
  closedir(dir);
  if (n != 3) FAIL("readdir found %d entries", n);
  if (rmdir("/sandbox/d") == 0 || errno != ENOTEMPTY) FAIL("rmdir non-empty");
  if (unlink("/sandbox/d/soft") || unlink("/sandbox/d/hard.txt") || unlink("/sandbox/d/moved.txt"))
    FAIL("unlink");
  if (rmdir("/sandbox/d") != 0) FAIL("rmdir");
  if (open("/sandbox/nope", O_RDONLY) >= 0 || errno != ENOENT) FAIL("open missing");
  puts("files ok");
  return 0;
}
