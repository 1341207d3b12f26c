/* cmd_version.c: `enclos version`: version, git revision, build type, TEE backends. */
#include <stdio.h>
#include <string.h>

#include <enclos/tee.h>

#include "build_info.h"
#include "cli_int.h"

int cli_cmd_version(int argc, char **argv) {
  bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
  if (argc > 1 && !json) return cli_usage_error("version", "usage: enclos version [--json]");
  /* Every backend of src/tee is compiled in; which one runs is detected at start (or --tee). */
  const enclos_tee_kind kinds[] = {ENCLOS_TEE_SIM, ENCLOS_TEE_SGX, ENCLOS_TEE_TDX, ENCLOS_TEE_SNP};
  char tee[128] = "";
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (i) strncat(tee, ", ", sizeof(tee) - strlen(tee) - 1);
    strncat(tee, enclos_tee_kind_name(kinds[i]), sizeof(tee) - strlen(tee) - 1);
  }
#ifdef ENCLOS_SANITIZED
  const char *san = "address,undefined";
#else
  const char *san = "none";
#endif
  if (json) {
    printf("{\"version\":\"%s\",\"git_revision\":\"%s\",\"build_type\":\"%s\","
           "\"compiler\":\"%s\",\"sanitizers\":\"%s\",\"tee_backends\":\"%s\"}\n",
           ENCLOS_VERSION, ENCLOS_GIT_REV, ENCLOS_BUILD_TYPE, ENCLOS_COMPILER, san, tee);
    return CLI_EXIT_OK;
  }
  printf("enclos %s\n", ENCLOS_VERSION);
  printf("  git revision:  %s\n", ENCLOS_GIT_REV);
  printf("  build type:    %s\n", ENCLOS_BUILD_TYPE);
  printf("  compiler:      %s\n", ENCLOS_COMPILER);
  printf("  sanitizers:    %s\n", san);
  printf("  TEE backends:  %s\n", tee);
  return CLI_EXIT_OK;
}
