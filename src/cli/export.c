/* detour export: a rules file -> an nginx, Apache, Caddy, Netlify or CSV
 * configuration (lib/export*.c does the work). What the format cannot
 * express is written as a comment in the output (CSV has none) and said on
 * stderr as "FILE:LINE: why". Exit status: 0 every rule exported as it is,
 * 1 some rules not (or not wholly) exported, 2 usage error or a rules file
 * that does not load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"
#include "cli_util.h"
#include "detour/export.h"
#include "detour/rulefile.h"
#include "export_util.h"

static const struct cli_opt optab[] = {
        {"output", 'o', "FILE", "a file name", "write to FILE (default: stdout)"},
        {"host", 'H' + CLI_LONG, "HOST", "a host name",
         "csv: the host of rules without one (a bulk redirect names its host)"},
        {"help", 'h', NULL, NULL, "this text"},
        {NULL, 0, "FORMAT", NULL, DETOUR_EXPORT_FORMATS},
        {0},
};

static const struct cli_cmd cmd = {
        .name = "export",
        .usage = "usage: detour export FORMAT RULES [-o OUT] [--host HOST]\n"
                 "\n"
                 "Writes a rules file as another server's configuration. A rule whose\n"
                 "options the format cannot express is written as a comment and said on\n"
                 "stderr. Exit status: 0 all exported, 1 some rules not, 2 error.\n"
                 "\n",
        .opts = optab,
};

int cmd_export(int argc, char **argv)
{
	struct cli_parser p;
	const char *out = NULL, *host = NULL;
	int k, first;

	cli_parse_init(&p, &cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 'o') {
			out = p.arg;
		} else if (k == 'H' + CLI_LONG) {
			host = p.arg;
		} else if (k == 'h') {
			cli_help(&cmd, stdout);
			return 0;
		} else {
			return 2;
		}
	}
	if ((first = cli_operands(&p, 2)) < 0)
		return 2;
	const char *format = argv[first], *file = argv[first + 1];
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char msg[1024];
	memset(&d, 0, sizeof(d));
	if (rs == NULL || detour_ruleset_load_file(rs, file, &d) != DETOUR_OK) {
		fprintf(stderr, "detour export: %s\n",
		        rs ? detour_diag_format(&d, msg, sizeof(msg)) : "out of memory");
		detour_ruleset_free(rs);
		return 2;
	}
	struct detour_export x;
	detour_export_init(&x, file);
	x.host = host;
	detour_err e = detour_export_run(format, rs, &x, &d);
	int rc = 0;
	if (e != DETOUR_OK) {
		fprintf(stderr, "detour export: %s\n",
		        e == DETOUR_ENOMEM ? "out of memory"
		                           : detour_diag_format(&d, msg, sizeof(msg)));
		rc = 2;
	} else {
		for (size_t i = 0; i < x.nnotes; i++)
			fprintf(stderr, "%s:%u: %s\n", file, x.notes[i].line, x.notes[i].why);
		if (cli_write_out("export", out, x.text.p, x.text.len))
			rc = 2;
		else
			rc = x.nnotes ? 1 : 0;
	}
	detour_export_fini(&x);
	detour_ruleset_free(rs);
	return rc;
}
