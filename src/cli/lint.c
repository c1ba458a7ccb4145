/* detour lint: static analysis of rules files (lib/lint.c does the work).
 * Prints the findings as text (file:line: severity: message [code]), as
 * JSON, the redirect graph as Graphviz DOT, or the rules with every chain
 * flattened. Exit status: 0 clean, 1 warnings only, 2 errors (a file that does
 * not load and a usage error count as errors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detour/lint.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"

enum mode { M_TEXT, M_JSON, M_GRAPH, M_FIX };

static void usage(FILE *f)
{
	fprintf(f, "usage: detour lint [--json | --graph | --fix] [--at TIME] RULES...\n"
	           "\n"
	           "Checks rules files as one table, in order: redirect loops, chains, rules an\n"
	           "earlier rule shadows, duplicate and conflicting sources, risky statuses.\n"
	           "Exit status: 0 no findings, 1 warnings, 2 errors.\n"
	           "\n"
	           "  --json   the findings as one JSON object\n"
	           "  --graph  the redirect graph in Graphviz DOT (dot -Tsvg)\n"
	           "  --fix    print the rules with every chain replaced by one rule that goes\n"
	           "           straight to the end (findings are summed up on stderr)\n"
	           "  --at TIME  the clock for time windows, RFC 3339 (default: DETOUR_NOW when\n"
	           "           set, as the server reads it, else the current time)\n");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void rule_loc(const struct detour_ruleset *rs, uint32_t i, const char **file, unsigned *line)
{
	const struct detour_rule *r = detour_ruleset_get(rs, i);

	*file = detour_ruleset_file(rs, r->file);
	*line = r->line;
}

static void print_text(const struct detour_lint_result *res, size_t nrules)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct detour_lint_finding *f = &res->v[i];
		printf("%s:%u: %s: %s [%s]\n", f->file, f->line,
		       detour_lint_severity_name(f->severity), f->message,
		       detour_lint_code_name(f->code));
		if (f->fix)
			printf("  fix: %s\n", f->fix);
	}
}

static void summary(FILE *f, const struct detour_lint_result *res, size_t nrules)
{
	if (res->n == 0) {
		fprintf(f, "%zu rule%s: no findings\n", nrules, nrules == 1 ? "" : "s");
		return;
	}
	fprintf(f, "%zu rule%s: %zu error%s, %zu warning%s\n", nrules, nrules == 1 ? "" : "s",
	        res->errors, res->errors == 1 ? "" : "s", res->warnings,
	        res->warnings == 1 ? "" : "s");
}

static void print_json(const struct detour_ruleset *rs, const struct detour_lint_result *res,
                       size_t nrules)
{
	printf("{\"rules\":%zu,\"errors\":%zu,\"warnings\":%zu,\"findings\":[", nrules, res->errors,
	       res->warnings);
	for (size_t i = 0; i < res->n; i++) {
		const struct detour_lint_finding *f = &res->v[i];
		printf("%s{\"code\":", i ? "," : "");
		json_str(stdout, detour_lint_code_name(f->code));
		printf(",\"severity\":");
		json_str(stdout, detour_lint_severity_name(f->severity));
		printf(",\"file\":");
		json_str(stdout, f->file);
		printf(",\"line\":%u,\"message\":", f->line);
		json_str(stdout, f->message);
		printf(",\"fix\":");
		if (f->fix)
			json_str(stdout, f->fix);
		else
			printf("null");
		printf(",\"related\":[");
		for (size_t k = 0; k < f->nrelated; k++) {
			const char *file;
			unsigned line;
			rule_loc(rs, f->related[k], &file, &line);
			printf("%s{\"file\":", k ? "," : "");
			json_str(stdout, file);
			printf(",\"line\":%u}", line);
		}
		printf("]}");
	}
	printf("]}\n");
}

/* A DOT string: '"' and '\' escaped; nl_escape keeps "\n" sequences we add. */
static void dot_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* Edge attributes of rule r: a rule that applies only to some requests
 * (conditions, a window, an allow-hosts guard, a weight), or whose next rule
 * does, is drawn dashed with its conditions in the label. */
