/* JWKS source: file and URL (a local python3 http.server on 127.0.0.1), caching, refresh,
 * stale-on-failure, invalidation spacing, and the location rules. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/server_auth.h>

#include "test.h"

/* Writes a JWKS with \p nkeys fresh EC keys to \p path. */
static void write_jwks(const char *path, int nkeys) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  fprintf(f, "{\"keys\":[");
  for (int i = 0; i < nkeys; i++) {
    enclos_pkey *k;
    enclos_buf pub = ENCLOS_BUF_INIT, x = ENCLOS_BUF_INIT, y = ENCLOS_BUF_INIT;
    const char *xs, *ys;
    CHECK_OK(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &k));
    CHECK_OK(enclos_pkey_public_raw(k, &pub));
    CHECK_OK(enclos_b64_encode(&x, pub.data, 32, ENCLOS_B64_URL));
    CHECK_OK(enclos_b64_encode(&y, pub.data + 32, 32, ENCLOS_B64_URL));
    CHECK_OK(enclos_buf_cstr(&x, &xs));
    CHECK_OK(enclos_buf_cstr(&y, &ys));
    fprintf(f, "%s{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k%d\",\"x\":\"%s\",\"y\":\"%s\"}",
            i ? "," : "", i, xs, ys);
    enclos_buf_free(&pub);
    enclos_buf_free(&x);
    enclos_buf_free(&y);
    enclos_pkey_free(k);
  }
  fprintf(f, "]}\n");
  fclose(f);
}

TEST(jwks_source_file_cache_and_refresh) {
  char path[512];
  snprintf(path, sizeof(path), "%s/jwks.json", test_tmpdir());
  write_jwks(path, 1);
  enclos_jwks_source *s;
  CHECK_OK(enclos_jwks_source_new(path, 100, &s));
  enclos_jwks *set;
  CHECK_OK(enclos_jwks_source_get(s, 1000, &set));
  CHECK_EQ_INT(enclos_jwks_count(set), 1);
  enclos_jwks_free(set);
  write_jwks(path, 2);
  CHECK_OK(enclos_jwks_source_get(s, 1099, &set)); /* cached */
  CHECK_EQ_INT(enclos_jwks_count(set), 1);
  enclos_jwks_free(set);
  CHECK_EQ_INT(enclos_jwks_source_loads(s), 1);
  CHECK_OK(enclos_jwks_source_get(s, 1100, &set));
  CHECK_EQ_INT(enclos_jwks_count(set), 2); /* refreshed */
  CHECK_EQ_INT(enclos_jwks_source_loads(s), 2);
  /* An invalidation is honoured only ENCLOS_JWKS_MIN_REFETCH after the last fetch. */
  write_jwks(path, 3);
  enclos_jwks_source_invalidate(s);
  enclos_jwks *b;
  CHECK_OK(enclos_jwks_source_get(s, 1100 + ENCLOS_JWKS_MIN_REFETCH - 1, &b));
  CHECK_EQ_INT(enclos_jwks_count(b), 2);
  enclos_jwks_free(b);
  CHECK_OK(enclos_jwks_source_get(s, 1100 + ENCLOS_JWKS_MIN_REFETCH, &b));
  CHECK_EQ_INT(enclos_jwks_count(b), 3);
  enclos_jwks_free(b);
  /* The old set stays valid for its holder after a refresh replaced it. */
  CHECK_EQ_INT(enclos_jwks_count(set), 2);
  enclos_jwks_free(set);
  /* A broken file: the last good set keeps being served. */
  FILE *f = fopen(path, "w");
  fprintf(f, "{");
  fclose(f);
  CHECK_OK(enclos_jwks_source_get(s, 5000, &b));
  CHECK_EQ_INT(enclos_jwks_count(b), 3);
  enclos_jwks_free(b);
  enclos_jwks_source_free(s);
}

