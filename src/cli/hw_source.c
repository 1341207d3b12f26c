/* hw_source.c: where `enclos attest` and `enclos ca sign` get the collateral that hardware evidence
 * (SGX/TDX/SEV-SNP) is verified with: --collateral DIR (repeatable), or --fetch from Intel PCS /
 * AMD KDS with an optional --cache DIR (docs/attestation.md §10). */
#include <stdio.h>
#include <string.h>

#include "cli_int.h"

int cli_hw_source_arg(cli_hw_source *s, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  bool has_value = *i + 1 < argc;
  if (strcmp(a, "--fetch") == 0) {
    s->fetch = true;
    return 1;
  }
  if (strcmp(a, "--collateral") != 0 && strcmp(a, "--cache") != 0 && strcmp(a, "--product") != 0) return 0;
  if (!has_value) return -1;
  const char *v = argv[++*i];
  if (strcmp(a, "--cache") == 0) {
    s->cache = v;
  } else if (strcmp(a, "--product") == 0) {
    s->product = v;
  } else {
    if (s->n_dirs >= CLI_HW_MAX_DIRS) return -1;
    s->dirs[s->n_dirs++] = v;
  }
  return 1;
}

enclos_err cli_hw_source_apply(cli_hw_source *s, enclos_verify_opts *vo, int64_t now) {
  if (s->n_dirs > 0) {
    ENCLOS_TRY(enclos_hw_collateral_new(&s->coll));
    for (size_t i = 0; i < s->n_dirs; i++) {
      enclos_err rc = enclos_hw_collateral_add_dir(s->coll, s->dirs[i]);
      ENCLOS_ENSUREF(rc == ENCLOS_OK, rc, "collateral directory %s: %s", s->dirs[i], enclos_err_detail());
    }
    vo->collateral = s->coll;
  }
  if (s->fetch) {
    /* Used only when no directory was given (enclos_verify_opts.fetch). */
    s->fo = (enclos_hw_fetch_opts){.cache_dir = s->cache, .amd_product = s->product, .now = now};
    vo->fetch = &s->fo;
  }
  return ENCLOS_OK;
}

void cli_hw_source_free(cli_hw_source *s) {
  enclos_hw_collateral_free(s->coll);
  s->coll = NULL;
}
