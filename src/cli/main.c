/* detour: the command line. One subcommand per file (explain.c, check.c,
 * ...; serve in src/server/serve.c); this file only dispatches. Only main()
 * exits. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"
#include "detour/common.h"
#include "man.h"

/* The commands, in the order the help lists them. */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
        {"serve", cmd_serve, "answer HTTP requests with redirects from a rules table"},
        {"explain", cmd_explain, "show which rule matches a request and the exact response"},
        {"check", cmd_check, "trace redirect chains hop by hop, as a browser follows them"},
        {"crawl", cmd_crawl, "crawl a site and report its redirects, chains and broken links"},
        {"ctl", cmd_ctl, "talk to a running server's admin API: rules, maintenance, stats"},
        {"lint", cmd_lint, "find loops, chains, shadowed and duplicate rules, risky choices"},
        {"import", cmd_import, "convert Apache, nginx, Netlify, ... redirects into rules"},
        {"export", cmd_export, "write rules as an nginx, Apache, Caddy, Netlify or CSV config"},
};

/* detour's own options, before the command. The help lists the commands
 * instead of these two, and names both in its last line. */
static const struct cli_opt optab[] = {
        {"version", 'V', NULL, NULL, "print the version"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: detour <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'detour <command> --help' describes a command. "
	           "'detour --version' prints the version.\n");
}

static const struct cli_cmd cmd = {
        .help = usage,
        .opts = optab,
        .stop_at_operand = true, /* the command's options are its own */
};

int main(int argc, char **argv)
{
	struct cli_parser p;
	int k, first;

	cli_parse_init(&p, &cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 'V') {
			printf("detour %s\n", DETOUR_VERSION);
			return 0;
		}
		if (k == 'h') {
			usage(stdout);
			return 0;
		}
		return 2;
	}
	first = cli_operand(&p);
	if (first == argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[first], "help")) {
		/* Hidden: `detour help --man TOPIC`, the generated parts of the
		 * man pages (man.h). */
		if (argc - first == 3 && !strcmp(argv[first + 1], "--man"))
			return man_topic(argv[first + 2], stdout);
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[first], commands[i].name))
			return commands[i].run(argc - first, argv + first);
	fprintf(stderr, "detour: unknown command '%s'\n\n", argv[first]);
	usage(stderr);
	return 2;
}
