/* cmd_client.c: the clients of `enclos serve` (docs/server.md, "Commands"):
 *   enclos deploy https://HOST:PORT NAME app.wasm [--manifest M.json]
 *   enclos call   https://HOST:PORT NAME EXPORT [JSON-ARG...]
 *   enclos apps   https://HOST:PORT [NAME | --delete NAME]
 * each with [--policy FILE.json] [--roots ROOTS.pem] [--token TOKEN | --token-file FILE] [--json].
 *
 * Nothing is sent before the server's RA-TLS certificate has been verified against the
 * policy (the same verifier as `enclos attest`). `call` asks for the app's own identity by
 * SNI and refuses a certificate that does not name that app, so the code hash the verdict
 * prints is the code that answers. The token also comes from $ENCLOS_TOKEN. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/tls.h>
#include <enclos/verify.h>

#include "cli_int.h"

#define CLIENT_MAX_RESPONSE (64u << 20)
#define CLIENT_MAX_FILE (16u << 20)

typedef struct client_opts {
  const char *cmd;
  const char *url;
  const char *policy;
  const char *roots;  /* PEM bundle of operator roots; none: self-signed leaves */
  const char *token;
  bool json;
} client_opts;

typedef struct client_conn {
  int fd;
  enclos_tls_ctx *ctx;
  enclos_tls_conn *conn;
  enclos_x509 **chain;
  size_t n;
  enclos_verify_result vr;
  char host[256], port[16];
} client_conn;

static int failmsg(const client_opts *o, const char *what) {
  fprintf(stderr, "enclos %s: REFUSED: %s: %s\n", o->cmd, what, enclos_err_detail());
  return CLI_EXIT_FAIL;
}

static bool parse_url(const char *url, client_conn *c) {
  if (strncmp(url, "https://", 8) != 0) return false;
  const char *hp = url + 8;
  size_t end = strcspn(hp, "/");
  const char *colon = memchr(hp, ':', end);
  size_t hl = colon ? (size_t)(colon - hp) : end;
  if (hl == 0 || hl >= sizeof(c->host)) return false;
  memcpy(c->host, hp, hl);
  c->host[hl] = '\0';
  if (colon) {
    size_t pl = end - hl - 1;
    if (pl == 0 || pl >= sizeof(c->port)) return false;
    memcpy(c->port, colon + 1, pl);
    c->port[pl] = '\0';
  } else {
    snprintf(c->port, sizeof(c->port), "443");
  }
  return true;
}

static void conn_free(client_conn *c) {
  if (c->chain) enclos_x509_list_free(c->chain, c->n);
  enclos_tls_conn_free(c->conn);
  enclos_tls_ctx_free(c->ctx);
  if (c->fd >= 0) close(c->fd);
}

/* Connects with SNI \p sni (NULL: the URL's host), verifies the RA-TLS chain against the
 * policy. Returns CLI_EXIT_OK or prints why not. */
static int connect_verified(const client_opts *o, const char *sni, client_conn *c) {
  memset(c, 0, sizeof(*c));
  c->fd = -1;
  if (!parse_url(o->url, c)) return cli_usage_error(o->cmd, "bad URL '%s' (https://HOST:PORT)", o->url);
  enclos_policy *policy = NULL;
  enclos_err rc = o->policy ? enclos_policy_load(o->policy, &policy) : enclos_policy_parse("{}", 2, &policy);
  if (rc != ENCLOS_OK) return failmsg(o, "policy");
  int st = CLI_EXIT_FAIL;
  enclos_x509 **roots = NULL;
  size_t nroots = 0;
  if (o->roots) {
    enclos_buf pem = ENCLOS_BUF_INIT;
    bool ok = cli_read_file(o->roots, CLIENT_MAX_FILE, &pem) &&
              enclos_x509_list_parse(pem.data, pem.len, &roots, &nroots) == ENCLOS_OK;
    enclos_buf_free(&pem);
    if (!ok) {
      st = failmsg(o, "roots");
      goto done;
    }
  }
  c->fd = cli_dial(c->host, c->port);
  if (c->fd < 0) {
    fprintf(stderr, "enclos %s: cannot connect to %s:%s\n", o->cmd, c->host, c->port);
    goto done;
  }
  if (enclos_tls_client_ctx(&c->ctx) != ENCLOS_OK || enclos_tls_connect(c->ctx, c->fd, sni ? sni : c->host, &c->conn) != ENCLOS_OK) {
    st = failmsg(o, "TLS");
    goto done;
  }
  if (enclos_tls_peer_chain(c->conn, &c->chain, &c->n) != ENCLOS_OK) {
    st = failmsg(o, "peer certificate");
    goto done;
  }
  enclos_verify_opts vo = {.policy = policy, .roots = roots, .n_roots = nroots};
  if (enclos_verify_chain(c->chain, c->n, &vo, &c->vr) != ENCLOS_OK) {
    st = failmsg(o, "attestation");
    goto done;
  }
  st = CLI_EXIT_OK;
done:
  if (roots) enclos_x509_list_free(roots, nroots);
  enclos_policy_free(policy);
  return st;
}

static void print_verdict(const client_opts *o, const client_conn *c) {
  char m[17] = "", code[65] = "", root[65] = "";
  enclos_hex_encode_to(m, c->vr.measurement, c->vr.measurement_size < 8 ? c->vr.measurement_size : 8);
  if (c->vr.claims.has_app) enclos_hex_encode_to(code, c->vr.claims.app_code_hash, 32);
  if (c->vr.claims.has_config_root) enclos_hex_encode_to(root, c->vr.claims.config_root, 32);
  fprintf(stderr, "enclos %s: attested %s:%s: tee %s%s, measurement %s…", o->cmd, c->host, c->port,
          enclos_tee_kind_name(c->vr.tee), c->vr.tee == ENCLOS_TEE_SIM ? " (SIMULATED)" : "", m);
  if (c->vr.claims.has_app) fprintf(stderr, ", app %s code-hash %s", c->vr.claims.app_name, code);
  else if (root[0]) fprintf(stderr, ", config-root %s", root);
  fprintf(stderr, "\n");
}

/* Sends one request (Connection: close) and reads the whole response. */
static enclos_err exchange(client_conn *c, const client_opts *o, const char *method, const char *path,
                           const char *ctype, const void *body, size_t len, int *status, enclos_buf *resp_body) {
  enclos_buf req = ENCLOS_BUF_INIT, resp = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\nContent-Length: %zu\r\n",
                                 method, path, c->host, c->port, len));
  if (ctype) ENCLOS_GUARD(enclos_buf_printf(&req, "Content-Type: %s\r\n", ctype));
  if (o->token) ENCLOS_GUARD(enclos_buf_printf(&req, "Authorization: Bearer %s\r\n", o->token));
  ENCLOS_GUARD(enclos_buf_append_str(&req, "\r\n"));
  if (len) ENCLOS_GUARD(enclos_buf_append(&req, body, len));
  ENCLOS_GUARD(enclos_tls_write(c->conn, req.data, req.len));
  uint8_t chunk[16384];
  for (;;) {
    size_t got;
    ENCLOS_GUARD(enclos_tls_read(c->conn, chunk, sizeof(chunk), &got));
    if (got == 0) break;
    ENCLOS_GUARD_ENSUREF(resp.len + got <= CLIENT_MAX_RESPONSE, ENCLOS_E_LIMIT, "response larger than %u bytes",
                         CLIENT_MAX_RESPONSE);
    ENCLOS_GUARD(enclos_buf_append(&resp, chunk, got));
  }
  const char *s;
  ENCLOS_GUARD(enclos_buf_cstr(&resp, &s));
  ENCLOS_GUARD_ENSUREF(resp.len >= 12 && strncmp(s, "HTTP/1.", 7) == 0, ENCLOS_E_PROTOCOL,
                       "not an HTTP response: %.40s", s);
  *status = atoi(s + 9);
  const char *end = strstr(s, "\r\n\r\n");
  ENCLOS_GUARD_ENSUREF(end != NULL, ENCLOS_E_PROTOCOL, "HTTP response without a header section end");
  size_t off = (size_t)(end + 4 - s);
  ENCLOS_GUARD(enclos_buf_append(resp_body, resp.data + off, resp.len - off));
cleanup:
  enclos_buf_free(&req);
  enclos_buf_free(&resp);
  return rc;
}

/* Prints the body; for an error status, the server's JSON error on stderr. */
static int finish(const client_opts *o, int status, const enclos_buf *body) {
  if (status >= 200 && status < 300) {
    fwrite(body->data, 1, body->len, stdout);
    if (body->len && body->data[body->len - 1] != '\n') fputc('\n', stdout);
    return CLI_EXIT_OK;
  }
  fprintf(stderr, "enclos %s: server answered %d: %.*s\n", o->cmd, status, (int)(body->len > 4096 ? 4096 : body->len),
          (const char *)body->data);
  return CLI_EXIT_FAIL;
}

