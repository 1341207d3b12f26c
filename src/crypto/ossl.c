/* ossl.c: OpenSSL error reporting for the crypto module. */
#include <openssl/err.h>

#include "crypto_int.h"

enclos_err crypto__ossl_fail(enclos_err err, const char *file, int line, const char *what) {
  unsigned long e = ERR_get_error();
  char msg[256] = "";
  if (e) ERR_error_string_n(e, msg, sizeof(msg));
  ERR_clear_error();
  if (msg[0]) return enclos_err_set(err, file, line, "%s: %s", what, msg);
  return enclos_err_set(err, file, line, "%s", what);
}
