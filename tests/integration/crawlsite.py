"""A generated site for `detour crawl`, served on loopback by a Python
http.server subclass (standard library only). Used by test_crawl.py (a few
hundred pages) and bench/crawl.sh (10,000 pages, run as a program:
`python3 crawlsite.py --pages 10000 --port PORT`).

Pages /p/0 .. /p/N-1 form a binary tree (page i links to 2i+1 and 2i+2, and
back to /); "/" links to /p/0. Planted problems, each on a page low in the
tree so that every size of site has them (PLANTED says what the crawl must
find):

- /p/3  links /old/a: 301 -> /p/5 (a link to a redirect)
- /p/4  links /chain/1: 301 -> /chain/2: 302 -> /chain/3: 301 -> /p/6
- /p/7  links /loop/a: 302 -> /loop/b: 302 -> /loop/a (a loop)
- /p/8  links /moved: 301 -> /gone-target (404: a redirect to an error)
- /p/9 and /p/10 link /missing (404)
- /p/11 links /private/x (robots.txt disallows /private/: never requested)
- /p/12 has <link rel=canonical href=/canon-old>: 301 -> /p/12
- /p/13 links /only-via: 301 -> /hidden (linked by nothing: only reachable
  through the redirect)
- /p/14 links http://other.invalid/x (outside the scope: not requested)
- /p/15 has <img src=/img/logo.png> and <script src=/js/app.js> (200)
- /p/16 links /promo: 307 -> /p/17 (a temporary redirect: with --history,
  temporary-stable once two crawls saw it unchanged)
- /p/18 links /docs-old/guide: 301 -> /docs/guide; /p/19 links /docs-old/faq
  (404) while /p/20 links /docs/faq and /docs/guide (200): the 404's likely
  target is the same path under the new prefix (--suggest-rules)
- /orphan is linked by no page, only listed in the sitemap: robots.txt
  names /sitemap_index.xml, an index of /sitemap-pages.xml.gz (gzip).
"""
import argparse
import gzip
import http.server
import socketserver
import threading

PERM_CACHE = [("Cache-Control", "max-age=86400")]

REDIRECTS = {
    "/old/a": (301, "/p/5"),
    "/chain/1": (301, "/chain/2"),
    "/chain/2": (302, "/chain/3"),
    "/chain/3": (301, "/p/6"),
    "/loop/a": (302, "/loop/b"),
    "/loop/b": (302, "/loop/a"),
    "/moved": (301, "/gone-target"),
    "/canon-old": (301, "/p/12"),
    "/only-via": (301, "/hidden"),
    "/promo": (307, "/p/17"),
    "/docs-old/guide": (301, "/docs/guide"),
}

EXTRA_LINKS = {
    3: ["/old/a"],
    4: ["/chain/1"],
    7: ["/loop/a"],
    8: ["/moved"],
    9: ["/missing"],
    10: ["/missing"],
    11: ["/private/x"],
    13: ["/only-via"],
    14: ["http://other.invalid/x"],
    16: ["/promo"],
    18: ["/docs-old/guide"],
    19: ["/docs-old/faq"],
    20: ["/docs/faq", "/docs/guide"],
}


