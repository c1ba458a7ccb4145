/* detour: the command line. One subcommand per file (serve.c, explain.c,
 * check.c, ...); this file only dispatches. Only main() exits. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "detour/common.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
        {"serve", cmd_serve, "answer HTTP requests with redirects from a rules table"},
        {"explain", cmd_explain, "show which rule matches a request and the exact response"},
        {"check", cmd_check, "trace redirect chains hop by hop, as a browser follows them"},
        {"ctl", cmd_ctl, "talk to a running server's admin API: rules, maintenance, stats"},
        {"lint", cmd_lint, "find loops, chains, shadowed and duplicate rules, risky choices"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: detour <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'detour <command> --help' describes a command. "
	           "'detour --version' prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("detour %s\n", DETOUR_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "detour: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
