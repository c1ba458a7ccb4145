/* detour serve: load detour.conf, then run the server. The command lives
 * here, beside the server it starts, so that src/cli includes no server
 * header: main.c finds cmd_serve through src/cli/cli.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../cli/cli_opts.h"
#include "acme.h"
#include "detour/config.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "fleet_tls.h"
#include "maint.h"
#include "server.h"
#include "tls.h"

static const struct cli_opt optab[] = {
        {"config", 'c', "FILE", "a file name",
         "configuration file (default: ./detour.conf if it exists,\n"
         "else built-in defaults: listen 127.0.0.1:8080,\n"
         "rules examples/site.rules)"},
        {"test", 't', NULL, NULL, "check the configuration and the rules, then exit 0 or 1"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

const struct cli_cmd cli_serve_cmd = {
        .name = "serve",
        .usage = "usage: detour serve [-c FILE] [-t]\n"
                 "\n"
                 "Answers HTTP requests with redirects from the rules files named in the\n"
                 "configuration (see docs/config.md).\n"
                 "\n",
        .epilog = "\n"
                  "Signals: SIGHUP reloads, SIGUSR1 reopens logs, SIGTERM/SIGINT drain and "
                  "exit.\n",
        .opts = optab,
};

/* serve -t: builds the table as a reload would, and says how it went. */
static int test_config(const struct detour_config *conf, const char *path)
{
	static struct detour_diags ds;
	char err[1024];
	struct maint_page *pg = NULL;

	/* The maintenance page as start and reload read it. */
	if (maint_page_read(conf->maint.line ? conf->maint.page : "", &pg, err, sizeof(err))) {
		fprintf(stderr, "detour: %s:%u: %s\n", path ? path : "", conf->maint.line, err);
		return 1;
	}
	maint_page_free(pg);

	struct detour_table *t = server_build_table(conf, err, sizeof(err), &ds, false);

	if (t == NULL) {
		/* Every error of the rules files, as a compiler reports them. */
		if (ds.total < 2)
			fprintf(stderr, "detour: %s\n", err);
		for (unsigned i = 0; ds.total >= 2 && i < ds.n; i++)
			fprintf(stderr, "detour: %s\n",
			        detour_diag_format(&ds.d[i], err, sizeof(err)));
		if (ds.total > ds.n)
			fprintf(stderr, "detour: %u more errors\n", ds.total - ds.n);
		return 1;
	}
	/* Every tls-cert pair loads and matches (file and reason otherwise). */
	if (conf->ncerts > 0) {
		struct tls_ctx *tc = tls_ctx_new(conf, err, sizeof(err));
		if (tc == NULL) {
			fprintf(stderr, "detour: %s: %s\n", path ? path : "(built-in defaults)",
			        err);
			detour_table_free(t);
			return 1;
		}
		tls_ctx_free(tc);
	}
	/* rediss://: state-ca and state-cert load and match, without
	 * connecting (the same checks as at start). */
	if (conf->state_ca_line || conf->state_cert_line ||
	    !strncmp(conf->state_url, "rediss", 6)) {
		struct fleet_tls *ft = fleet_tls_new(conf, err, sizeof(err));
		if (ft == NULL) {
			fprintf(stderr, "detour: %s: %s\n", path ? path : "(built-in defaults)",
			        err);
			detour_table_free(t);
			return 1;
		}
		fleet_tls_free(ft);
	}
	/* The ACME settings, without contacting the CA. */
	if (acme_check(conf, detour_table_rules(t), stdout, err, sizeof(err))) {
		fprintf(stderr, "detour: %s\n", err);
		detour_table_free(t);
		return 1;
	}
	printf("detour: configuration %s is ok: %zu rules from %u file%s\n",
	       path ? path : "(built-in defaults)", detour_ruleset_count(detour_table_rules(t)),
	       conf->nrules, conf->nrules == 1 ? "" : "s");
	detour_table_free(t);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct detour_config *conf;
	const char *path = NULL;
	bool test = false;
	struct detour_diag d = {0};
	char err[1024];
	struct cli_parser p;
	int k;

	cli_parse_init(&p, &cli_serve_cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		switch (k) {
		case 'c':
			path = p.arg;
			break;
		case 't':
			test = true;
			break;
		case 'h':
			cli_help(&cli_serve_cmd, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (cli_operand(&p) < argc)
		return cli_unknown(&cli_serve_cmd, argv[cli_operand(&p)]);

	if (path == NULL && access("detour.conf", F_OK) == 0)
		path = "detour.conf";
	/* On the heap, not static: server_run() takes it over and frees it
	 * once copied (a megabyte, server.h). */
	conf = malloc(sizeof(*conf));
	if (conf == NULL) {
		fprintf(stderr, "detour: out of memory\n");
		return 1;
	}
	if (path) {
		if (detour_config_load(conf, path, &d) != DETOUR_OK) {
			fprintf(stderr, "detour: %s\n", detour_diag_format(&d, err, sizeof(err)));
			free(conf);
			return 1;
		}
	} else {
		detour_config_defaults(conf);
	}
	if (test) {
		int rc = test_config(conf, path);
		free(conf);
		return rc;
	}
	return server_run(conf, path);
}
