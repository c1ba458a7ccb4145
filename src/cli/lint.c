/* detour lint: static analysis of rules files (lib/lint.c does the work).
 * Prints the findings as text (file:line: severity: message [code]), as
 * JSON, the redirect graph as Graphviz DOT, or the rules with every chain
 * flattened. Exit status: 0 clean, 1 warnings only, 2 errors (a file that does
 * not load and a usage error count as errors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "cli.h"
#include "cli_opts.h"
#include "cli_util.h"
#include "detour/config.h"
#include "detour/lint.h"
#include "detour/lint_canon.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"

enum mode { M_TEXT, M_JSON, M_GRAPH, M_FIX };

static const struct cli_opt optab[] = {
        {"config", 'c', "FILE", "a file name",
         "take the rules files from this configuration, and check its\n"
         "https-redirect, canonical-host, trailing-slash and hsts with them"},
        {"json", 'j' + CLI_LONG, NULL, NULL, "the findings as one JSON object"},
        {"graph", 'g' + CLI_LONG, NULL, NULL, "the redirect graph in Graphviz DOT (dot -Tsvg)"},
        {"fix", 'f' + CLI_LONG, NULL, NULL,
         "print the rules with every chain replaced by one rule that goes\n"
         "straight to the end (findings are summed up on stderr)"},
        {"at", 'a' + CLI_LONG, "TIME", "a time (RFC 3339)",
         "the clock for time windows, RFC 3339 (default: DETOUR_NOW when\n"
         "set, as the server reads it, else the current time)"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

const struct cli_cmd cli_lint_cmd = {
        .name = "lint",
        .usage = "usage: detour lint [--json | --graph | --fix] [--at TIME] (-c FILE | "
                 "RULES...)\n"
                 "\n"
                 "Checks rules files as one table, in order: redirect loops, chains, rules an\n"
                 "earlier rule shadows, duplicate and conflicting sources, risky statuses.\n"
                 "Exit status: 0 no findings, 1 warnings, 2 errors.\n"
                 "\n",
        .opts = optab,
};

static void rule_loc(const struct detour_ruleset *rs, uint32_t i, const char **file, unsigned *line)
{
	const struct detour_rule *r = detour_ruleset_get(rs, i);

	*file = detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r));
	*line = detour_ruleset_line(rs, r);
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
	fprintf(f, "%zu rule%s: %zu error%s, %zu warning%s", nrules, nrules == 1 ? "" : "s",
	        res->errors, res->errors == 1 ? "" : "s", res->warnings,
	        res->warnings == 1 ? "" : "s");
	if (res->notes) /* notes (regex-pcre2) do not change the exit status */
		fprintf(f, ", %zu note%s", res->notes, res->notes == 1 ? "" : "s");
	fputc('\n', f);
}

/* The other rules of a finding: [{"file":...,"line":...}, ...]. */
static json_t *json_related(const struct detour_ruleset *rs, const struct detour_lint_finding *f)
{
	json_t *rel = json_array();
	int err = 0;

	for (size_t k = 0; k < f->nrelated; k++) {
		const char *file;
		unsigned line;
		json_t *r = json_object();
		rule_loc(rs, f->related[k], &file, &line);
		err |= json_object_set_new(r, "file", cli_json_str(file));
		err |= json_object_set_new(r, "line", json_integer(line));
		if (err) {
			json_decref(r);
			break;
		}
		err |= json_array_append_new(rel, r); /* r is rel's, even on failure */
	}
	if (err) {
		json_decref(rel);
		return NULL;
	}
	return rel;
}

/* The findings as one JSON object on one line (docs/lint.md). Every value
 * is complete before it is added to its parent, so that a failure (out of
 * memory) frees the whole tree. */
