#include <enclos/mem.h>

#include "test.h"

TEST(mem_fail_nth_allocation) {
  enclos_mem_fail_after(3);
  void *a = enclos_malloc(8), *b = enclos_malloc(8), *c = enclos_malloc(8), *d = enclos_malloc(8);
  CHECK(a && b);
  CHECK(c == NULL && d == NULL);
  CHECK_EQ_INT(enclos_mem_alloc_count(), 4);
  enclos_mem_fail_after(0);
  void *e = enclos_malloc(8);
  CHECK(e != NULL);
  enclos_free(a);
  enclos_free(b);
  enclos_free(e);
}

TEST(mem_calloc_overflow) {
  CHECK(enclos_calloc(SIZE_MAX / 2, 4) == NULL);
  uint8_t *p = enclos_calloc(16, 4);
  CHECK(p != NULL);
  for (int i = 0; i < 64; i++) CHECK_EQ_INT(p[i], 0);
  enclos_free(p);
}

static size_t custom_allocs;
static void *count_malloc(void *ctx, size_t n) { (void)ctx; custom_allocs++; return malloc(n); }
static void *count_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void count_free(void *ctx, void *p) { (void)ctx; free(p); }

TEST(mem_custom_allocator) {
  enclos_allocator a = {count_malloc, count_realloc, count_free, NULL};
  enclos_mem_set_allocator(&a);
  char *s = enclos_strdup("x");
  CHECK_EQ_INT(custom_allocs, 1);
  enclos_free(s);
  enclos_mem_set_allocator(NULL);
}

TEST(mem_ct_eq_and_wipe) {
  uint8_t a[32], b[32];
  memset(a, 0x5a, sizeof(a));
  memcpy(b, a, sizeof(b));
  CHECK(enclos_ct_eq(a, b, sizeof(a)));
  b[31] ^= 1;
  CHECK(!enclos_ct_eq(a, b, sizeof(a)));
  b[31] ^= 1;
  b[0] ^= 0x80;
  CHECK(!enclos_ct_eq(a, b, sizeof(a)));
  CHECK(enclos_ct_eq(a, b, 0));
  enclos_wipe(a, sizeof(a));
  for (size_t i = 0; i < sizeof(a); i++) CHECK_EQ_INT(a[i], 0);
}
