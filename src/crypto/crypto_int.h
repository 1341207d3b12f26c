/* crypto_int.h: private to src/crypto. OpenSSL plumbing shared by the module's files. */
#ifndef ENCLOS_CRYPTO_INT_H
#define ENCLOS_CRYPTO_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <enclos/crypto.h>
#include <enclos/x509.h>

struct enclos_pkey {
  EVP_PKEY *pkey;
};

struct enclos_x509 {
  X509 *x509;
  unsigned char *der; /* cached i2d encoding */
  int der_size;
};

/* Records \p err with \p what and the OpenSSL error queue's first message; clears the queue. */
enclos_err crypto__ossl_fail(enclos_err err, const char *file, int line, const char *what);
#define CRYPTO_FAIL(err, what) return crypto__ossl_fail((err), __FILE__, __LINE__, (what))
#define CRYPTO_ENSURE(cond, err, what)                                             \
  do {                                                                             \
    if (!(cond)) CRYPTO_FAIL((err), (what));                                       \
  } while (0)

const EVP_MD *crypto__md(enclos_hash_alg alg);
/* Wraps an EVP_PKEY (taking ownership) in a new enclos_pkey. */
enclos_err crypto__wrap_pkey(EVP_PKEY *pk, enclos_pkey **out);

#endif
