/* cmd_store.c: `enclos store status|init --data DIR [--tee KIND] [--sim-state DIR]`: opens (init:
 * creates if absent) the sealed store in DIR with the TEE backend's sealing key (full
 * verification: header, state MAC, set digest over every record, rollback anchor), prints
 * enclos_store_status_text and closes it. Exit 0 when the store opens and verifies, 1 when it
 * does not (the error says why), 2 on usage. */
#include <stdio.h>
#include <string.h>

#include <enclos/buf.h>
#include <enclos/store.h>
#include <enclos/tee.h>

#include "cli_int.h"

static int store_usage(void) {
  fprintf(stderr,
          "usage: enclos store status|init --data DIR [--tee sim|sgx|sev-snp|tdx] [--sim-state DIR]\n"
          "  status: opens the sealed store in DIR (no record is changed; the full verification\n"
          "          runs) with the sealing key of the TEE backend (default: detected) and prints\n"
          "          its status, including what rollback and replay protection holds here.\n"
          "  init:   the same, creating the store first if DIR holds none (DIR must exist).\n");
  return CLI_EXIT_USAGE;
}

int cli_cmd_store(int argc, char **argv) {
  const char *dir = NULL, *tee_name = NULL;
  enclos_tee_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  bool init = argc >= 2 && strcmp(argv[1], "init") == 0;
  if (argc < 2 || (strcmp(argv[1], "status") != 0 && !init)) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
      store_usage();
      return CLI_EXIT_OK;
    }
    return store_usage();
  }
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (strcmp(argv[i], "--tee") == 0 && i + 1 < argc) {
      tee_name = argv[++i];
    } else if (strcmp(argv[i], "--sim-state") == 0 && i + 1 < argc) {
      cfg.sim_state_dir = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      store_usage();
      return CLI_EXIT_OK;
    } else {
      return cli_usage_error("store", "unknown or incomplete option '%s' (see enclos store --help)",
                             argv[i]);
    }
  }
  if (!dir) return cli_usage_error("store", "%s needs --data DIR", argv[1]);
  enclos_tee_kind kind = ENCLOS_TEE_NONE;
  if (tee_name && enclos_tee_kind_parse(tee_name, &kind) != ENCLOS_OK)
    return cli_usage_error("store", "unknown TEE backend '%s'", tee_name);
  int status = CLI_EXIT_FAIL;
  enclos_tee *tee = NULL;
  enclos_store *s = NULL;
  enclos_buf out = ENCLOS_BUF_INIT;
  enclos_store_opts o;
  memset(&o, 0, sizeof(o));
  if (enclos_tee_open(kind, &cfg, &tee) != ENCLOS_OK) {
    fprintf(stderr, "enclos store: TEE backend: %s\n", enclos_err_detail());
    goto done;
  }
  if (enclos_store_opts_for_tee(tee, &o) != ENCLOS_OK) {
    fprintf(stderr, "enclos store: %s\n", enclos_err_detail());
    goto done;
  }
  o.create = init;
  enclos_err rc = enclos_store_open(dir, &o, &s);
  if (rc != ENCLOS_OK) {
    fprintf(stderr, "enclos store: %s: %s: %s\n", dir, enclos_err_name(rc), enclos_err_detail());
    goto done;
  }
  if (enclos_store_status_text(s, &out) != ENCLOS_OK ||
      enclos_buf_append_u8(&out, 0) != ENCLOS_OK) {
    fprintf(stderr, "enclos store: %s\n", enclos_err_detail());
    goto done;
  }
  fputs((const char *)out.data, stdout);
  status = CLI_EXIT_OK;
done:
  enclos_buf_free(&out);
  enclos_store_close(s);
  enclos_tee_free(tee);
  return status;
}
