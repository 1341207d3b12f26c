/* server_int.h: private to src/server. Internals shared between the module's files. */
#ifndef ENCLOS_SERVER_INT_H
#define ENCLOS_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Name of a parser state (for diagnostics and tests). */
const char *server__http_state_name(int state);

/* Appends \p s as the inside of a JSON string (RFC 8259 §7); invalid UTF-8 -> U+FFFD. */
#include <enclos/buf.h>
enclos_err server__json_escape(enclos_buf *out, const char *s, size_t len);

#endif
