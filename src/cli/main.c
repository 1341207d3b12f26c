/* main.c: the enclos command line: global options and sub-command dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <enclos/log.h>

#include "cli_int.h"

static const cli_command commands[] = {
#ifdef ENCLOS_HAVE_SERVE
    {"serve", "run the attested application server", cli_cmd_serve},
#else
    {"serve", "run the attested application server", NULL},
#endif
    {"run", "run a WASI program: enclos run [--dir H[::G]] [--env K=V] app.wasm [args...]",
     cli_cmd_run},
    {"attest", "connect to an RA-TLS server, verify its evidence and print its claims", cli_cmd_attest},
    {"verify", "verify hardware evidence offline against collateral", cli_cmd_verify},
    {"ca", "operator PKI: init a root, sign an enclos intermediate CSR", cli_cmd_ca},
    {"deploy", "deploy an app to a server after verifying its attestation", cli_cmd_deploy},
    {"call", "call an app's export on a server after verifying its attestation", cli_cmd_call},
    {"apps", "list, inspect or delete the apps on a server after verifying its attestation", cli_cmd_apps},
    {"store", "sealed store: enclos store status|init --data DIR [--tee KIND]", cli_cmd_store},
    {"version", "print version, git revision, build type and TEE backends", cli_cmd_version},
};

bool cli_read_file(const char *path, size_t max, enclos_buf *out) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return false;
  uint8_t chunk[16384];
  size_t n;
  bool ok = true;
  while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    ok = out->len + n <= max && enclos_buf_append(out, chunk, n) == ENCLOS_OK;
  ok = ok && !ferror(f);
  fclose(f);
  return ok;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "enclos %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  return CLI_EXIT_USAGE;
}

static void usage(FILE *out) {
  fprintf(out,
          "enclos: run WebAssembly apps inside a TEE and prove what runs (RA-TLS).\n\n"
          "usage: enclos [--log LEVEL] <command> [args...]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-8s %s%s\n", commands[i].name, commands[i].summary,
            commands[i].run ? "" : " (not implemented yet)");
  fprintf(out,
          "\noptions:\n"
          "  --log LEVEL   error, warn, info (default), debug or trace; also ENCLOS_LOG\n"
          "  -h, --help    this help; 'enclos <command> --help' for a command's options\n");
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    } else if (strcmp(argv[i], "--version") == 0) {
      return cli_cmd_version(1, argv);
    } else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
      enclos_log_level l;
      if (!enclos_log_parse_level(argv[++i], &l))
        return cli_usage_error("--log", "unknown level '%s'", argv[i]);
      enclos_log_set_level(l);
    } else {
      fprintf(stderr, "enclos: unknown option '%s' (see enclos --help)\n", argv[i]);
      return CLI_EXIT_USAGE;
    }
  }
  if (i == argc) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[i];
  if (strcmp(name, "help") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
    if (strcmp(commands[c].name, name) != 0) continue;
    if (!commands[c].run) {
      fprintf(stderr, "enclos %s: not implemented yet in this build (see README, Status)\n", name);
      return CLI_EXIT_NOT_YET;
    }
    return commands[c].run(argc - i, argv + i);
  }
  fprintf(stderr, "enclos: unknown command '%s' (see enclos --help)\n", name);
  return CLI_EXIT_USAGE;
}
