/* detour: rules files -> a table (see rules_load.h). Above both the parser
 * (rulefile.c) and the table (table.c): the one place that strings them
 * together, so serve, explain, lint and check --against cannot differ. */
#include "detour/rules_load.h"

#include "detour/rulefile.h"
#include "detour/table.h"

detour_err detour_rules_load_all(const char *const *files, size_t n, struct detour_table **out,
                                 struct detour_diag *d, struct detour_diags *ds)
{
	return detour_rules_load_cached(files, n, out, d, ds, NULL);
}

detour_err detour_rules_load_cached(const char *const *files, size_t n, struct detour_table **out,
                                    struct detour_diag *d, struct detour_diags *ds,
                                    const struct detour_hscache *io)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	detour_err first = DETOUR_OK;

	*out = NULL;
	if (rs == NULL) {
		detour_diag_set(d, NULL, 0, 0, "out of memory");
		return DETOUR_ENOMEM;
	}
	detour_ruleset_collect(rs, ds);
	detour_ruleset_hscache(rs, io);
	for (size_t i = 0; i < n; i++) {
		struct detour_diag fd = {0};
		detour_err e = detour_ruleset_load_file(rs, files[i], &fd);
		if (e == DETOUR_OK)
			continue;
		if (first == DETOUR_OK) {
			first = e;
			if (d)
				*d = fd;
		}
		/* Line errors are in ds already (rulefile.c adds them). */
		if (ds && e != DETOUR_EINVAL)
			detour_diags_add(ds, &fd);
		if (!ds || e == DETOUR_ENOMEM || e == DETOUR_ETOOBIG)
			break;
	}
	if (first != DETOUR_OK) {
		detour_ruleset_free(rs);
		return first;
	}
	/* Takes rs over, also on failure. */
	first = detour_table_build(rs, out, d);
	if (first != DETOUR_OK && ds && d)
		detour_diags_add(ds, d);
	return first;
}

detour_err detour_rules_load(const char *const *files, size_t n, struct detour_table **out,
                             struct detour_diag *d)
{
	return detour_rules_load_all(files, n, out, d, NULL);
}
