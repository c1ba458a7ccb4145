/* detour: libcurl and libxml2, loaded when first called (dlopen), not when
 * detour starts (docs/internals/README.md, "Libraries loaded on demand").
 *
 * Debian's libcurl brings 25 more libraries (GnuTLS, Kerberos, LDAP, SSH,
 * RTMP, ...) and libxml2 brings ICU. Linked normally, every `detour serve`
 * mapped and relocated all of them and ran their constructors before main:
 * 15 to 20 ms of CPU at each start and about 4 MB of RSS (GnuTLS alone
 * initialises 1.1 MB), although serve calls libcurl only for health= probes
 * and ACME, and libxml2 never (issue 10). `check`, `crawl` and `ctl` pay the
 * same load on their first call instead.
 *
 * This file defines the functions detour calls, with the libraries' own
 * prototypes: the first call opens the library by its soname and resolves
 * every symbol at once; each definition then calls the library's. The
 * Makefile links neither library (it keeps their headers). A function not
 * listed here is a link error, which says where to add it. */
#define CURL_DISABLE_TYPECHECK /* the type-checking macros would rename ours */
#include <curl/curl.h>
#include <dlfcn.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define CURL_SONAME "libcurl.so.4"
#define XML_SONAME  "libxml2.so.2"

/* ---- libcurl ------------------------------------------------------------ */

static struct {
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	curl_version_info_data *(*version_info)(CURLversion);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_reset)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned, int, int *);
	CURLMcode (*multi_wakeup)(CURLM *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static int cu_ok;

/* Resolves name into *fp; 0, or -1 when missing. */
static int sym(void *h, const char *name, void *fp)
{
	void *p = dlsym(h, name);

	if (p == NULL)
		return -1;
	*(void **)fp = p;
	return 0;
}

static void cu_open(void)
{
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		fprintf(stderr, "detour: cannot load %s: %s\n", CURL_SONAME, dlerror());
		return;
	}
	if (sym(h, "curl_global_init", &cu.global_init) ||
	    sym(h, "curl_global_cleanup", &cu.global_cleanup) ||
	    sym(h, "curl_version_info", &cu.version_info) ||
	    sym(h, "curl_easy_init", &cu.easy_init) ||
	    sym(h, "curl_easy_setopt", &cu.easy_setopt) ||
	    sym(h, "curl_easy_perform", &cu.easy_perform) ||
	    sym(h, "curl_easy_getinfo", &cu.easy_getinfo) ||
	    sym(h, "curl_easy_reset", &cu.easy_reset) ||
	    sym(h, "curl_easy_cleanup", &cu.easy_cleanup) ||
	    sym(h, "curl_easy_strerror", &cu.easy_strerror) ||
	    sym(h, "curl_slist_append", &cu.slist_append) ||
	    sym(h, "curl_slist_free_all", &cu.slist_free_all) ||
	    sym(h, "curl_multi_init", &cu.multi_init) ||
	    sym(h, "curl_multi_setopt", &cu.multi_setopt) ||
	    sym(h, "curl_multi_add_handle", &cu.multi_add_handle) ||
	    sym(h, "curl_multi_remove_handle", &cu.multi_remove_handle) ||
	    sym(h, "curl_multi_perform", &cu.multi_perform) ||
	    sym(h, "curl_multi_poll", &cu.multi_poll) ||
	    sym(h, "curl_multi_wakeup", &cu.multi_wakeup) ||
	    sym(h, "curl_multi_info_read", &cu.multi_info_read) ||
	    sym(h, "curl_multi_cleanup", &cu.multi_cleanup)) {
		fprintf(stderr, "detour: %s: %s\n", CURL_SONAME, dlerror());
		return; /* the handle stays open: nothing of it is called */
	}
	cu_ok = 1;
}

static int cu_loaded(void)
{
	pthread_once(&cu_once, cu_open);
	return cu_ok;
}

CURLcode curl_global_init(long flags)
{
	return cu_loaded() ? cu.global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
	if (cu_loaded())
		cu.global_cleanup();
}

curl_version_info_data *curl_version_info(CURLversion v)
{
	return cu_loaded() ? cu.version_info(v) : NULL;
}

CURL *curl_easy_init(void)
{
	return cu_loaded() ? cu.easy_init() : NULL;
}

