"""detour import: every format's sample file (tests/data/import/) converted,
served by detour, and asked the same requests as the original server.

Apache and nginx are differential: Debian's apache2 and nginx are started on
loopback with the same file (their own ServerRoot / prefix in tmp, killed by
PID), and every request's status and Location (resolved against the request
URL) must be equal. The other formats are checked against their documented
semantics. Round trip: `detour export` then `detour import` answers the
same."""
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from conftest import BIN, free_port

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "import")
APACHE = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
NGINX = "/usr/sbin/nginx"


def data(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def run(*args, input=None):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, input=input, timeout=60)
    return p.returncode, p.stdout, p.stderr


def import_rules(fmt, path):
    rc, out, err = run("import", fmt, path)
    assert rc in (0, 1), "import %s %s: rc %d\n%s" % (fmt, path, rc, err)
    return out, err, rc


def wait_listen(port, proc, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d" % (what, port))


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ask(port, target, host="localhost", method="GET", headers=None):
    """(status, Location resolved against http://host/target, or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = {"Host": host}
    h.update(headers or {})
    c.request(method, target, headers=h)
    r = c.getresponse()
    r.read()
    loc = r.getheader("Location")
    c.close()
    if loc is None:
        return r.status, None
    base = "http://%s%s" % (host, target)
    absolute = urllib.parse.urljoin(base, loc)
    # Apache and nginx write absolute URLs with the port they listen on;
    # detour keeps a path target as a path: compare both on the Host.
    u = urllib.parse.urlsplit(absolute)
    hostname = host.split(":")[0]
    if u.scheme == "http" and (u.hostname == hostname or u.hostname == "127.0.0.1"):
        absolute = urllib.parse.urlunsplit(("http", hostname, u.path, u.query, u.fragment))
    return r.status, absolute


def compare(ref_port, detour_port, requests):
    diffs = []
    for req in requests:
        if isinstance(req, str):
            req = {"target": req}
        a = ask(ref_port, **req)
        b = ask(detour_port, **req)
        if a != b:
            diffs.append("%r: reference %r, detour %r" % (req, a, b))
    assert not diffs, "\n".join(diffs)


@pytest.fixture
def apache(tmp_path):
    procs = []

    def start(site_conf, htaccess=None):
        if not os.path.exists(APACHE):
            pytest.skip("apache2 is not installed")
        root = tmp_path / "apache"
        docroot = root / "docroot"
        docroot.mkdir(parents=True)
        if htaccess is not None:
            (docroot / ".htaccess").write_text(htaccess)
        port = free_port()
        mods = "".join("LoadModule %s_module %s/mod_%s.so\n" % (m, APACHE_MODULES, m)
                       for m in ("mpm_event", "authz_core", "alias", "rewrite"))
        conf = ("ServerRoot %s\nListen 127.0.0.1:%d\n%sPidFile %s/httpd.pid\n"
                "ErrorLog %s/error.log\nServerName localhost\nDocumentRoot %s\n"
                "<Directory %s>\n AllowOverride All\n Require all granted\n</Directory>\n"
                % (root, port, mods, root, root, docroot, docroot))
        conf += site_conf.replace("@DOCROOT@", str(docroot))
        (root / "httpd.conf").write_text(conf)
        p = subprocess.Popen([APACHE, "-f", str(root / "httpd.conf"), "-X"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(p)
        wait_listen(port, p, "apache2")
        return port

    yield start
    for p in procs:
        stop(p)


@pytest.fixture
def nginx(tmp_path):
    procs = []

    def start(server_conf):
        if not os.path.exists(NGINX):
            pytest.skip("nginx is not installed")
        prefix = tmp_path / "nginx"
        (prefix / "logs").mkdir(parents=True)
        port = free_port()
        conf = ("daemon off;\nmaster_process off;\nworker_processes 1;\n"
                "error_log %s/logs/error.log;\npid %s/nginx.pid;\n"
                "events { worker_connections 64; }\n"
                "http {\n access_log off;\n client_body_temp_path %s/tmp;\n"
                " proxy_temp_path %s/tmp;\n fastcgi_temp_path %s/tmp;\n"
                " uwsgi_temp_path %s/tmp;\n scgi_temp_path %s/tmp;\n"
                " absolute_redirect off;\n%s\n}\n"
                % ((prefix,) * 7 + (server_conf.replace("@PORT@", str(port)),)))
        (prefix / "nginx.conf").write_text(conf)
        p = subprocess.Popen([NGINX, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(p)
        wait_listen(port, p, "nginx")
        return port

    yield start
    for p in procs:
        stop(p)


HTACCESS_REQUESTS = [
    "/old-page", "/old-page?x=1", "/old-page/", "/old-page/sub?y=2", "/old-pages",
    "/docs", "/docs/a/b?q=1", "/blog", "/blog/", "/blog/x?z=1", "/sale?a=1", "/sale/x",
    "/retired", "/retired/y", "/gone-too", "/products/12.html?q=1", "/products/x.html",
    "/team/a/b", "/legacy/a?z=1", "/legacy", "/old-case", "/OLD-CASE?k=v", "/search?q=1",
    "/search2?q=1", "/search2", "/nosearch?q=1", "/discard?q=1", "/relative", "/relative?x",
    "/obsolete.php", "/only-get", {"target": "/only-get", "method": "POST"},
    {"target": "/only-get", "method": "HEAD"}, "/beta",
    {"target": "/beta", "headers": {"X-Beta": "yes"}}, "/home?lang=fr", "/home?lang=de",
    "/preview", {"target": "/preview", "headers": {"Cookie": "a=b; preview=1"}},
    "/internal", "/nothing-here",
]


def test_apache_htaccess_differential(apache, make_server, tmp_path):
    port = apache("", htaccess=data("htaccess"))
    rules, err, rc = import_rules("apache", os.path.join(DATA, "htaccess"))
    assert rc == 1  # the lines that cannot be converted are said
    for line in (39, 40, 42, 44, 47):
        assert ("htaccess:%d: skipped: " % line) in err, err
    srv = make_server(rules)
    compare(port, srv.port, HTACCESS_REQUESTS)


VHOST_REQUESTS = [
    {"target": "/shop", "host": "old.example.com"},
    {"target": "/shop/cart?id=3", "host": "www.old.example.com"},
    {"target": "/shop", "host": "blog.example.com"},
    {"target": "/news/2024/hello?x=1", "host": "old.example.com"},
    {"target": "/news/2024/hello", "host": "blog.example.com"},
    {"target": "/feed.xml", "host": "old.example.com"},
    {"target": "/www-only", "host": "www.old.example.com"},
    {"target": "/www-only", "host": "old.example.com"},
    {"target": "/whole/a/b?c=d", "host": "old.example.com"},
    {"target": "/2024/05/my-post/", "host": "blog.example.com"},
    {"target": "/2024/05/my-post", "host": "old.example.com"},
    {"target": "/tag/some-topic", "host": "blog.example.com"},
    {"target": "/about", "host": "blog.example.com"},
    {"target": "/about/team", "host": "blog.example.com"},
]


def test_apache_vhosts_differential(apache, make_server, tmp_path):
    conf = data("apache-vhosts.conf").replace("/var/www/blog", "@DOCROOT@")
    conf = conf.replace("<VirtualHost *:80>", "<VirtualHost *>")
    port = apache(conf)
    rules, err, rc = import_rules("apache", os.path.join(DATA, "apache-vhosts.conf"))
    assert "apache-vhosts.conf:18: skipped: inside a block detour cannot express" in err
    srv = make_server(rules)
    compare(port, srv.port, VHOST_REQUESTS)


NGINX_REQUESTS = [
    {"target": t, "host": h} for h in ("www.example.com", "example.com") for t in (
        "/blog/2024/05/hello?x=1", "/blog/2024/5/hello", "/old-news/a/b?utm=1",
        "/pricing-2023", "/pricing-2023?a=b", "/team/alice", "/kb/42", "/kb/x",
        "/FAQ/shipping", "/faq/returns", "/contact.html", "/contact.html?x=1",
        "/search-old?q=shoes", "/search-old", "/downloads/legacy/v1/app.zip?sig=1",
        "/downloads/legacy", "/product/17.html", "/product/x.html", "/page.asp",
        "/PAGE.ASPX", "/docs/v1/intro?x=2", "/docs/v2/intro", "/old-shop",
        "/old-shop/cart", "/old-shopping", "/beta")
] + [
    {"target": "/beta", "host": "www.example.com", "headers": {"X-Beta": "yes"}},
    {"target": "/beta", "host": "www.example.com", "headers": {"X-Beta": "no"}},
    {"target": "/anything/here?x=1", "host": "legacy.example.org"},
    {"target": "/", "host": "legacy.example.org"},
]


def test_nginx_differential(nginx, make_server, tmp_path):
    conf = data("nginx.conf").replace("listen 80;", "listen 127.0.0.1:@PORT@;")
    port = nginx(conf)
    rules, err, rc = import_rules("nginx", os.path.join(DATA, "nginx.conf"))
    assert rc == 1
    for line in (61, 62, 66):
        assert ("nginx.conf:%d: skipped: " % line) in err, err
    srv = make_server(rules)
    compare(port, srv.port, NGINX_REQUESTS)


# ---- export: the exported configuration served by the real server, and
# imported back, answers as detour does with the original rules ----

EXPORT_REQUESTS = [
    {"target": t, "host": h} for h in ("localhost", "legacy.example.org") for t in (
        "/old-page", "/old-page/", "/old-page?x=1", "/old-pages", "/landing?utm=1", "/landing/",
        "/blog", "/blog/", "/blog/2024/post?x=1", "/blogs", "/docs/v1/intro",
        "/docs/v1/intro?q=2", "/docs/v1", "/gone", "/gone/", "/p/12.html", "/p/12.html?a=b",
        "/p/x.html", "/shop", "/shop/cart/1?k=v", "/elsewhere", "/moved?a=1", "/moved/",
        "/temp?a=1")
]


def export(fmt, rules_path, tmp_path, *extra):
    out = tmp_path / ("exported." + fmt)
    rc, _, err = run("export", fmt, str(rules_path), "-o", str(out), *extra)
    assert rc == 0, err
    return out


def test_export_nginx_differential(nginx, make_server, tmp_path):
    rules = os.path.join(DATA, "export.rules")
    conf = export("nginx", rules, tmp_path).read_text()
    conf = conf.replace("listen 80;", "listen 127.0.0.1:@PORT@;", 1)
    conf = conf.replace("listen 80;", "listen 127.0.0.1:@PORT@;")
    port = nginx(conf)
    srv = make_server(data("export.rules"))
    compare(port, srv.port, EXPORT_REQUESTS)


def test_export_apache_differential(apache, make_server, tmp_path):
    rules = os.path.join(DATA, "export.rules")
    port = apache("", htaccess=export("apache", rules, tmp_path).read_text())
    srv = make_server(data("export.rules"))
    compare(port, srv.port, EXPORT_REQUESTS)


@pytest.mark.parametrize("fmt,back", [("nginx", "nginx"), ("apache", "apache"),
                                      ("netlify", "netlify")])
def test_export_import_round_trip(make_server, tmp_path, fmt, back):
    text = data("export.rules")
    if fmt == "netlify":
        # Netlify has no regex sources and always passes the query on
        text = "".join(l for l in text.splitlines(True) if "~^" not in l and "drop" not in l)
    rules = tmp_path / "export.rules"
    rules.write_text(text)
    exported = export(fmt, rules, tmp_path)
    again, err, rc = import_rules(back, str(exported))
    assert rc == 0, err
    a = make_server(text)
    b = make_server(again)
    compare(a.port, b.port, EXPORT_REQUESTS)


# What Cloudflare's bulk-redirect CSV holds: a host in every source (a
# host-less rule takes --host: it would answer for that host only), absolute
# targets, exact paths and subpaths (with and without the
# path suffix), the query kept or dropped, statuses 301, 302, 307, 308.
CSV_RULES = """\
//localhost/old-page       https://www.example.com/new-page   301
//localhost/landing        https://www.example.com/welcome    302  query=drop
//localhost/temp           https://www.example.com/other      307
//localhost/blog/*         https://blog.example.com/:splat    308
//localhost/shop/*         https://www.example.com/store      301  query=drop
https://localhost/secure   https://www.example.com/s          301
//legacy.example.org/*     https://www.example.com/:splat     301
"""

CSV_REQUESTS = [
    {"target": t, "host": h} for h in ("localhost", "legacy.example.org", "other.example")
    for t in ("/old-page", "/old-page?x=1", "/old-page/", "/old-pages", "/landing?utm=1",
              "/landing", "/temp?a=1", "/temp", "/blog", "/blog/", "/blog/2024/post?x=1",
              "/blogs", "/shop", "/shop/cart/1?k=v", "/secure", "/", "/a/b?c=d")
]


def test_export_import_round_trip_csv(make_server, tmp_path):
    """export csv, then import cloudflare: the same answers, request by
    request, as the rules exported."""
    rules = tmp_path / "csv.rules"
    rules.write_text(CSV_RULES)
    exported = export("csv", rules, tmp_path, "--host", "localhost")
    again, err, rc = import_rules("cloudflare", str(exported))
    assert rc == 0, err
    a = make_server(CSV_RULES)
    b = make_server(again)
    compare(a.port, b.port, CSV_REQUESTS)
    # The requests do tell the rules apart.
    assert ask(a.port, "/shop/cart/1?k=v") == (301, "https://www.example.com/store")
    assert ask(a.port, "/temp?a=1") == (307, "https://www.example.com/other?a=1")
    assert ask(a.port, "/secure") == (404, None)  # an http request


# ---- the other formats, against their documented semantics ----

def expect(srv, cases):
    bad = []
    for req, want in cases:
        if isinstance(req, str):
            req = {"target": req}
        got = ask(srv.port, **req)
        if got != want:
            bad.append("%r: expected %r, got %r" % (req, want, got))
    assert not bad, "\n".join(bad)


L = "http://localhost"


def test_netlify_redirects_semantics(make_server):
    rules, err, rc = import_rules("netlify", os.path.join(DATA, "_redirects"))
    assert rc == 1
    for line, why in ((8, "cannot capture query values"), (9, "status 200 is a rewrite"),
                      (12, "no geolocation condition"), (14, "identity"),
                      (15, "status 200 is a rewrite")):
        assert "_redirects:%d: skipped: " % line in err and why in err, err
    srv = make_server(rules)
    expect(srv, [
        ("/home", (301, L + "/")),                      # default status 301
        ("/home/?a=1", (301, L + "/?a=1")),             # trailing slash ignored, query passed on
        ("/blog/2024/x", (301, "https://blog.example.com/2024/x")),  # splat, 301!
        ("/docs/v2/intro", (302, L + "/documentation/intro?v=v2")),  # placeholders
        ("/news/2024/hello", (301, L + "/articles/hello")),
        ("/store?id=7", (301, L + "/products")),        # query match; not passed on
        ("/store", (404, None)),
        ("/promo?ref=newsletter", (302, L + "/deals")),
        ("/promo?ref=other", (404, None)),
        ({"target": "/", "headers": {"Accept-Language": "fr-CA,en;q=0.5"}}, (302, L + "/fr/")),
        ({"target": "/", "headers": {"Accept-Language": "en"}}, (404, None)),
        ("/removed", (410, None)),
    ])


def test_netlify_toml_semantics(make_server):
    rules, err, rc = import_rules("netlify-toml", os.path.join(DATA, "netlify.toml"))
    assert rc == 1
    assert "netlify.toml:26: skipped: " in err and "netlify.toml:32: skipped: " in err, err
    assert "# " + os.path.join(DATA, "netlify.toml") + ":4: " in rules  # the [[redirects]] line
    srv = make_server(rules)
    expect(srv, [
        ("/old?x=1", (301, L + "/new?x=1")),
        ("/news/a/b", (302, "https://news.example.com/a/b")),
        ("/store?id=3", (301, L + "/products")),
        ({"target": "/", "headers": {"Accept-Language": "de-AT"}}, (302, L + "/de/")),
        ("/ca", (404, None)),
    ])


def test_cloudflare_semantics(make_server):
    rules, err, rc = import_rules("cloudflare", os.path.join(DATA, "cloudflare.csv"))
    assert rc == 1 and "cloudflare.csv:7: skipped: status 418" in err, err
    srv = make_server(rules)
    ex = "example.com"
    expect(srv, [
        ({"target": "/old-page?x=1", "host": ex}, (301, "https://example.com/new-page")),
        ({"target": "/old-page", "host": "other.example"}, (404, None)),
        ({"target": "/old-page/more", "host": ex}, (404, None)),  # no subpath matching
        ({"target": "/keep-query?x=1", "host": ex}, (404, None)),  # https only
        ({"target": "/docs/a/b?q=1", "host": ex}, (308, "https://docs.example.com/a/b?q=1")),
        ({"target": "/docs", "host": ex}, (308, "https://docs.example.com/")),
        ({"target": "/shop/cart?x=1", "host": ex}, (301, "https://shop.example.com/")),
        ({"target": "/shop/cart", "host": "eu.example.com"}, (301, "https://shop.example.com/")),
    ])


def test_vercel_semantics(make_server):
    rules, err, rc = import_rules("vercel", os.path.join(DATA, "vercel.json"))
    assert rc == 1
    assert "vercel.json:20: skipped: locale" in err and "vercel.json:21: skipped: " in err, err
    srv = make_server(rules)
    expect(srv, [
        ("/old-blog/hello?x=1", (308, L + "/blog/hello?x=1")),       # permanent: 308
        ("/docs/a/b", (307, "https://docs.example.com/a/b")),         # :path* and 307
        ("/docs", (307, "https://docs.example.com/")),
        ("/team", (301, L + "/about#team")),
        ({"target": "/beta", "headers": {"Cookie": "beta=1"}}, (307, L + "/beta-program")),
        ({"target": "/beta", "headers": {"Cookie": "beta=1", "X-Internal": "1"}}, (404, None)),
        ("/beta", (404, None)),
        ({"target": "/promo?ref=x", "host": "old.example.com"}, (308, "https://example.com/sale?ref=x")),
        ({"target": "/promo", "host": "old.example.com"}, (404, None)),
        ("/post/123", (302, L + "/posts/123")),
        ("/post/abc", (404, None)),
    ])


def test_redirection_semantics(make_server):
    rules, err, rc = import_rules("redirection", os.path.join(DATA, "redirection.csv"))
    assert rc == 1 and "redirection.csv:6: skipped: the redirect is disabled" in err, err
    srv = make_server(rules)
    expect(srv, [
        ("/old-post?x=1", (301, L + "/new-post")),
        ("/search?s=shoes", (302, L + "/shop/shoes")),
        ("/category/news/2024", (301, L + "/topics/news/2024")),
        ("/deleted", (410, None)),
        ("/paused", (404, None)),
    ])
    rules, err, rc = import_rules("redirection", os.path.join(DATA, "redirection.json"))
    assert rc == 1, err
    assert [l for l in err.splitlines() if ": skipped: " in l] == [
        "%s/redirection.json:82: skipped: match type \"login\": detour does not know who is "
        "logged in to WordPress" % DATA]
    srv = make_server(rules)
    # The plugin's matches/*.php: url_from when the condition holds,
    # url_notfrom when it does not, nothing (the next redirect) when that
    # target is empty.
    expect(srv, [
        ("/old-post?x=1", (301, L + "/new-post")),
        ("/CAMPAIGN?utm=1", (307, L + "/landing?utm=1")),   # flag_case, flag_query pass
        ("/archive/2019", (302, L + "/years/2019")),
        ({"target": "/mobile", "headers": {"User-Agent": "iPhone"}}, (301, L + "/m")),
        ({"target": "/mobile", "headers": {"User-Agent": "iPhone OS"}}, (404, None)),  # exact
        ({"target": "/from", "headers": {"Referer": "https://NEWS.example/a"}},
         (302, L + "/welcome-news")),                       # regex: case-insensitive
        ({"target": "/from", "headers": {"Referer": "https://other.example/"}},
         (302, L + "/welcome")),
        ("/from", (302, L + "/welcome")),
        ({"target": "/beta", "headers": {"Cookie": "a=b; beta=1"}}, (307, L + "/beta-on")),
        ({"target": "/beta", "headers": {"Cookie": "beta=2"}}, (404, None)),
        ("/office", (302, L + "/intranet")),                # the test connects from 127.0.0.1
        ("/outside", (302, L + "/public")),                 # not 192.0.2.1
        ({"target": "/shop", "host": "old.example.com"}, (301, "https://shop.example.com/")),
        ("/shop", (404, None)),
        ({"target": "/hello", "headers": {"Accept-Language": "de-DE,de;q=0.9"}},
         (302, L + "/bonjour")),
        ({"target": "/hello", "headers": {"Accept-Language": "en"}}, (404, None)),
        ({"target": "/api", "headers": {"X-Api-Version": "2"}}, (307, L + "/v2/api")),
        ({"target": "/api", "headers": {"X-Api-Version": "1"}}, (404, None)),
        ("/account", (404, None)),
    ])


def test_import_usage_and_errors(tmp_path):
    rc, out, err = run("import")
    assert rc == 2 and "usage: detour import" in err
    rc, out, err = run("import", "iis", os.path.join(DATA, "htaccess"))
    assert rc == 2 and 'unknown format "iis"' in err
    rc, out, err = run("import", "apache", str(tmp_path / "missing"))
    assert rc == 2 and "No such file or directory" in err
    rc, out, err = run("import", "vercel", "-", input="{not json")
    assert rc == 2 and "not JSON" in err
    # a clean import: 0, and -o writes the file
    out_path = tmp_path / "site.rules"
    rc, out, err = run("import", "apache", "-", "-o", str(out_path),
                       input="Redirect 308 /a https://example.com/b\n")
    assert rc == 0, err
    assert out == ""
    text = out_path.read_text()
    assert "# <stdin>:1: Redirect 308 /a https://example.com/b\n/a https://example.com/b 308\n" in text
    # lint errors in the result: written anyway, status 3
    rc, out, err = run("import", "netlify", "-", input="/a /b 302\n/b /a 302\n")
    assert rc == 3 and "/a /b 302" in out and "loop" in err, err


def test_export_usage_and_notes(tmp_path):
    rules = tmp_path / "r.rules"
    rules.write_text("/a /b 302 if-lang=fr\n/c /d 302\n")
    rc, out, err = run("export", "nginx", str(rules))
    assert rc == 1
    assert "r.rules:1: not exported: the condition if-lang=fr has no equivalent in nginx" in err
    assert "# %s:1: not exported (nginx the condition if-lang=fr)" % rules in out
    rc, out, err = run("export", "iis", str(rules))
    assert rc == 2 and 'unknown format "iis"' in err
    rc, out, err = run("export", "csv", str(rules))
    assert rc == 1 and "give --host" in err
    rc, out, err = run("export", "csv", str(rules), "--host", "example.com")
    assert "example.com/c,https://example.com/d,302,TRUE,FALSE,FALSE,FALSE" in out
