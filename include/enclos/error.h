/**
 * \file error.h
 * \brief The one error enum of enclos, guard macros, and error details.
 *
 * Convention (docs/architecture.md, "Errors"): every fallible function returns an
 * `enclos_err`; 0 (`ENCLOS_OK`) is success and every error is negative. A function that
 * fails records a human-readable detail (what was wrong, where) in a thread-local slot
 * with ENCLOS_FAILF; callers read it with enclos_err_detail(). Results must not be
 * ignored: declarations carry ENCLOS_MUST_USE.
 */
#ifndef ENCLOS_ERROR_H
#define ENCLOS_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENCLOS_MUST_USE __attribute__((warn_unused_result))
#define ENCLOS_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* X-macro: (NAME, message). Append new codes at the end of their group. */
#define ENCLOS_ERRORS(X)                                                           \
  X(NOMEM, "out of memory")                                                        \
  X(INVAL, "invalid argument")                                                     \
  X(TRUNCATED, "input truncated")                                                  \
  X(MALFORMED, "malformed input")                                                  \
  X(INVALID, "input fails validation")                                             \
  X(LIMIT, "limit exceeded")                                                       \
  X(RANGE, "value out of range")                                                   \
  X(OVERFLOW, "arithmetic overflow")                                               \
  X(UNSUPPORTED, "not supported")                                                  \
  X(NOT_FOUND, "not found")                                                        \
  X(EXISTS, "already exists")                                                      \
  X(IO, "input/output error")                                                      \
  X(CRYPTO, "cryptographic operation failed")                                      \
  X(VERIFY, "verification failed")                                                 \
  X(POLICY, "refused by policy")                                                   \
  X(EXPIRED, "expired or not yet valid")                                           \
  X(REVOKED, "revoked")                                                            \
  X(TAMPERED, "integrity check failed")                                            \
  X(ROLLBACK, "rollback detected")                                                 \
  X(AUTH, "authentication failed")                                                 \
  X(DENIED, "permission denied")                                                   \
  X(TRAP, "wasm trap")                                                             \
  X(FUEL, "fuel exhausted")                                                        \
  X(INTERRUPTED, "interrupted")                                                    \
  X(UNLINKABLE, "import cannot be linked")                                         \
  X(TIMEOUT, "timed out")                                                          \
  X(AGAIN, "resource temporarily unavailable")                                     \
  X(PROTOCOL, "protocol error")                                                    \
  X(CLOSED, "connection closed")                                                   \
  X(STATE, "operation not valid in this state")                                    \
  X(INTERNAL, "internal error")

typedef enum enclos_err {
  ENCLOS_OK = 0,
  ENCLOS__ERR_BASE = -1000,
#define ENCLOS__ERR_ENUM(name, msg) ENCLOS_E_##name,
  ENCLOS_ERRORS(ENCLOS__ERR_ENUM)
#undef ENCLOS__ERR_ENUM
  ENCLOS__ERR_END
} enclos_err;

/** Static message for a code ("ok" for 0, "unknown error" for anything else). */
const char *enclos_strerror(enclos_err err);

/** Symbolic name of a code without the prefix, e.g. "TRUNCATED". */
const char *enclos_err_name(enclos_err err);

/**
 * Records a detail for \p err in this thread's slot and returns \p err.
 * The detail is "file:line" in debug builds plus the formatted message.
 */
enclos_err enclos_err_set(enclos_err err, const char *file, int line, const char *fmt, ...)
    ENCLOS_PRINTF(4, 5);

/** The detail recorded by the last failing enclos call in this thread ("" if none). */
const char *enclos_err_detail(void);

/** Source location (file:line) where the last error was raised ("" if none). */
const char *enclos_err_where(void);

/** Clears this thread's detail slot. */
void enclos_err_clear(void);

/* Guard macros: the only ways to leave a function with an error (STYLE.md §6).
 * ENCLOS_TRY(expr)          propagate a failing enclos_err unchanged.
 * ENCLOS_ENSURE(c, code)    fail with code when c is false.
 * ENCLOS_ENSUREF(c, code, fmt, ...)  same, with a formatted detail.
 * ENCLOS_FAIL(code) / ENCLOS_FAILF(code, fmt, ...)  fail unconditionally.
 * ENCLOS_ENSURE_REF(p)      fail with INVAL when p is NULL.
 * ENCLOS_GUARD(expr)        like TRY, but stores into `rc` and jumps to `cleanup`.
 */
#define ENCLOS_FAILF(code, ...) return enclos_err_set((code), __FILE__, __LINE__, __VA_ARGS__)
#define ENCLOS_FAIL(code) ENCLOS_FAILF((code), "%s", enclos_strerror(code))
#define ENCLOS_TRY(expr)                                                           \
  do {                                                                             \
    enclos_err enclos__rc = (expr);                                                \
    if (enclos__rc != ENCLOS_OK) return enclos__rc;                                \
  } while (0)
#define ENCLOS_ENSURE(cond, code)                                                  \
  do {                                                                             \
    if (!(cond)) ENCLOS_FAILF((code), "%s: %s", enclos_strerror(code), #cond);     \
  } while (0)
#define ENCLOS_ENSUREF(cond, code, ...)                                            \
  do {                                                                             \
    if (!(cond)) ENCLOS_FAILF((code), __VA_ARGS__);                                \
  } while (0)
#define ENCLOS_ENSURE_REF(p) ENCLOS_ENSUREF((p) != NULL, ENCLOS_E_INVAL, "%s is NULL", #p)

/* For functions that hold resources: `enclos_err rc = ENCLOS_OK; ... cleanup: ... return rc;` */
#define ENCLOS_GUARD(expr)                                                         \
  do {                                                                             \
    rc = (expr);                                                                   \
    if (rc != ENCLOS_OK) goto cleanup;                                             \
  } while (0)
#define ENCLOS_GUARD_FAILF(code, ...)                                              \
  do {                                                                             \
    rc = enclos_err_set((code), __FILE__, __LINE__, __VA_ARGS__);                  \
    goto cleanup;                                                                  \
  } while (0)
#define ENCLOS_GUARD_ENSUREF(cond, code, ...)                                      \
  do {                                                                             \
    if (!(cond)) ENCLOS_GUARD_FAILF((code), __VA_ARGS__);                          \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif
