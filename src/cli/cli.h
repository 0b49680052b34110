/* kura subcommands. Each returns the process exit status: 0 ok, 1 failed, 2 usage. */
#ifndef KURA_CLI_CLI_H
#define KURA_CLI_CLI_H
int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_erasure(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
/* kura version --deps: every linked library, compiled and running versions (deps.c) */
int cmd_version_deps(void);
/* The same libraries as JSON for the compliance statement's inventory (E3, F7):
 * [{name, compiled, running, use, license}]. */
#include <jansson.h>
json_t *cmd_deps_inventory(void);
int cmd_compliance(int argc, char **argv);
/* "DIR/name" into buf; exits on overflow (paths come from the command line). */
void cli_path(char *buf, size_t size, const char *dir, const char *name);
#endif
