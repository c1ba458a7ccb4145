"""`detour crawl` over a generated site (crawlsite.py) on loopback: the
crawl finds exactly the planted problems, obeys robots.txt, reads the
sitemap index and its gzipped sitemap, keeps to --max-pages, --max-depth and
--rate, writes rules that flatten every chain, and its HTML report renders
in headless Chromium (no console error, the Graphviz SVG drawn)."""
import collections
import csv
import difflib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import time
import zlib

import pytest

from conftest import BIN
import crawlsite

CHROMIUM = shutil.which("chromium")
PAGES = 300


@pytest.fixture
def site():
    srv, s = crawlsite.serve(PAGES)
    yield s
    srv.shutdown()
    srv.server_close()


def crawl(*args, timeout=300):
    return subprocess.run([BIN, "crawl", "-q"] + list(args), capture_output=True,
                          timeout=timeout)


def path(site, url):
    return url[len(site.base):] if url and url.startswith(site.base) else url


# What the crawl must find on the site, and nothing else: (code, severity,
# URL, pages it names, target).
PLANTED = [
    ("broken-link", "error", "/docs-old/faq", ["/p/19"], None),
    ("broken-link", "error", "/missing", ["/p/10", "/p/9"], None),
    ("canonical-redirect", "error", "/canon-old", ["/p/12"], "/p/12"),
    ("loop", "error", "/loop/a", ["/p/7"], None),
    ("redirect-to-error", "error", "/moved", ["/p/8"], None),
    ("chain", "warning", "/chain/1", ["/p/4"], None),
    ("link-to-redirect", "warning", "/canon-old", ["/p/12"], "/p/12"),
    ("link-to-redirect", "warning", "/chain/1", ["/p/4"], "/p/6"),
    ("link-to-redirect", "warning", "/docs-old/guide", ["/p/18"], "/docs/guide"),
    ("link-to-redirect", "warning", "/old/a", ["/p/3"], "/p/5"),
    ("link-to-redirect", "warning", "/only-via", ["/p/13"], "/hidden"),
    ("link-to-redirect", "warning", "/promo", ["/p/16"], "/p/17"),
    ("mixed-permanence", "warning", "/chain/1", ["/p/4"], None),
    ("redirect-only", "info", "/hidden", [], None),
]


def test_ten_thousand_pages_exactly_the_planted_problems(tmp_path):
    """The issue's proof at its size: the same site with 10,000 pages, the
    same planted problems found, nothing more, every page checked once."""
    n = 10000
    srv, big = crawlsite.serve(n)
    try:
        out = tmp_path / "crawl.json"
        # --max-pages: the default (10,000) would stop short of the extras.
        p = crawl("--rate", "0", "--per-host", "8", "--max-pages", "20000", "--json",
                  str(out), big.base + "/", timeout=600)
        assert p.returncode == 1, p.stderr
        d = json.loads(out.read_text())
        got = [(f["code"], f["severity"], path(big, f["url"]),
                [path(big, u) for u in f["pages"]], path(big, f["target"]))
               for f in d["findings"]]
        assert got == PLANTED
        s = d["summary"]
        assert s["status"] == {"200": n + 6, "301": 6, "302": 1, "307": 1, "404": 2}
        assert s["pages_checked"] == n + 16
        fetched = collections.Counter(r for r in big.requests if r.startswith("/p/"))
        assert len(fetched) == n
    finally:
        srv.shutdown()
        srv.server_close()


