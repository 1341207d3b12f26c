/**
 * \file mem.h
 * \brief The one allocator of enclos (with a fault-injection hook), secure wipe,
 *        constant-time comparison.
 *
 * All project code allocates through enclos_malloc/calloc/realloc/free so that tests can
 * fail the Nth allocation (STYLE.md §12, §20) and an enclave build can plug its own heap.
 */
#ifndef ENCLOS_MEM_H
#define ENCLOS_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct enclos_allocator {
  void *(*malloc_fn)(void *ctx, size_t size);
  void *(*realloc_fn)(void *ctx, void *p, size_t size);
  void (*free_fn)(void *ctx, void *p);
  void *ctx;
} enclos_allocator;

/** Replaces the allocator (NULL restores libc). Not thread-safe: call before starting threads. */
void enclos_mem_set_allocator(const enclos_allocator *a);

/** Fault injection: the \p n-th allocation from now (1-based) and all after it fail; 0 disables. */
void enclos_mem_fail_after(uint64_t n);
/** Number of allocations made since the last enclos_mem_fail_after() call. */
uint64_t enclos_mem_alloc_count(void);

/** malloc/calloc/realloc/free through the hook. calloc checks count*size for overflow. */
void *enclos_malloc(size_t size);
void *enclos_calloc(size_t count, size_t size);
void *enclos_realloc(void *p, size_t size);
void enclos_free(void *p);
/** Duplicates a NUL-terminated string (NULL on OOM). Caller frees with enclos_free. */
char *enclos_strdup(const char *s);
/** Duplicates \p size bytes (NULL on OOM or size == 0). Caller frees with enclos_free. */
void *enclos_memdup(const void *p, size_t size);

/** Overwrites \p size bytes with zeros in a way the compiler cannot elide. */
void enclos_wipe(void *p, size_t size);
/** Wipes then frees \p size bytes at \p p (p may be NULL). */
void enclos_free_secret(void *p, size_t size);

/** Constant-time equality of two equal-length buffers: time depends only on \p size. */
bool enclos_ct_eq(const void *a, const void *b, size_t size);

#ifdef __cplusplus
}
#endif
#endif
