/* detour: the options of the rule language as documentation (ruleopts.c's
 * table, the one the parser reads), for detour-rules(5): `detour help --man
 * rules` prints them, so that the man page cannot drift from the parser. */
#ifndef DETOUR_PUBLIC_RULEOPTS_H
#define DETOUR_PUBLIC_RULEOPTS_H

#include <stdbool.h>
#include <stddef.h>

/* The i-th option, in the order messages list them: its usage
 * ("query=keep|drop|merge") and what it does (scdoc markup, '\n' between
 * lines). Returns false past the last. */
bool detour_rule_option_doc(size_t i, const char **usage, const char **doc);

#endif
