/* cli_int.h: private to src/cli. The sub-command table and shared helpers. */
#ifndef ENCLOS_CLI_INT_H
#define ENCLOS_CLI_INT_H

#include <stdbool.h>

/* Exit statuses shared by every sub-command. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAIL = 1,     /* the operation ran and failed (verification refused, error) */
  CLI_EXIT_USAGE = 2,    /* bad command line */
  CLI_EXIT_NOT_YET = 3,  /* sub-command not implemented in this build */
};

typedef int (*cli_cmd_fn)(int argc, char **argv);

typedef struct cli_command {
  const char *name;
  const char *summary;
  cli_cmd_fn run; /* NULL: not implemented yet (fails loudly with CLI_EXIT_NOT_YET) */
} cli_command;

/* Each sub-command lives in cmd_<name>.c. */
int cli_cmd_version(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
int cli_cmd_attest(int argc, char **argv);
int cli_cmd_ca(int argc, char **argv);
int cli_cmd_verify(int, char **);
int cli_cmd_store(int argc, char **argv);

/* Prints "enclos <cmd>: <msg>" to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
