/* detour: rules files -> a table (see rules_load.h). Above both the parser
 * (rulefile.c) and the table (table.c): the one place that strings them
 * together, so serve, explain, lint and check --against cannot differ. */
#include "detour/rules_load.h"

#include "detour/rulefile.h"
#include "detour/table.h"

detour_err detour_rules_load(const char *const *files, size_t n, struct detour_table **out,
                             struct detour_diag *d)
{
	struct detour_ruleset *rs = detour_ruleset_new();

	*out = NULL;
	if (rs == NULL) {
		detour_diag_set(d, NULL, 0, 0, "out of memory");
		return DETOUR_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		detour_err e = detour_ruleset_load_file(rs, files[i], d);
		if (e != DETOUR_OK) {
			detour_ruleset_free(rs);
			return e;
		}
	}
	/* Takes rs over, also on failure. */
	return detour_table_build(rs, out, d);
}
