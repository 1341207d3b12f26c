/* memory.c: linear memories, table growth and snapshot images of memories (spec §4.2.8,
 * §4.5.3.8 growmem).
 *
 * Two layouts, chosen by enclos_wasm_limits.guard_pages:
 *   - guard pages: 8 GiB + 64 KiB of address space (WASM_GUARD_RESERVE) is reserved PROT_NONE
 *     and the live part made read-write with mprotect; the base never moves when the memory
 *     grows, and any 32-bit address + 32-bit offset + access width lands inside the
 *     reservation. The interpreter's guarded loop does no bounds checks on loads and stores:
 *     the fault is turned into a trap by the signal handler in interp.c (section 4).
 *   - plain: enclos_calloc/realloc, the base may move on growth.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <enclos/mem.h>

#include "wasm_int.h"

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
 * Guard-page memories above WASM_SNAPSHOT_COPY_MAX: the image is a memfd (sealed against
 * writes and resizing) holding the memory's bytes; only non-zero 4 KiB blocks are written, the
 * rest stays a hole. Each instance maps it MAP_PRIVATE over the start of its reservation once.
 * The process also maps it once read-only and shared (wmem_image.view), the reference the
 * restore compares and copies from; both mappings share the page cache.
 *
 * Restoring such an instance, preferred path: read /proc/self/pagemap for the live range (one
 * 8-byte entry per host page, in batches of WASM_PAGEMAP_BATCH; Documentation/admin-guide/mm/
 * pagemap.rst). Unprivileged readers see bit 63 (present), bit 62 (swapped) and bit 61 (file
 * page or shared anonymous) though not the frame numbers. In a MAP_PRIVATE mapping of a file a
 * page that is present or swapped and not a file page is the process's private copy: the call
 * (or an earlier one) wrote it, or it maps the shared zero page after a read. Every other page
 * still shows the sealed image (or, beyond the image, was never touched and reads as zero).
 * Only the private pages are compared with the image (or with zeros beyond it) and copied back
 * when they differ; they stay mapped, so the next call touches them without a page fault. On
 * the project's PVM guest a fault costs 50-110 us, comparing a 4 KiB page ~0.1 us. A page once
 * copied stays private, so later restores compare it again: the cost is proportional to the
 * pages the instance has written since its last drop, not to the memory size (pagemap's own
 * cost is a page-table walk, a few ns per page). Above WASM_RESTORE_KEEP_MAX private pages the
 * restore drops the rest with MADV_DONTNEED, which bounds both the compare work and the memory
 * an idle pooled instance keeps.
 *
 * Fallback (no /proc/self/pagemap, e.g. under Gramine or a kernel without
 * CONFIG_PROC_PAGE_MONITOR, its self-test failed, or in a child after fork(): the descriptor
 * opened once per process would show the parent's pages): madvise(MADV_DONTNEED) over the live
 * part, which drops the private copies of the pages the call wrote (the next access sees the
 * image again and faults once per page; pages beyond the image read as zero).
 *
 * Either way pages the call grew beyond the image go back to PROT_NONE (guarded). Small
 * memories (<= WASM_SNAPSHOT_COPY_MAX), plain memories and hosts without memfd: a heap copy,
 * restored by memcpy into pages that stay mapped (copying 256 KiB costs a few microseconds). */

/* Pagemap entries read per pread (a 4 KiB stack buffer: the restore does not allocate). */
#define WASM_PAGEMAP_BATCH 512u
/* Private pages a pagemap restore keeps mapped (compares and copies back); the rest of the live
 * range is dropped. 256 host pages (1 MiB): comparing them costs ~25-50 us, the price of one
 * page fault on the PVM guest and of ~50 on bare metal. */
#define WASM_RESTORE_KEEP_MAX 256u
#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)

static pthread_once_t pagemap_once = PTHREAD_ONCE_INIT;
static int pagemap_fd = -1; /* set once by pagemap_probe, read-only afterwards */
static size_t host_page;
static atomic_bool restore_drop; /* WASM_RESTORE_DROP forced */
/* Set in a child after fork(): the descriptor still reads the parent's page tables, so the child
 * must not trust it (it uses the MADV_DONTNEED restore). */
static atomic_bool pagemap_forked;

static void pagemap_atfork_child(void) { atomic_store(&pagemap_forked, true); }

static bool pagemap_read(int fd, const void *addr, size_t n, uint64_t *out) {
  size_t want = n * sizeof(uint64_t), done = 0;
  off_t off = (off_t)((uintptr_t)addr / host_page * sizeof(uint64_t));
  while (done < want) {
    ssize_t r = pread(fd, (uint8_t *)out + done, want - done, off + (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += (size_t)r;
  }
  return true;
}

/* Opens /proc/self/pagemap once per process and checks that it reports what the restore relies
 * on, on a 3-page MAP_PRIVATE mapping of a memfd: a page only read is present and a file page,
 * a page written is present and not a file page, a page never touched is neither present nor
 * swapped. Anything else (an emulated /proc, a kernel that hides the flags) disables it. */
static void pagemap_probe(void) {
  long ps = sysconf(_SC_PAGESIZE);
  if (ps <= 0 || ps > (long)ENCLOS_WASM_PAGE_SIZE || ENCLOS_WASM_PAGE_SIZE % (unsigned long)ps)
    return;
  host_page = (size_t)ps;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  int mfd = memfd_create("enclos-pagemap-probe", MFD_CLOEXEC);
  bool ok = false;
  if (mfd >= 0 && ftruncate(mfd, (off_t)(3 * host_page)) == 0 &&
      pwrite(mfd, "x", 1, 0) == 1) {
    void *map = mmap(NULL, 3 * host_page, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
    if (map != MAP_FAILED) {
      volatile uint8_t *p = map; /* the accesses must happen: they are what is probed */
      uint64_t e[3];
      ok = p[0] == 'x';
      p[host_page] = 1;
      ok = ok && pagemap_read(fd, map, 3, e) &&
           (e[0] & (PM_PRESENT | PM_FILE)) == (PM_PRESENT | PM_FILE) &&
           (e[1] & (PM_PRESENT | PM_FILE)) == PM_PRESENT && !(e[2] & (PM_PRESENT | PM_SWAP));
      munmap(map, 3 * host_page);
    }
  }
  if (mfd >= 0) close(mfd);
  if (ok && pthread_atfork(NULL, NULL, pagemap_atfork_child) == 0) pagemap_fd = fd;
  else close(fd);
}

bool wasm__mem_pagemap_ok(void) {
  pthread_once(&pagemap_once, pagemap_probe);
  return pagemap_fd >= 0 && !atomic_load(&pagemap_forked);
}

void wasm__mem_restore_mode(wasm_restore_mode mode) {
  atomic_store(&restore_drop, mode == WASM_RESTORE_DROP);
}

static bool page_is_zero(const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  for (size_t i = 0; i < n; i += sizeof(uint64_t)) {
    uint64_t w;
    memcpy(&w, p + i, sizeof(w));
    acc |= w;
  }
  return acc == 0;
}

/* The pagemap restore of a memory that has \p img mapped copy-on-write (see above). */
static enclos_err restore_by_pagemap(wmem *m, const wmem_image *img) {
  uint64_t e[WASM_PAGEMAP_BATCH];
  uint64_t npages = m->size / host_page, kept = 0, first;
  for (first = 0; first < npages; first += WASM_PAGEMAP_BATCH) {
    size_t n = npages - first < WASM_PAGEMAP_BATCH ? (size_t)(npages - first) : WASM_PAGEMAP_BATCH;
    if (!pagemap_read(pagemap_fd, m->base + first * host_page, n, e)) break;
    size_t i;
    for (i = 0; i < n; i++) {
      if (!(e[i] & (PM_PRESENT | PM_SWAP)) || (e[i] & PM_FILE)) continue; /* shows the image */
      if (++kept > WASM_RESTORE_KEEP_MAX) break;
      uint64_t off = (first + i) * host_page;
      uint8_t *p = m->base + off;
      if (off < img->size) {
        if (memcmp(p, img->view + off, host_page) != 0) memcpy(p, img->view + off, host_page);
      } else if (!page_is_zero(p, host_page)) {
        memset(p, 0, host_page);
      }
    }
    if (i < n) {
      first += i;
      break;
    }
  }
  /* A failed read or too many private pages: drop the rest (the fallback's semantics). */
  if (first < npages &&
      madvise(m->base + first * host_page, (size_t)((npages - first) * host_page),
              MADV_DONTNEED) != 0)
    ENCLOS_FAILF(ENCLOS_E_INTERNAL, "madvise(MADV_DONTNEED) on linear memory failed");
  return ENCLOS_OK;
}

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
        void *v = mmap(NULL, (size_t)m->size, PROT_READ, MAP_SHARED, fd, 0);
        img->view = v == MAP_FAILED ? NULL : v;
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
  if (img->view) munmap((void *)(uintptr_t)img->view, (size_t)img->size);
  if (img->fd >= 0) close(img->fd);
  enclos_free(img->copy);
  img->fd = -1;
  img->copy = NULL;
  img->view = NULL;
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
      if (img->view && !atomic_load(&restore_drop) && wasm__mem_pagemap_ok()) {
        ENCLOS_TRY(restore_by_pagemap(m, img));
      } else if (m->size && madvise(m->base, (size_t)m->size, MADV_DONTNEED) != 0) {
        /* drop what the call wrote; the mapping shows the image again */
        ENCLOS_FAILF(ENCLOS_E_INTERNAL, "madvise(MADV_DONTNEED) on linear memory failed");
      }
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