def test_finds_exactly_the_planted_problems(site, tmp_path):
    out = tmp_path / "crawl.json"
    p = crawl("--rate", "0", "--per-host", "8", "--json", str(out), "--csv",
              str(tmp_path / "crawl.csv"), site.base + "/")
    assert p.returncode == 1, p.stderr  # errors among the findings
    d = json.loads(out.read_text())
    got = [(f["code"], f["severity"], path(site, f["url"]),
            [path(site, u) for u in f["pages"]], path(site, f["target"]))
           for f in d["findings"]]
    assert got == PLANTED
    s = d["summary"]
    assert s["status"] == {"200": PAGES + 6, "301": 6, "302": 1, "307": 1, "404": 2}
    assert s["pages_checked"] == PAGES + 16
    assert s["robots_denied"] == 1
    assert s["findings"] == {"broken-link": 2, "canonical-redirect": 1, "loop": 1,
                             "redirect-to-error": 1, "chain": 1, "link-to-redirect": 6,
                             "mixed-permanence": 1, "redirect-only": 1}
    pages = {path(site, pg["url"]): pg for pg in d["pages"]}
    # robots.txt first, then nothing it disallows; nothing outside the scope.
    assert site.requests[0] == "/robots.txt"
    assert "/private/x" not in site.requests
    assert pages["/private/x"]["robots_denied"] and not pages["/private/x"]["checked"]
    assert not pages["http://other.invalid/x"]["in_scope"]
    assert not pages["http://other.invalid/x"]["checked"]
    # The sitemap index, its gzipped sitemap, and the page only it names.
    assert "/sitemap_index.xml" in site.requests and "/sitemap-pages.xml.gz" in site.requests
    assert pages["/orphan"]["checked"] and pages["/orphan"]["in_sitemap"]
    assert pages["/orphan"]["linked_from"] == 0
    assert (pages["/hidden"]["via_redirect"], pages["/hidden"]["checked"]) == (True, False)
    assert [u for u, pg in pages.items() if pg["via_redirect"]] == sorted(
        ["/p/5", "/p/6", "/p/12", "/p/17", "/hidden", "/gone-target", "/docs/guide"])
    # Images and scripts are checked, every page once on its own, and once
    # more at the end of each chain that leads to it.
    assert pages["/img/logo.png"]["status"] == 200 and pages["/js/app.js"]["status"] == 200
    fetched = collections.Counter(r for r in site.requests if r.startswith("/p/"))
    assert len(fetched) == PAGES
    assert {k: v for k, v in fetched.items() if v > 1} == {"/p/5": 2, "/p/6": 2, "/p/12": 2,
                                                           "/p/17": 2}
    # Every chain hop by hop.
    chains = {path(site, c["url"]): c for c in d["chains"]}
    assert [(path(site, h["url"]), h["status"], h["protocol"])
            for h in chains["/chain/1"]["hops"]] == [
        ("/chain/1", 301, "HTTP/1.1"), ("/chain/2", 302, "HTTP/1.1"),
        ("/chain/3", 301, "HTTP/1.1"), ("/p/6", 200, "HTTP/1.1")]
    assert chains["/loop/a"]["redirects"] == 20
    assert set(chains) == {"/old/a", "/chain/1", "/loop/a", "/moved", "/canon-old",
                           "/only-via", "/promo", "/docs-old/guide"}
    # The CSV: a row per page checked.
    rows = list(csv.DictReader(io.StringIO((tmp_path / "crawl.csv").read_text())))
    assert len(rows) == PAGES + 16
    row = [r for r in rows if r["url"] == site.base + "/missing"][0]
    assert (row["status"], row["final_status"], row["linked_from"], row["findings"]) == \
        ("404", "404", "2", "broken-link")


def test_same_site_same_files(site, tmp_path):
    """Two crawls of one site write the same JSON (but the time), CSV, rules
    and HTML, whatever order the responses came in."""
    outs = []
    for n in (1, 2):
        d = tmp_path / str(n)
        d.mkdir()
        crawl("--rate", "0", "--per-host", "8" if n == 1 else "3", "--json", str(d / "c.json"),
              "--csv", str(d / "c.csv"), "--suggest-rules", str(d / "r.rules"), "-o",
              str(d / "r.html"), site.base + "/")
        j = json.loads((d / "c.json").read_text())
        j["summary"]["seconds"] = 0
        html = re.sub(r"in [0-9.]+ s\.", "", (d / "r.html").read_text())
        outs.append((j, (d / "c.csv").read_text(), (d / "r.rules").read_text(), html))
    if outs[0] != outs[1]:
        # Which part, and the lines that differ (the tuples are too long
        # for pytest's own diff, which hid the cause of a failure once).
        parts = ("json", "csv", "rules", "html")
        for name, a, b in zip(parts, outs[0], outs[1]):
            if a != b:
                if name == "json":
                    a, b = (json.dumps(x, indent=1, sort_keys=True) for x in (a, b))
                diff = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="")
                pytest.fail("%s differs:\n%s" % (name, "\n".join(list(diff)[:80])))


def test_depth_whatever_the_timing(tmp_path):
    """A page first reached by a longer path (here the end of /old/a's
    redirect, linked from /p/3, while /p/2's link to /p/5 is slow) gets the
    shorter depth once it is found, and so do the pages below it: the JSON
    is the same whichever response comes first."""
    outs = []
    for slow in (("/p/2",), ("/p/1", "/p/3", "/old/a")):
        srv, s = crawlsite.serve(40)
        orig = s.respond

        def respond(p, orig=orig, slow=slow):
            if p in slow:
                time.sleep(0.6)
            return orig(p)

        s.respond = respond
        out = tmp_path / ("c%d.json" % len(outs))
        try:
            crawl("--rate", "0", "--per-host", "8", "--no-sitemaps", "--json", str(out),
                  s.base + "/")
        finally:
            srv.shutdown()
            srv.server_close()
        j = json.loads(out.read_text())
        j["summary"]["seconds"] = 0
        outs.append(json.dumps(j, indent=1, sort_keys=True).replace(s.base, "BASE"))
        depth = {path(s, pg["url"]): pg["depth"] for pg in j["pages"]}
        # "/" 0, /p/0 1, /p/2 2, /p/5 3, /p/11 4, /p/23 5
        assert [depth[u] for u in ("/", "/p/0", "/p/2", "/p/5", "/p/11", "/p/23")] == \
            [0, 1, 2, 3, 4, 5], slow
    assert outs[0] == outs[1], "\n".join(difflib.unified_diff(
        outs[0].splitlines(), outs[1].splitlines(), lineterm=""))


def test_text_output_and_exit_status(site):
    p = crawl("--rate", "0", "--per-host", "8", site.base + "/")
    assert p.returncode == 1
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith("crawled %d pages (" % (PAGES + 16))
    assert lines[2] == ("error   broken-link %s/missing: 404 Not Found, linked from 2 pages "
                        "(from %s/p/10 and more)" % (site.base, site.base))
    assert len(lines) == 1 + len(PLANTED)


