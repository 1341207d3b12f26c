/* cmd_serve.c: `enclos serve` — the attested application server (docs/server.md).
 * Built-in defaults need no configuration file; --config FILE.json sets the same keys and
 * command-line options override it. SIGTERM and SIGINT stop it gracefully. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/log.h>
#include <enclos/server.h>

#include "cli_int.h"

#ifdef ENCLOS_HAVE_SERVE

static enclos_server *g_server;

static void on_signal(int sig) {
  (void)sig;
  if (g_server) enclos_server_stop(g_server);
}

static const char usage[] =
    "usage: enclos serve [--listen HOST:PORT] [--data DIR] [--config FILE.json] [--tee KIND] [--ca DIR | --dev-pki]\n"
    "                    [--app NAME=FILE.wasm[,MANIFEST.json]]... [--jwks FILE|URL] [--jwt-issuer ISS]\n"
    "                    [--jwt-audience AUD] [--roles-claim CLAIM] [--admin-role ROLE] [--dev-insecure-admin]\n"
    "                    [--workers N] [--app-threads N] [--max-connections N] [--idle-timeout-ms N]\n"
    "                    [--request-timeout-ms N] [--access-log FILE|-] [--ready-file FILE]\n";

static bool num(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || v > max) return false;
  *out = v;
  return true;
}

int cli_cmd_serve(int argc, char **argv) {
  enclos_server_config cfg;
  enclos_server_config_default(&cfg);
  enclos_server_config_file *file = NULL;
  static char default_data[4096];
  const char *home = getenv("HOME");
  snprintf(default_data, sizeof(default_data), "%s/.local/state/enclos/server", home ? home : ".");
  cfg.data_dir = default_data;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--config") == 0) {
      if (enclos_server_config_load(argv[i + 1], &cfg, &file) != ENCLOS_OK) {
        fprintf(stderr, "enclos serve: %s\n", enclos_err_detail());
        return CLI_EXIT_USAGE;
      }
    }
  static char app_specs[ENCLOS_SERVER_MAX_BOOT_APPS][4096];
  int st = CLI_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long long n;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      enclos_server_config_file_free(file);
      return CLI_EXIT_OK;
    } else if (strcmp(a, "--dev-insecure-admin") == 0) {
      cfg.dev_insecure_admin = true;
      continue;
    } else if (strcmp(a, "--dev-pki") == 0) {
      cfg.dev_pki = true;
      continue;
    }
    if (!v) {
      cli_usage_error("serve", "unknown option or missing value: '%s'\n%s", a, usage);
      goto out;
    }
    i++;
    if (strcmp(a, "--config") == 0) continue;
    else if (strcmp(a, "--listen") == 0) cfg.listen = v;
    else if (strcmp(a, "--data") == 0) cfg.data_dir = v;
    else if (strcmp(a, "--tee") == 0) {
      if (enclos_tee_kind_parse(v, &cfg.tee) != ENCLOS_OK) {
        cli_usage_error("serve", "unknown TEE '%s'", v);
        goto out;
      }
    } else if (strcmp(a, "--ca") == 0) cfg.ca_dir = v;
    else if (strcmp(a, "--jwks") == 0) cfg.jwks = v;
    else if (strcmp(a, "--jwt-issuer") == 0) cfg.jwt_issuer = v;
    else if (strcmp(a, "--jwt-audience") == 0) cfg.jwt_audience = v;
    else if (strcmp(a, "--roles-claim") == 0) cfg.roles_claim = v;
    else if (strcmp(a, "--admin-role") == 0) cfg.admin_role = v;
    else if (strcmp(a, "--access-log") == 0) cfg.access_log = v;
    else if (strcmp(a, "--ready-file") == 0) cfg.ready_file = v;
    else if (strcmp(a, "--workers") == 0 && num(v, ENCLOS_SERVER_MAX_WORKERS, &n)) cfg.workers = (unsigned)n;
    else if (strcmp(a, "--app-threads") == 0 && num(v, ENCLOS_SERVER_MAX_APP_THREADS, &n)) cfg.app_threads = (unsigned)n;
    else if (strcmp(a, "--max-connections") == 0 && num(v, ENCLOS_SERVER_MAX_CONNECTIONS_CAP, &n) && n > 0)
      cfg.max_connections = (size_t)n;
    else if (strcmp(a, "--idle-timeout-ms") == 0 && num(v, 3600000, &n) && n >= 100) cfg.idle_timeout_ms = (uint32_t)n;
    else if (strcmp(a, "--request-timeout-ms") == 0 && num(v, 3600000, &n) && n >= 100)
      cfg.request_timeout_ms = (uint32_t)n;
    else if (strcmp(a, "--app") == 0) {
      /* NAME=FILE.wasm[,MANIFEST.json] */
      if (cfg.boot_app_count >= ENCLOS_SERVER_MAX_BOOT_APPS || strlen(v) >= sizeof(app_specs[0])) {
        cli_usage_error("serve", "too many --app options or too long: '%s'", v);
        goto out;
      }
      char *spec = app_specs[cfg.boot_app_count];
      memcpy(spec, v, strlen(v) + 1);
      char *eq = strchr(spec, '=');
      if (!eq || eq == spec || !eq[1]) {
        cli_usage_error("serve", "--app wants NAME=FILE.wasm[,MANIFEST.json], got '%s'", v);
        goto out;
      }
      *eq = '\0';
      char *comma = strchr(eq + 1, ',');
      if (comma) *comma = '\0';
      enclos_server_boot_app *b = &cfg.boot_apps[cfg.boot_app_count++];
      b->name = spec;
      b->wasm_path = eq + 1;
      b->manifest_path = comma ? comma + 1 : NULL;
    } else {
      cli_usage_error("serve", "unknown option or bad value: '%s %s'\n%s", a, v, usage);
      goto out;
    }
  }
  enclos_server *s = NULL;
  if (enclos_server_new(&cfg, &s) != ENCLOS_OK) {
    fprintf(stderr, "enclos serve: cannot start: %s\n", enclos_err_detail());
    st = CLI_EXIT_FAIL;
    goto out;
  }
  g_server = s;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "enclos serve: listening on https://%.*s:%d (data %s)\n",
          (int)(strrchr(cfg.listen, ':') ? strrchr(cfg.listen, ':') - cfg.listen : 0), cfg.listen,
          enclos_server_port(s), cfg.data_dir);
  enclos_err rc = enclos_server_run(s);
  g_server = NULL;
  if (rc != ENCLOS_OK) fprintf(stderr, "enclos serve: %s\n", enclos_err_detail());
  enclos_server_free(s);
  fprintf(stderr, "enclos serve: stopped\n");
  st = rc == ENCLOS_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
  enclos_server_config_file_free(file);
  return st;
}
#endif
