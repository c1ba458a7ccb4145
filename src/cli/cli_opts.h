/* detour command line: the options of a command as one table, from which
 * both the getopt_long parser and the --help text are made, so the two cannot
 * disagree. Every subcommand (and main.c) parses its arguments through
 * this. */
#ifndef DETOUR_CLI_OPTS_H
#define DETOUR_CLI_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* Keys of options without a short letter start here (above any char). */
#define CLI_LONG 256

/* Options a table may hold (struct option and the short string are sized by
 * it). */
#define CLI_MAX_OPTS 32

/* One row of a command's table. The table ends with a row of zeros. */
struct cli_opt {
	const char *name; /* long name without "--"; NULL: an operand row, listed
	                   * in the help only ("RULES..." in arg) */
	int key;          /* the short letter ('c' for -c), or CLI_LONG + n */
	const char *arg;  /* the argument's name in the help ("FILE"); NULL: a flag
	                   * that takes no argument */
	const char *what; /* the argument in "-c needs a file name"; NULL: "an
	                   * argument" */
	const char *help; /* the help text, '\n' between its lines; NULL: listed on
	                   * the line of the row before ("--color, --no-color") */
};

/* A command: messages start "detour NAME: " ("detour: " for NULL); --help
 * prints usage, the rows, then epilog, or calls help instead. */
struct cli_cmd {
	const char *name;
	void (*help)(FILE *f); /* NULL, or the help text made otherwise (main.c:
	                        * the list of commands) */
	const char *usage;     /* usage lines and description, '\n'-terminated */
	const char *epilog;    /* after the option rows, or NULL */
	const struct cli_opt *opts;
	bool stop_at_operand; /* options only before the first operand (as for
	                       * "detour ctl [OPTIONS] COMMAND [ARGS]") */
};

/* The parse of one argument vector (argv[0] is the command's name). */
struct cli_parser {
	const struct cli_cmd *cmd;
	int argc;
	char **argv;
	const char *arg;    /* the option's argument, or NULL */
	char spelling[256]; /* the option as the user wrote it ("-c", "--config") */
	struct option lo[CLI_MAX_OPTS + 1];
	char shorts[3 * CLI_MAX_OPTS + 3];
};

/* Returned by cli_next when no option is left: the operands are
 * argv[cli_operand(p)..argc). */
#define CLI_END (-1)
/* Returned by cli_next after a usage error, with the message printed. */
#define CLI_BAD (-2)

/* Starts parsing argv[1..argc) by cmd's table (getopt_long, permuting
 * operands after the options unless cmd->stop_at_operand). Only one parse
 * runs at a time: getopt's state is global. */
void cli_parse_init(struct cli_parser *p, const struct cli_cmd *cmd, int argc, char **argv);

/* The next option's key (its row's key), with its argument in p->arg;
 * CLI_END at the end of the options; CLI_BAD after printing to stderr
 * "detour NAME: unknown option 'X'" and the help, "detour NAME: X needs
 * WHAT", or "detour NAME: X takes no value". */
int cli_next(struct cli_parser *p);

/* The index of the first operand, once cli_next returned CLI_END. */
int cli_operand(const struct cli_parser *p);

/* For a command that takes exactly n operands, once cli_next returned
 * CLI_END: the index of the first, or -1 after printing the help to stderr
 * when there are more or fewer (the caller exits 2). */
int cli_operands(const struct cli_parser *p, int n);

/* Prints cmd's help: usage, one row per option with its help text in a
 * column, epilog (or cmd->help). */
void cli_help(const struct cli_cmd *cmd, FILE *f);

/* Prints cmd's option rows as a man page section body in scdoc: each row's
 * flags in bold and its argument in italics, then its help text indented
 * (the rows --help prints, the same table). */
void cli_man(const struct cli_cmd *cmd, FILE *f);

/* Writes s to f for scdoc: words in capitals ("FILE", "HOST:PORT") in
 * italics, '*', '_' and '\' escaped elsewhere. */
void cli_man_placeholders(const char *s, FILE *f);

/* Prints "detour NAME: unknown option 'what'" and the help to stderr;
 * returns 2, the exit status of a usage error. For operands a command does
 * not take, as for an unknown option. */
int cli_unknown(const struct cli_cmd *cmd, const char *what);

#endif