static void edge_conditions(const struct detour_ruleset *rs, const struct detour_rule *r,
                            bool may_next)
{
	char cond[1024];

	detour_lint_conditions(rs, r, cond, sizeof(cond));
	if (cond[0]) {
		printf("\\n");
		dot_str(stdout, cond);
	}
	if (may_next && !cond[0])
		printf("\\n(may redirect)");
}

static void print_graph(const struct detour_table *t, const struct detour_lint_result *res,
                        time_t now)
{
	const struct detour_ruleset *rs = detour_table_rules(t);
	size_t n = detour_ruleset_count(rs);
	unsigned char *mark = calloc(n + 1, 1); /* 1: in a loop, 2: never used */
	char src[1024];

	for (size_t i = 0; mark && i < res->n; i++) {
		const struct detour_lint_finding *f = &res->v[i];
		if (f->code == DETOUR_LINT_LOOP || f->code == DETOUR_LINT_SELF ||
		    f->code == DETOUR_LINT_MAY_LOOP) {
			mark[f->rule] |= 1;
			for (size_t k = 0; k < f->nrelated; k++)
				mark[f->related[k]] |= 1;
		} else if (f->code == DETOUR_LINT_SHADOWED || f->code == DETOUR_LINT_DUPLICATE ||
		           f->code == DETOUR_LINT_CONFLICT || f->code == DETOUR_LINT_WINDOW_ENDED ||
		           f->code == DETOUR_LINT_WINDOW_NEVER) {
			mark[f->rule] |= 2;
		}
	}
	printf("digraph detour {\n\trankdir=LR;\n\tnode [shape=box];\n");
	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		unsigned m = mark ? mark[i] : 0;
		printf("\tr%zu [label=\"", i);
		dot_str(stdout, detour_lint_source_text(r, src, sizeof(src)));
		printf("\\n");
		dot_str(stdout, detour_ruleset_file(rs, r->file));
		printf(":%u\"%s%s];\n", (unsigned)r->line, (m & 1) ? ", color=red" : "",
		       (m & 2) ? ", style=dashed" : "");
		if (r->target_len == 0)
			continue;
		bool may = false;
		int64_t next = detour_lint_next_rule_at(t, r, now, &may);
		char cond[8];
		bool dashed = may || detour_lint_conditions(rs, r, cond, sizeof(cond))[0];
		if (next < 0) {
			printf("\tt%zu [label=\"", i);
			dot_str(stdout, r->target);
			printf("\", shape=ellipse];\n");
			printf("\tr%zu -> t%zu [label=\"%u", i, i, (unsigned)r->status);
			edge_conditions(rs, r, false);
			printf("\"%s];\n", dashed ? ", style=dashed" : "");
		} else {
			printf("\tr%zu -> r%lld [label=\"%u ", i, (long long)next,
			       (unsigned)r->status);
			dot_str(stdout, r->target);
			edge_conditions(rs, r, may);
			printf("\"%s%s];\n", (m & 1) && mark[next] & 1 ? ", color=red" : "",
			       dashed ? ", style=dashed" : "");
		}
	}
	printf("}\n");
	free(mark);
}

