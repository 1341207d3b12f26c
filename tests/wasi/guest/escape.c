/* Guest: every attempt to leave the preopen /sandbox must fail: "..", absolute paths outside
 * any preopen, symlinks that point out (relative and absolute), and creating absolute
 * symlinks. The host test plants /sandbox/up -> ".." and /sandbox/abs -> "/etc". Prints
 * "escape refused" when all fail, "ESCAPED: ..." and exits 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int escaped;

static void try_open(const char *p) {
  int fd = open(p, O_RDONLY);
  if (fd >= 0) {
    printf("ESCAPED: open %s\n", p);
    escaped = 1;
    close(fd);
  } else {
    printf("refused: %s (%s)\n", p, strerror(errno));
  }
}

int main(void) {
  try_open("/sandbox/../secret.txt");
  try_open("/sandbox/sub/../../secret.txt");
  try_open("/sandbox/up/secret.txt");
  try_open("/sandbox/abs/passwd");
  try_open("/etc/passwd");
  try_open("../secret.txt");
  struct stat st;
  if (stat("/sandbox/up/secret.txt", &st) == 0) {
    puts("ESCAPED: stat through up");
    escaped = 1;
  }
  if (mkdir("/sandbox/up/made", 0755) == 0) {
    puts("ESCAPED: mkdir through up");
    escaped = 1;
  }
  if (symlink("/etc/passwd", "/sandbox/newabs") == 0) {
    puts("ESCAPED: created absolute symlink");
    escaped = 1;
  }
  if (escaped) return 1;
  puts("escape refused");
  return 0;
}