/* Common options; positional arguments are collected in \p pos. */
static int parse_common(int argc, char **argv, client_opts *o, const char **pos, int max_pos, int *npos,
                        const char **manifest, const char **del) {
  static char token_buf[8192];
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--policy") == 0 && i + 1 < argc) o->policy = argv[++i];
    else if (strcmp(a, "--roots") == 0 && i + 1 < argc) o->roots = argv[++i];
    else if (strcmp(a, "--token") == 0 && i + 1 < argc) o->token = argv[++i];
    else if (strcmp(a, "--token-file") == 0 && i + 1 < argc) {
      FILE *f = fopen(argv[++i], "r");
      size_t n = f ? fread(token_buf, 1, sizeof(token_buf) - 1, f) : 0;
      if (f) fclose(f);
      if (!f) return cli_usage_error(o->cmd, "cannot read token file %s", argv[i]);
      while (n && (token_buf[n - 1] == '\n' || token_buf[n - 1] == '\r' || token_buf[n - 1] == ' ')) n--;
      token_buf[n] = '\0';
      o->token = token_buf;
    } else if (strcmp(a, "--json") == 0) o->json = true;
    else if (manifest && strcmp(a, "--manifest") == 0 && i + 1 < argc) *manifest = argv[++i];
    else if (del && strcmp(a, "--delete") == 0 && i + 1 < argc) *del = argv[++i];
    else if (strncmp(a, "--", 2) == 0 && strcmp(a, "--") != 0) return cli_usage_error(o->cmd, "unknown option '%s'", a);
    else if (*npos < max_pos) pos[(*npos)++] = a;
    else return cli_usage_error(o->cmd, "too many arguments at '%s'", a);
  }
  if (!o->token) {
    const char *t = getenv("ENCLOS_TOKEN");
    if (t && t[0]) o->token = t;
  }
  return CLI_EXIT_OK;
}

int cli_cmd_deploy(int argc, char **argv) {
  client_opts o = {.cmd = "deploy"};
  const char *pos[3], *manifest = NULL;
  int npos;
  const char *usage = "usage: enclos deploy https://HOST:PORT NAME app.wasm [--manifest M.json] [--policy P.json] [--roots R.pem] "
                      "[--token T | --token-file F]";
  int st = parse_common(argc, argv, &o, pos, 3, &npos, &manifest, NULL);
  if (st != CLI_EXIT_OK) return st;
  if (npos != 3) return cli_usage_error("deploy", "%s", usage);
  o.url = pos[0];
  enclos_buf wasm = ENCLOS_BUF_INIT, man = ENCLOS_BUF_INIT, b64 = ENCLOS_BUF_INIT, body = ENCLOS_BUF_INIT,
             resp = ENCLOS_BUF_INIT;
  json_t *req = NULL;
  char *text = NULL;
  client_conn c = {.fd = -1};
  st = CLI_EXIT_FAIL;
  if (!cli_read_file(pos[2], CLIENT_MAX_FILE, &wasm)) {
    fprintf(stderr, "enclos deploy: cannot read %s (at most %u bytes)\n", pos[2], CLIENT_MAX_FILE);
    goto done;
  }
  json_t *mj = NULL;
  if (manifest) {
    json_error_t jerr;
    if (!cli_read_file(manifest, CLIENT_MAX_FILE, &man) ||
        !(mj = json_loadb((const char *)man.data, man.len, 0, &jerr))) {
      fprintf(stderr, "enclos deploy: manifest %s is not readable JSON\n", manifest);
      goto done;
    }
  }
  if (enclos_b64_encode(&b64, wasm.data, wasm.len, ENCLOS_B64_STD) != ENCLOS_OK) goto done;
  req = json_pack("{s:s, s:s%}", "name", pos[1], "module", (const char *)b64.data, b64.len);
  if (req && mj) json_object_set_new(req, "manifest", mj);
  else if (mj) json_decref(mj);
  text = req ? json_dumps(req, JSON_COMPACT) : NULL;
  if (!text) goto done;
  st = connect_verified(&o, NULL, &c);
  if (st != CLI_EXIT_OK) goto done;
  print_verdict(&o, &c);
  int status = 0;
  if (exchange(&c, &o, "POST", "/apps", "application/json", text, strlen(text), &status, &resp) != ENCLOS_OK) {
    st = failmsg(&o, "request");
    goto done;
  }
  st = finish(&o, status, &resp);
done:
  free(text);
  json_decref(req);
  conn_free(&c);
  enclos_buf_free(&wasm);
  enclos_buf_free(&man);
  enclos_buf_free(&b64);
  enclos_buf_free(&body);
  enclos_buf_free(&resp);
  return st;
}

