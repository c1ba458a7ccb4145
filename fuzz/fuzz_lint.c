/* libFuzzer target: arbitrary bytes as a rules file, linted whole. When the
 * bytes load, detour_lint runs on the table (with a small hop bound so that a
 * loop-rich input stays fast) and every finding is checked:
 *   - its line is a line of the input that holds a rule (not blank, not a
 *     comment), and its file is the input's name;
 *   - its code is known and its severity is the code's; errors + warnings
 *     + notes equals the number of findings, which are sorted by rule;
 *   - message, fix and edit are one line (no CR, LF or NUL inside);
 *   - related rules exist; a TARGET edit comes with the rule's chain finding;
 *   - an INSERT edit and every TARGET edit, put back into a rule line, load.
 * The walk must terminate (libFuzzer's timeout catches a hang) and
 * detour_lint_next_rule_at names an existing rule or none (and "may" only for
 * one); detour_lint_conditions is one line, non-empty for a rule with a
 * weight or a time window. */
#include "fuzz.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/lint.h"
#include "detour/rulefile.h"
#include "detour/table.h"

/* Start and length of line `line` (1-based) of data, or false. */
static bool line_of(const uint8_t *data, size_t size, unsigned line, size_t *s, size_t *n)
{
	size_t i = 0;

	for (unsigned l = 1; l < line; l++) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		if (nl == NULL)
			return false;
		i = (size_t)(nl - data) + 1;
	}
	if (i > size || (i == size && line > 1))
		return false;
	const uint8_t *nl = memchr(data + i, '\n', size - i);
	*s = i;
	*n = nl ? (size_t)(nl - data) - i : size - i;
	return true;
}

static void one_line(const char *s)
{
	if (s == NULL)
		return;
	CHECK(strchr(s, '\n') == NULL && strchr(s, '\r') == NULL);
}

static bool loads(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	bool ok = rs && detour_ruleset_add_line(rs, "x", 1, text, strlen(text), &d) == DETOUR_OK;
	detour_ruleset_free(rs);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;

	if (rs == NULL)
		return 0;
	if (detour_ruleset_load_buf(rs, "fuzz", (const char *)data, size, &d) != DETOUR_OK) {
		detour_ruleset_free(rs);
		return 0;
	}
	if (detour_table_build(rs, &t, &d) != DETOUR_OK)
		return 0;
	const struct detour_ruleset *trs = detour_table_rules(t);
	size_t n = detour_ruleset_count(trs);
	struct detour_lint_result res;
	struct detour_lint_opts opts = {.now = 1800000000, .max_hops = 6};
	CHECK(detour_lint(t, &opts, &res) == DETOUR_OK);
	CHECK(res.errors + res.warnings + res.notes == res.n);
	for (size_t i = 0; i < res.n; i++) {
		const struct detour_lint_finding *f = &res.v[i];
		size_t s, len;
		CHECK((unsigned)f->code < DETOUR_LINT_CODE_COUNT);
		CHECK(f->severity == detour_lint_code_severity(f->code));
		CHECK(f->rule < n);
		CHECK(i == 0 || res.v[i - 1].rule <= f->rule);
		CHECK(strcmp(f->file, "fuzz") == 0);
		CHECK(f->line == detour_ruleset_line(trs, detour_ruleset_get(trs, f->rule)));
		CHECK(line_of(data, size, f->line, &s, &len));
		size_t k = s;
		while (k < s + len && (data[k] == ' ' || data[k] == '\t' || data[k] == 0xEF ||
		                       data[k] == 0xBB || data[k] == 0xBF))
			k++;
		CHECK(k < s + len && data[k] != '#' && data[k] != '\r'); /* a rule is there */
		CHECK(f->message != NULL && f->message[0] != '\0');
		one_line(f->message);
		one_line(f->fix);
		one_line(f->edit);
		for (size_t r = 0; r < f->nrelated; r++)
			CHECK(f->related[r] < n);
		if (f->edit_kind == DETOUR_LINT_EDIT_NONE) {
			CHECK(f->edit == NULL);
		} else {
			CHECK(f->code == DETOUR_LINT_CHAIN ||
			      f->code == DETOUR_LINT_TARGET_REDIRECTS);
			CHECK(f->edit != NULL && f->fix != NULL);
			/* the fix is the whole rule line, and it loads */
			CHECK(loads(f->fix));
			if (f->edit_kind == DETOUR_LINT_EDIT_INSERT)
				CHECK(strcmp(f->edit, f->fix) == 0);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = detour_ruleset_get(trs, i);
		bool may = true;
		int64_t next = detour_lint_next_rule_at(t, r, 1800000000, &may);
		CHECK(next >= -1 && next < (int64_t)n);
		CHECK(next >= 0 || !may);
		char cond[512];
		detour_lint_conditions(trs, r, cond, sizeof(cond));
		CHECK(strpbrk(cond, "\r\n") == NULL);
		const struct detour_rule_ext *x = detour_ruleset_ext(trs, r);
		if (x && (x->weight || (x->flags & DETOUR_EXT_WINDOW)))
			CHECK(cond[0] != '\0');
	}
	detour_lint_result_fini(&res);
	CHECK(res.v == NULL && res.n == 0);
	detour_table_free(t);
	return 0;
}
