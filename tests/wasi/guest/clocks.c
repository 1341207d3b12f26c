/* Guest: clocks (realtime, monotonic, cputime, resolution), sleep through poll_oneoff, and
 * random_get. Prints "clocks ok" or the first failure and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); return 1; } while (0)

int main(void) {
  struct timespec a, b, r;
  if (clock_gettime(CLOCK_REALTIME, &a) != 0) FAIL("realtime");
  if (a.tv_sec < 1600000000) FAIL("realtime %lld looks wrong", (long long)a.tv_sec);
  if (clock_getres(CLOCK_MONOTONIC, &r) != 0) FAIL("getres");
  if (r.tv_sec != 0 || r.tv_nsec <= 0 || r.tv_nsec > 1000000) FAIL("resolution %ld", r.tv_nsec);
  if (clock_gettime(CLOCK_MONOTONIC, &a) != 0) FAIL("monotonic");
  struct timespec d = {0, 20 * 1000 * 1000};
  if (nanosleep(&d, NULL) != 0) FAIL("nanosleep");
  if (clock_gettime(CLOCK_MONOTONIC, &b) != 0) FAIL("monotonic 2");
  long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  if (ns < 20 * 1000 * 1000) FAIL("slept only %lld ns", ns);
  __wasi_timestamp_t cpu = 0;
  /* wasi-libc hides CLOCK_PROCESS_CPUTIME_ID behind an emulation flag; call WASI directly. */
  if (__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &cpu) != 0 || cpu == 0)
    FAIL("process cputime");
  if (__wasi_clock_time_get(__WASI_CLOCKID_THREAD_CPUTIME_ID, 1, &cpu) != 0) FAIL("thread cputime");
  if (__wasi_clock_time_get(99, 1, &cpu) != __WASI_ERRNO_INVAL) FAIL("bad clock id accepted");
  unsigned char x[64], y[64];
  if (getentropy(x, sizeof(x)) != 0 || getentropy(y, sizeof(y)) != 0) FAIL("getentropy");
  if (memcmp(x, y, sizeof(x)) == 0) FAIL("random repeats");
  puts("clocks ok");
  return 0;
}
