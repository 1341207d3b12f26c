/* fake_provider.c: see fake_provider.h. */
#include "fake_provider.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void put(const char *dir, const char *name, const void *data, size_t size) {
  char tmp[512], path[512];
  snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) _exit(10);
  if (size && write(fd, data, size) != (ssize_t)size) _exit(11);
  close(fd);
  if (rename(tmp, path) != 0) _exit(12);
}

static size_t get(const char *dir, const char *name, uint8_t *buf, size_t cap) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) _exit(13);
  ssize_t n = read(fd, buf, cap);
  close(fd);
  return n > 0 ? (size_t)n : 0;
}

/* Answers one read of the FIFO \p out in \p dir. */
static void answer(const fake_provider *fp, const char *dir, const char *inname, const char *out) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, out);
  int fd = open(path, O_WRONLY); /* blocks until the producer opens it for reading */
  if (fd < 0) _exit(14);
  uint8_t rd[64] = {0};
  size_t n = get(dir, inname, rd, sizeof(rd));
  uint8_t *q = malloc(fp->quote_size);
  memcpy(q, fp->quote, fp->quote_size);
  if (n == 64 && !fp->wrong_rd) memcpy(q + fp->rd_offset, rd, 64);
  if (fp->race) put(dir, "generation", "2\n", 2); /* another writer came in */
  if (write(fd, q, fp->quote_size) != (ssize_t)fp->quote_size) _exit(15);
  close(fd);
  free(q);
}

static void serve_tsm(const fake_provider *fp) {
  char seen[16][256];
  int nseen = 0;
  for (int served = 0; served < fp->requests;) {
    DIR *d = opendir(fp->root);
    if (!d) _exit(16);
    struct dirent *e;
    char entry[512] = "";
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      bool old = false;
      for (int i = 0; i < nseen; i++) old |= strcmp(seen[i], e->d_name) == 0;
      if (!old && nseen < 16) {
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", e->d_name);
        snprintf(entry, sizeof(entry), "%s/%s", fp->root, e->d_name);
        break;
      }
    }
    closedir(d);
    if (!entry[0]) {
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
      continue;
    }
    char fifo[600];
    snprintf(fifo, sizeof(fifo), "%s/outblob", entry);
    put(entry, "generation", "1\n", 2);
    put(entry, "inblob", "", 0);
    if (mkfifo(fifo, 0600) != 0) _exit(17);
    put(entry, "provider", fp->provider, strlen(fp->provider)); /* last: the producer waits for it */
    served++;
    if (served > fp->probes) answer(fp, entry, "inblob", "outblob");
  }
}

pid_t fake_provider_start(const fake_provider *fp) {
  if (!fp->provider) {
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s/quote", fp->root);
    put(fp->root, "user_report_data", "", 0);
    if (mkfifo(fifo, 0600) != 0) return -1;
  }
  pid_t pid = fork();
  if (pid != 0) return pid;
  alarm(10); /* never outlive a failed test */
  if (fp->provider) {
    serve_tsm(fp);
  } else {
    for (int i = 0; i < fp->requests; i++) answer(fp, fp->root, "user_report_data", "quote");
  }
  _exit(0);
}

bool fake_provider_wait(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid) return false;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
