/* detour command line: the subcommands main.c dispatches to. Each cmd_*
 * takes the arguments after the subcommand name (argv[0] is the subcommand)
 * and returns the process exit status. Only main() exits. cmd_serve is
 * defined in src/server/serve.c, beside the server it runs, so that no
 * file of src/cli includes a server header. */
#ifndef DETOUR_CLI_H
#define DETOUR_CLI_H

int cmd_serve(int argc, char **argv);   /* src/server/serve.c */
int cmd_explain(int argc, char **argv); /* explain.c */
int cmd_check(int argc, char **argv);   /* check.c */
int cmd_crawl(int argc, char **argv);   /* crawl.c */
int cmd_ctl(int argc, char **argv);     /* ctl.c */
int cmd_lint(int argc, char **argv);    /* lint.c */
int cmd_import(int argc, char **argv);  /* import.c */
int cmd_export(int argc, char **argv);  /* export.c */

/* Their option tables (cli_opts.h), for `detour help --man` (man.c), which
 * writes the OPTIONS sections of detour(1) from them. */
struct cli_cmd;
extern const struct cli_cmd cli_serve_cmd;   /* src/server/serve.c */
extern const struct cli_cmd cli_explain_cmd; /* explain.c */
extern const struct cli_cmd cli_check_cmd;   /* check.c */
extern const struct cli_cmd cli_ctl_cmd;     /* ctl.c */
extern const struct cli_cmd cli_lint_cmd;    /* lint.c */

#endif
