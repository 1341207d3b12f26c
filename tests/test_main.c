/* test_main.c: runs every registered TEST in its own child process.
 *
 * Usage: test_<module> [substring...]   runs tests whose name contains any substring.
 * ENCLOS_TEST_NOFORK=1 runs in-process (for debuggers). The last line is
 * "N passed, N failed" for CI.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 2048

static struct {
  const char *name;
  test_fn fn;
} tests[MAX_TESTS];
static size_t ntests;
static char tmpdir_path[512];

void test_register(const char *name, test_fn fn) {
  if (ntests == MAX_TESTS) {
    fprintf(stderr, "too many tests (raise MAX_TESTS)\n");
    exit(2);
  }
  tests[ntests].name = name;
  tests[ntests].fn = fn;
  ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "  FAIL %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  exit(1);
}

uint8_t *test_read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) test_fail(__FILE__, __LINE__, "cannot open %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)n + 1);
  if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) test_fail(__FILE__, __LINE__, "read %s", path);
  p[n] = 0;
  fclose(f);
  *size = (size_t)n;
  return p;
}

const char *test_tmpdir(void) {
  if (tmpdir_path[0] == '\0') {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/enclos-test-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmpdir_path)) test_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
  }
  return tmpdir_path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

static bool selected(const char *name, int argc, char **argv) {
  if (argc <= 1) return true;
  for (int i = 1; i < argc; i++)
    if (strstr(name, argv[i])) return true;
  return false;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  bool nofork = getenv("ENCLOS_TEST_NOFORK") != NULL;
  unsigned passed = 0, failed = 0;
  for (size_t i = 0; i < ntests; i++) {
    if (!selected(tests[i].name, argc, argv)) continue;
    double t0 = now_s();
    int ok;
    if (nofork) {
      tests[i].fn();
      ok = 1;
    } else {
      fflush(stdout);
      fflush(stderr);
      pid_t pid = fork();
      if (pid == 0) {
        tests[i].fn();
        if (tmpdir_path[0]) nftw(tmpdir_path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        /* exit(), not _exit(): LeakSanitizer checks for leaks at exit. */
        exit(0);
      }
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
      ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (WIFSIGNALED(status)) fprintf(stderr, "  killed by signal %d\n", WTERMSIG(status));
    }
    printf("%s %s (%.3fs)\n", ok ? "ok  " : "FAIL", tests[i].name, now_s() - t0);
    fflush(stdout);
    if (ok) passed++;
    else failed++;
  }
  printf("%u passed, %u failed\n", passed, failed);
  return failed ? 1 : 0;
}