TEST(jwks_source_failures_and_rules) {
  char path[512];
  snprintf(path, sizeof(path), "%s/none.json", test_tmpdir());
  enclos_jwks_source *s;
  enclos_jwks *set;
  CHECK_OK(enclos_jwks_source_new(path, 0, &s));
  CHECK_ERR(enclos_jwks_source_get(s, 1000, &set), ENCLOS_E_IO);
  CHECK_ERR(enclos_jwks_source_get(s, 1001, &set), ENCLOS_E_AGAIN); /* no hammering */
  CHECK(set == NULL);
  write_jwks(path, 1);
  CHECK_OK(enclos_jwks_source_get(s, 1000 + ENCLOS_JWKS_MIN_REFETCH, &set));
  enclos_jwks_free(set);
  enclos_jwks_source_free(s);
  CHECK_ERR(enclos_jwks_source_new("http://example.com/jwks", 0, &s), ENCLOS_E_POLICY);
  CHECK_ERR(enclos_jwks_source_new("http://127.0.0.1.evil.com/jwks", 0, &s), ENCLOS_E_POLICY);
  CHECK_ERR(enclos_jwks_source_new("ftp://127.0.0.1/jwks", 0, &s), ENCLOS_E_POLICY);
  CHECK_ERR(enclos_jwks_source_new("", 0, &s), ENCLOS_E_INVAL);
  CHECK_ERR(enclos_jwks_source_new(path, -1, &s), ENCLOS_E_INVAL);
  CHECK_OK(enclos_jwks_source_new("https://idp.example/jwks", 0, &s));
  enclos_jwks_source_free(s);
}

/* Starts python3 -m http.server on 127.0.0.1 serving \p dir; returns its pid and port. */
static pid_t start_server(const char *dir, int *port) {
  for (int attempt = 0; attempt < 20; attempt++) {
    int p = 20000 + (int)((getpid() * 7 + attempt * 131) % 40000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int busy = bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0;
    close(fd);
    if (busy) continue;
    pid_t pid = fork();
    if (pid == 0) {
      char ps[16];
      snprintf(ps, sizeof(ps), "%d", p);
      if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
      execlp("python3", "python3", "-m", "http.server", ps, "--bind", "127.0.0.1", "--directory",
             dir, (char *)NULL);
      _exit(127);
    }
    /* Wait until it accepts connections. */
    for (int i = 0; i < 100; i++) {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
      close(fd);
      if (ok) {
        *port = p;
        return pid;
      }
      usleep(50000);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
  return -1;
}

TEST(jwks_source_url_fetch) {
  const char *dir = test_tmpdir();
  char path[512], url[256];
  snprintf(path, sizeof(path), "%s/jwks.json", dir);
  write_jwks(path, 2);
  snprintf(path, sizeof(path), "%s/big.json", dir);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < ENCLOS_JWKS_MAX_SIZE / 8 + 10; i++) fputs("        ", f);
  fclose(f);
  int port = 0;
  pid_t pid = start_server(dir, &port);
  if (pid < 0) {
    printf("  (python3 http.server unavailable: skipped)\n");
    return;
  }
  enclos_jwks_source *s;
  enclos_jwks *set;
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", port);
  CHECK_OK(enclos_jwks_source_new(url, 60, &s));
  enclos_err rc = enclos_jwks_source_get(s, 1000, &set);
  if (rc == ENCLOS_OK) {
    CHECK_EQ_INT(enclos_jwks_count(set), 2);
    enclos_jwks_free(set);
    snprintf(path, sizeof(path), "%s/jwks.json", dir);
    write_jwks(path, 3);
    CHECK_OK(enclos_jwks_source_get(s, 1060, &set));
    CHECK_EQ_INT(enclos_jwks_count(set), 3);
    enclos_jwks_free(set);
  }
  enclos_jwks_source_free(s);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing.json", port);
  CHECK_OK(enclos_jwks_source_new(url, 60, &s));
  enclos_err miss = enclos_jwks_source_get(s, 1000, &set);
  enclos_jwks_source_free(s);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/big.json", port);
  CHECK_OK(enclos_jwks_source_new(url, 60, &s));
  enclos_err big = enclos_jwks_source_get(s, 1000, &set);
  enclos_jwks_source_free(s);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  CHECK_OK(rc);
  CHECK_ERR(miss, ENCLOS_E_IO);
  CHECK_ERR(big, ENCLOS_E_LIMIT);
}
