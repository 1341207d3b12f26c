/* Sealed store: crash safety (issue 7, acceptance 1).
 *
 * A writer child does acknowledged writes: it reports each key on a pipe only AFTER the commit
 * returned OK. The parent SIGKILLs it at a random moment: in one iteration of four 0..25 ms
 * after the start (during open, the anchor's catch-up or the first commits), in the others
 * 0..20 ms after the writer's first acknowledgement (mid-stream, usually mid-commit, with
 * acknowledged writes behind it; open alone can take longer than 25 ms under ASan). It reopens the store with the full set-digest verification and
 * the rollback check, and checks that every acknowledged write is present and intact.
 * Iterations: ENCLOS_STORE_CRASH_ITERS (default 200); seed: ENCLOS_STORE_CRASH_SEED.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_test.h"

#define CRASH_MAX_ACKS 4096

static void value_for(const char *key, char *out, size_t size) {
  /* Small values, derived from the key so the parent can check them. */
  snprintf(out, size, "value-of-%s-%08x", key, (unsigned)(strlen(key) * 2654435761u));
}

static void writer(const char *dir, int iter, int fd) {
  enclos_store *s = NULL;
  enclos_store_opts o = store_test_opts(dir);
  enclos_store_table *sys = NULL, *app = NULL;
  if (enclos_store_open(dir, &o, &s) != ENCLOS_OK) _exit(3);
  if (enclos_store_system(s, &sys) != ENCLOS_OK) _exit(4);
  if (enclos_store_app_table(s, "crash", &app) != ENCLOS_OK) _exit(5);
  for (int i = 0;; i++) {
    char key[64], key2[64], val[128], val2[128], line[160];
    snprintf(key, sizeof(key), "i%d-k%d", iter, i);
    value_for(key, val, sizeof(val));
    enclos_err rc;
    if (i % 5 == 4) {
      /* A batch: both writes or neither. */
      enclos_store_txn *x = NULL;
      snprintf(key2, sizeof(key2), "i%d-k%d-b", iter, i);
      value_for(key2, val2, sizeof(val2));
      rc = enclos_store_begin(s, true, &x);
      if (rc == ENCLOS_OK) rc = enclos_store_put(s, x, sys, key, strlen(key), val, strlen(val));
      if (rc == ENCLOS_OK) rc = enclos_store_put(s, x, app, key2, strlen(key2), val2, strlen(val2));
      if (rc == ENCLOS_OK) rc = enclos_store_commit(x);
      else enclos_store_abort(x);
      if (rc != ENCLOS_OK) _exit(6);
      snprintf(line, sizeof(line), "S %s\nA %s\n", key, key2);
    } else {
      enclos_store_table *t = i % 2 ? app : sys;
      rc = enclos_store_put(s, NULL, t, key, strlen(key), val, strlen(val));
      if (rc != ENCLOS_OK) _exit(7);
      snprintf(line, sizeof(line), "%c %s\n", t == app ? 'A' : 'S', key);
    }
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) _exit(8);
  }
}

TEST(crash_sigkill_writer_loses_no_acknowledged_write) {
  const char *env = getenv("ENCLOS_STORE_CRASH_ITERS");
  const char *seed_env = getenv("ENCLOS_STORE_CRASH_SEED");
  int iters = env ? atoi(env) : 200;
  unsigned seed = seed_env ? (unsigned)atoi(seed_env) : (unsigned)time(NULL);
  srand(seed);
  const char *dir = store_test_dir("crash");
  enclos_store *s = store_test_open(dir);
  CHECK_OK(enclos_store_app_create(s, "crash", 0));
  enclos_store_close(s);
  static char acks[CRASH_MAX_ACKS][72];
  int total_acks = 0, killed_early = 0;
  for (int it = 0; it < iters; it++) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      close(p[0]);
      writer(dir, it, p[1]);
      _exit(0);
    }
    close(p[1]);
    static char buf[1 << 20];
    size_t got = 0;
    ssize_t r;
    if (it % 4 != 0) {
      /* Wait (at most 10 s) for the first acknowledgement, keeping what was read. */
      struct pollfd pf = {p[0], POLLIN, 0};
      if (poll(&pf, 1, 10000) == 1 && (r = read(p[0], buf, sizeof(buf) - 1)) > 0)
        got = (size_t)r;
    }
    struct timespec ts = {0, (long)(rand() % (it % 4 ? 20000 : 25000)) * 1000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status), "writer exited on its own with status %d (seed %u)",
              WEXITSTATUS(status), seed);
    /* Collect this iteration's acknowledgements. */
    while ((r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0) got += (size_t)r;
    close(p[0]);
    buf[got] = 0;
    int n = 0;
    char *save = NULL;
    s = store_test_open(dir);
    CHECK_MSG(s != NULL, "store does not reopen after kill in iteration %d (seed %u)", it, seed);
    if (!s) return;
    enclos_store_table *sys = NULL, *app = NULL;
    CHECK_OK(enclos_store_system(s, &sys));
    CHECK_OK(enclos_store_app_table(s, "crash", &app));
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      if (strlen(line) < 3) continue; /* a torn last line cannot happen (atomic pipe writes) */
      char val[128];
      value_for(line + 2, val, sizeof(val));
      store_test_expect(s, line[0] == 'A' ? app : sys, line + 2, val);
      if (total_acks < CRASH_MAX_ACKS) snprintf(acks[total_acks++], sizeof(acks[0]), "%s", line);
      n++;
    }
    if (n == 0) killed_early++;
    enclos_store_close(s);
  }
  /* Finally every acknowledged write of every iteration is still there. */
  s = store_test_open(dir);
  enclos_store_table *sys = NULL, *app = NULL;
  CHECK_OK(enclos_store_system(s, &sys));
  CHECK_OK(enclos_store_app_table(s, "crash", &app));
  for (int i = 0; i < total_acks; i++) {
    char val[128];
    value_for(acks[i] + 2, val, sizeof(val));
    store_test_expect(s, acks[i][0] == 'A' ? app : sys, acks[i] + 2, val);
  }
  enclos_store_status st;
  enclos_store_status_get(s, &st);
  CHECK_EQ_U64(st.version, st.anchor_version);
  enclos_store_close(s);
  fprintf(stderr, "  crash: %d iterations, %d acknowledged writes checked, %d kills before the "
                  "first ack, seed %u\n", iters, total_acks, killed_early, seed);
}
