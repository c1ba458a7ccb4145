/* detour: robots.txt (RFC 9309, the Robots Exclusion Protocol) for
 * `detour crawl`. A parse keeps only the rules of the groups that apply to
 * one crawler's product token (or, when none names it, the "*" groups), and
 * the Sitemap lines of the whole file. */
#ifndef DETOUR_ROBOTS_H
#define DETOUR_ROBOTS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 9309 §2.5: a crawler SHOULD parse at least the first 500 KiB; the
 * rest of a longer file is ignored. */
#define DETOUR_ROBOTS_MAX_BYTES (500u * 1024u)

struct detour_robots;

/* Parses txt[0..len) (borrowed; a UTF-8 BOM skipped, CR, LF or CRLF ends a
 * line, '#' starts a comment, keys compared without case) for the crawler
 * whose product token is agent ("detour"): the allow and disallow rules of
 * every group with a user-agent line naming agent without case (§2.2.1,
 * several merged into one), else of every "*" group, else none (everything
 * allowed). Returns new memory (detour_robots_free), NULL when out of
 * memory. Never fails on content: what is not a record is skipped. */
struct detour_robots *detour_robots_parse(const char *txt, size_t len, const char *agent);

/* A robots.txt that allows everything (allow true: a 4xx, "unavailable",
 * §2.3.1.3) or nothing (false: a 5xx or a network error, "unreachable",
 * §2.3.1.4). New memory; NULL when out of memory. */
struct detour_robots *detour_robots_new_all(bool allow);

/* Whether the crawler may fetch path[0..len) (the URL's path and query,
 * "/a/b?x=1", as sent; borrowed). The rule with the longest pattern that
 * matches wins; on a tie allow wins; no match allows (§2.2.2). '*' in a
 * pattern matches any bytes, a final '$' the end of the path (§2.2.3).
 * Percent-encodings compare without case of their hex digits, and a
 * non-ASCII byte equals its %XX form. "/robots.txt" is always allowed. */
bool detour_robots_allowed(const struct detour_robots *r, const char *path, size_t len);

/* The Crawl-delay of the chosen groups in seconds (not in RFC 9309, read
 * by many crawlers), or a negative number when none. */
double detour_robots_crawl_delay(const struct detour_robots *r);

/* The Sitemap lines' URLs (any group, or outside groups), in file order:
 * their number, and the i-th (borrowed from r, NUL-terminated). */
size_t detour_robots_nsitemaps(const struct detour_robots *r);
const char *detour_robots_sitemap(const struct detour_robots *r, size_t i);

/* The number of rules kept (for tests and the report). */
size_t detour_robots_nrules(const struct detour_robots *r);

/* Frees r; NULL is a no-op. */
void detour_robots_free(struct detour_robots *r);

#endif
