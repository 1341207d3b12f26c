/* files: the app storage test guest: WASI files under /data and the kv imports, both on the
 * app's own table (tests/app/test_app.c). Strings come in through cabi_realloc and are copied
 * to NUL-terminated buffers; string results are enclos_result pairs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos.h>

ENCLOS_DEFINE_CABI_REALLOC()

static char *cstr(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s) __builtin_trap();
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static enclos_result res;
static char out[8192];

static enclos_result *ret(size_t n) {
  res.ptr = out;
  res.len = n;
  return &res;
}

ENCLOS_EXPORT("writef") int32_t writef(const char *p, size_t pl, const char *c, size_t cl) {
  FILE *f = fopen(cstr(p, pl), "w");
  if (!f) return -errno;
  if (fwrite(c, 1, cl, f) != cl) return -1000;
  if (fclose(f) != 0) return -1001;
  return 0;
}

ENCLOS_RETURNS_STRING("readf")
ENCLOS_EXPORT("readf") enclos_result *readf(const char *p, size_t pl) {
  FILE *f = fopen(cstr(p, pl), "r");
  if (!f) return ret((size_t)snprintf(out, sizeof(out), "ERR:%d", errno));
  size_t n = fread(out, 1, sizeof(out), f);
  fclose(f);
  return ret(n);
}

ENCLOS_RETURNS_STRING("ls")
ENCLOS_EXPORT("ls") enclos_result *ls(const char *p, size_t pl) {
  DIR *d = opendir(cstr(p, pl));
  if (!d) return ret((size_t)snprintf(out, sizeof(out), "ERR:%d", errno));
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s%s", n ? "," : "", e->d_name,
                          e->d_type == DT_DIR ? "/" : "");
  }
  closedir(d);
  return ret(n);
}

ENCLOS_EXPORT("mkd") int32_t mkd(const char *p, size_t pl) {
  return mkdir(cstr(p, pl), 0777) == 0 ? 0 : -errno;
}
ENCLOS_EXPORT("rmd") int32_t rmd(const char *p, size_t pl) {
  return rmdir(cstr(p, pl)) == 0 ? 0 : -errno;
}
ENCLOS_EXPORT("rm") int32_t rm(const char *p, size_t pl) {
  return unlink(cstr(p, pl)) == 0 ? 0 : -errno;
}
ENCLOS_EXPORT("mv") int32_t mv(const char *a, size_t al, const char *b, size_t bl) {
  return rename(cstr(a, al), cstr(b, bl)) == 0 ? 0 : -errno;
}
ENCLOS_EXPORT("size") int32_t size(const char *p, size_t pl) {
  struct stat st;
  if (stat(cstr(p, pl), &st) != 0) return -errno;
  return S_ISDIR(st.st_mode) ? -1 : (int32_t)st.st_size;
}

/* Appends with O_APPEND twice, seeks, overwrites in the middle, truncates. */
ENCLOS_EXPORT("edit") int32_t edit(void) {
  int fd = open("/data/edit.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0666);
  if (fd < 0) return -errno;
  if (write(fd, "hello ", 6) != 6 || write(fd, "world", 5) != 5) return -1;
  close(fd);
  fd = open("/data/edit.txt", O_RDWR);
  if (fd < 0) return -errno;
  if (lseek(fd, 6, SEEK_SET) != 6 || write(fd, "WORLD", 5) != 5) return -2;
  if (ftruncate(fd, 9) != 0) return -3;
  close(fd);
  return 0;
}

/* Paths that must not leave /data. Returns a bitmask of the opens that succeeded. */
ENCLOS_EXPORT("escape") int32_t escape(void) {
  static const char *const paths[] = {"/data/../etc/passwd", "/etc/passwd", "../x", "/data/../../x",
                                      "/tmp/x", "x"};
  int32_t mask = 0;
  for (int i = 0; i < 6; i++) {
    FILE *f = fopen(paths[i], "w");
    if (f) {
      mask |= 1 << i;
      fclose(f);
    }
  }
  return mask;
}

/* Opens descriptors without closing them; returns the last one. */
ENCLOS_EXPORT("leakfds") int32_t leakfds(void) {
  int fd = -1;
  for (int i = 0; i < 5; i++) fd = open("/data", O_RDONLY | O_DIRECTORY);
  return fd;
}

ENCLOS_EXPORT("kvset") int32_t kvset(const char *k, size_t kl, const char *v, size_t vl) {
  return enclos_kv_put(k, kl, v, vl);
}
ENCLOS_RETURNS_STRING("kvget")
ENCLOS_EXPORT("kvget") enclos_result *kvget(const char *k, size_t kl) {
  int32_t n = enclos_kv_get(k, kl, out, sizeof(out));
  if (n < 0 || (size_t)n > sizeof(out)) return ret((size_t)snprintf(out, sizeof(out), "ERR:%d", n));
  return ret((size_t)n);
}
ENCLOS_EXPORT("kvdel") int32_t kvdel(const char *k, size_t kl) { return enclos_kv_delete(k, kl); }
/* "name1,name2" */
ENCLOS_RETURNS_STRING("kvls")
ENCLOS_EXPORT("kvls") enclos_result *kvls(const char *p, size_t pl) {
  static unsigned char buf[8192];
  int32_t n = enclos_kv_list(p, pl, buf, sizeof(buf));
  if (n < 0 || (size_t)n > sizeof(buf)) return ret((size_t)snprintf(out, sizeof(out), "ERR:%d", n));
  size_t o = 0;
  for (int32_t i = 0; i + 4 <= n;) {
    uint32_t l = (uint32_t)buf[i] | (uint32_t)buf[i + 1] << 8 | (uint32_t)buf[i + 2] << 16 |
                 (uint32_t)buf[i + 3] << 24;
    i += 4;
    o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s", o ? "," : "", (int)l, buf + i);
    i += (int32_t)l;
  }
  return ret(o);
}
/* A small kv_get buffer: returns the value size without copying. */
ENCLOS_EXPORT("kvsize") int32_t kvsize(const char *k, size_t kl) {
  char one[1];
  return enclos_kv_get(k, kl, one, 0);
}
ENCLOS_EXPORT("kvfault") int32_t kvfault(void) { return enclos_kv_put((const void *)0xfffffff0u, 100, "v", 1); }
int main(void) { return 0; }
