/* time.c: RFC 3339 timestamps <-> Unix seconds, and the clocks. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <enclos/time.h>

static bool digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* RFC 3339 §5.6: date-time = full-date "T" full-time; we accept 't'/' ' as the separator
 * and 'z' as UTC as §5.6 NOTE permits. */
enclos_err enclos_time_parse(const char *text, int64_t *out) {
  ENCLOS_ENSURE_REF(text);
  size_t n = strlen(text);
  int Y, M, D, h, m, s;
  ENCLOS_ENSUREF(n >= 19 && digits(text, 4, &Y) && text[4] == '-' && digits(text + 5, 2, &M) &&
                     text[7] == '-' && digits(text + 8, 2, &D) &&
                     (text[10] == 'T' || text[10] == 't' || text[10] == ' ') &&
                     digits(text + 11, 2, &h) && text[13] == ':' && digits(text + 14, 2, &m) &&
                     text[16] == ':' && digits(text + 17, 2, &s),
                 ENCLOS_E_MALFORMED, "time \"%s\" is not YYYY-MM-DDTHH:MM:SSZ", text);
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  ENCLOS_ENSUREF(M >= 1 && M <= 12 && D >= 1 && D <= mdays[M - 1] && h <= 23 && m <= 59 &&
                     s <= 60,
                 ENCLOS_E_MALFORMED, "time \"%s\" has a field out of range", text);
  const char *p = text + 19;
  if (*p == '.') {
    p++;
    ENCLOS_ENSUREF(*p >= '0' && *p <= '9', ENCLOS_E_MALFORMED, "time \"%s\": empty fraction", text);
    while (*p >= '0' && *p <= '9') p++;
  }
  int offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    ENCLOS_ENSUREF(digits(p + 1, 2, &oh) && p[3] == ':' && digits(p + 4, 2, &om) && oh <= 23 &&
                       om <= 59,
                   ENCLOS_E_MALFORMED, "time \"%s\": bad offset", text);
    offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "time \"%s\" has no time zone (use Z)", text);
  }
  ENCLOS_ENSUREF(*p == '\0', ENCLOS_E_MALFORMED, "time \"%s\" has trailing characters", text);
  struct tm tm = {0};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s > 59 ? 59 : s; /* a leap second is clamped */
  time_t t = timegm(&tm);
  ENCLOS_ENSUREF(tm.tm_mday == D, ENCLOS_E_MALFORMED, "time \"%s\": no such day", text);
  *out = (int64_t)t - offset;
  return ENCLOS_OK;
}

void enclos_time_format(int64_t t, char out[21]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
    memcpy(out, "0000-00-00T00:00:00Z", 21);
    return;
  }
  snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int64_t enclos_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec;
}

uint64_t enclos_time_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
