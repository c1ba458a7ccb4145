"""The rule-language additions against the real server (docs/rules.md):
regex sources, each condition, time windows under DETOUR_NOW, weighted
splits (distribution and stickiness), status html, case=insensitive, the
trailing-slash policy, status words and the open-redirect guard."""
import http.client
import re
import subprocess

import pytest

from conftest import BIN, run_detour


def fetch(srv, path, method="GET", headers=None):
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    out = (r.status, r.getheader("Location"), dict(r.getheaders()), body)
    c.close()
    return out


RULES = """\
~^/p/([0-9]+)$            /products/$1          302
~^/u/(?<user>[a-z]+)/(.*)$ /users/:user?rest=$2
/cond   /post     method=POST,PUT
/cond   /beta     if-cookie=beta=1
/cond   /fr       if-lang=fr
/cond   /dbg      if-header=X-Debug:~^(on|yes)$
/cond   /q        if-query=utm=x&ref
/cond   /lan      if-ip=10.0.0.0/8
/cond   /not-curl if-header=!User-Agent:curl
/cond   /rest
/Old-Page  /new   case=insensitive
/exact  /e        permanent
/dir/   /d        temporary
/page   /next?a='b'   html delay=2
~^/go/(https?://[^/]+/.*)$ $1  allow-hosts=a.example
/go/*   /refused
"""


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server(RULES)


@pytest.mark.parametrize("path,status,location", [
    ("/p/42", 302, "/products/42"),
    ("/p/x", 404, None),
    ("/u/ann/a/b", 307, "/users/ann?rest=a/b"),
    ("/old-page", 307, "/new"),
    ("/OLD-PAGE/", 307, "/new"),
    ("/exact", 308, "/e"),
    ("/exact/", 308, "/e"),  # "@slash either" is the default
    ("/dir", 307, "/d"),
    ("/go/https://a.example/x", 307, "https://a.example/x"),
    ("/go/https://evil.example/x", 307, "/refused"),
])
def test_sources(srv, path, status, location):
    st, loc, _, _ = fetch(srv, path)
    assert (st, loc) == (status, location)


@pytest.mark.parametrize("method,path,headers,location,vary", [
    ("POST", "/cond", {}, "/post", None),
    ("PUT", "/cond", {}, "/post", None),
    ("GET", "/cond", {"Cookie": "a=2; beta=1"}, "/beta", "Cookie"),
    ("GET", "/cond", {"Cookie": "beta=2"}, "/not-curl", "User-Agent"),
    ("GET", "/cond", {"Accept-Language": "fr-CH, en;q=0.8"}, "/fr", "Accept-Language"),
    ("GET", "/cond", {"Accept-Language": "en, fr;q=0.9"}, "/not-curl", "User-Agent"),
    ("GET", "/cond", {"X-Debug": "yes"}, "/dbg", "X-Debug"),
    ("GET", "/cond?ref&utm=x", {}, "/q?ref&utm=x", None),
    ("GET", "/cond?utm=x", {}, "/not-curl?utm=x", "User-Agent"),
    ("GET", "/cond", {"User-Agent": "curl"}, "/rest", None),
])
def test_conditions(srv, method, path, headers, location, vary):
    st, loc, h, _ = fetch(srv, path, method, headers)
    assert (st, loc) == (307, location)
    assert h.get("Vary") == vary
    if vary:
        assert h["Cache-Control"] == "private"


def test_condition_with_curl(srv):
    # curl sends "User-Agent: curl/x.y", not "curl": the negated condition holds
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                          "-H", "Accept-Language: fr", srv.url("/cond")],
                         capture_output=True, text=True, timeout=10).stdout
    assert out == "307 %s" % srv.url("/fr")
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                          "-A", "curl", srv.url("/cond")],
                         capture_output=True, text=True, timeout=10).stdout
    assert out == "307 %s" % srv.url("/rest")


def test_html_status(srv):
    st, loc, h, body = fetch(srv, "/page")
    assert (st, loc) == (200, None)
    assert body == (b'<!DOCTYPE html>\n<title>Redirecting</title>\n'
                    b'<meta http-equiv="refresh" content="2; url=/next?a=&#39;b&#39;">\n'
                    b'<p><a href="/next?a=&#39;b&#39;">Redirecting</a></p>\n')
    assert h["Content-Length"] == str(len(body))
    st, _, h, body = fetch(srv, "/page", "HEAD")
    assert (st, body, h["Content-Length"]) == (200, b"", "161")


def test_open_redirect_refused_at_load(tmp_path):
    p = tmp_path / "r.rules"
    p.write_text("~^/r/(.*)$ https://$1/\n")
    code, out, err = run_detour(["explain", str(p), "GET /r/x"])
    assert code == 1
    assert ("r.rules:1:20: a capture in the target's scheme or host can redirect to any site"
            in err)


def test_slash_strict(make_server):
    s = make_server("@slash strict\n/exact /e\n/dir/ /d\n")
    assert fetch(s, "/exact")[:2] == (307, "/e")
    assert fetch(s, "/exact/")[:2] == (404, None)
    assert fetch(s, "/dir")[:2] == (404, None)


WINDOW_RULES = """\
/promo /nov     from=2026-11-01 until=2026-12-01 cache=30d
/promo /weekend days=sat,sun
/promo /none
"""


@pytest.mark.parametrize("now,location,cache", [
    ("2026-10-30T12:00:00Z", "/none", None),      # a Friday, before the promotion
    ("2026-10-31T12:00:00Z", "/weekend", None),   # Saturday
    ("2026-11-30T23:00:00Z", "/nov", "max-age=3600"),  # one hour left: cut
    ("2026-12-01T00:00:00Z", "/none", None),      # a Tuesday, the day it ended
])
def test_windows_with_detour_now(make_server, monkeypatch, now, location, cache):
    monkeypatch.setenv("DETOUR_NOW", now)
    s = make_server(WINDOW_RULES)
    st, loc, h, _ = fetch(s, "/promo")
    assert (st, loc) == (307, location)
    cc = h.get("Cache-Control")
    if cache is None:
        assert cc is None
    else:
        assert cc in (cache, "max-age=3599")  # a second may pass
    s.wait_log("DETOUR_NOW=%s: THE CLOCK IS OVERRIDDEN" % now)


SPLIT_RULES = """\
/land /a weight=70 sticky=cookie id=land
/land /b weight=30
/ip   /x weight=1 sticky=ip
/ip   /y weight=1
"""


def test_split_distribution_and_stickiness(make_server):
    s = make_server(SPLIT_RULES)
    counts = {"/a": 0, "/b": 0}
    c = http.client.HTTPConnection(s.host, s.port, timeout=10)
    cookies = set()
    for _ in range(10000):
        c.request("GET", "/land")
        r = c.getresponse()
        r.read()
        counts[r.getheader("Location")] += 1
        cookies.add(r.getheader("Set-Cookie"))
        assert r.getheader("Cache-Control") == "private, no-store"
    c.close()
    share = counts["/a"] / 10000.0
    assert abs(share - 0.70) <= 0.02, counts
    assert cookies == {
        "detour-land=0; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly",
        "detour-land=1; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly"}
    # the cookie keeps a visitor in its variant, without a new Set-Cookie
    for v, loc in (("0", "/a"), ("1", "/b")):
        for _ in range(30):
            st, l, h, _ = fetch(s, "/land", headers={"Cookie": "detour-land=" + v})
            assert (st, l, h.get("Set-Cookie")) == (307, loc, None)
    # sticky=ip: one client address, one variant
    first = fetch(s, "/ip")[1]
    assert all(fetch(s, "/ip")[1] == first for _ in range(30))
