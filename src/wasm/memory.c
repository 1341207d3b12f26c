/* memory.c: linear memories, table growth and snapshot images of memories (spec §4.2.8,
 * §4.5.3.8 growmem).
 *
 * Two layouts, chosen by enclos_wasm_limits.guard_pages:
 *   - guard pages: 8 GiB of address space is reserved PROT_NONE and the live part made
 *     read-write with mprotect; the base never moves when the memory grows, and any 32-bit
 *     address + 32-bit offset lands inside the reservation (a stray access faults instead of
 *     touching other data). The interpreter still checks bounds explicitly today (no signal
 *     handler yet), so both layouts trap identically.
 *   - plain: enclos_calloc/realloc, the base may move on growth.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* ---- Snapshot images ------------------------------------------------------------------------
 * Guard-page memories: the image is a memfd (sealed against writes and resizing) holding the
 * memory's bytes; only non-zero 4 KiB blocks are written, the rest stays a hole. An instance
 * maps it MAP_PRIVATE over the start of its reservation once; from then on a restore is
 * madvise(MADV_DONTNEED) over the live part, which drops the private copies of the pages the
 * call wrote (the next access sees the image again; pages beyond the image read as zero), plus
 * an mprotect when the call grew the memory. The kernel work is proportional to the pages that
 * were touched, not to the memory size. Small memories (<= WASM_SNAPSHOT_COPY_MAX), plain
 * memories and hosts without memfd: a heap copy, restored by memcpy into pages that stay
 * mapped. Copying 256 KiB costs a few microseconds; a page fault costs 0.5-1 us on bare metal
 * and 50-100 us in some paravirtualised guests (the project's PVM VM), so for small memories the
 * copy wins everywhere and never faults after the first call. */

static atomic_uint_least64_t image_ids = 1;

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

static bool write_image(int fd, const uint8_t *base, uint64_t size) {
  if (ftruncate(fd, (off_t)size) != 0) return false;
  for (uint64_t off = 0; off < size; off += 4096) {
    size_t n = size - off < 4096 ? (size_t)(size - off) : 4096;
    if (all_zero(base + off, n)) continue;
    size_t done = 0;
    while (done < n) {
      ssize_t w = pwrite(fd, base + off + done, n - done, (off_t)(off + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      done += (size_t)w;
    }
  }
  return true;
}

enclos_err wasm__mem_image_take(const wmem *m, wmem_image *img) {
  memset(img, 0, sizeof(*img));
  img->fd = -1;
  img->size = m->size;
  img->pages = m->pages;
  img->id = atomic_fetch_add(&image_ids, 1);
  if (m->reserved && m->size > WASM_SNAPSHOT_COPY_MAX) {
    int fd = memfd_create("enclos-wasm-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0) {
      if (write_image(fd, m->base, m->size) &&
          fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0) {
        img->fd = fd;
        return ENCLOS_OK;
      }
      close(fd);
    }
  }
  img->copy = enclos_malloc(m->size ? (size_t)m->size : 1);
  ENCLOS_ENSUREF(img->copy, ENCLOS_E_NOMEM, "snapshot of %llu bytes of memory",
                 (unsigned long long)m->size);
  if (m->size) memcpy(img->copy, m->base, (size_t)m->size);
  return ENCLOS_OK;
}

void wasm__mem_image_free(wmem_image *img) {
  if (img->fd >= 0) close(img->fd);
  enclos_free(img->copy);
  img->fd = -1;
  img->copy = NULL;
}

/* Contents of \p img into [base, base + size) by copying (the slow path). */
static enclos_err image_copy_in(uint8_t *base, const wmem_image *img) {
  if (img->copy) {
    if (img->size) memcpy(base, img->copy, (size_t)img->size);
    return ENCLOS_OK;
  }
  uint64_t done = 0;
  while (done < img->size) {
    ssize_t r = pread(img->fd, base + done, (size_t)(img->size - done), (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    ENCLOS_ENSUREF(r > 0, ENCLOS_E_IO, "reading the memory snapshot failed");
    done += (uint64_t)r;
  }
  return ENCLOS_OK;
}

enclos_err wasm__mem_image_restore(wmem *m, const wmem_image *img) {
  ENCLOS_ENSUREF(img->pages <= m->max, ENCLOS_E_LIMIT,
                 "snapshot memory of %u pages exceeds the limit of %u pages", img->pages, m->max);
  if (m->reserved) {
    uint64_t live = m->size > img->size ? m->size : img->size;
    if (img->fd >= 0 && m->cow_id == img->id) {
      /* Fast path: drop what the call wrote; the mapping shows the image again. */
      if (m->size && madvise(m->base, (size_t)m->size, MADV_DONTNEED) != 0)
        ENCLOS_FAILF(ENCLOS_E_INTERNAL, "madvise(MADV_DONTNEED) on linear memory failed");
    } else if (img->fd >= 0) {
      if (img->size &&
          mmap(m->base, (size_t)img->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
               img->fd, 0) == MAP_FAILED)
        ENCLOS_FAILF(ENCLOS_E_NOMEM, "cannot map the memory snapshot (%llu bytes)",
                     (unsigned long long)img->size);
      m->cow_id = img->id;
      if (m->size > img->size &&
          madvise(m->base + img->size, (size_t)(m->size - img->size), MADV_DONTNEED) != 0)
        ENCLOS_FAILF(ENCLOS_E_INTERNAL, "madvise(MADV_DONTNEED) on linear memory failed");
    } else {
      if (img->size > m->size &&
          mprotect(m->base, (size_t)img->size, PROT_READ | PROT_WRITE) != 0)
        ENCLOS_FAILF(ENCLOS_E_NOMEM, "cannot commit %llu bytes of linear memory",
                     (unsigned long long)img->size);
      if (m->size > img->size &&
          madvise(m->base + img->size, (size_t)(m->size - img->size), MADV_DONTNEED) != 0)
        ENCLOS_FAILF(ENCLOS_E_INTERNAL, "madvise(MADV_DONTNEED) on linear memory failed");
      ENCLOS_TRY(image_copy_in(m->base, img));
    }
    /* Pages the call grew beyond the image go back to PROT_NONE (guarded). */
    if (live > img->size &&
        mprotect(m->base + img->size, (size_t)(live - img->size), PROT_NONE) != 0)
      ENCLOS_FAILF(ENCLOS_E_INTERNAL, "mprotect of linear memory failed");
  } else {
    if (img->size > m->size) {
      uint8_t *p = enclos_realloc(m->base, (size_t)img->size);
      ENCLOS_ENSUREF(p, ENCLOS_E_NOMEM, "cannot allocate %llu bytes of linear memory",
                     (unsigned long long)img->size);
      m->base = p;
    }
    ENCLOS_TRY(image_copy_in(m->base, img));
  }
  m->size = img->size;
  m->pages = img->pages;
  return ENCLOS_OK;
}
