/* detour crawl --history: temporary redirects across crawls (jansson).
 *
 *   {"version":1, "redirects":{"URL":{"status":302, "next":"URL",
 *                                     "since":"RFC 3339", "crawls":3}, ...}}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/civil.h"
#include "crawl_history.h"

struct crawl_history {
	json_t *old; /* "redirects" of the file read (an object) */
	json_t *now; /* those noted in this crawl */
};

struct crawl_history *crawl_history_load(const char *path)
{
	struct crawl_history *h = calloc(1, sizeof(*h));
	if (!h)
		check_oom();
	h->now = json_object();
	json_error_t e;
	json_t *root = json_load_file(path, 0, &e);
	if (!root && access(path, F_OK) && errno == ENOENT) {
		h->old = json_object(); /* the first crawl */
		return h;
	}
	json_t *r = root ? json_object_get(root, "redirects") : NULL;
	if (!root || !json_is_object(r)) {
		fprintf(stderr, "detour crawl: --history %s: %s\n", path,
		        root ? "not a detour crawl history" : e.text);
		json_decref(root);
		crawl_history_free(h);
		return NULL;
	}
	h->old = json_incref(r);
	json_decref(root);
	return h;
}

unsigned crawl_history_note(struct crawl_history *h, const char *url, int status, const char *next,
                            int64_t now, int64_t *since)
{
	json_t *o = json_object_get(h->old, url);
	unsigned crawls = 1;
	*since = now;
	const char *was_next = json_string_value(json_object_get(o, "next"));
	const char *was_since = json_string_value(json_object_get(o, "since"));
	json_int_t was_status = json_integer_value(json_object_get(o, "status"));
	json_int_t was_crawls = json_integer_value(json_object_get(o, "crawls"));
	int64_t t;
	if (o && was_status == status && was_next && !strcmp(was_next, next) && was_since &&
	    !civil_parse_rfc3339(was_since, strlen(was_since), &t) && was_crawls >= 1 &&
	    was_crawls < 1000000) {
		crawls = (unsigned)was_crawls + 1;
		*since = t;
	}
	char ts[CIVIL_RFC3339_MAX];
	civil_format_rfc3339(*since, ts);
	json_t *n = json_pack("{s:i, s:s, s:s, s:i}", "status", status, "next", next, "since", ts,
	                      "crawls", (json_int_t)crawls);
	if (!n || json_object_set_new(h->now, url, n))
		check_oom();
	return crawls;
}

int crawl_history_save(const struct crawl_history *h, const char *path)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
		fprintf(stderr, "detour crawl: cannot write %s: name too long\n", path);
		return 2;
	}
	json_t *root = json_pack("{s:i, s:O}", "version", 1, "redirects", h->now);
	if (!root)
		check_oom();
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int rc = 0;
	if (!f || json_dumpf(root, f, JSON_INDENT(1) | JSON_SORT_KEYS) || fputc('\n', f) == EOF ||
	    fflush(f) || fsync(fileno(f)) || rename(tmp, path)) {
		fprintf(stderr, "detour crawl: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		rc = 2;
	}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	json_decref(root);
	return rc;
}

void crawl_history_free(struct crawl_history *h)
{
	if (!h)
		return;
	json_decref(h->old);
	json_decref(h->now);
	free(h);
}
