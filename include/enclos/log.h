/**
 * \file log.h
 * \brief Levelled logging to stderr. The level comes from ENCLOS_LOG (error, warn, info,
 *        debug, trace) or enclos_log_set_level(); default is info.
 */
#ifndef ENCLOS_LOG_H
#define ENCLOS_LOG_H

#include <stdbool.h>

#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum enclos_log_level {
  ENCLOS_LOG_ERROR = 0,
  ENCLOS_LOG_WARN,
  ENCLOS_LOG_INFO,
  ENCLOS_LOG_DEBUG,
  ENCLOS_LOG_TRACE,
} enclos_log_level;

void enclos_log_set_level(enclos_log_level level);
enclos_log_level enclos_log_get_level(void);
/** Parses a level name; returns false for an unknown name. */
bool enclos_log_parse_level(const char *name, enclos_log_level *out);
/** Writes one line "LEVEL [module] message" to stderr when \p level is enabled. */
void enclos_log(enclos_log_level level, const char *module, const char *fmt, ...)
    ENCLOS_PRINTF(3, 4);

#define ENCLOS_LOG_ENABLED(lvl) ((lvl) <= enclos_log_get_level())
#define ENCLOS_ERROR_LOG(mod, ...) enclos_log(ENCLOS_LOG_ERROR, mod, __VA_ARGS__)
#define ENCLOS_WARN_LOG(mod, ...) enclos_log(ENCLOS_LOG_WARN, mod, __VA_ARGS__)
#define ENCLOS_INFO_LOG(mod, ...) enclos_log(ENCLOS_LOG_INFO, mod, __VA_ARGS__)
#define ENCLOS_DEBUG_LOG(mod, ...)                                                  \
  do {                                                                             \
    if (ENCLOS_LOG_ENABLED(ENCLOS_LOG_DEBUG)) enclos_log(ENCLOS_LOG_DEBUG, mod, __VA_ARGS__); \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif
