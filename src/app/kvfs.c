/* kvfs.c: the app's WASI `/data` directory over its own table in the sealed store
 * (docs/apps.md, "Storage"). A backend behind enclos_wasi_fs_ops.
 *
 * Mapping:
 *  - a file is one record: key = its path below /data ("notes/today.txt"), value = its bytes;
 *  - a directory is a key prefix ("notes/"): it exists when some key starts with it, or when
 *    mkdir created its marker record (key "notes/", empty value); /data itself always exists;
 *  - the kv_* imports see the same records (a file "/data/x" is kv key "x").
 * Paths are resolved lexically below /data: empty and "." components are dropped, ".." pops
 * one component and may never go above /data (ENOTCAPABLE); there are no symlinks or hard
 * links (ENOTSUP). Keys are at most ENCLOS_STORE_MAX_KEY bytes (ENAMETOOLONG).
 *
 * Files are read whole into memory at open and written back at close or fd_sync (a file is at
 * most APP_MAX_KV_VALUE bytes: EFBIG beyond); two descriptors of one file each have their own
 * copy, the last close wins. Nothing keeps times: stat reports 0. Renaming works for files only
 * (a directory would mean rewriting every record below it: ENOTSUP). Listing a directory reads
 * the table's keys (the store decrypts every record of the table: O(records)).
 *
 * Store handles are not thread-safe (store.h) and calls of different apps run on different
 * threads: every store access from the app layer takes app__store_lock.
 */
#include <string.h>

#include <enclos/mem.h>
#include <enclos/store.h>

#include "app_int.h"

/* WASI oflags and fdflags (preview-1 witx). */
#define OF_CREAT 1u
#define OF_DIRECTORY 2u
#define OF_EXCL 4u
#define OF_TRUNC 8u
#define FDF_APPEND 1u

typedef struct kv_node {
  bool dir;
  char key[ENCLOS_STORE_MAX_KEY + 1]; /* "" for the root; no trailing '/' */
  size_t key_len;
  enclos_buf data; /* files */
  uint64_t pos;
  bool dirty, append, writable;
} kv_node;

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
void app__store_lock(void) { pthread_mutex_lock(&store_lock); }
void app__store_unlock(void) { pthread_mutex_unlock(&store_lock); }
void enclos_app_store_lock(void) { app__store_lock(); }
void enclos_app_store_unlock(void) { app__store_unlock(); }

static uint16_t map_err(enclos_err rc) {
  switch (rc) {
  case ENCLOS_OK: return 0;
  case ENCLOS_E_NOT_FOUND: return ENCLOS_WASI_ENOENT;
  case ENCLOS_E_LIMIT: return ENCLOS_WASI_ENOSPC;
  case ENCLOS_E_NOMEM: return ENCLOS_WASI_ENOMEM;
  default: return ENCLOS_WASI_EIO;
  }
}

/* ---- paths ------------------------------------------------------------------------------- */

/* Resolves \p path below directory \p dir into \p out (no trailing '/'; "" is the root). */
static uint16_t resolve(const kv_node *dir, const char *path, char *out, size_t *out_len) {
  char buf[ENCLOS_STORE_MAX_KEY + 1];
  size_t n = dir->key_len;
  memcpy(buf, dir->key, n);
  const char *p = path;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t cl = e ? (size_t)(e - p) : strlen(p);
    if (cl == 0 || (cl == 1 && p[0] == '.')) {
      /* skip */
    } else if (cl == 2 && p[0] == '.' && p[1] == '.') {
      if (n == 0) return ENCLOS_WASI_ENOTCAPABLE; /* above /data */
      while (n > 0 && buf[n - 1] != '/') n--;
      if (n > 0) n--; /* the separator */
    } else {
      if (n + (n ? 1 : 0) + cl > ENCLOS_STORE_MAX_KEY - 1) return ENCLOS_WASI_ENAMETOOLONG;
      if (n) buf[n++] = '/';
      memcpy(buf + n, p, cl);
      n += cl;
    }
    p += cl;
    if (*p == '/') p++;
  }
  memcpy(out, buf, n);
  out[n] = '\0';
  *out_len = n;
  return 0;
}

uint16_t app__kvfs_resolve(const char *base, const char *path, char *out, size_t *out_len) {
  kv_node dir;
  size_t bl = strlen(base);
  if (bl > ENCLOS_STORE_MAX_KEY - 1) return ENCLOS_WASI_ENAMETOOLONG;
  dir.key_len = bl;
  memcpy(dir.key, base, bl + 1);
  return resolve(&dir, path, out, out_len);
}

/* ---- store access (under the lock) ---------------------------------------------------------- */

typedef struct probe_ctx {
  const char *prefix;
  size_t plen;
  bool any;
} probe_ctx;

static enclos_err probe_one(void *ctx, const uint8_t *key, size_t ks, const uint8_t *v, size_t vs) {
  (void)key;
  (void)ks;
  (void)v;
  (void)vs;
  ((probe_ctx *)ctx)->any = true;
  return ENCLOS_E_EXISTS; /* stop at the first */
}

/* What \p key names: 0 nothing, 1 a file, 2 a directory. */
static uint16_t lookup(const enclos_app *a, const char *key, size_t len, int *what, enclos_buf *data) {
  *what = 0;
  if (len == 0) {
    *what = 2;
    return 0;
  }
  enclos_buf tmp = ENCLOS_BUF_INIT;
  enclos_buf *out = data ? data : &tmp;
  app__store_lock();
  enclos_err rc = enclos_store_kv_get(a->svc.store, a->svc.table, key, len, out);
  uint16_t e = 0;
  if (rc == ENCLOS_OK) {
    *what = 1;
  } else if (rc == ENCLOS_E_NOT_FOUND) {
    char pre[ENCLOS_STORE_MAX_KEY + 2];
    memcpy(pre, key, len);
    pre[len] = '/';
    probe_ctx pc = {pre, len + 1, false};
    rc = enclos_store_kv_list(a->svc.store, a->svc.table, pre, len + 1, probe_one, &pc);
    if (pc.any) *what = 2;
    else if (rc != ENCLOS_OK) e = map_err(rc);
  } else {
    e = map_err(rc);
  }
  app__store_unlock();
  enclos_buf_free(&tmp);
  return e;
}

static uint16_t put(const enclos_app *a, const char *key, size_t len, const void *v, size_t vlen) {
  app__store_lock();
  enclos_err rc = enclos_store_kv_put(a->svc.store, a->svc.table, key, len, v, vlen);
  app__store_unlock();
  return map_err(rc);
}

static uint16_t del(const enclos_app *a, const char *key, size_t len) {
  app__store_lock();
  enclos_err rc = enclos_store_kv_delete(a->svc.store, a->svc.table, key, len);
  app__store_unlock();
  return map_err(rc);
}

/* The parent of \p key must be a directory. */
static uint16_t parent_ok(const enclos_app *a, const char *key, size_t len) {
  size_t n = len;
  while (n > 0 && key[n - 1] != '/') n--;
  if (n == 0) return 0; /* the root */
  int what;
  uint16_t e = lookup(a, key, n - 1, &what, NULL);
  if (e) return e;
  return what == 2 ? 0 : what == 1 ? ENCLOS_WASI_ENOTDIR : ENCLOS_WASI_ENOENT;
}

/* ---- handles ------------------------------------------------------------------------------ */

static kv_node *node_new(bool dir, const char *key, size_t len) {
  kv_node *n = enclos_calloc(1, sizeof(*n));
  if (!n) return NULL;
  n->dir = dir;
  memcpy(n->key, key, len);
  n->key[len] = '\0';
  n->key_len = len;
  n->data.secret = true; /* app data: wiped when freed */
  return n;
}

void *app__kvfs_root(const enclos_app *a) {
  (void)a;
  return node_new(true, "", 0);
}

static uint16_t flush(const enclos_app *a, kv_node *n) {
  if (n->dir || !n->dirty) return 0;
  uint16_t e = put(a, n->key, n->key_len, n->data.data ? n->data.data : (const uint8_t *)"", n->data.len);
  if (!e) n->dirty = false;
  return e;
}

static uint16_t kv_open(void *fs, void *dir, const char *path, bool follow, uint16_t oflags,
                        uint16_t fdflags, uint32_t access, void **out, uint8_t *filetype) {
  (void)follow;
  const enclos_app *a = fs;
  char key[ENCLOS_STORE_MAX_KEY + 1];
  size_t len;
  uint16_t e = resolve(dir, path, key, &len);
  if (e) return e;
  int what;
  kv_node *n = node_new(false, key, len);
  if (!n) return ENCLOS_WASI_ENOMEM;
  e = lookup(a, key, len, &what, &n->data);
  if (e) goto fail;
  if (what == 2) {
    if ((oflags & OF_CREAT) && (oflags & OF_EXCL)) {
      e = ENCLOS_WASI_EEXIST;
      goto fail;
    }
    if (access & ENCLOS_WASI_ACCESS_WRITE) {
      e = ENCLOS_WASI_EISDIR;
      goto fail;
    }
    n->dir = true;
    *filetype = ENCLOS_WASI_FILETYPE_DIRECTORY;
    *out = n;
    return 0;
  }
  if (oflags & OF_DIRECTORY) {
    e = what == 1 ? ENCLOS_WASI_ENOTDIR : ENCLOS_WASI_ENOENT;
    goto fail;
  }
  if (what == 1 && (oflags & OF_CREAT) && (oflags & OF_EXCL)) {
    e = ENCLOS_WASI_EEXIST;
    goto fail;
  }
  if (what == 0) {
    if (!(oflags & OF_CREAT)) {
      e = ENCLOS_WASI_ENOENT;
      goto fail;
    }
    if (len == 0 || (e = parent_ok(a, key, len)) != 0) {
      if (!e) e = ENCLOS_WASI_EISDIR;
      goto fail;
    }
    if ((e = put(a, key, len, "", 0)) != 0) goto fail; /* the file exists from now on */
  }
  if (oflags & OF_TRUNC) {
    enclos_buf_reset(&n->data);
    n->dirty = true;
  }
  n->append = (fdflags & FDF_APPEND) != 0;
  n->writable = (access & ENCLOS_WASI_ACCESS_WRITE) != 0;
  *filetype = ENCLOS_WASI_FILETYPE_REGULAR_FILE;
  *out = n;
  return 0;
fail:
  enclos_buf_free(&n->data);
  enclos_free(n);
  return e;
}

static void kv_close(void *fs, void *h) {
  kv_node *n = h;
  if (!n) return;
  (void)flush(fs, n); /* a close cannot report failure (WASI fd_close has, the core ignores it) */
  enclos_buf_free(&n->data);
  enclos_free(n);
}

static uint16_t kv_read(void *fs, void *h, const enclos_wasi_iov *iov, size_t cnt, int64_t offset,
                        size_t *done) {
  (void)fs;
  kv_node *n = h;
  if (n->dir) return ENCLOS_WASI_EISDIR;
  uint64_t pos = offset < 0 ? n->pos : (uint64_t)offset;
  size_t total = 0;
  for (size_t i = 0; i < cnt && pos < n->data.len; i++) {
    size_t k = n->data.len - pos < iov[i].size ? (size_t)(n->data.len - pos) : iov[i].size;
    memcpy(iov[i].buf, n->data.data + pos, k);
    pos += k;
    total += k;
  }
  if (offset < 0) n->pos = pos;
  *done = total;
  return 0;
}

static uint16_t set_len(kv_node *n, uint64_t len) {
  if (len > APP_MAX_KV_VALUE) return ENCLOS_WASI_EFBIG;
  if (len > n->data.len) {
    if (enclos_buf_append_zeros(&n->data, (size_t)(len - n->data.len), NULL) != ENCLOS_OK)
      return ENCLOS_WASI_ENOMEM;
  } else {
    n->data.len = (size_t)len;
  }
  n->dirty = true;
  return 0;
}

static uint16_t kv_write(void *fs, void *h, const enclos_wasi_iov *iov, size_t cnt, int64_t offset,
                         size_t *done) {
  (void)fs;
  kv_node *n = h;
  if (n->dir) return ENCLOS_WASI_EISDIR;
  if (!n->writable) return ENCLOS_WASI_EBADF;
  uint64_t pos = offset < 0 ? (n->append ? n->data.len : n->pos) : (uint64_t)offset;
  size_t total = 0;
  for (size_t i = 0; i < cnt; i++) total += iov[i].size;
  if (pos + total > APP_MAX_KV_VALUE) return ENCLOS_WASI_EFBIG;
  if (pos + total > n->data.len) {
    uint16_t e = set_len(n, pos + total);
    if (e) return e;
  }
  for (size_t i = 0; i < cnt; i++) {
    if (iov[i].size) memcpy(n->data.data + pos, iov[i].buf, iov[i].size);
    pos += iov[i].size;
  }
  if (offset < 0) n->pos = pos;
  n->dirty = true;
  *done = total;
  return 0;
}

static uint16_t kv_seek(void *fs, void *h, int64_t offset, uint8_t whence, uint64_t *newoffset) {
  (void)fs;
  kv_node *n = h;
  if (n->dir) return ENCLOS_WASI_EISDIR;
  int64_t base = whence == 0 ? 0 : whence == 1 ? (int64_t)n->pos : whence == 2 ? (int64_t)n->data.len : -1;
  if (base < 0) return ENCLOS_WASI_EINVAL;
  if ((offset < 0 && base + offset < 0) || (offset > 0 && base > INT64_MAX - offset))
    return ENCLOS_WASI_EINVAL;
  n->pos = (uint64_t)(base + offset);
  *newoffset = n->pos;
  return 0;
}

/* An inode number that stays the same for one key: FNV-1a of the key. */
static uint64_t ino_of(const char *key, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)key[i]) * 0x100000001b3ull;
  return h;
}

static void fill_stat(bool dir, const char *key, size_t len, uint64_t size, enclos_wasi_filestat *o) {
  memset(o, 0, sizeof(*o));
  o->ino = ino_of(key, len);
  o->filetype = dir ? ENCLOS_WASI_FILETYPE_DIRECTORY : ENCLOS_WASI_FILETYPE_REGULAR_FILE;
  o->nlink = 1;
  o->size = dir ? 0 : size;
}

static uint16_t kv_stat(void *fs, void *h, enclos_wasi_filestat *out) {
  (void)fs;
  kv_node *n = h;
  fill_stat(n->dir, n->key, n->key_len, n->data.len, out);
  return 0;
}

static uint16_t kv_set_size(void *fs, void *h, uint64_t size) {
  (void)fs;
  kv_node *n = h;
  if (n->dir) return ENCLOS_WASI_EISDIR;
  if (!n->writable) return ENCLOS_WASI_EBADF;
  return set_len(n, size);
}

static uint16_t kv_sync(void *fs, void *h, bool data_only) {
  (void)data_only;
  return flush(fs, h);
}

static uint16_t kv_advise(void *fs, void *h, uint64_t offset, uint64_t len, uint8_t advice) {
  (void)fs;
  (void)h;
  (void)offset;
  (void)len;
  (void)advice;
  return 0; /* advice only */
}

static uint16_t kv_allocate(void *fs, void *h, uint64_t offset, uint64_t len) {
  (void)fs;
  kv_node *n = h;
  if (n->dir) return ENCLOS_WASI_EISDIR;
  if (offset > APP_MAX_KV_VALUE || len > APP_MAX_KV_VALUE - offset) return ENCLOS_WASI_EFBIG;
  return offset + len > n->data.len ? set_len(n, offset + len) : 0;
}

static uint16_t kv_set_flags(void *fs, void *h, uint16_t fdflags) {
  (void)fs;
  kv_node *n = h;
  n->append = (fdflags & FDF_APPEND) != 0;
  return 0;
}

/* readdir: ".", "..", then the direct children of the directory, in key order. */
typedef struct list_ctx {
  size_t plen;                           /* prefix length ("" or "dir/") */
  char last[ENCLOS_STORE_MAX_KEY + 1];   /* previous child name, to merge a directory's keys */
  size_t last_len;
  uint64_t index, cookie;
  enclos_wasi_dirent_fn emit;
  void *arg;
  bool stopped;
} list_ctx;

static enclos_err list_one(void *ctx, const uint8_t *key, size_t ks, const uint8_t *v, size_t vs) {
  (void)v;
  (void)vs;
  list_ctx *c = ctx;
  if (ks <= c->plen) return ENCLOS_OK; /* the directory's own marker */
  const char *name = (const char *)key + c->plen;
  size_t nl = ks - c->plen;
  const char *slash = memchr(name, '/', nl);
  bool dir = slash != NULL;
  if (slash) nl = (size_t)(slash - name);
  if (nl == 0 || memchr(name, '\0', nl)) return ENCLOS_OK; /* not a path (a raw kv key) */
  if (nl == c->last_len && memcmp(name, c->last, nl) == 0) return ENCLOS_OK;
  memcpy(c->last, name, nl);
  c->last_len = nl;
  uint64_t idx = c->index++;
  if (idx < c->cookie) return ENCLOS_OK;
  if (!c->emit(c->arg, idx + 1, ino_of((const char *)key, c->plen + nl),
               dir ? ENCLOS_WASI_FILETYPE_DIRECTORY : ENCLOS_WASI_FILETYPE_REGULAR_FILE, name, nl)) {
    c->stopped = true;
    return ENCLOS_E_EXISTS; /* stop listing */
  }
  return ENCLOS_OK;
}

static uint16_t kv_readdir(void *fs, void *h, uint64_t cookie, enclos_wasi_dirent_fn emit, void *arg) {
  const enclos_app *a = fs;
  kv_node *n = h;
  if (!n->dir) return ENCLOS_WASI_ENOTDIR;
  static const char *const dots[2] = {".", ".."};
  for (uint64_t i = cookie; i < 2; i++)
    if (!emit(arg, i + 1, ino_of(n->key, n->key_len), ENCLOS_WASI_FILETYPE_DIRECTORY, dots[i], i + 1))
      return 0;
  list_ctx c = {.index = 2, .cookie = cookie < 2 ? 2 : cookie, .emit = emit, .arg = arg};
  char pre[ENCLOS_STORE_MAX_KEY + 2];
  memcpy(pre, n->key, n->key_len);
  c.plen = n->key_len;
  if (n->key_len) pre[c.plen++] = '/';
  app__store_lock();
  enclos_err rc = enclos_store_kv_list(a->svc.store, a->svc.table, pre, c.plen, list_one, &c);
  app__store_unlock();
  if (rc != ENCLOS_OK && !c.stopped) return map_err(rc);
  return 0;
}

static uint16_t kv_path_stat(void *fs, void *dir, const char *path, bool follow,
                             enclos_wasi_filestat *out) {
  (void)follow;
  char key[ENCLOS_STORE_MAX_KEY + 1];
  size_t len;
  uint16_t e = resolve(dir, path, key, &len);
  if (e) return e;
  int what;
  enclos_buf data = ENCLOS_BUF_INIT;
  data.secret = true;
  e = lookup(fs, key, len, &what, &data);
  if (!e && what == 0) e = ENCLOS_WASI_ENOENT;
  if (!e) fill_stat(what == 2, key, len, data.len, out);
  enclos_buf_free(&data);
  return e;
}

static uint16_t kv_mkdir(void *fs, void *dir, const char *path) {
  char key[ENCLOS_STORE_MAX_KEY + 2];
  size_t len;
  uint16_t e = resolve(dir, path, key, &len);
  if (e) return e;
  if (len == 0) return ENCLOS_WASI_EEXIST;
  if (len + 1 > ENCLOS_STORE_MAX_KEY) return ENCLOS_WASI_ENAMETOOLONG;
  int what;
  if ((e = lookup(fs, key, len, &what, NULL)) != 0) return e;
  if (what) return ENCLOS_WASI_EEXIST;
  if ((e = parent_ok(fs, key, len)) != 0) return e;
  key[len] = '/';
  return put(fs, key, len + 1, "", 0);
}

typedef struct count_ctx {
  size_t n;
} count_ctx;

static enclos_err count_one(void *ctx, const uint8_t *key, size_t ks, const uint8_t *v, size_t vs) {
  (void)key;
  (void)ks;
  (void)v;
  (void)vs;
  count_ctx *c = ctx;
  return ++c->n >= 2 ? ENCLOS_E_EXISTS : ENCLOS_OK; /* two are enough to know */
}