def test_suggest_rules_flatten_every_chain(site, tmp_path):
    rules = tmp_path / "flat.rules"
    p = crawl("--rate", "0", "--per-host", "8", "--suggest-rules", str(rules), site.base + "/")
    assert p.returncode == 1
    lines = [l for l in rules.read_text().splitlines() if l and not l.startswith("#")]
    assert lines == ["/chain/1 /p/6 301 cache=1d", "/chain/2 /p/6 302",
                     "/chain/3 /p/6 301 cache=1d", "/docs-old/faq /docs/faq 301 cache=1d"]
    assert ("# 404 linked from 1 page: /docs-old/ moved to /docs/ (/docs-old/guide -> "
            "/docs/guide), and /docs/faq answers 200") in rules.read_text()
    lint = subprocess.run([BIN, "lint", str(rules)], capture_output=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_history_temporary_stable(site, tmp_path):
    hist = tmp_path / "history.json"

    def run(now):
        out = tmp_path / "c.json"
        p = subprocess.run([BIN, "crawl", "-q", "--rate", "0", "--per-host", "8", "--history",
                            str(hist), "--json", str(out), site.base + "/"],
                           capture_output=True, timeout=300,
                           env=dict(os.environ, DETOUR_NOW=now))
        assert p.returncode == 1, p.stderr
        return [(f["code"], path(site, f["url"]), f["message"], path(site, f["target"]))
                for f in json.loads(out.read_text())["findings"]
                if f["code"] == "temporary-stable"]

    assert run("2026-12-01T00:00:00Z") == []
    h = json.loads(hist.read_text())
    assert h == {"version": 1, "redirects": {site.base + "/promo": {
        "status": 307, "next": site.base + "/p/17", "since": "2026-12-01T00:00:00Z",
        "crawls": 1}}}
    msg = ("307 to %s/p/17 in each of the last %d crawls (since 2026-12-01T00:00:00Z): if it "
           "is for good, make it a 308")
    assert run("2026-12-02T00:00:00Z") == [
        ("temporary-stable", "/promo", msg % (site.base, 2), "/p/17")]
    assert run("2026-12-03T00:00:00Z") == [
        ("temporary-stable", "/promo", msg % (site.base, 3), "/p/17")]
    # Another target: the count starts again.
    site.redirects["/promo"] = (307, "/p/18")
    assert run("2026-12-04T00:00:00Z") == []
    assert json.loads(hist.read_text())["redirects"][site.base + "/promo"]["since"] == \
        "2026-12-04T00:00:00Z"
    hist.write_text("[1]")
    p = crawl("--history", str(hist), site.base + "/")
    assert p.returncode == 2 and b"not a detour crawl history" in p.stderr


def test_scope_and_external(site, tmp_path):
    out = tmp_path / "c.json"
    # localhost is another site than 127.0.0.1: out of scope, listed, not
    # requested; with --external requested, and its links not followed.
    srv, small = crawlsite.serve(3)
    try:
        port = int(small.base.rsplit(":", 1)[1])
        small.extra = {0: ["http://localhost:%d/p/1" % port]}
        assert crawl("--rate", "0", "--no-sitemaps", "--json", str(out),
                     small.base + "/").returncode == 0
        pages = {pg["url"]: pg for pg in json.loads(out.read_text())["pages"]}
        ext = pages["http://localhost:%d/p/1" % port]
        assert (ext["in_scope"], ext["checked"], ext["linked_from"]) == (False, False, 1)
        assert crawl("--rate", "0", "--no-sitemaps", "--external", "--json", str(out),
                     small.base + "/").returncode == 0
        pages = {pg["url"]: pg for pg in json.loads(out.read_text())["pages"]}
        ext = pages["http://localhost:%d/p/1" % port]
        assert (ext["in_scope"], ext["checked"], ext["status"]) == (False, True, 200)
        assert not [u for u in pages if u.startswith("http://localhost") and u != ext["url"]]
    finally:
        srv.shutdown()
        srv.server_close()
    # --scope prefix: only under the seed's directory.
    site.requests.clear()
    assert crawl("--rate", "0", "--scope", "prefix", "--max-depth", "3", "--json", str(out),
                 site.base + "/p/0").returncode == 0
    checked = sorted(path(site, pg["url"]) for pg in json.loads(out.read_text())["pages"]
                     if pg["checked"])
    assert checked == ["/p/%d" % i for i in (0, 1, 10, 11, 12, 13, 14, 2, 3, 4, 5, 6, 7, 8, 9)]
    assert "/" not in site.requests


def test_progress_line_on_a_terminal(site, tmp_path):
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN, "crawl", "--rate", "0", "--max-pages", "20", site.base + "/"],
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    p.wait(60)
    os.close(master)
    assert b"\r\x1b[Kcrawled 20 pages, " in err and b" pages/s" in err
    # Not a terminal: nothing on stderr.
    assert crawl("--rate", "0", "--max-pages", "20", site.base + "/").stderr == b""


