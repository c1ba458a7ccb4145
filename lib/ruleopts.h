/* detour (private to lib/): the STATUS and OPTION fields of a rule line, the
 * checks between them and the rule's extension (ruleopts.c), called by
 * rulefile.c's line parser. */
#ifndef DETOUR_RULEOPTS_H
#define DETOUR_RULEOPTS_H

#include <stdbool.h>

#include "rulelex.h"

/* Fields f[2..nf) (status, options) into r and pc->lx. */
detour_err detour_rf_options(struct pctx *pc, struct detour_rule *r, struct field *f, unsigned nf,
                             bool *have_status);
/* Compiles the source as a regex (a "~" source, or case=insensitive); src
 * is the source field, where an error of a case=insensitive source points. */
detour_err detour_rf_compile_source(struct pctx *pc, struct detour_rule *r, struct srcinfo *si,
                                    const char *src);
/* Checks the options against each other and the target (tf). */
detour_err detour_rf_check_ext(struct pctx *pc, struct detour_rule *r, bool dash,
                               const struct field *tf);
/* Appends the line's extension for rule r (index set) and flags r. */
detour_err detour_rf_add_ext(struct pctx *pc, struct detour_rule *r);

#endif
