/* cmd_attest.c: `enclos attest https://HOST:PORT [--policy FILE.json] [--nonce] [--json]
 * [--collateral DIR]... [--fetch [--cache DIR]]`.
 * Connects, verifies the peer's RA-TLS chain (and with --nonce, fresh evidence bound to this
 * TLS session), applies the policy, prints what was attested. Exit 0 only when all holds. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/ratls.h>
#include <enclos/time.h>
#include <enclos/tls.h>
#include <enclos/verify.h>

#include "cli_int.h"

#define ATTEST_MAX_RESPONSE (256u * 1024u)

static int refuse(bool json, const char *what) {
  if (json)
    printf("{\"ok\":false,\"reason\":\"%s: %s\"}\n", what, enclos_err_detail());
  fprintf(stderr, "enclos attest: REFUSED: %s: %s\n", what, enclos_err_detail());
  return CLI_EXIT_FAIL;
}

/* Fetches fresh evidence over the established session; the body is appended to \p body. */
static enclos_err fetch_fresh(enclos_tls_conn *c, const char *host, const uint8_t *nonce, size_t n,
                              enclos_buf *body) {
  char hex[2 * 64 + 1];
  enclos_hex_encode_to(hex, nonce, n);
  enclos_buf req = ENCLOS_BUF_INIT, resp = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_buf_printf(&req, "GET %s?nonce=%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                                 ENCLOS_RATLS_FRESH_PATH, hex, host));
  ENCLOS_GUARD(enclos_tls_write(c, req.data, req.len));
  uint8_t chunk[4096];
  for (;;) {
    size_t got;
    ENCLOS_GUARD(enclos_tls_read(c, chunk, sizeof(chunk), &got));
    if (got == 0) break;
    ENCLOS_GUARD_ENSUREF(resp.len + got <= ATTEST_MAX_RESPONSE, ENCLOS_E_LIMIT, "attestation response too large");
    ENCLOS_GUARD(enclos_buf_append(&resp, chunk, got));
  }
  const char *s;
  ENCLOS_GUARD(enclos_buf_cstr(&resp, &s));
  ENCLOS_GUARD_ENSUREF(strncmp(s, "HTTP/1.1 200", 12) == 0, ENCLOS_E_PROTOCOL,
                       "server did not return fresh evidence: %.60s", s);
  const char *end = strstr(s, "\r\n\r\n");
  ENCLOS_GUARD_ENSUREF(end != NULL, ENCLOS_E_PROTOCOL, "malformed HTTP response");
  size_t off = (size_t)(end + 4 - s);
  ENCLOS_GUARD(enclos_buf_append(body, resp.data + off, resp.len - off));
cleanup:
  enclos_buf_free(&req);
  enclos_buf_free(&resp);
  return rc;
}

static void hexline(const char *label, const uint8_t *p, size_t n) {
  char h[2 * 64 + 1];
  enclos_hex_encode_to(h, p, n);
  printf("  %-18s %s\n", label, h);
}

static void print_result(const enclos_verify_result *r, bool fresh, bool json) {
  char m[2 * ENCLOS_MEASUREMENT_MAX + 1], pk[2 * ENCLOS_HASH_MAX_SIZE + 1], cr[65] = "", ac[65] = "";
  enclos_hex_encode_to(m, r->measurement, r->measurement_size);
  enclos_hex_encode_to(pk, r->claims.pubkey_hash, enclos_hash_size(r->claims.pubkey_alg));
  if (r->claims.has_config_root) enclos_hex_encode_to(cr, r->claims.config_root, 32);
  if (r->claims.has_app) enclos_hex_encode_to(ac, r->claims.app_code_hash, 32);
  if (json) {
    printf("{\"ok\":true,\"tee\":\"%s\",\"format\":\"%s\",\"measurement\":\"%s\",\"tcb_status\":\"%s\","
           "\"fresh\":%s,\"claims\":{\"pubkey_hash\":\"%s\",\"config_root\":\"%s\"",
           enclos_tee_kind_name(r->tee), enclos_evidence_format_name(r->format), m, r->tcb_status,
           fresh ? "true" : "false", pk, cr);
    if (r->claims.has_app) printf(",\"app\":{\"name\":\"%s\",\"code_hash\":\"%s\"}", r->claims.app_name, ac);
    printf("}}\n");
    return;
  }
  char nb[21], na[21];
  enclos_time_format(r->not_before, nb);
  enclos_time_format(r->not_after, na);
  printf("RA-TLS peer verified%s\n", fresh ? " (fresh evidence bound to this TLS session)" : "");
  printf("  %-18s %s%s\n", "TEE", enclos_tee_kind_name(r->tee),
         r->tee == ENCLOS_TEE_SIM ? "  (SIMULATED: proves nothing about hardware)" : "");
  printf("  %-18s %s\n", "evidence format", enclos_evidence_format_name(r->format));
  printf("  %-18s %s\n", "measurement", m);
  if (r->tcb_status[0]) printf("  %-18s %s\n", "TCB status", r->tcb_status);
  printf("  %-18s %s .. %s\n", "leaf valid", nb, na);
  printf("claims (report data = %s(claims))\n", enclos_hash_name(r->rd_alg));
  printf("  %-18s %s\n", "pubkey-hash", pk);
  if (r->claims.has_config_root) printf("  %-18s %s\n", "config-root", cr);
  if (r->claims.has_app) {
    printf("  %-18s %s\n", "app name", r->claims.app_name);
    printf("  %-18s %s\n", "app code-hash", ac);
    hexline("app config-root", r->claims.app_config_root, 32);
  }
  if (r->claims.has_nonce) hexline("nonce", r->claims.nonce, r->claims.nonce_size);
  if (r->claims.has_tls_exporter) hexline("tls-exporter", r->claims.tls_exporter, r->claims.tls_exporter_size);
  printf("policy: satisfied\n");
}

int cli_cmd_attest(int argc, char **argv) {
  static const char usage[] =
      "usage: enclos attest https://HOST:PORT [--policy FILE.json] [--nonce] [--json] " CLI_HW_USAGE;
  const char *url = NULL, *policy_path = NULL, *roots_path = NULL;
  bool want_nonce = false, json = false;
  cli_hw_source hw = {0};
  for (int i = 1; i < argc; i++) {
    int h = cli_hw_source_arg(&hw, argc, argv, &i);
    if (h < 0) return cli_usage_error("attest", "%s", usage);
    if (h > 0) continue;
    if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) policy_path = argv[++i];
    else if (strcmp(argv[i], "--roots") == 0 && i + 1 < argc) roots_path = argv[++i];
    else if (strcmp(argv[i], "--nonce") == 0) want_nonce = true;
    else if (strcmp(argv[i], "--json") == 0) json = true;
    else if (!url && strncmp(argv[i], "https://", 8) == 0) url = argv[i];
    else return cli_usage_error("attest", "%s", usage);
  }
  if (!url) return cli_usage_error("attest", "%s", usage);
  char host[256], port[16];
  const char *hp = url + 8, *colon = strrchr(hp, ':');
  size_t hl = colon ? (size_t)(colon - hp) : strcspn(hp, "/");
  if (hl == 0 || hl >= sizeof(host)) return cli_usage_error("attest", "bad URL '%s'", url);
  memcpy(host, hp, hl);
  host[hl] = '\0';
  snprintf(port, sizeof(port), "%.*s", colon ? (int)strcspn(colon + 1, "/") : 3, colon ? colon + 1 : "443");

  enclos_policy *policy = NULL;
  enclos_err rc = policy_path ? enclos_policy_load(policy_path, &policy) : enclos_policy_parse("{}", 2, &policy);
  if (rc != ENCLOS_OK) return refuse(json, "policy");
  int status = CLI_EXIT_FAIL;
  enclos_tls_ctx *ctx = NULL;
  enclos_tls_conn *conn = NULL;
  enclos_x509 **chain = NULL;
  size_t n = 0;
  enclos_buf body = ENCLOS_BUF_INIT;
  enclos_x509 **roots = NULL;
  size_t nroots = 0;
  int fd = -1;
  if (roots_path) { /* operator roots (PEM bundle); without them the leaf must be self-signed */
    FILE *f = fopen(roots_path, "rb");
    enclos_buf pem = ENCLOS_BUF_INIT;
    uint8_t chunk[4096];
    size_t k;
    bool ok = f != NULL;
    while (ok && (k = fread(chunk, 1, sizeof(chunk), f)) > 0)
      ok = pem.len + k <= ATTEST_MAX_RESPONSE && enclos_buf_append(&pem, chunk, k) == ENCLOS_OK;
    if (f) fclose(f);
    ok = ok && enclos_x509_list_parse(pem.data, pem.len, &roots, &nroots) == ENCLOS_OK;
    enclos_buf_free(&pem);
    if (!ok) {
      status = refuse(json, "roots");
      goto done;
    }
  }
  fd = cli_dial(host, port);
  if (fd < 0) {
    fprintf(stderr, "enclos attest: cannot connect to %s:%s\n", host, port);
    goto done;
  }
  if (enclos_tls_client_ctx(&ctx) != ENCLOS_OK || enclos_tls_connect(ctx, fd, host, &conn) != ENCLOS_OK) {
    status = refuse(json, "TLS");
    goto done;
  }
  if (enclos_tls_peer_chain(conn, &chain, &n) != ENCLOS_OK) {
    status = refuse(json, "peer certificate");
    goto done;
  }
  enclos_verify_opts vo = {.policy = policy, .roots = roots, .n_roots = nroots};
  if (cli_hw_source_apply(&hw, &vo, enclos_time_now()) != ENCLOS_OK) {
    status = refuse(json, "collateral");
    goto done;
  }
  enclos_verify_result r;
  if (enclos_verify_chain(chain, n, &vo, &r) != ENCLOS_OK) {
    status = refuse(json, "certificate evidence");
    goto done;
  }
  if (want_nonce) {
    uint8_t nonce[32], exporter[ENCLOS_TLS_EXPORTER_SIZE];
    if (enclos_random(nonce, sizeof(nonce)) != ENCLOS_OK ||
        enclos_tls_exporter(conn, ENCLOS_TLS_EXPORTER_LABEL, exporter, sizeof(exporter)) != ENCLOS_OK ||
        fetch_fresh(conn, host, nonce, sizeof(nonce), &body) != ENCLOS_OK) {
      status = refuse(json, "fresh evidence");
      goto done;
    }
    vo.nonce = nonce;
    vo.nonce_size = sizeof(nonce);
    vo.tls_exporter = exporter;
    vo.tls_exporter_size = sizeof(exporter);
    enclos_verify_result fr;
    if (enclos_verify_fresh(body.data, body.len, chain[0], &vo, &fr) != ENCLOS_OK) {
      status = refuse(json, "fresh evidence");
      goto done;
    }
    fr.not_before = r.not_before;
    fr.not_after = r.not_after;
    print_result(&fr, true, json);
  } else {
    print_result(&r, false, json);
  }
  status = CLI_EXIT_OK;
done:
  if (roots) enclos_x509_list_free(roots, nroots);
  enclos_buf_free(&body);
  if (chain) enclos_x509_list_free(chain, n);
  enclos_tls_conn_free(conn);
  enclos_tls_ctx_free(ctx);
  if (fd >= 0) close(fd);
  enclos_policy_free(policy);
  cli_hw_source_free(&hw);
  return status;
}
