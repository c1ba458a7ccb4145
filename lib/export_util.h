/* detour export: what every output format shares: the result (text and
 * notes about rules a format cannot express), the PCRE for a rule's path,
 * its target with placeholders rewritten, and which of its options a
 * format lacks. See docs/import.md ("Export"). */
#ifndef DETOUR_EXPORT_UTIL_H
#define DETOUR_EXPORT_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "detour/import_out.h"
#include "detour/rule.h"

struct detour_export {
	struct bbuf text;
	struct detour_import_skip *notes; /* line of the rule, and what was not expressed */
	size_t nnotes, notes_cap;
	size_t nrules;     /* rules written */
	const char *file;  /* the rules file's name (for notes and comments) */
	const char *host;  /* csv: the host of host-less rules, or NULL */
	bool slash_either; /* the table's @slash policy */
	bool oom;
};

void detour_export_init(struct detour_export *x, const char *file);
void detour_export_fini(struct detour_export *x);

/* Records a note about the rule at line (printf-style). */
void detour_export_note(struct detour_export *x, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Features of a rule a format may lack (a mask of these). */
#define XF_METHOD 0x0001u
#define XF_HEADER 0x0002u
#define XF_COOKIE 0x0004u
#define XF_QUERY  0x0008u /* if-query= */
#define XF_IP     0x0010u
#define XF_LANG   0x0020u
#define XF_WINDOW 0x0040u
#define XF_WEIGHT 0x0080u
#define XF_HTML   0x0100u
#define XF_REGEX  0x0200u  /* regex and pattern sources */
#define XF_SCHEME 0x0400u  /* http:// or https:// in the source */
#define XF_KEEP   0x0800u  /* query=keep */
#define XF_DROP   0x1000u  /* query=drop */
#define XF_MERGE  0x2000u  /* query=merge */
#define XF_CASE   0x4000u  /* case=insensitive */
#define XF_NEGATE 0x8000u  /* a negated condition */
#define XF_HOSTS  0x10000u /* allow-hosts= */

/* The first feature of r (in rs) outside mask, as a phrase ("the
 * condition if-lang=fr"), written into why[0..cap); NULL when none. */
const char *detour_export_lacks(const struct detour_ruleset *rs, const struct detour_rule *r,
                                unsigned mask, char *why, size_t cap);

/* Appends a PCRE matching r's path as detour does: exact "^/old/?$" (or
 * "^/old$" when strict), splat "^/blog(?:/(?<splat>.*))?$", pattern with
 * "(?<name>[^/]+)" per placeholder; a regex source as written. With
 * no_slash, the leading '/' is left out (an .htaccess pattern). Group
 * names go to names[] in order (at most 17); returns their count. */
unsigned detour_export_path_re(const struct detour_ruleset *rs, const struct detour_rule *r,
                               bool slash_either, bool no_slash, struct bbuf *b, char names[][64]);

/* A placeholder of a target: name (":name", ":splat") or num ($N). */
typedef void (*detour_export_put_fn)(struct bbuf *b, const char *name, unsigned num, void *arg);

/* Appends r's target with each placeholder written by put. names[] are the
 * source's group names (detour_export_path_re, or a regex's named groups). */
void detour_export_target(const struct detour_ruleset *rs, const struct detour_rule *r,
                          char names[][64], unsigned nnames, struct bbuf *b,
                          detour_export_put_fn put, void *arg);

/* Regex group names of rule r's regex source (group i + 1 is names[i],
 * "" when unnamed); returns the number of groups. */
unsigned detour_export_regex_names(const struct detour_ruleset *rs, const struct detour_rule *r,
                                   char names[][64]);

#endif
