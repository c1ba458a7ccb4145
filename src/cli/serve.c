/* detour serve: load detour.conf, then run the server (src/server/). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../server/server.h"
#include "cli.h"
#include "detour/config.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: detour serve [-c FILE] [-t]\n"
	        "\n"
	        "Answers HTTP requests with redirects from the rules files named in the\n"
	        "configuration (see docs/config.md).\n"
	        "\n"
	        "  -c, --config FILE  configuration file (default: ./detour.conf if it exists,\n"
	        "                     else built-in defaults: listen 127.0.0.1:8080,\n"
	        "                     rules examples/site.rules)\n"
	        "  -t, --test         check the configuration and the rules, then exit 0 or 1\n"
	        "  -h, --help         this text\n"
	        "\n"
	        "Signals: SIGHUP reloads, SIGUSR1 reopens logs, SIGTERM/SIGINT drain and exit.\n");
}

int cmd_serve(int argc, char **argv)
{
	static struct detour_config conf;
	const char *path = NULL;
	bool test = false;
	struct detour_diag d = {0};
	char err[1024];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (++i == argc) {
				fprintf(stderr, "detour serve: %s needs a file name\n",
				        argv[i - 1]);
				return 2;
			}
			path = argv[i];
		} else if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--test")) {
			test = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "detour serve: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL && access("detour.conf", F_OK) == 0)
		path = "detour.conf";
	if (path) {
		if (detour_config_load(&conf, path, &d) != DETOUR_OK) {
			fprintf(stderr, "detour: %s\n", detour_diag_format(&d, err, sizeof(err)));
			return 1;
		}
	} else {
		detour_config_defaults(&conf);
	}
	if (test) {
		const char *files[DETOUR_CONF_MAX_RULES];
		struct detour_table *t;
		for (unsigned i = 0; i < conf.nrules; i++)
			files[i] = conf.rules[i];
		if (detour_rules_load(files, conf.nrules, &t, &d) != DETOUR_OK) {
			fprintf(stderr, "detour: %s\n", detour_diag_format(&d, err, sizeof(err)));
			return 1;
		}
		printf("detour: configuration %s is ok: %zu rules from %u file%s\n",
		       path ? path : "(built-in defaults)",
		       detour_ruleset_count(detour_table_rules(t)), conf.nrules,
		       conf.nrules == 1 ? "" : "s");
		detour_table_free(t);
		return 0;
	}
	return server_run(&conf, path);
}
