/* ratls_test_server: a minimal RA-TLS server for `enclos attest` tests (no `enclos serve` yet).
 * Mints a self-signed sim leaf (with config root and app claims when given), listens on
 * 127.0.0.1 (port 0 = any; the port is printed as "port N"), answers
 * GET /.well-known/enclos/attestation?nonce=HEX with fresh evidence bound to the connection,
 * anything else with a greeting, and exits after --conns connections (default 8). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <enclos/encoding.h>
#include <enclos/ratls.h>
#include <enclos/tls.h>

static uint8_t root[32], code[32], appconf[32];

static void die(const char *what) {
  fprintf(stderr, "ratls_test_server: %s: %s (%s)\n", what, enclos_err_detail(), enclos_err_where());
  exit(1);
}

static void serve(enclos_tee *tee, enclos_tls_conn *c, const enclos_x509 *leaf, bool has_root) {
  char req[4096];
  size_t have = 0, got;
  while (have < sizeof(req) - 1) {
    if (enclos_tls_read(c, req + have, sizeof(req) - 1 - have, &got) != ENCLOS_OK || got == 0) return;
    have += got;
    req[have] = '\0';
    if (strstr(req, "\r\n\r\n")) break;
  }
  const char *prefix = "GET " ENCLOS_RATLS_FRESH_PATH "?nonce=";
  enclos_buf body = ENCLOS_BUF_INIT, resp = ENCLOS_BUF_INIT;
  const char *type = "text/plain";
  int status = 200;
  if (strncmp(req, prefix, strlen(prefix)) == 0) {
    const char *h = req + strlen(prefix);
    size_t n = strcspn(h, " &\r\n");
    enclos_buf nonce = ENCLOS_BUF_INIT;
    if (enclos_hex_decode(&nonce, h, n) == ENCLOS_OK &&
        enclos_ratls_fresh_evidence(tee, c, leaf, nonce.data, nonce.len, has_root ? root : NULL, &body) ==
            ENCLOS_OK) {
      type = "application/cbor";
    } else {
      status = 400;
      enclos_buf_reset(&body);
      (void)enclos_buf_printf(&body, "bad request: %s\n", enclos_err_detail());
    }
    enclos_buf_free(&nonce);
  } else {
    (void)enclos_buf_printf(&body, "hello from the enclos RA-TLS test server\n");
  }
  if (enclos_buf_printf(&resp, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                        status, status == 200 ? "OK" : "Bad Request", type, body.len) == ENCLOS_OK &&
      enclos_buf_append(&resp, body.data, body.len) == ENCLOS_OK)
    (void)enclos_tls_write(c, resp.data, resp.len);
  enclos_buf_free(&body);
  enclos_buf_free(&resp);
}

int main(int argc, char **argv) {
  const char *state = NULL, *app = NULL, *csr_out = NULL;
  bool has_root = false, has_code = false;
  int conns = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--state") == 0) state = v;
    else if (strcmp(k, "--config-root") == 0) has_root = enclos_hex_decode_to(root, 32, v, strlen(v)) == ENCLOS_OK;
    else if (strcmp(k, "--app") == 0) app = v;
    else if (strcmp(k, "--code-hash") == 0) has_code = enclos_hex_decode_to(code, 32, v, strlen(v)) == ENCLOS_OK;
    else if (strcmp(k, "--conns") == 0) conns = atoi(v);
    else if (strcmp(k, "--csr") == 0) csr_out = v;
    else {
      fprintf(stderr, "usage: ratls_test_server --state DIR [--config-root HEX] [--app NAME --code-hash HEX] [--conns N]\n");
      return 2;
    }
  }
  alarm(120); /* a test server never outlives its test */
  enclos_tee_config cfg = {.sim_state_dir = state};
  enclos_tee *tee;
  if (enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &tee) != ENCLOS_OK) die("sim TEE");
  if (csr_out) { /* the intermediate-CA request the runtime makes, for `enclos ca sign` tests */
    enclos_pkey *ik;
    enclos_buf csr = ENCLOS_BUF_INIT;
    if (enclos_ratls_ca_request(tee, has_root ? root : NULL, &ik, &csr) != ENCLOS_OK) die("CA request");
    FILE *f = fopen(csr_out, "wb");
    if (!f || fwrite(csr.data, 1, csr.len, f) != csr.len || fclose(f) != 0) die("writing the CSR");
    enclos_pkey_free(ik);
    enclos_buf_free(&csr);
    enclos_tee_free(tee);
    return 0;
  }
  enclos_ratls_leaf_opts o = {.cn = "localhost", .config_root = has_root ? root : NULL};
  if (app && has_code) {
    o.app_name = app;
    o.app_code_hash = code;
    o.app_config_root = appconf;
  }
  enclos_pkey *key;
  enclos_x509 *leaf;
  if (enclos_ratls_mint_leaf(tee, &o, NULL, NULL, &key, &leaf) != ENCLOS_OK) die("minting the leaf");
  enclos_tls_ctx *ctx;
  if (enclos_tls_server_ctx(key, &leaf, 1, &ctx) != ENCLOS_OK) die("TLS context");
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 8) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &al) != 0) {
    perror("listen");
    return 1;
  }
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  for (int i = 0; i < conns; i++) {
    int fd = accept(s, NULL, NULL);
    if (fd < 0) continue;
    enclos_tls_conn *c;
    if (enclos_tls_accept(ctx, fd, &c) == ENCLOS_OK) {
      serve(tee, c, leaf, has_root);
      enclos_tls_conn_free(c);
    }
    close(fd);
  }
  close(s);
  enclos_tls_ctx_free(ctx);
  enclos_x509_free(leaf);
  enclos_pkey_free(key);
  enclos_tee_free(tee);
  return 0;
}
