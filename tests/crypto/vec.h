/* vec.h: hex helpers for test vectors. */
#ifndef TEST_VEC_H
#define TEST_VEC_H

#include <enclos/encoding.h>

#include "test.h"

/* Decodes a hex literal into a static-lifetime buffer owned by the test (freed at exit). */
static inline enclos_buf hexbuf(const char *hex) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_hex_decode(&b, hex, strlen(hex)));
  CHECK_OK(enclos_buf_reserve(&b, 1));
  return b;
}

#define CHECK_HEX(bytes, n, hex)                                                   \
  do {                                                                             \
    enclos_buf test__w = hexbuf(hex);                                              \
    CHECK_EQ_INT(test__w.len, (n));                                                \
    CHECK_MEM((bytes), test__w.data, (n));                                         \
    enclos_buf_free(&test__w);                                                     \
  } while (0)

#endif
