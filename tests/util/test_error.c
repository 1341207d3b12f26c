#include <enclos/error.h>
#include <enclos/log.h>

#include "test.h"

static enclos_err fails_with_detail(int x) {
  ENCLOS_ENSUREF(x > 0, ENCLOS_E_RANGE, "x must be positive, got %d", x);
  return ENCLOS_OK;
}

static enclos_err propagates(int x) {
  ENCLOS_TRY(fails_with_detail(x));
  return ENCLOS_OK;
}

TEST(error_strings) {
  CHECK_STR(enclos_strerror(ENCLOS_OK), "ok");
  CHECK_STR(enclos_strerror(ENCLOS_E_TRUNCATED), "input truncated");
  CHECK_STR(enclos_err_name(ENCLOS_E_NOMEM), "NOMEM");
  CHECK_STR(enclos_strerror((enclos_err)-1), "unknown error");
  CHECK_STR(enclos_strerror((enclos_err)12345), "unknown error");
  CHECK(ENCLOS_E_NOMEM < 0 && ENCLOS_E_INTERNAL < 0);
}

TEST(error_detail_and_location) {
  enclos_err_clear();
  CHECK_OK(propagates(1));
  CHECK_ERR(propagates(-3), ENCLOS_E_RANGE);
  CHECK_STR(enclos_err_detail(), "x must be positive, got -3");
  CHECK_CONTAINS(enclos_err_where(), "test_error.c:");
  enclos_err_clear();
  CHECK_STR(enclos_err_detail(), "");
}

TEST(log_levels) {
  enclos_log_level l;
  CHECK(enclos_log_parse_level("debug", &l));
  CHECK_EQ_INT(l, ENCLOS_LOG_DEBUG);
  CHECK(!enclos_log_parse_level("loud", &l));
  enclos_log_set_level(ENCLOS_LOG_WARN);
  CHECK(!ENCLOS_LOG_ENABLED(ENCLOS_LOG_INFO));
  CHECK(ENCLOS_LOG_ENABLED(ENCLOS_LOG_ERROR));
  enclos_log(ENCLOS_LOG_WARN, "test", "a warning with %d", 1);
}

#include <enclos/time.h>

TEST(time_parse_and_format) {
  int64_t t;
  CHECK_OK(enclos_time_parse("2025-07-01T00:00:00Z", &t));
  CHECK_EQ_INT(t, 1751328000);
  CHECK_OK(enclos_time_parse("2025-06-19T10:56:11.123456Z", &t));
  CHECK_EQ_INT(t, 1750330571);
  CHECK_OK(enclos_time_parse("2025-07-01T02:00:00+02:00", &t));
  CHECK_EQ_INT(t, 1751328000);
  char s[21];
  enclos_time_format(1751328000, s);
  CHECK_STR(s, "2025-07-01T00:00:00Z");
  CHECK_ERR(enclos_time_parse("2025-07-01", &t), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_time_parse("2025-02-30T00:00:00Z", &t), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_time_parse("2025-07-01T00:00:00", &t), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_time_parse("2025-07-01T00:00:00Zjunk", &t), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_time_parse("2025-13-01T00:00:00Z", &t), ENCLOS_E_MALFORMED);
}
