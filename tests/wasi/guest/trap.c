/* Guest: traps with `unreachable`. */
#include <stdio.h>

__attribute__((noinline)) static void crash_here(void) { __builtin_trap(); }

int main(void) {
  puts("about to trap");
  fflush(stdout);
  crash_here();
  return 0;
}
