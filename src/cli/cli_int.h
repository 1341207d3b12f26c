/* cli_int.h: private to src/cli. The sub-command table and shared helpers. */
#ifndef ENCLOS_CLI_INT_H
#define ENCLOS_CLI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <enclos/verify.h>
#include <enclos/verify_hw.h>

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
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_deploy(int argc, char **argv);
int cli_cmd_call(int argc, char **argv);
int cli_cmd_apps(int argc, char **argv);
int cli_cmd_store(int argc, char **argv);

/* Connects a TCP socket to host:port (first address that answers); -1 on failure. */
int cli_dial(const char *host, const char *port);

/* Appends the whole file \p path to \p out; false if it cannot be read or exceeds \p max bytes. */
bool cli_read_file(const char *path, size_t max, enclos_buf *out);

/* Prints "enclos <cmd>: <msg>" to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Collateral for hardware evidence in `attest` and `ca sign` (hw_source.c). */
#define CLI_HW_MAX_DIRS 8
#define CLI_HW_USAGE "[--collateral DIR]... [--fetch [--cache DIR] [--product P]]"
typedef struct cli_hw_source {
  const char *dirs[CLI_HW_MAX_DIRS];
  size_t n_dirs;
  bool fetch;
  const char *cache, *product;
  enclos_hw_collateral *coll;
  enclos_hw_fetch_opts fo;
} cli_hw_source;
/* argv[*i] is one of the options above: consumes it (and its value) and returns 1; 0 if it is
 * not one of them; -1 if its value is missing or there are too many directories. */
int cli_hw_source_arg(cli_hw_source *s, int argc, char **argv, int *i);
/* Loads the directories into opts->collateral, or points opts->fetch at the fetcher settings. */
enclos_err cli_hw_source_apply(cli_hw_source *s, enclos_verify_opts *vo, int64_t now);
void cli_hw_source_free(cli_hw_source *s);

#endif
