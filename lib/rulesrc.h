/* detour (private to lib/): the SOURCE and TARGET fields of a rule line
 * (rulesrc.c), called by rulefile.c's line parser. */
#ifndef DETOUR_RULESRC_H
#define DETOUR_RULESRC_H

#include "rulelex.h"

/* SOURCE into r and si, TARGET into r (both rewritten in place). */
detour_err detour_rf_parse_source(struct pctx *pc, struct field *f, struct detour_rule *r,
                                  struct srcinfo *si);
detour_err detour_rf_parse_target(struct pctx *pc, struct field *f, struct detour_rule *r,
                                  const struct srcinfo *si);

#endif
