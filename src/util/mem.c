/* mem.c: the allocator hook with fault injection, secure wipe and constant-time compare.
 *
 * Divisions: 1. allocator table  2. fault injection  3. public allocation calls
 *            4. secrets (wipe, constant-time equality)
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/mem.h>

/* 1. Allocator table ----------------------------------------------------------------- */

static void *libc_malloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void *libc_realloc(void *ctx, void *p, size_t size) { (void)ctx; return realloc(p, size); }
static void libc_free(void *ctx, void *p) { (void)ctx; free(p); }

static const enclos_allocator libc_allocator = {libc_malloc, libc_realloc, libc_free, NULL};
static enclos_allocator current = {libc_malloc, libc_realloc, libc_free, NULL};

void enclos_mem_set_allocator(const enclos_allocator *a) { current = a ? *a : libc_allocator; }

/* 2. Fault injection: a counter of allocations and the index at which they start failing. */

static atomic_uint_fast64_t alloc_count;
static atomic_uint_fast64_t fail_at; /* 0 = never */

void enclos_mem_fail_after(uint64_t n) {
  atomic_store(&alloc_count, 0);
  atomic_store(&fail_at, n);
}

uint64_t enclos_mem_alloc_count(void) { return atomic_load(&alloc_count); }

static bool should_fail(void) {
  uint64_t n = atomic_fetch_add(&alloc_count, 1) + 1;
  uint64_t f = atomic_load(&fail_at);
  return f != 0 && n >= f;
}

/* 3. Allocation ---------------------------------------------------------------------- */

void *enclos_malloc(size_t size) {
  if (should_fail()) return NULL;
  return current.malloc_fn(current.ctx, size ? size : 1);
}

void *enclos_calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return NULL;
  size_t total = count * size;
  void *p = enclos_malloc(total);
  if (p) memset(p, 0, total ? total : 1);
  return p;
}

void *enclos_realloc(void *p, size_t size) {
  if (should_fail()) return NULL;
  return current.realloc_fn(current.ctx, p, size ? size : 1);
}

void enclos_free(void *p) {
  if (p) current.free_fn(current.ctx, p);
}

char *enclos_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = enclos_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

void *enclos_memdup(const void *p, size_t size) {
  if (size == 0) return NULL;
  void *d = enclos_malloc(size);
  if (d) memcpy(d, p, size);
  return d;
}

/* 4. Secrets ------------------------------------------------------------------------- */

void enclos_wipe(void *p, size_t size) {
  if (p && size) explicit_bzero(p, size);
}

void enclos_free_secret(void *p, size_t size) {
  enclos_wipe(p, size);
  enclos_free(p);
}

bool enclos_ct_eq(const void *a, const void *b, size_t size) {
  const volatile uint8_t *x = a;
  const volatile uint8_t *y = b;
  uint8_t acc = 0;
  for (size_t i = 0; i < size; i++) acc |= (uint8_t)(x[i] ^ y[i]);
  return acc == 0;
}