def test_limits(site, tmp_path):
    out = tmp_path / "c.json"
    assert crawl("--rate", "0", "--max-pages", "10", "--no-sitemaps", "--json", str(out),
                 site.base + "/").returncode == 0
    d = json.loads(out.read_text())
    assert d["summary"]["pages_checked"] == 10
    assert len([r for r in site.requests if r != "/robots.txt"]) == 10
    # --max-depth 2: "/", /p/0, and /p/0's links (/p/1, /p/2).
    site.requests.clear()
    assert crawl("--rate", "0", "--max-depth", "2", "--no-sitemaps", "--json", str(out),
                 site.base + "/").returncode == 0
    d = json.loads(out.read_text())
    assert sorted(path(site, pg["url"]) for pg in d["pages"] if pg["checked"]) == \
        ["/", "/p/0", "/p/1", "/p/2"]
    assert sorted(site.requests) == ["/", "/p/0", "/p/1", "/p/2", "/robots.txt"]


def test_rate_per_host(tmp_path):
    srv, s = crawlsite.serve(3)
    try:
        out = tmp_path / "c.json"
        t0 = time.monotonic()
        assert crawl("--rate", "10", "--no-sitemaps", "--json", str(out),
                     s.base + "/").returncode == 0
        dt = time.monotonic() - t0
        n = json.loads(out.read_text())["summary"]["pages_checked"]
        assert n == 4  # "/", /p/0, /p/1, /p/2
        # robots.txt, then four starts at least 100 ms apart.
        assert dt >= 0.3 * 0.95
    finally:
        srv.shutdown()
        srv.server_close()


def test_robots_unreachable_crawls_nothing(tmp_path):
    srv, s = crawlsite.serve(3)
    orig = s.respond
    s.respond = lambda p: (503, [], b"") if p == "/robots.txt" else orig(p)
    try:
        p = crawl("--rate", "0", s.base + "/")
        assert p.returncode == 0
        assert "nothing of %s is crawled" % s.base in p.stderr.decode()
        assert s.requests == ["/robots.txt"]
    finally:
        srv.shutdown()
        srv.server_close()


ASSETS_HTML = b"""<!DOCTYPE html><html><head>
<link rel=stylesheet href=/css/site.css>
<style>@import "/css/print.css"; h1 { background: url( /img/h1.png ) }</style>
</head><body>
<h1>assets</h1>
<picture><source srcset="/img/b.webp 1x, /img/b-2x.webp 2x" type=image/webp>
<img src=/img/a.png srcset="/img/a-2x.png 2x, /img/old.png 3x, /img/bad.png 0w"></picture>
<div style="background-image: url('/img/missing.png')">x</div>
</body></html>"""

ASSETS = {
    "/": (200, "text/html", ASSETS_HTML),
    "/css/site.css": (200, "text/css; charset=utf-8",
                      b"@import url(more.css);\nbody { background: url(\"../img/bg.png\") }\n"
                      b"/* url(/img/commented.png) */ .x { background: url(/img/gone.png) }\n"),
    "/css/more.css": (200, "text/css", b".m { background: url(m.png) }"),
    "/css/print.css": (200, "text/css", b""),
    "/img/old.png": (301, None, b""),
    "/img/missing.png": (404, "text/plain", b"no"),
    "/img/gone.png": (404, "text/plain", b"no"),
}


