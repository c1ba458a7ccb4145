/* detour crawl: the HTML report and its redirect graph (Graphviz dot). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/esc.h"
#include "base/grow.h"
#include "crawl_find.h"
#include "crawl_html.h"
#include "crawl_out.h"

/* Pages listed under a finding before "and N more". */
#define PAGES_SHOWN 20
/* Edges drawn in the graph at most (dot's layout time grows fast). */
#define GRAPH_EDGES_MAX 400

/* s as HTML text or attribute value: & < > " ' escaped, a byte that is not
 * part of valid UTF-8 as U+FFFD. */
static void h(FILE *f, const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			size_t l = utf8_seq_len(s + i, n - i);
			if (!l) {
				fputs("&#xFFFD;", f);
				i++;
			} else {
				fwrite(s + i, 1, l, f);
				i += l;
			}
			continue;
		}
		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n')
				fprintf(f, "&#xFFFD;");
			else
				fputc(c, f);
		}
		i++;
	}
}

/* A link to url when it is http(s), else the text. */
static void a(FILE *f, const char *url)
{
	if (url && (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))) {
		fputs("<a href=\"", f);
		h(f, url);
		fputs("\">", f);
		h(f, url);
		fputs("</a>", f);
	} else {
		h(f, url);
	}
}

static const char css[] =
        "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
        "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}"
        "table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top}"
        "th{background:#f4f4f4}.n{text-align:right}"
        ".error{color:#b00020}.warning{color:#a05a00}.info{color:#555}"
        ".f{margin:.6em 0;padding:.4em .8em;border-left:4px solid #ccc}"
        ".f.error{border-color:#b00020}.f.warning{border-color:#e0a000}"
        ".f.info{border-color:#999}.f ul{margin:.2em 0}.f .m{color:#222}"
        "code,.u{font-family:ui-monospace,monospace;word-break:break-all}"
        "#graph svg{max-width:100%;height:auto}";

static void summary(const struct crawl *C, FILE *f)
{
	int keys[128];
	size_t counts[128];
	size_t n = crawl_status_counts(C, keys, counts, 128);
	fprintf(f,
	        "<h2 id=summary>Summary</h2>\n<p>%zu pages checked, %zu URLs known, %zu "
	        "links, in %.1f s.</p>\n",
	        C->pages_fetched, C->npages, C->nlinks, C->seconds);
	fputs("<table id=status><tr><th>first status</th><th>pages</th></tr>\n", f);
	for (size_t k = 0; k < n; k++) {
		if (keys[k])
			fprintf(f, "<tr><td>%d</td><td class=n>%zu</td></tr>\n", keys[k],
			        counts[k]);
		else
			fprintf(f, "<tr><td>no response</td><td class=n>%zu</td></tr>\n",
			        counts[k]);
	}
	fputs("</table>\n", f);
	const char *codes[64];
	n = crawl_finding_counts(C, codes, counts, 64);
	fputs("<table id=finding-counts><tr><th>finding</th><th>severity</th><th>count</th></tr>\n",
	      f);
	for (size_t k = 0; k < n; k++) {
		const char *sev = "info";
		for (size_t i = 0; i < C->nf; i++)
			if (C->f[i].code == codes[k])
				sev = C->f[i].severity;
		fprintf(f,
		        "<tr><td><a href=\"#%s\">%s</a></td><td class=%s>%s</td>"
		        "<td class=n>%zu</td></tr>\n",
		        codes[k], codes[k], sev, sev, counts[k]);
	}
	if (!n)
		fputs("<tr><td colspan=3>no findings</td></tr>\n", f);
	fputs("</table>\n", f);
}

static void findings(const struct crawl *C, FILE *f)
{
	fputs("<h2 id=findings>Findings</h2>\n", f);
	const char *last = NULL;
	for (size_t i = 0; i < C->nf; i++) {
		const struct crawl_finding *x = &C->f[i];
		if (!last || strcmp(last, x->code)) {
			fprintf(f, "<h3 id=\"%s\" class=%s>%s (%s)</h3>\n", x->code, x->severity,
			        x->code, x->severity);
			last = x->code;
		}
		fprintf(f, "<div class=\"f %s\"><div class=u>", x->severity);
		a(f, C->pages[x->page].url);
		fputs("</div><div class=m>", f);
		h(f, x->msg);
		if (x->target) {
			fputs("; link to <span class=u>", f);
			a(f, x->target);
			fputs("</span> instead", f);
		}
		fputs("</div>", f);
		if (x->npages) {
			fprintf(f, "<div>on %zu page%s:</div><ul>", x->npages,
			        x->npages == 1 ? "" : "s");
			for (size_t k = 0; k < x->npages && k < PAGES_SHOWN; k++) {
				fputs("<li class=u>", f);
				a(f, C->pages[x->pages[k]].url);
				fputs("</li>", f);
			}
			if (x->npages > PAGES_SHOWN)
				fprintf(f, "<li>and %zu more</li>", x->npages - PAGES_SHOWN);
			fputs("</ul>", f);
		}
		fputs("</div>\n", f);
	}
	if (!C->nf)
		fputs("<p>No findings.</p>\n", f);
}

