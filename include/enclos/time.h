/**
 * \file time.h
 * \brief UTC time as Unix seconds: RFC 3339 parsing and formatting, and the clocks.
 */
#ifndef ENCLOS_TIME_H
#define ENCLOS_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include <enclos/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Parses an RFC 3339 UTC time ("2025-07-01T00:00:00Z"; fractional seconds and a numeric
 *  offset such as "+00:00" are accepted) into Unix seconds. */
ENCLOS_MUST_USE enclos_err enclos_time_parse(const char *text, int64_t *out);
/** Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (\p out holds at least 21 bytes). */
void enclos_time_format(int64_t t, char out[21]);
/** Wall-clock Unix seconds (untrusted inside a TEE: the host controls it). */
int64_t enclos_time_now(void);
/** Monotonic nanoseconds, for measuring durations. */
uint64_t enclos_time_mono_ns(void);

#ifdef __cplusplus
}
#endif
#endif