static uint16_t kv_rmdir(void *fs, void *dir, const char *path) {
  const enclos_app *a = fs;
  char key[ENCLOS_STORE_MAX_KEY + 2];
  size_t len;
  uint16_t e = resolve(dir, path, key, &len);
  if (e) return e;
  if (len == 0) return ENCLOS_WASI_EPERM; /* /data itself */
  int what;
  if ((e = lookup(fs, key, len, &what, NULL)) != 0) return e;
  if (what == 0) return ENCLOS_WASI_ENOENT;
  if (what == 1) return ENCLOS_WASI_ENOTDIR;
  key[len] = '/';
  /* Empty: the only record below it is its marker. */
  count_ctx c = {0};
  enclos_buf tmp = ENCLOS_BUF_INIT;
  app__store_lock();
  enclos_err rc = enclos_store_kv_list(a->svc.store, a->svc.table, key, len + 1, count_one, &c);
  bool marker = enclos_store_kv_get(a->svc.store, a->svc.table, key, len + 1, &tmp) == ENCLOS_OK;
  app__store_unlock();
  enclos_buf_free(&tmp);
  if (rc != ENCLOS_OK && rc != ENCLOS_E_EXISTS) return map_err(rc);
  if (!marker || c.n != 1) return ENCLOS_WASI_ENOTEMPTY;
  return del(fs, key, len + 1);
}

static uint16_t kv_unlink(void *fs, void *dir, const char *path) {
  char key[ENCLOS_STORE_MAX_KEY + 1];
  size_t len;
  uint16_t e = resolve(dir, path, key, &len);
  if (e) return e;
  int what;
  if ((e = lookup(fs, key, len, &what, NULL)) != 0) return e;
  if (what == 0) return ENCLOS_WASI_ENOENT;
  if (what == 2) return ENCLOS_WASI_EISDIR;
  return del(fs, key, len);
}

static uint16_t kv_rename(void *fs, void *old_dir, const char *old_path, void *new_dir,
                          const char *new_path) {
  char from[ENCLOS_STORE_MAX_KEY + 1], to[ENCLOS_STORE_MAX_KEY + 1];
  size_t fl, tl;
  uint16_t e = resolve(old_dir, old_path, from, &fl);
  if (!e) e = resolve(new_dir, new_path, to, &tl);
  if (e) return e;
  int what, twhat;
  enclos_buf data = ENCLOS_BUF_INIT;
  data.secret = true;
  if ((e = lookup(fs, from, fl, &what, &data)) != 0) goto done;
  if (what == 0) e = ENCLOS_WASI_ENOENT;
  else if (what == 2) e = ENCLOS_WASI_ENOTSUP; /* directories: see the file comment */
  else if ((e = lookup(fs, to, tl, &twhat, NULL)) != 0) {
  } else if (twhat == 2) e = ENCLOS_WASI_EISDIR;
  else if (tl == 0) e = ENCLOS_WASI_EISDIR;
  else if (fl == tl && memcmp(from, to, fl) == 0) e = 0;
  else if ((e = parent_ok(fs, to, tl)) != 0) {
  } else if ((e = put(fs, to, tl, data.data ? data.data : (const uint8_t *)"", data.len)) == 0) {
    e = del(fs, from, fl);
  }
done:
  enclos_buf_free(&data);
  return e;
}

static const enclos_wasi_fs_ops kv_ops = {
    .open = kv_open,
    .close = kv_close,
    .read = kv_read,
    .write = kv_write,
    .seek = kv_seek,
    .stat = kv_stat,
    .set_size = kv_set_size,
    .sync = kv_sync,
    .advise = kv_advise,
    .allocate = kv_allocate,
    .set_flags = kv_set_flags,
    .readdir = kv_readdir,
    .path_stat = kv_path_stat,
    .mkdir = kv_mkdir,
    .rmdir = kv_rmdir,
    .unlink = kv_unlink,
    .rename = kv_rename,
};

const enclos_wasi_fs_ops *app__kvfs_ops(void) { return &kv_ops; }
