/* reactor: a WASI reactor (built with -mexec-model=reactor): no _start; `_initialize` runs the
 * constructors once at load, and their effect is part of the snapshot every call starts from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enclos.h>

static int32_t init_runs;
static char *greeting;
static int32_t counter;

__attribute__((constructor)) static void setup(void) {
  init_runs++;
  greeting = malloc(16);
  if (greeting) memcpy(greeting, "initialised", 12);
}

ENCLOS_EXPORT("init_runs") int32_t get_init_runs(void) { return init_runs; }
ENCLOS_EXPORT("inc") int32_t inc(void) { return ++counter; }
ENCLOS_EXPORT("greeting_ok") int32_t greeting_ok(void) {
  return greeting && strcmp(greeting, "initialised") == 0;
}
