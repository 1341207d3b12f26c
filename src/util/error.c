/* error.c: the error table (from the X-macro in enclos/error.h) and the thread-local
 * detail slot that ENCLOS_FAILF fills. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <enclos/error.h>

#define DETAIL_SIZE 512

static _Thread_local char tl_detail[DETAIL_SIZE];
static _Thread_local char tl_where[128];

#define MSG_ENTRY(name, msg) msg,
#define NAME_ENTRY(name, msg) #name,
static const char *const messages[] = {ENCLOS_ERRORS(MSG_ENTRY)};
static const char *const names[] = {ENCLOS_ERRORS(NAME_ENTRY)};
#undef MSG_ENTRY
#undef NAME_ENTRY

_Static_assert(sizeof(messages) / sizeof(messages[0]) ==
                   (size_t)(ENCLOS__ERR_END - ENCLOS__ERR_BASE - 1),
               "error table out of sync with the enum");

static long err_index(enclos_err err) {
  if (err <= ENCLOS__ERR_BASE || err >= ENCLOS__ERR_END) return -1;
  return (long)(err - ENCLOS__ERR_BASE - 1);
}

const char *enclos_strerror(enclos_err err) {
  if (err == ENCLOS_OK) return "ok";
  long i = err_index(err);
  return i < 0 ? "unknown error" : messages[i];
}

const char *enclos_err_name(enclos_err err) {
  if (err == ENCLOS_OK) return "OK";
  long i = err_index(err);
  return i < 0 ? "UNKNOWN" : names[i];
}

enclos_err enclos_err_set(enclos_err err, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_detail, sizeof(tl_detail), fmt, ap);
  va_end(ap);
  const char *base = strrchr(file, '/');
  snprintf(tl_where, sizeof(tl_where), "%s:%d", base ? base + 1 : file, line);
  return err;
}

const char *enclos_err_detail(void) { return tl_detail; }

const char *enclos_err_where(void) { return tl_where; }

void enclos_err_clear(void) {
  tl_detail[0] = '\0';
  tl_where[0] = '\0';
}