/* Reads the whole file at path; *len set. NULL on error. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Prints line s[0..n) (no newline) with its second field replaced by target. */
static void print_replaced(const char *s, size_t n, const char *target, bool first_line)
{
	size_t i = 0;

	if (first_line && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
		i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t e = i;
	while (e < n && s[e] != ' ' && s[e] != '\t' && s[e] != '\r')
		e++;
	fwrite(s, 1, i, stdout);
	fputs(target, stdout);
	fwrite(s + e, 1, n - e, stdout);
}

static int print_fixed(const struct detour_ruleset *rs, const struct detour_lint_result *res)
{
	for (unsigned fi = 0; detour_ruleset_file(rs, fi); fi++) {
		const char *name = detour_ruleset_file(rs, fi);
		size_t len, k = 0;
		char *buf = slurp(name, &len);
		if (buf == NULL) {
			perror(name);
			return -1;
		}
		if (detour_ruleset_file(rs, 1))
			printf("# detour lint --fix: %s\n", name);
		for (unsigned line = 1; k < len || (k == len && len == 0 && line == 1); line++) {
			const char *nl = memchr(buf + k, '\n', len - k);
			size_t e = nl ? (size_t)(nl - buf) : len;
			bool cr = e > k && buf[e - 1] == '\r';
			const char *target = NULL;
			for (size_t i = 0; i < res->n; i++) {
				const struct detour_lint_finding *f = &res->v[i];
				const struct detour_rule *r = detour_ruleset_get(rs, f->rule);
				if (r->file != fi || r->line != line)
					continue;
				if (f->edit_kind == DETOUR_LINT_EDIT_INSERT)
					printf("%s%s\n", f->edit, cr ? "\r" : "");
				else if (f->edit_kind == DETOUR_LINT_EDIT_TARGET)
					target = f->edit;
			}
			if (target)
				print_replaced(buf + k, e - k, target, line == 1);
			else
				fwrite(buf + k, 1, e - k, stdout);
			if (nl)
				fputc('\n', stdout);
			k = nl ? e + 1 : len;
			if (len == 0)
				break;
		}
		free(buf);
	}
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	enum mode mode = M_TEXT;
	const char **files;
	struct detour_table *t = NULL;
	struct detour_diag d = {0};
	char err[1024];
	int nfiles = 0;
	const char *at = getenv("DETOUR_NOW");
	bool at_env = at && *at;
	struct detour_lint_opts opts = {0};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
	}
	files = malloc((size_t)argc * sizeof(*files));
	if (files == NULL) {
		fprintf(stderr, "detour lint: out of memory\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		enum mode m = M_TEXT;
		if (!strcmp(argv[i], "--at")) {
			if (i + 1 == argc) {
				fprintf(stderr, "detour lint: --at needs a time (RFC 3339)\n");
				free(files);
				return 2;
			}
			at = argv[++i];
			at_env = false;
			continue;
		}
		if (!strcmp(argv[i], "--json"))
			m = M_JSON;
		else if (!strcmp(argv[i], "--graph"))
			m = M_GRAPH;
		else if (!strcmp(argv[i], "--fix"))
			m = M_FIX;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "detour lint: unknown option '%s'\n", argv[i]);
			usage(stderr);
			free(files);
			return 2;
		}
		if (m != M_TEXT) {
			if (mode != M_TEXT && mode != m) {
				fprintf(stderr,
				        "detour lint: give one of --json, --graph, --fix\n");
				free(files);
				return 2;
			}
			mode = m;
			continue;
		}
		files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		usage(stderr);
		free(files);
		return 2;
	}
	detour_err le = detour_rules_load(files, (size_t)nfiles, &t, &d);
	free(files);
	if (le != DETOUR_OK) {
		fprintf(stderr, "detour lint: %s\n", detour_diag_format(&d, err, sizeof(err)));
		return 2;
	}
	/* The clock of time windows: --at, else DETOUR_NOW as the server reads
	 * it (and says so on stderr, as loudly as the server), else now. */
	if (at && *at) {
		int64_t tt;
		if (detour_parse_time(at, strlen(at), &tt) != 0) {
			fprintf(stderr, "detour lint: %s '%s' is not an RFC 3339 time\n",
			        at_env ? "DETOUR_NOW" : "--at", at);
			detour_table_free(t);
			return 2;
		}
		opts.now = (time_t)tt;
		if (at_env)
			fprintf(stderr, "detour lint: DETOUR_NOW is set: the clock is %s\n", at);
	}
	const struct detour_ruleset *trs = detour_table_rules(t);
	size_t nrules = detour_ruleset_count(trs);
	struct detour_lint_result res;
	if (detour_lint(t, &opts, &res) != DETOUR_OK) {
		fprintf(stderr, "detour lint: out of memory\n");
		detour_lint_result_fini(&res);
		detour_table_free(t);
		return 2;
	}
	int rc = res.errors ? 2 : res.warnings ? 1 : 0;
	switch (mode) {
	case M_TEXT:
		print_text(&res, nrules);
		summary(stdout, &res, nrules);
		break;
	case M_JSON:
		print_json(trs, &res, nrules);
		break;
	case M_GRAPH:
		print_graph(t, &res, opts.now);
		summary(stderr, &res, nrules);
		break;
	case M_FIX:
		if (print_fixed(trs, &res) < 0)
			rc = 2;
		summary(stderr, &res, nrules);
		break;
	}
	detour_lint_result_fini(&res);
	detour_table_free(t);
	return rc;
}