static int print_json(const struct detour_ruleset *rs, const struct detour_lint_result *res,
                      size_t nrules)
{
	json_t *o = json_object(), *v = json_array();
	int err = 0;

	for (size_t i = 0; i < res->n && !err; i++) {
		const struct detour_lint_finding *f = &res->v[i];
		json_t *j = json_object();
		err |= json_object_set_new(j, "code", json_string(detour_lint_code_name(f->code)));
		err |= json_object_set_new(j, "severity",
		                           json_string(detour_lint_severity_name(f->severity)));
		err |= json_object_set_new(j, "file", cli_json_str(f->file));
		err |= json_object_set_new(j, "line", json_integer(f->line));
		err |= json_object_set_new(j, "message", cli_json_str(f->message));
		err |= json_object_set_new(j, "fix", cli_json_str(f->fix));
		err |= json_object_set_new(j, "related", json_related(rs, f));
		if (err) {
			json_decref(j);
			break;
		}
		err |= json_array_append_new(v, j); /* j is v's, even on failure */
	}
	err |= json_object_set_new(o, "rules", json_integer((json_int_t)nrules));
	err |= json_object_set_new(o, "errors", json_integer((json_int_t)res->errors));
	err |= json_object_set_new(o, "warnings", json_integer((json_int_t)res->warnings));
	if (res->notes)
		err |= json_object_set_new(o, "notes", json_integer((json_int_t)res->notes));
	if (err) {
		json_decref(v);
		json_decref(o);
		return -1;
	}
	if (json_object_set_new(o, "findings", v)) { /* v is o's, even on failure */
		json_decref(o);
		return -1;
	}
	return cli_json_print(o, stdout);
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
		dot_str(stdout, detour_lint_source_text(rs, r, src, sizeof(src)));
		printf("\\n");
		dot_str(stdout, detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r)));
		printf(":%u\"%s%s];\n", detour_ruleset_line(rs, r), (m & 1) ? ", color=red" : "",
		       (m & 2) ? ", style=dashed" : "");
		if (r->target_len == 0)
			continue;
		bool may = false;
		int64_t next = detour_lint_next_rule_at(t, r, now, &may);
		char cond[8];
		bool dashed = may || detour_lint_conditions(rs, r, cond, sizeof(cond))[0];
		if (next < 0) {
			printf("\tt%zu [label=\"", i);
			dot_str(stdout, detour_rule_target(rs, r));
			printf("\", shape=ellipse];\n");
			printf("\tr%zu -> t%zu [label=\"%u", i, i, (unsigned)r->status);
			edge_conditions(rs, r, false);
			printf("\"%s];\n", dashed ? ", style=dashed" : "");
		} else {
			printf("\tr%zu -> r%lld [label=\"%u ", i, (long long)next,
			       (unsigned)r->status);
			dot_str(stdout, detour_rule_target(rs, r));
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
		if (BASE_GROW(buf, cap, n + 4096 + 1)) {
			free(buf);
			fclose(f);
			return NULL;
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
				if (f->rule == DETOUR_LINT_NO_RULE)
					continue; /* about the configuration */
				const struct detour_rule *r = detour_ruleset_get(rs, f->rule);
				if (detour_ruleset_rule_file(rs, r) != fi ||
				    detour_ruleset_line(rs, r) != line)
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

/* The options: the output mode and --at (NULL when not given). Returns -1
 * to go on, with the rules files from argv[*first], or an exit status. */
static int parse_options(int argc, char **argv, enum mode *mode, const char **at, const char **conf,
                         int *first)
{
	struct cli_parser p;
	int k;

	cli_parse_init(&p, &cli_lint_cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		enum mode m;
		switch (k) {
		case 'j' + CLI_LONG:
			m = M_JSON;
			break;
		case 'g' + CLI_LONG:
			m = M_GRAPH;
			break;
		case 'f' + CLI_LONG:
			m = M_FIX;
			break;
		case 'a' + CLI_LONG:
			*at = p.arg;
			continue;
		case 'c':
			*conf = p.arg;
			continue;
		case 'h':
			cli_help(&cli_lint_cmd, stdout);
			return 0;
		default:
			return 2;
		}
		if (*mode != M_TEXT && *mode != m) {
			fprintf(stderr, "detour lint: give one of --json, --graph, --fix\n");
			return 2;
		}
		*mode = m;
	}
	*first = cli_operand(&p);
	if (*first == argc && *conf == NULL) {
		cli_help(&cli_lint_cmd, stderr);
		return 2;
	}
	if (*first != argc && *conf != NULL) {
		fprintf(stderr, "detour lint: give either -c FILE or rules files, not both\n");
		return 2;
	}
	return -1;
}

/* The rules files, in order, as one table. Returns 0, or 2 with every
 * error printed (the first DETOUR_DIAGS_MAX, then how many more), as a
 * compiler does. */
static int load(char **files, int nfiles, struct detour_table **t)
{
	static struct detour_diags ds;
	struct detour_diag d = {0};
	char err[1024];

	memset(&ds, 0, sizeof(ds));
	if (detour_rules_load_all((const char *const *)files, (size_t)nfiles, t, &d, &ds) !=
	    DETOUR_OK) {
		for (unsigned i = 0; i < ds.n; i++)
			fprintf(stderr, "detour lint: %s\n",
			        detour_diag_format(&ds.d[i], err, sizeof(err)));
		if (ds.n == 0)
			fprintf(stderr, "detour lint: %s\n",
			        detour_diag_format(&d, err, sizeof(err)));
		if (ds.total > ds.n)
			fprintf(stderr, "detour lint: %u more error%s\n", ds.total - ds.n,
			        ds.total - ds.n == 1 ? "" : "s");
		return 2;
	}
	return 0;
}

/* Prints the findings in the mode asked for; returns the exit status. */
static int print(enum mode mode, const struct detour_table *t, const struct detour_lint_result *res,
                 time_t now)
{
	const struct detour_ruleset *trs = detour_table_rules(t);
	size_t nrules = detour_ruleset_count(trs);
	int rc = res->errors ? 2 : res->warnings ? 1 : 0;

	switch (mode) {
	case M_TEXT:
		print_text(res, nrules);
		summary(stdout, res, nrules);
		break;
	case M_JSON:
		if (print_json(trs, res, nrules) < 0) {
			fprintf(stderr, "detour lint: out of memory\n");
			rc = 2;
		}
		break;
	case M_GRAPH:
		print_graph(t, res, now);
		summary(stderr, res, nrules);
		break;
	case M_FIX:
		if (print_fixed(trs, res) < 0)
			rc = 2;
		summary(stderr, res, nrules);
		break;
	}
	return rc;
}

int cmd_lint(int argc, char **argv)
{
	enum mode mode = M_TEXT;
	const char *at = NULL;
	struct detour_table *t = NULL;
	struct detour_lint_opts opts = {0};
	struct detour_lint_result res;
	struct cli_clock clock;
	int first, rc;

	static struct detour_config conf;
	const char *conf_path = NULL;

	rc = parse_options(argc, argv, &mode, &at, &conf_path, &first);
	if (rc >= 0)
		return rc;
	if (conf_path) {
		struct detour_diag d = {0};
		char err[1024], *files[DETOUR_CONF_MAX_RULES];
		if (detour_config_load(&conf, conf_path, &d) != DETOUR_OK) {
			fprintf(stderr, "detour lint: %s\n",
			        detour_diag_format(&d, err, sizeof(err)));
			return 2;
		}
		for (unsigned i = 0; i < conf.nrules; i++)
			files[i] = conf.rules[i];
		if (load(files, (int)conf.nrules, &t))
			return 2;
	} else if (load(argv + first, argc - first, &t)) {
		return 2;
	}
	/* The clock of time windows; DETOUR_NOW is said on stderr, as loudly
	 * as the server says it. */
	if (cli_clock(at, &clock)) {
		fprintf(stderr, "detour lint: %s '%s' is not an RFC 3339 time\n", clock.source,
		        clock.value);
		detour_table_free(t);
		return 2;
	}
	if (clock.source)
		opts.now = clock.now;
	if (clock.source && !strcmp(clock.source, "DETOUR_NOW"))
		fprintf(stderr, "detour lint: DETOUR_NOW is set: the clock is %s\n", clock.value);

	if (detour_lint(t, &opts, &res) != DETOUR_OK ||
	    (conf_path && detour_lint_canon(t, &conf, &res) != DETOUR_OK)) {
		fprintf(stderr, "detour lint: out of memory\n");
		detour_lint_result_fini(&res);
		detour_table_free(t);
		return 2;
	}
	rc = print(mode, t, &res, opts.now);
	detour_lint_result_fini(&res);
	detour_table_free(t);
	return rc;
}