int cli_cmd_call(int argc, char **argv) {
  client_opts o = {.cmd = "call"};
  const char *pos[3 + 64];
  int npos;
  const char *usage = "usage: enclos call https://HOST:PORT NAME EXPORT [JSON-ARG...] [--policy P.json] [--roots R.pem] [--token T]";
  int st = parse_common(argc, argv, &o, pos, 3 + 64, &npos, NULL, NULL);
  if (st != CLI_EXIT_OK) return st;
  if (npos < 3) return cli_usage_error("call", "%s", usage);
  o.url = pos[0];
  const char *name = pos[1], *export_name = pos[2];
  /* Each argument is a JSON value; anything that does not parse as JSON is a string. */
  json_t *args = json_array();
  for (int i = 3; i < npos && args; i++) {
    json_error_t jerr;
    json_t *v = json_loads(pos[i], JSON_DECODE_ANY, &jerr);
    json_array_append_new(args, v ? v : json_string(pos[i]));
  }
  char *text = args ? json_dumps(args, JSON_COMPACT) : NULL;
  json_decref(args);
  if (!text) return CLI_EXIT_FAIL;
  client_conn c = {.fd = -1};
  enclos_buf resp = ENCLOS_BUF_INIT;
  char path[512];
  snprintf(path, sizeof(path), "/apps/%s/call/%s", name, export_name);
  st = connect_verified(&o, name, &c);
  if (st != CLI_EXIT_OK) goto done;
  /* The server answers an unknown SNI name with its runtime certificate: then this is not
   * the app's attested identity, and nothing is sent. */
  if (!c.vr.claims.has_app || strcmp(c.vr.claims.app_name, name) != 0) {
    fprintf(stderr, "enclos call: REFUSED: the server presented no attested identity for app '%s'%s\n", name,
            c.vr.claims.has_app ? " (the certificate names another app)" : " (is it deployed?)");
    st = CLI_EXIT_FAIL;
    goto done;
  }
  print_verdict(&o, &c);
  int status = 0;
  if (exchange(&c, &o, "POST", path, "application/json", text, strlen(text), &status, &resp) != ENCLOS_OK) {
    st = failmsg(&o, "request");
    goto done;
  }
  st = finish(&o, status, &resp);
done:
  free(text);
  conn_free(&c);
  enclos_buf_free(&resp);
  return st;
}

int cli_cmd_apps(int argc, char **argv) {
  client_opts o = {.cmd = "apps"};
  const char *pos[2], *del = NULL;
  int npos;
  int st = parse_common(argc, argv, &o, pos, 2, &npos, NULL, &del);
  if (st != CLI_EXIT_OK) return st;
  if (npos < 1 || (del && npos != 1))
    return cli_usage_error("apps", "usage: enclos apps https://HOST:PORT [NAME | --delete NAME] [--policy P.json] [--roots R.pem] "
                                   "[--token T] [--json]");
  o.url = pos[0];
  client_conn c = {.fd = -1};
  enclos_buf resp = ENCLOS_BUF_INIT;
  char path[256];
  const char *method = "GET";
  if (del) {
    snprintf(path, sizeof(path), "/apps/%s", del);
    method = "DELETE";
  } else if (npos == 2) {
    snprintf(path, sizeof(path), "/apps/%s", pos[1]);
  } else {
    snprintf(path, sizeof(path), "/apps");
  }
  st = connect_verified(&o, NULL, &c);
  if (st != CLI_EXIT_OK) goto done;
  print_verdict(&o, &c);
  int status = 0;
  if (exchange(&c, &o, method, path, NULL, NULL, 0, &status, &resp) != ENCLOS_OK) {
    st = failmsg(&o, "request");
    goto done;
  }
  if (status != 200 || o.json || del || npos == 2) {
    st = finish(&o, status, &resp);
    goto done;
  }
  /* A table: name, code hash, auth, calls. */
  json_error_t jerr;
  json_t *root = json_loadb((const char *)resp.data, resp.len, 0, &jerr);
  json_t *apps = json_object_get(root, "apps");
  if (!json_is_array(apps)) {
    fprintf(stderr, "enclos apps: unexpected response: %s\n", jerr.text);
    json_decref(root);
    st = CLI_EXIT_FAIL;
    goto done;
  }
  printf("%-24s %-64s %-14s %s\n", "NAME", "CODE HASH", "AUTH", "CALLS");
  size_t i;
  json_t *a;
  json_array_foreach(apps, i, a) {
    printf("%-24s %-64s %-14s %lld\n", json_string_value(json_object_get(a, "name")),
           json_string_value(json_object_get(a, "code_hash")), json_string_value(json_object_get(a, "auth")),
           (long long)json_integer_value(json_object_get(a, "calls")));
  }
  json_decref(root);
  st = CLI_EXIT_OK;
done:
  conn_free(&c);
  enclos_buf_free(&resp);
  return st;
}