def test_assets_srcset_and_css(tmp_path):
    """Every srcset candidate (but one a browser drops: "0w"), the url()s and
    @imports of <style>, style attributes and fetched style sheets (against
    the sheet's URL) are checked."""
    srv, s = crawlsite.serve(1)

    def respond(p):
        if p == "/img/old.png":
            return 301, [("Location", "/img/new.png"), ("Cache-Control", "max-age=86400")], b""
        st, ctype, body = ASSETS.get(p, (200, "image/png", b"\x89PNG"))
        if p == "/robots.txt":
            st, ctype, body = 404, "text/plain", b""
        return st, [("Content-Type", ctype)], body

    s.respond = respond
    out = tmp_path / "c.json"
    try:
        p = crawl("--rate", "0", "--no-sitemaps", "--json", str(out), s.base + "/")
        assert p.returncode == 1, p.stderr
    finally:
        srv.shutdown()
        srv.server_close()
    d = json.loads(out.read_text())
    assert sorted((path(s, pg["url"]), pg["status"]) for pg in d["pages"]) == [
        ("/", 200), ("/css/m.png", 200), ("/css/more.css", 200), ("/css/print.css", 200),
        ("/css/site.css", 200), ("/img/a-2x.png", 200), ("/img/a.png", 200),
        ("/img/b-2x.webp", 200), ("/img/b.webp", 200), ("/img/bg.png", 200),
        ("/img/gone.png", 404), ("/img/h1.png", 200), ("/img/missing.png", 404),
        ("/img/new.png", None), ("/img/old.png", 301)]  # new.png: the end of a chain
    assert "/img/bad.png" not in s.requests and "/img/commented.png" not in s.requests
    got = [(f["code"], path(s, f["url"]), [path(s, u) for u in f["pages"]],
            path(s, f["target"])) for f in d["findings"]]
    assert got == [("broken-link", "/img/gone.png", ["/css/site.css"], None),
                   ("broken-link", "/img/missing.png", ["/"], None),
                   ("link-to-redirect", "/img/old.png", ["/"], "/img/new.png"),
                   ("redirect-only", "/img/new.png", [], None)]


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced
    PNG as Chromium writes its screenshots."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def chromium(tmp_path, url, *args):
    """One headless Chromium run of ours (its own profile and HOME); ends by
    itself, or the timeout kills it."""
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    return subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--user-data-dir=%s" % (tmp_path / "profile"), "--enable-logging=stderr", "--v=0"]
        + list(args) + [url], env=env, capture_output=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_chromium(site, tmp_path):
    report = tmp_path / "report.html"
    p = crawl("--rate", "0", "--per-host", "8", "-o", str(report), site.base + "/")
    assert p.returncode == 1
    html = report.read_text()
    # One file: no script, no external stylesheet, image or font.
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert re.search(r'src="?(https?:)?//', html) is None
    assert html.count("<svg") == 1
    # The whole report: loads with no console message, and its DOM has the
    # graph with an edge per redirect hop drawn.
    r = chromium(tmp_path, report.as_uri(), "--dump-dom")
    err = r.stderr.decode(errors="replace")
    assert "CONSOLE" not in err and "Uncaught" not in err, err
    dom = r.stdout.decode(errors="replace")
    assert '<svg' in dom and 'class="edge"' in dom
    # /old/a 1, /chain/* 3, /loop/* 2, /moved 1, /canon-old 1, /only-via 1, /promo 1,
    # /docs-old/guide 1
    assert dom.count('class="edge"') == 11
    shot = tmp_path / "report.png"
    chromium(tmp_path, report.as_uri(), "--screenshot=%s" % shot, "--window-size=1200,900")
    assert shot.stat().st_size > 1000
    # The graph alone, on a white page: drawn means dark pixels (lines,
    # text) where the SVG is.
    svg = html[html.index("<svg"):html.index("</svg>") + 6]
    page = tmp_path / "graph.html"
    page.write_text("<!DOCTYPE html><body style='margin:0;background:#fff'>%s</body>" % svg)
    gshot = tmp_path / "graph.png"
    chromium(tmp_path, page.as_uri(), "--screenshot=%s" % gshot, "--window-size=1600,1200")
    w, h, bpp, rows = png_pixels(gshot.read_bytes())
    dark = sum(1 for row in rows for i in range(0, len(row), bpp)
               if row[i] < 128 and row[i + 1] < 128 and row[i + 2] < 128)
    assert dark > 500, dark
