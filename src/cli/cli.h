/* detour command line: one file per subcommand, dispatched by main.c. Each
 * cmd_* takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit status. Only main() exits. */
#ifndef DETOUR_CLI_H
#define DETOUR_CLI_H

int cmd_serve(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_lint(int argc, char **argv);

#endif
