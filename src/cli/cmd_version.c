/* cmd_version.c: `enclos version`: version, git revision, build type, TEE backends. */
#include <stdio.h>
#include <string.h>

#include "build_info.h"
#include "cli_int.h"

int cli_cmd_version(int argc, char **argv) {
  bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
  if (argc > 1 && !json) return cli_usage_error("version", "usage: enclos version [--json]");
  /* The TEE module is not built yet; once it is, this lists its compiled-in backends. */
  const char *tee = "none (TEE backends not built yet)";
#ifdef ENCLOS_SANITIZED
  const char *san = "address,undefined";
#else
  const char *san = "none";
#endif
  if (json) {
    printf("{\"version\":\"%s\",\"git_revision\":\"%s\",\"build_type\":\"%s\","
           "\"compiler\":\"%s\",\"sanitizers\":\"%s\",\"tee_backends\":[]}\n",
           ENCLOS_VERSION, ENCLOS_GIT_REV, ENCLOS_BUILD_TYPE, ENCLOS_COMPILER, san);
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
