/* test.h: the in-house test framework (STYLE.md §22).
 *
 *   TEST(name) { CHECK(x == 1); CHECK_OK(call()); CHECK_ERR(call(), ENCLOS_E_TRUNCATED); }
 *
 * Tests register themselves at load time; tests/test_main.c runs each in its own child
 * process (so a crash fails one test, not the binary) and prints "N passed, N failed".
 * A failed CHECK prints file:line and the expression, and ends the test.
 * Paths to shared test data: SHARED("testdata/...") expands to an absolute path literal.
 */
#ifndef ENCLOS_TEST_H
#define ENCLOS_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/error.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...) ENCLOS_PRINTF(3, 4)
    __attribute__((noreturn));
/* Reads a whole file (test data); fails the test if it cannot. Caller frees with free(). */
uint8_t *test_read_file(const char *path, size_t *size);
/* A fresh empty directory under $TMPDIR for this test; removed by the runner afterwards. */
const char *test_tmpdir(void);

#define SHARED(rel) ENCLOS_SHARED_DIR "/" rel

#define TEST(name)                                                                 \
  static void name(void);                                                          \
  __attribute__((constructor)) static void name##_register(void) {                 \
    test_register(#name, name);                                                    \
  }                                                                                \
  static void name(void)

#define CHECK(cond)                                                                \
  do {                                                                             \
    if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                \
  } while (0)

#define CHECK_MSG(cond, ...)                                                       \
  do {                                                                             \
    if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__);                       \
  } while (0)

#define CHECK_OK(expr)                                                             \
  do {                                                                             \
    enclos_err test__rc = (expr);                                                  \
    if (test__rc != ENCLOS_OK)                                                     \
      test_fail(__FILE__, __LINE__, "%s -> %s (%s)", #expr, enclos_err_name(test__rc), \
                enclos_err_detail());                                              \
  } while (0)

#define CHECK_ERR(expr, want)                                                      \
  do {                                                                             \
    enclos_err test__rc = (expr);                                                  \
    if (test__rc != (want))                                                        \
      test_fail(__FILE__, __LINE__, "%s -> %s, want %s (%s)", #expr,               \
                enclos_err_name(test__rc), enclos_err_name(want), enclos_err_detail()); \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                         \
  do {                                                                             \
    long long test__a = (long long)(a), test__b = (long long)(b);                  \
    if (test__a != test__b)                                                        \
      test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, test__a, test__b); \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                         \
  do {                                                                             \
    uint64_t test__a = (uint64_t)(a), test__b = (uint64_t)(b);                     \
    if (test__a != test__b)                                                        \
      test_fail(__FILE__, __LINE__, "%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, #a, #b, \
                test__a, test__b);                                                 \
  } while (0)

#define CHECK_STR(a, b)                                                            \
  do {                                                                             \
    const char *test__a = (a), *test__b = (b);                                     \
    if (!test__a || !test__b || strcmp(test__a, test__b) != 0)                     \
      test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,          \
                test__a ? test__a : "(null)", test__b ? test__b : "(null)");       \
  } while (0)

#define CHECK_MEM(a, b, n)                                                         \
  do {                                                                             \
    if (memcmp((a), (b), (n)) != 0)                                                \
      test_fail(__FILE__, __LINE__, "%s == %s (%zu bytes) differ", #a, #b, (size_t)(n)); \
  } while (0)

/* Substring check, for error details that must name what was wrong. */
#define CHECK_CONTAINS(hay, needle)                                                \
  do {                                                                             \
    const char *test__h = (hay);                                                   \
    if (!test__h || !strstr(test__h, (needle)))                                    \
      test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",              \
                test__h ? test__h : "(null)", (needle));                           \
  } while (0)

#endif
