/* Guest: poll_oneoff through wasi-libc's poll(): stdin (an in-memory buffer) is readable at
 * once; a clock-only poll sleeps about its timeout. Prints "poll ok". */
#include <poll.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  struct pollfd p = {.fd = 0, .events = POLLIN};
  int r = poll(&p, 1, 5000);
  if (r != 1 || !(p.revents & POLLIN)) {
    printf("FAIL stdin poll r=%d revents=%d\n", r, p.revents);
    return 1;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  r = poll(NULL, 0, 30);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long long ms = (long long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  if (r != 0 || ms < 30) {
    printf("FAIL timeout poll r=%d after %lld ms\n", r, ms);
    return 1;
  }
  puts("poll ok");
  return 0;
}