class Site:
    def __init__(self, pages):
        self.pages = pages
        self.requests = []  # paths requested, in order
        self.lock = threading.Lock()
        self.base = None
        self.redirects = dict(REDIRECTS)
        self.extra = dict(EXTRA_LINKS)

    def page(self, i):
        links = ["/"]
        for c in (2 * i + 1, 2 * i + 2):
            if c < self.pages:
                links.append("/p/%d" % c)
        links += self.extra.get(i, [])
        head = "<title>page %d</title>" % i
        if i == 12:
            head += '<link rel="canonical" href="/canon-old">'
        body = "".join('<li><a href="%s">%s</a></li>' % (l, l) for l in links)
        if i == 15:
            body += '<img src="/img/logo.png" alt=""><script src="/js/app.js"></script>'
        return ("<!DOCTYPE html><html><head><meta charset=utf-8>%s</head>"
                "<body><h1>page %d</h1><ul>%s</ul></body></html>" % (head, i, body))

    def respond(self, path):
        """(status, headers, body) for path."""
        html = [("Content-Type", "text/html; charset=utf-8")]
        if path == "/":
            return 200, html, '<!DOCTYPE html><a href="/p/0">start</a>'.encode()
        if path.startswith("/p/"):
            try:
                i = int(path[3:])
            except ValueError:
                i = -1
            if 0 <= i < self.pages:
                return 200, html, self.page(i).encode()
        if path in self.redirects:
            st, loc = self.redirects[path]
            hdrs = [("Location", loc)] + (PERM_CACHE if st in (301, 308) else [])
            return st, hdrs, b""
        if path == "/robots.txt":
            return 200, [("Content-Type", "text/plain")], (
                "User-agent: *\nDisallow: /private/\n\n"
                "Sitemap: %s/sitemap_index.xml\n" % self.base).encode()
        if path == "/sitemap_index.xml":
            return 200, [("Content-Type", "application/xml")], (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                "<sitemap><loc>%s/sitemap-pages.xml.gz</loc></sitemap>"
                "</sitemapindex>" % self.base).encode()
        if path == "/sitemap-pages.xml.gz":
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                   '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                   "<url><loc>%s/</loc></url><url><loc>%s/orphan</loc></url>"
                   "</urlset>" % (self.base, self.base))
            return 200, [("Content-Type", "application/gzip")], gzip.compress(xml.encode())
        if path in ("/orphan", "/hidden", "/docs/faq", "/docs/guide"):
            return 200, html, b"<!DOCTYPE html><p>here</p>"
        if path == "/img/logo.png":
            return 200, [("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n"
        if path == "/js/app.js":
            return 200, [("Content-Type", "text/javascript")], b"1;"
        return 404, html, b"<!DOCTYPE html><p>not found</p>"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        site = self.server.site
        with site.lock:
            site.requests.append(self.path)
        if self.path == "/__requests":  # for bench/crawl.sh: not linked, not counted
            with site.lock:
                site.requests.pop()
                n = len(site.requests)
                site.requests.clear()
            st, hdrs, body = 200, [("Content-Type", "text/plain")], b"%d\n" % n
        else:
            st, hdrs, body = site.respond(self.path.split("?")[0])
        self.send_response(st)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def serve(pages, port=0):
    """Starts the site on 127.0.0.1:port (0: a free one) in a thread.
    Returns (server, site); server.shutdown() and server.server_close() stop
    it."""
    srv = Server(("127.0.0.1", port), Handler)
    site = Site(pages)
    site.base = "http://127.0.0.1:%d" % srv.server_address[1]
    srv.site = site
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, site


def write_static(root, pages, base):
    """The same site as files under root for a static server (bench/crawl.sh
    serves them with nginx), and the redirects as nginx `location` lines in
    root/../redirects.conf. Every path is a file, "/" is index.html."""
    import os
    site = Site(pages)
    site.base = base
    paths = ["/", "/robots.txt", "/sitemap_index.xml", "/sitemap-pages.xml.gz", "/orphan",
             "/hidden", "/docs/faq", "/docs/guide", "/img/logo.png", "/js/app.js"] + ["/p/%d" % i for i in range(pages)]
    for p in paths:
        st, hdrs, body = site.respond(p)
        f = os.path.join(root, "index.html" if p == "/" else p.lstrip("/"))
        os.makedirs(os.path.dirname(f), exist_ok=True)
        with open(f, "wb") as fh:
            fh.write(body)
    with open(os.path.join(os.path.dirname(root.rstrip("/")), "redirects.conf"), "w") as fh:
        for src, (st, loc) in sorted(REDIRECTS.items()):
            cache = "add_header Cache-Control max-age=86400 always; " if st in (301, 308) else ""
            fh.write("location = %s { %sreturn %d %s; }\n" % (src, cache, st, loc))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--static", metavar="DIR", help="write the site as files under DIR")
    ap.add_argument("--base", help="with --static: the site's base URL")
    a = ap.parse_args()
    if a.static:
        write_static(a.static, a.pages, a.base)
        raise SystemExit(0)
    srv, site = serve(a.pages, a.port)
    print(site.base, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
