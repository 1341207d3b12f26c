/* memory.c: linear memories and table growth (spec §4.2.8, §4.5.3.8 growmem).
 *
 * Two layouts, chosen by enclos_wasm_limits.guard_pages:
 *   - guard pages: 8 GiB of address space is reserved PROT_NONE and the live part made
 *     read-write with mprotect; the base never moves when the memory grows, and any 32-bit
 *     address + 32-bit offset lands inside the reservation (a stray access faults instead of
 *     touching other data). The interpreter still checks bounds explicitly today (no signal
 *     handler yet), so both layouts trap identically.
 *   - plain: enclos_calloc/realloc, the base may move on growth.
 */
#include <string.h>
#include <sys/mman.h>

#include <enclos/mem.h>

#include "wasm_int.h"

#define WASM_GUARD_RESERVE (8ull << 30)

enclos_err wasm__mem_new(enclos_wasm_store *s, enclos_wasm_limits_desc lim, wmem **out) {
  wmem *m = enclos_calloc(1, sizeof(*m));
  ENCLOS_ENSURE(m, ENCLOS_E_NOMEM);
  uint64_t cap = s->lim.max_memory_pages;
  if (cap > WASM_MAX_PAGES) cap = WASM_MAX_PAGES;
  m->decl = lim;
  m->max = (uint32_t)(lim.has_max && lim.max < cap ? lim.max : cap);
  if (lim.min > m->max) {
    uint32_t max = m->max;
    enclos_free(m);
    ENCLOS_FAILF(ENCLOS_E_LIMIT, "memory of %llu pages exceeds the limit of %u pages",
                 (unsigned long long)lim.min, max);
  }
  uint64_t bytes = lim.min * (uint64_t)ENCLOS_WASM_PAGE_SIZE;
  if (s->lim.guard_pages) {
    void *p = mmap(NULL, WASM_GUARD_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p != MAP_FAILED) {
      if (bytes && mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, WASM_GUARD_RESERVE);
        enclos_free(m);
        ENCLOS_FAILF(ENCLOS_E_NOMEM, "cannot commit %llu bytes of linear memory",
                     (unsigned long long)bytes);
      }
      m->base = p;
      m->reserved = WASM_GUARD_RESERVE;
    }
  }
  if (!m->reserved) {
    m->base = enclos_calloc(bytes ? bytes : 1, 1);
    if (!m->base) {
      enclos_free(m);
      ENCLOS_FAILF(ENCLOS_E_NOMEM, "cannot allocate %llu bytes of linear memory",
                   (unsigned long long)bytes);
    }
  }
  m->pages = (uint32_t)lim.min;
  m->size = bytes;
  *out = m;
  return ENCLOS_OK;
}

void wasm__mem_free(wmem *m) {
  if (!m) return;
  if (m->reserved) munmap(m->base, m->reserved);
  else enclos_free(m->base);
  enclos_free(m);
}

int64_t wasm__mem_grow(wmem *m, uint32_t delta) {
  uint32_t old = m->pages;
  if ((uint64_t)old + delta > m->max) return -1;
  if (delta == 0) return old;
  uint64_t nbytes = ((uint64_t)old + delta) * ENCLOS_WASM_PAGE_SIZE;
  if (m->reserved) {
    if (mprotect(m->base, nbytes, PROT_READ | PROT_WRITE) != 0) return -1;
  } else {
    uint8_t *p = enclos_realloc(m->base, nbytes);
    if (!p) return -1;
    memset(p + m->size, 0, nbytes - m->size);
    m->base = p;
  }
  m->size = nbytes;
  m->pages = old + delta;
  return old;
}

int64_t wasm__table_grow(wtable *t, uint32_t delta, void *init) {
  uint32_t old = t->size;
  if ((uint64_t)old + delta > t->max) return -1;
  if (delta == 0) return old;
  void **e = enclos_realloc(t->elems, ((size_t)old + delta) * sizeof(void *));
  if (!e) return -1;
  for (uint32_t i = old; i < old + delta; i++) e[i] = init;
  t->elems = e;
  t->size = old + delta;
  return old;
}
