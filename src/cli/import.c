/* detour import: another server's redirects -> a rules file (lib/import*.c
 * does the conversion). Every source line that is not converted is said on
 * stderr as "FILE:LINE: skipped: why"; the result is linted before it is
 * written, and written even when lint finds errors (they were in the source
 * too; the user fixes them in detour's terms). Exit status: 0 everything
 * converted and lint found no error, 1 some lines skipped, 2 usage error or
 * unreadable input, 3 lint found errors in the result (written anyway). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "cli.h"
#include "cli_opts.h"
#include "cli_util.h"
#include "detour/import.h"
#include "detour/lint.h"
#include "detour/rulefile.h"
#include "detour/table.h"

static const struct cli_opt optab[] = {
        {"output", 'o', "FILE", "a file name", "write the rules to FILE (default: stdout)"},
        {"help", 'h', NULL, NULL, "this text"},
        {NULL, 0, "FORMAT", NULL, DETOUR_IMPORT_FORMATS},
        {0},
};

static const struct cli_cmd cmd = {
        .name = "import",
        .usage = "usage: detour import FORMAT FILE [-o OUT]\n"
                 "\n"
                 "Converts another server's redirects into a detour rules file, with a comment\n"
                 "naming the source line of every rule. Lines that cannot be converted are\n"
                 "reported as FILE:LINE: skipped: why. The result is linted before it is\n"
                 "written. FILE '-' reads stdin.\n"
                 "Exit status: 0 all converted, 1 lines skipped, 2 error, 3 lint errors in\n"
                 "the result (written anyway).\n"
                 "\n",
        .opts = optab,
};

/* The whole of path ("-": stdin); NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (BASE_GROW(buf, cap, n + 65536 + 1)) {
			free(buf);
			if (f != stdin)
				fclose(f);
			errno = ENOMEM;
			return NULL;
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Lints text as the rules file name; prints findings on stderr. Returns
 * the number of errors (a file that does not load counts as one). */
static size_t lint_text(const char *name, const char *text, size_t len)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_lint_result res;
	struct detour_diag d;
	char msg[1024];
	size_t errors = 0;

	memset(&d, 0, sizeof(d));
	if (rs == NULL)
		return 1;
	if (detour_ruleset_load_buf(rs, name, text, len, &d) != DETOUR_OK ||
	    detour_table_build(rs, &t, &d) != DETOUR_OK) {
		fprintf(stderr, "detour import: lint: %s\n",
		        detour_diag_format(&d, msg, sizeof(msg)));
		if (t == NULL)
			detour_ruleset_free(rs);
		return 1;
	}
	memset(&res, 0, sizeof(res));
	if (detour_lint(t, NULL, &res) != DETOUR_OK) {
		fprintf(stderr, "detour import: lint: out of memory\n");
		errors = 1;
	}
	for (size_t i = 0; i < res.n; i++) {
		const struct detour_lint_finding *f = &res.v[i];
		if (f->severity != DETOUR_LINT_ERROR)
			continue; /* counted below: 301 without cache= would drown the rest */
		fprintf(stderr, "detour import: lint: %s:%u: %s: %s [%s]\n", f->file, f->line,
		        detour_lint_severity_name(f->severity), f->message,
		        detour_lint_code_name(f->code));
	}
	if (res.warnings)
		fprintf(stderr,
		        "detour import: lint: %zu warning%s (detour lint on the result lists "
		        "them)\n",
		        res.warnings, res.warnings == 1 ? "" : "s");
	errors += res.errors;
	detour_lint_result_fini(&res);
	detour_table_free(t);
	return errors;
}

int cmd_import(int argc, char **argv)
{
	struct cli_parser p;
	const char *out = NULL;
	int k, first;

	cli_parse_init(&p, &cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 'o') {
			out = p.arg;
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
	size_t len, tlen;
	char *buf = slurp(file, &len);
	if (buf == NULL) {
		fprintf(stderr, "detour import: %s: %s\n", file, strerror(errno));
		return 2;
	}
	struct detour_import im;
	struct detour_diag d;
	char msg[1024];
	memset(&d, 0, sizeof(d));
	detour_import_init(&im, strcmp(file, "-") ? file : "<stdin>");
	detour_err e = detour_import_run(format, buf, len, &im, &d);
	free(buf);
	if (e != DETOUR_OK) {
		if (e == DETOUR_ENOMEM)
			fprintf(stderr, "detour import: out of memory\n");
		else
			fprintf(stderr, "detour import: %s\n",
			        detour_diag_format(&d, msg, sizeof(msg)));
		detour_import_fini(&im);
		return 2;
	}
	for (size_t i = 0; i < im.nskips; i++)
		fprintf(stderr, "%s:%u: skipped: %s\n", im.file, im.skips[i].line, im.skips[i].why);
	char *text = detour_import_text(&im, format, &tlen);
	if (text == NULL) {
		fprintf(stderr, "detour import: out of memory\n");
		detour_import_fini(&im);
		return 2;
	}
	size_t lint_errors = lint_text(out ? out : "<stdout>", text, tlen);
	int rc = lint_errors ? 3 : im.nskips ? 1 : 0;
	if (cli_write_out("import", out, text, tlen))
		rc = 2;
	fprintf(stderr, "detour import: %zu rule%s, %zu line%s skipped%s\n", im.nrules,
	        im.nrules == 1 ? "" : "s", im.nskips, im.nskips == 1 ? "" : "s",
	        lint_errors ? ", lint errors in the result" : "");
	free(text);
	detour_import_fini(&im);
	return rc;
}