static void chains(const struct crawl *C, FILE *f)
{
	fputs("<h2 id=chains>Redirect chains</h2>\n", f);
	size_t n = 0;
	for (size_t ko = 0; ko < C->npages; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		const struct chain *c = p->chain;
		if (!p->checked || !c->redirects)
			continue;
		n++;
		fputs("<table class=chain><tr><th>#</th><th>status</th><th>URL</th>"
		      "<th>protocol</th></tr>\n",
		      f);
		for (size_t k = 0; k < c->nh; k++) {
			const struct hop *hp = &c->h[k];
			const char *cls = !hp->status || hp->status >= 400 ? "error"
			                  : hp->status >= 300              ? "warning"
			                                                   : "";
			fprintf(f, "<tr><td class=n>%zu</td><td class=\"%s\">", k + 1, cls);
			if (hp->status)
				fprintf(f, "%d ", hp->status);
			h(f, hp->status ? hp->reason : hp->error ? hp->error : "no response");
			fputs("</td><td class=u>", f);
			a(f, hp->url);
			fputs("</td><td>", f);
			h(f, hp->status && !hp->internal ? hp->protocol : "");
			fputs("</td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}
	if (!n)
		fputs("<p>No redirects.</p>\n", f);
}

/* A DOT string: quotes and backslashes escaped. */
static void dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

/* The redirect graph in DOT: one node per URL of a redirect chain, one edge
 * per hop followed, labelled with its status. Returns the number of edges. */
static size_t write_dot(const struct crawl *C, FILE *f)
{
	size_t edges = 0;
	fputs("digraph redirects {\n rankdir=LR;\n node [shape=box,fontsize=10,"
	      "fontname=\"Helvetica\"];\n edge [fontsize=9,fontname=\"Helvetica\"];\n",
	      f);
	/* Each hop once: a hop seen in an earlier chain is not drawn again. */
	char **seen = NULL;
	size_t nseen = 0, capseen = 0;
	for (size_t ko = 0; ko < C->npages && edges < GRAPH_EDGES_MAX; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		const struct chain *c = p->chain;
		if (!p->checked || !c->redirects)
			continue;
		for (size_t k = 0; k + 1 < c->nh && edges < GRAPH_EDGES_MAX; k++) {
			const struct hop *hp = &c->h[k];
			if (!hp->followed || !hp->loc_resolved)
				continue;
			bool dup = false;
			for (size_t s = 0; s < nseen && !dup; s++)
				dup = !strcmp(seen[s], hp->url);
			if (dup)
				continue;
			if (BASE_GROW(seen, capseen, nseen + 1))
				check_oom();
			seen[nseen++] = hp->url;
			fputc(' ', f);
			dot_str(f, hp->url);
			fputs(" -> ", f);
			dot_str(f, c->h[k + 1].url);
			fprintf(f, " [label=\"%d\"%s];\n", hp->status,
			        hp->status == 301 || hp->status == 308 ? "" : ",style=dashed");
			edges++;
		}
		const struct hop *end = &c->h[c->nh - 1];
		if (end->status >= 400 || !end->status || c->failed) {
			fputc(' ', f);
			dot_str(f, end->url);
			fputs(" [color=red,fontcolor=red];\n", f);
		}
	}
	free(seen);
	fputs("}\n", f);
	return edges;
}

/* Runs `dot -Tsvg FILE` and copies its <svg> element to out. Returns 0, or
 * -1 when dot could not run. */
static int dot_svg(const char *dotfile, FILE *out)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		int dn = open("/dev/null", O_WRONLY);
		if (dn >= 0)
			dup2(dn, 2);
		execlp("dot", "dot", "-Tsvg", dotfile, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	struct bbuf b;
	bbuf_init(&b, 64u << 20);
	char buf[8192];
	ssize_t r;
	while ((r = read(fds[0], buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		bbuf_put(&b, buf, (size_t)r);
	}
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	const char *svg = bbuf_ok(&b) ? bbuf_cstr(&b) : NULL;
	const char *start = svg ? strstr(svg, "<svg") : NULL;
	int rc = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && start) {
		/* The XML declaration and DOCTYPE before it are left out: the
		 * element alone is HTML's inline SVG. */
		fputs(start, out);
		rc = 0;
	}
	bbuf_free(&b);
	return rc;
}

static void graph(const struct crawl *C, FILE *f)
{
	fputs("<h2 id=graph-title>Redirect graph</h2>\n<div id=graph>\n", f);
	char path[] = "/tmp/detour-crawl-XXXXXX";
	int fd = mkstemp(path);
	FILE *df = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!df) {
		if (fd >= 0)
			close(fd);
		fputs("<p>(the graph could not be drawn: no temporary file)</p>\n</div>\n", f);
		return;
	}
	size_t edges = write_dot(C, df);
	int wr = fclose(df);
	if (!edges)
		fputs("<p>No redirects to draw.</p>\n", f);
	else if (wr || dot_svg(path, f))
		fputs("<p>(the graph could not be drawn: Graphviz's <code>dot</code> did not "
		      "run)</p>\n",
		      f);
	unlink(path);
	fputs("</div>\n", f);
}

int crawl_write_html(const struct crawl *C, FILE *f)
{
	fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
	      "<meta name=viewport content=\"width=device-width\">\n<title>detour crawl: ",
	      f);
	h(f, C->nseeds ? C->seeds[0] : "");
	fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>detour crawl</h1>\n<p>", css);
	for (size_t i = 0; i < C->nseeds; i++) {
		fputs(i ? ", " : "Seeds: ", f);
		a(f, C->seeds[i]);
	}
	fputs("</p>\n<p><a href=\"#summary\">Summary</a> · <a href=\"#findings\">Findings</a> · "
	      "<a href=\"#chains\">Redirect chains</a> · <a href=\"#graph-title\">Redirect "
	      "graph</a></p>\n",
	      f);
	summary(C, f);
	findings(C, f);
	chains(C, f);
	graph(C, f);
	fputs("</body></html>\n", f);
	return ferror(f) ? -1 : 0;
}
