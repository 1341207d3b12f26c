/* log.c: levelled logging to stderr, one line per call (a single write, so lines from
 * threads do not interleave). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <enclos/log.h>

static atomic_int level = -1; /* -1: not yet read from ENCLOS_LOG */

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

bool enclos_log_parse_level(const char *name, enclos_log_level *out) {
  for (int i = 0; i <= ENCLOS_LOG_TRACE; i++) {
    if (strcmp(name, level_names[i]) == 0) {
      *out = (enclos_log_level)i;
      return true;
    }
  }
  return false;
}

void enclos_log_set_level(enclos_log_level l) { atomic_store(&level, (int)l); }

enclos_log_level enclos_log_get_level(void) {
  int l = atomic_load(&level);
  if (l < 0) {
    enclos_log_level parsed = ENCLOS_LOG_INFO;
    const char *env = getenv("ENCLOS_LOG");
    if (env) (void)enclos_log_parse_level(env, &parsed);
    l = (int)parsed;
    atomic_store(&level, l);
  }
  return (enclos_log_level)l;
}

void enclos_log(enclos_log_level lvl, const char *module, const char *fmt, ...) {
  if (!ENCLOS_LOG_ENABLED(lvl)) return;
  char line[2048];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], module ? module : "-");
  if (n < 0) return;
  size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
  va_end(ap);
  if (m > 0) used += (size_t)m < sizeof(line) - used ? (size_t)m : sizeof(line) - used - 1;
  if (used >= sizeof(line) - 1) used = sizeof(line) - 2;
  line[used++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, used);
  (void)w;
}
