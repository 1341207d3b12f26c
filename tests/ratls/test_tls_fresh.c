/* Freshness bound to the TLS session, over real TLS 1.3 connections on socket pairs: evidence
 * made on one connection verifies there and is refused on another (different exporter). */
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <enclos/ratls.h>
#include <enclos/tls.h>
#include <enclos/verify.h>

#include "test.h"

static void server(int fds[2], const char *state) {
  enclos_tee_config cfg = {.sim_state_dir = state};
  enclos_tee *t;
  enclos_pkey *k;
  enclos_x509 *leaf;
  enclos_tls_ctx *ctx;
  enclos_ratls_leaf_opts o = {0};
  if (enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &t) || enclos_ratls_mint_leaf(t, &o, NULL, NULL, &k, &leaf) ||
      enclos_tls_server_ctx(k, &leaf, 1, &ctx))
    _exit(3);
  for (int i = 0; i < 2; i++) {
    enclos_tls_conn *c;
    uint8_t nonce[16];
    size_t got = 0, g;
    if (enclos_tls_accept(ctx, fds[i], &c)) _exit(4);
    while (got < 16 && enclos_tls_read(c, nonce + got, 16 - got, &g) == ENCLOS_OK && g) got += g;
    enclos_buf ext = ENCLOS_BUF_INIT;
    if (got != 16 || enclos_ratls_fresh_evidence(t, c, leaf, nonce, 16, NULL, &ext)) _exit(5);
    uint8_t len[4] = {(uint8_t)ext.len, (uint8_t)(ext.len >> 8), (uint8_t)(ext.len >> 16), 0};
    if (enclos_tls_write(c, len, 4) || enclos_tls_write(c, ext.data, ext.len)) _exit(6);
    enclos_buf_free(&ext);
    enclos_tls_conn_free(c);
  }
  _exit(0);
}

static void read_all(enclos_tls_conn *c, enclos_buf *out) {
  uint8_t chunk[4096];
  size_t g;
  while (enclos_tls_read(c, chunk, sizeof(chunk), &g) == ENCLOS_OK && g) CHECK_OK(enclos_buf_append(out, chunk, g));
}

TEST(fresh_evidence_replayed_on_another_tls_session_is_refused) {
  int a[2], b[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
  char state[512];
  snprintf(state, sizeof(state), "%s/sim", test_tmpdir());
  pid_t pid = fork();
  if (pid == 0) {
    int fds[2] = {a[1], b[1]};
    server(fds, state);
  }
  enclos_tls_ctx *ctx;
  CHECK_OK(enclos_tls_client_ctx(&ctx));
  enclos_tls_conn *ca, *cb;
  CHECK_OK(enclos_tls_connect(ctx, a[0], "localhost", &ca));
  uint8_t nonce[16] = {1, 2, 3, 4}, ea[32], eb[32];
  CHECK_OK(enclos_tls_write(ca, nonce, 16));
  enclos_buf ra = ENCLOS_BUF_INIT, rb = ENCLOS_BUF_INIT;
  read_all(ca, &ra);
  CHECK_OK(enclos_tls_exporter(ca, ENCLOS_TLS_EXPORTER_LABEL, ea, 32));
  enclos_x509 **chain;
  size_t n;
  CHECK_OK(enclos_tls_peer_chain(ca, &chain, &n));
  CHECK_OK(enclos_tls_connect(ctx, b[0], "localhost", &cb));
  CHECK_OK(enclos_tls_write(cb, nonce, 16));
  read_all(cb, &rb);
  CHECK_OK(enclos_tls_exporter(cb, ENCLOS_TLS_EXPORTER_LABEL, eb, 32));
  CHECK(memcmp(ea, eb, 32) != 0);
  CHECK(ra.len > 4 && rb.len > 4);
  enclos_policy *p;
  CHECK_OK(enclos_policy_parse("{\"allow_sim\": true}", 19, &p));
  enclos_verify_opts vo = {.policy = p, .nonce = nonce, .nonce_size = 16, .tls_exporter = ea, .tls_exporter_size = 32};
  enclos_verify_result r;
  CHECK_OK(enclos_verify_chain(chain, n, &vo, &r));
  CHECK_OK(enclos_verify_fresh(ra.data + 4, ra.len - 4, chain[0], &vo, &r));
  /* A's evidence presented on connection B */
  vo.tls_exporter = eb;
  CHECK_ERR(enclos_verify_fresh(ra.data + 4, ra.len - 4, chain[0], &vo, &r), ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "another TLS session");
  CHECK_OK(enclos_verify_fresh(rb.data + 4, rb.len - 4, chain[0], &vo, &r));
  enclos_policy_free(p);
  enclos_x509_list_free(chain, n);
  enclos_buf_free(&ra);
  enclos_buf_free(&rb);
  enclos_tls_conn_free(ca);
  enclos_tls_conn_free(cb);
  enclos_tls_ctx_free(ctx);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
