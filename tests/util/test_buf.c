#include <enclos/buf.h>
#include <enclos/mem.h>

#include "test.h"

TEST(buf_append_and_grow) {
  enclos_buf b = ENCLOS_BUF_INIT;
  for (int i = 0; i < 1000; i++) CHECK_OK(enclos_buf_append_u8(&b, (uint8_t)i));
  CHECK_EQ_INT(b.len, 1000);
  CHECK(b.cap >= 1000);
  for (int i = 0; i < 1000; i++) CHECK_EQ_INT(b.data[i], (uint8_t)i);
  CHECK_OK(enclos_buf_append_u32le(&b, 0x04030201));
  CHECK_MEM(b.data + 1000, "\x01\x02\x03\x04", 4);
  CHECK_OK(enclos_buf_append_u32be(&b, 0x04030201));
  CHECK_MEM(b.data + 1004, "\x04\x03\x02\x01", 4);
  enclos_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0);
}

TEST(buf_printf_and_cstr) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_printf(&b, "%s-%d", "abc", 42));
  CHECK_OK(enclos_buf_printf(&b, "/%05u", 7u));
  const char *s;
  CHECK_OK(enclos_buf_cstr(&b, &s));
  CHECK_STR(s, "abc-42/00007");
  CHECK_EQ_INT(b.len, 12);
  enclos_buf_free(&b);
}

TEST(buf_limit_is_enforced) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_buf_reserve(&b, ENCLOS_BUF_MAX + 1), ENCLOS_E_LIMIT);
  CHECK_ERR(enclos_buf_reserve(&b, SIZE_MAX), ENCLOS_E_LIMIT);
  CHECK(b.data == NULL);
}

TEST(buf_oom_leaves_buffer_intact) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append(&b, "hello", 5));
  enclos_mem_fail_after(1);
  CHECK_ERR(enclos_buf_reserve(&b, 4096), ENCLOS_E_NOMEM);
  enclos_mem_fail_after(0);
  CHECK_EQ_INT(b.len, 5);
  CHECK_MEM(b.data, "hello", 5);
  enclos_buf_free(&b);
}

TEST(buf_secret_survives_growth) {
  enclos_buf b = ENCLOS_BUF_INIT;
  b.secret = true;
  CHECK_OK(enclos_buf_append(&b, "key-material", 12));
  CHECK_OK(enclos_buf_reserve(&b, 10000));
  CHECK_MEM(b.data, "key-material", 12);
  uint8_t *p = b.data;
  enclos_buf_reset(&b);
  CHECK_EQ_INT(b.len, 0);
  CHECK_EQ_INT(p[0], 0); /* wiped on reset */
  enclos_buf_free(&b);
}

TEST(buf_steal) {
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append_str(&b, "xyz"));
  size_t n;
  uint8_t *p = enclos_buf_steal(&b, &n);
  CHECK_EQ_INT(n, 3);
  CHECK(b.data == NULL);
  enclos_free(p);
}