/* The one argument after option has the type its number says (curl.h's
 * CURLOPTTYPE_* bands, which curl_easy_setopt reads the same way): a long,
 * an object or function pointer, or a curl_off_t. It is read as that type
 * and passed on as that type. */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	if (!cu_loaded())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = cu.easy_setopt(c, opt, va_arg(ap, long));
	else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
		rc = cu.easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = cu.easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *c)
{
	return cu_loaded() ? cu.easy_perform(c) : CURLE_FAILED_INIT;
}

/* The argument is always a pointer (to a long, char *, double, ...). */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	if (!cu_loaded())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = cu.easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_reset(CURL *c)
{
	if (cu_loaded())
		cu.easy_reset(c);
}

void curl_easy_cleanup(CURL *c)
{
	if (cu_loaded())
		cu.easy_cleanup(c);
}

const char *curl_easy_strerror(CURLcode e)
{
	return cu_loaded() ? cu.easy_strerror(e) : "libcurl could not be loaded";
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return cu_loaded() ? cu.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (cu_loaded())
		cu.slist_free_all(l);
}

CURLM *curl_multi_init(void)
{
	return cu_loaded() ? cu.multi_init() : NULL;
}

/* As curl_easy_setopt: CURLMOPTTYPE_* are the same bands. */
CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	va_list ap;
	CURLMcode rc;

	if (!cu_loaded())
		return CURLM_INTERNAL_ERROR;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = cu.multi_setopt(m, opt, va_arg(ap, long));
	else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
		rc = cu.multi_setopt(m, opt, va_arg(ap, curl_off_t));
	else
		rc = cu.multi_setopt(m, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *c)
{
	return cu_loaded() ? cu.multi_add_handle(m, c) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *c)
{
	return cu_loaded() ? cu.multi_remove_handle(m, c) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
	return cu_loaded() ? cu.multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd fds[], unsigned n, int ms, int *ret)
{
	return cu_loaded() ? cu.multi_poll(m, fds, n, ms, ret) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_wakeup(CURLM *m)
{
	return cu_loaded() ? cu.multi_wakeup(m) : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
	return cu_loaded() ? cu.multi_info_read(m, left) : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
	return cu_loaded() ? cu.multi_cleanup(m) : CURLM_OK;
}

/* ---- libxml2 ------------------------------------------------------------ */

/* libxml2's own xmlFree is a variable (a function pointer), which the
 * program copies at start when linked; here it is set from the library's on
 * its load, before any string the library returns can be freed. */
xmlFreeFunc xmlFree;

static struct {
	xmlDocPtr (*read_memory)(const char *, int, const char *, const char *, int);
	xmlNodePtr (*root)(const xmlDoc *);
	xmlChar *(*content)(const xmlNode *);
	void (*free_doc)(xmlDocPtr);
} xm;
static pthread_once_t xm_once = PTHREAD_ONCE_INIT;
static int xm_ok;

static void xm_open(void)
{
	void *h = dlopen(XML_SONAME, RTLD_NOW | RTLD_LOCAL);
	xmlFreeFunc *f;

	if (h == NULL) {
		fprintf(stderr, "detour: cannot load %s: %s\n", XML_SONAME, dlerror());
		return;
	}
	if (sym(h, "xmlReadMemory", &xm.read_memory) || sym(h, "xmlDocGetRootElement", &xm.root) ||
	    sym(h, "xmlNodeGetContent", &xm.content) || sym(h, "xmlFreeDoc", &xm.free_doc) ||
	    sym(h, "xmlFree", &f)) {
		fprintf(stderr, "detour: %s: %s\n", XML_SONAME, dlerror());
		return;
	}
	xmlFree = *f;
	xm_ok = 1;
}

xmlDocPtr xmlReadMemory(const char *buf, int size, const char *url, const char *enc, int opts)
{
	pthread_once(&xm_once, xm_open);
	return xm_ok ? xm.read_memory(buf, size, url, enc, opts) : NULL;
}

xmlNodePtr xmlDocGetRootElement(const xmlDoc *doc)
{
	return xm_ok ? xm.root(doc) : NULL;
}

xmlChar *xmlNodeGetContent(const xmlNode *node)
{
	return xm_ok ? xm.content(node) : NULL;
}

void xmlFreeDoc(xmlDocPtr doc)
{
	if (xm_ok)
		xm.free_doc(doc);
}
