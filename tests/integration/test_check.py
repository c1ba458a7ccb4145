"""Integration tests of `detour check`: the real binary ($DETOUR_BIN) against
recording origins (origin.py) on loopback. Each test asserts the exact
sequence of methods, paths, bodies and headers detour sent."""
import calendar
import json
import os
import re
import stat
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from origin import Origin, make_ca  # noqa: E402

BIN = os.environ.get("DETOUR_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "asan", "detour")


def u8(s):
    """A str whose Latin-1 bytes are the UTF-8 of s (http.server sends
    header values as Latin-1)."""
    return s.encode().decode("latin-1")


def check(*args, ok=(0, 1, 2)):
    p = subprocess.run([BIN, "check", "--no-color", "-q"] + list(args), capture_output=True,
                       timeout=120)
    assert p.returncode in ok, (p.returncode, p.stdout, p.stderr)
    return p


def check_json(*args):
    p = check("--json", *args)
    lines = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
    return p.returncode, lines


def seq(o):
    return [(r.method, r.path, r.body) for r in o.requests]


@pytest.fixture(scope="module")
def pair():
    a, b = Origin(), Origin()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def ab(pair):
    a, b = pair
    a.reset()
    b.reset()
    return a, b


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("ca")
    ca, cert, key = make_ca(str(d))
    o = Origin(tls=(cert, key))
    yield o, ca
    o.stop()


# ---- method and body per status (Fetch step 12, RFC 9110 §15.4) ----------

FETCH = {
    # (status, method): method of the second request, body kept
    (301, "POST"): ("GET", False), (302, "POST"): ("GET", False),
    (303, "POST"): ("GET", False), (307, "POST"): ("POST", True),
    (308, "POST"): ("POST", True),
    (301, "PUT"): ("PUT", True), (302, "PUT"): ("PUT", True), (303, "PUT"): ("GET", False),
    (307, "PUT"): ("PUT", True), (308, "PUT"): ("PUT", True),
    (301, "GET"): ("GET", False), (303, "GET"): ("GET", False),
    (303, "HEAD"): ("HEAD", False), (301, "HEAD"): ("HEAD", False),
    (303, "DELETE"): ("GET", False), (307, "DELETE"): ("DELETE", False),
}


@pytest.mark.parametrize("status,method", sorted(FETCH))
def test_method_and_body_per_status(ab, status, method):
    a, _ = ab
    a.route("/s", status, [("Location", "/t")])
    a.route("/t", 200)
    args = ["-X", method]
    if method in ("POST", "PUT"):
        args += ["-d", "k=v&x=1", "-H", "Content-Type: application/x-test",
                 "-H", "Content-Language: fr"]
    rc, out = check_json(*args, a.url("/s"))
    want_m, keep = FETCH[(status, method)]
    body = b"k=v&x=1" if method in ("POST", "PUT") else b""
    assert seq(a) == [(method, "/s", body), (want_m, "/t", body if keep else b"")]
    second = a.requests[1]
    if method in ("POST", "PUT"):
        # request-body-header names go with the body
        assert second.header("Content-Type") == ("application/x-test" if keep else None)
        assert second.header("Content-Language") == ("fr" if keep else None)
        assert second.header("Content-Length") == ("7" if keep else None)
    assert second.header("Expect") is None
    assert rc == (1 if (status in (301, 302) and method == "POST") else 0)
    codes = [f["code"] for f in out[0]["findings"]]
    assert ("post-to-get" in codes) == (status in (301, 302) and method == "POST")
    assert out[0]["hops"][0]["body_sent"] == (method in ("POST", "PUT"))


CURL_CASES = [
    (301, ["-d", "x=1"]), (302, ["-d", "x=1"]), (303, ["-d", "x=1"]),
    (307, ["-d", "x=1"]), (308, ["-d", "x=1"]),
    (301, ["-X", "POST", "-d", "x=1"]), (302, ["-X", "POST", "-d", "x=1"]),
    (303, ["-X", "PUT", "-d", "x=1"]), (303, ["-X", "DELETE"]), (300, []), (304, []),
]


@pytest.mark.parametrize("status,args", CURL_CASES)
def test_as_curl_sends_what_curl_sends(ab, status, args):
    if not shutil.which("curl"):
        pytest.skip("curl not installed")
    a, _ = ab
    a.route("/s", status, [("Location", "/t?a b")])
    a.route("/t", 200)
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-L"] + args + [a.url("/s")], check=True)
    real = [(r.method, r.path, r.body, r.header("Content-Type")) for r in a.requests]
    a.requests.clear()
    check("--as", "curl", *args, a.url("/s"))
    mine = [(r.method, r.path, r.body, r.header("Content-Type")) for r in a.requests]
    assert mine == real
    assert mine[1][1] == "/t?a+b"
    assert a.requests[0].header("User-Agent").startswith("curl/")


def test_as_curl_keeps_post_string_through_301(ab):
    a, _ = ab
    a.route("/s", 301, [("Location", "/t")])
    a.route("/t", 200)
    rc, out = check_json("--as", "curl", "-X", "POST", "-d", "x=1", a.url("/s"))
    assert seq(a) == [("POST", "/s", b"x=1"), ("POST", "/t", b"")]
    assert out[0]["as"] == "curl"
    codes = [f["code"] for f in out[0]["findings"]]
    assert "browser-differs" in codes


def test_browser_notes_what_curl_does(ab):
    a, _ = ab
    a.route("/s", 300, [("Location", "/t")])
    rc, out = check_json(a.url("/s"))
    assert seq(a) == [("GET", "/s", b"")]
    f = {x["code"]: x for x in out[0]["findings"]}
    assert f["3xx-not-followed"]["hop"] == 1
    assert "curl -L follows this 300" in f["curl-differs"]["message"]
    assert f["final-status"]["severity"] == "error"
    assert rc == 1


# ---- headers across origins ----------------------------------------------

def test_authorization_dropped_on_origin_change(ab):
    a, b = ab
    a.route("/1", 302, [("Location", "/2")])
    a.route("/2", 307, [("Location", b.url("/3"))])
    b.route("/3", 302, [("Location", a.url("/4"))])
    a.route("/4", 200)
    check("-H", "Authorization: Bearer secret", "-H", "X-Custom: 1", a.url("/1"))
    auth = [r.header("Authorization") for r in a.requests + b.requests]
    order = [r.path for r in a.requests + b.requests]
    got = dict(zip(order, auth))
    assert got == {"/1": "Bearer secret", "/2": "Bearer secret", "/3": None, "/4": None}
    assert all(r.header("X-Custom") == "1" for r in a.requests + b.requests)


def test_authorization_as_curl_returns_to_first_origin(ab):
    a, b = ab
    a.route("/1", 302, [("Location", b.url("/2"))])
    b.route("/2", 302, [("Location", a.url("/3"))])
    a.route("/3", 200)
    check("--as", "curl", "-H", "Authorization: Bearer s", a.url("/1"))
    assert [r.header("Authorization") for r in a.requests] == ["Bearer s", "Bearer s"]
    assert [r.header("Authorization") for r in b.requests] == [None]


def test_origin_and_referer_on_cross_origin_post(ab):
    a, b = ab
    a.route("/form", 307, [("Location", b.url("/api"))])
    b.route("/api", 303, [("Location", "/done")])
    b.route("/done", 200)
    rc, out = check_json("-d", "q=1", a.url("/form"))
    assert seq(a) + seq(b) == [("POST", "/form", b"q=1"), ("POST", "/api", b"q=1"),
                               ("GET", "/done", b"")]
    first, second, third = a.requests[0], b.requests[0], b.requests[1]
    assert first.header("Origin") == a.base
    assert first.header("Referer") == a.url("/form")
    assert second.header("Origin") == "null"  # Chromium: cross-origin redirect
    assert second.header("Referer") == a.base + "/"  # strict-origin-when-cross-origin
    assert third.header("Origin") is None  # GET carries none
    assert third.header("Referer") == a.base + "/"
    assert [r.header("Sec-Fetch-Site") for r in (first, second, third)] == \
        ["same-origin", "same-site", "same-site"]
    assert "Origin becomes null" in out[0]["hops"][0]["note"]


def test_typed_navigation_sends_no_referer(ab):
    a, b = ab
    a.route("/1", 301, [("Location", b.url("/2"))])
    b.route("/2", 200)
    check(a.url("/1"))
    for r in a.requests + b.requests:
        assert r.header("Referer") is None
        assert r.header("Origin") is None
        assert r.header("Sec-Fetch-Site") == "none"
        assert r.header("Sec-Fetch-User") == "?1"
        assert r.header("Upgrade-Insecure-Requests") == "1"


def test_referrer_policy_on_redirect(ab):
    a, b = ab
    a.route("/1", 302, [("Location", "/2"), ("Referrer-Policy", "no-referrer")])
    a.route("/2", 200)
    check("--referer", a.url("/page?x=1#f"), a.url("/1"))
    assert [r.header("Referer") for r in a.requests] == [a.url("/page?x=1"), None]


def test_cookies_only_to_their_host(ab):
    a, b = ab
    ra = "a.test:%d:127.0.0.1" % a.port
    rb = "b.test:%d:127.0.0.1" % b.port
    a.route("/1", 302, [("Location", "http://b.test:%d/2" % b.port),
                        ("Set-Cookie", "sid=abc; Path=/"),
                        ("Set-Cookie", "deep=1; Path=/x"),
                        ("Set-Cookie", "dom=1; Domain=a.test")])
    b.route("/2", 302, [("Location", "http://a.test:%d/x/3" % a.port),
                        ("Set-Cookie", "bsid=b")])
    a.route("/x/3", 200)
    rc, out = check_json("--resolve", ra, "--resolve", rb, "-H", "Cookie: pre=1",
                         "http://a.test:%d/1" % a.port)
    assert [r.header("Cookie") for r in a.requests] == ["pre=1", "deep=1; pre=1; sid=abc; dom=1"]
    assert [r.header("Cookie") for r in b.requests] == [None]
    assert out[0]["hops"][0]["set_cookie"] == ["sid", "deep", "dom"]


def test_curl_keeps_no_cookie_jar(ab):
    a, _ = ab
    a.route("/1", 302, [("Location", "/2"), ("Set-Cookie", "sid=1")])
    a.route("/2", 200)
    check("--as", "curl", a.url("/1"))
    assert [r.header("Cookie") for r in a.requests] == [None, None]


# ---- Location handling ----------------------------------------------------

LOCATIONS = [
    ("/p/q", "/r", "/r"),
    ("/p/q", "r", "/p/r"),
    ("/p/q", "../r", "/r"),
    ("/p/q", "./r/../s", "/p/s"),
    ("/p/q", "?x=1", "/p/q?x=1"),
    ("/p/q", "a b", "/p/a%20b"),
    ("/p/q", u8("/é?é"), "/%C3%A9?%C3%A9"),
    ("/p/q", "/x?a b'", "/x?a%20b%27"),
    ("/p/q", "  /t\t", "/t"),
    ("/p/q", "\\\\127.0.0.1:PORT\\z", "/z"),
    ("/p/q", "//127.0.0.1:PORT/s", "/s"),
    ("/p/q", "http:t", "/p/t"),
    ("/p/q", "/a%zz{|}", "/a%zz%7B|%7D"),
]


@pytest.mark.parametrize("start,loc,want", LOCATIONS)
def test_relative_locations(ab, start, loc, want):
    a, _ = ab
    loc = loc.replace("PORT", str(a.port))
    a.route(start, 302, [("Location", loc)])
    check(a.url(start))
    assert [r.path for r in a.requests][:2] == [start, want]


def test_fragment_inherited(ab):
    a, _ = ab
    a.route("/1", 301, [("Location", "/2")])
    a.route("/2", 302, [("Location", "/3#own")])
    a.route("/3", 200)
    rc, out = check_json(a.url("/1#top"))
    urls = [h["url"] for h in out[0]["hops"]]
    assert urls == [a.url("/1#top"), a.url("/2#top"), a.url("/3#own")]
    assert [r.path for r in a.requests] == ["/1", "/2", "/3"]
    rc, out = check_json("--as", "curl", a.url("/1#top"))
    assert [h["url"] for h in out[0]["hops"]] == [a.url("/1#top"), a.url("/2"), a.url("/3#own")]


def test_userinfo_location_followed_without_credentials(ab):
    a, _ = ab
    a.route("/1", 302, [("Location", "http://user:pw@127.0.0.1:%d/2" % a.port)])
    a.route("/2", 200)
    rc, out = check_json(a.url("/1"))
    assert [r.path for r in a.requests] == ["/1", "/2"]
    assert a.requests[1].header("Authorization") is None
    assert "location-userinfo" in [f["code"] for f in out[0]["findings"]]


@pytest.mark.parametrize("headers,code,requests", [
    ([], "location-missing", 1),
    ([("Location", "")], "location-empty", 1),
    ([("Location", "/t"), ("Location", "/u")], "location-multiple", 1),
    ([("Location", "mailto:x@example.com")], "location-scheme", 1),
    ([("Location", "http://bad host/")], "location-invalid", 1),
    ([("Location", "/t"), ("Location", "/t")], None, 2),
])
def test_location_edge_cases(ab, headers, code, requests):
    a, _ = ab
    a.route("/s", 302, headers)
    a.route("/t", 200)
    rc, out = check_json(a.url("/s"))
    assert len(a.requests) == requests
    codes = [f["code"] for f in out[0]["findings"]]
    if code:
        assert code in codes
        assert rc == 1
    else:
        assert rc == 0


def test_loop(ab):
    a, _ = ab
    a.route("/loop", 302, [("Location", "/loop")])
    rc, out = check_json(a.url("/loop"))
    assert rc == 1
    assert len(a.requests) == 21  # 20 redirects followed, the 21st refused
    f = out[0]["findings"]
    assert [x["code"] for x in f if x["severity"] == "error"] == ["loop"]
    assert out[0]["final_status"] is None


def chain25(a):
    for i in range(25):
        a.route("/h/%d" % i, 302, [("Location", "/h/%d" % (i + 1))])
    a.route("/h/25", 200)


def test_25_hops(ab):
    a, _ = ab
    chain25(a)
    rc, out = check_json(a.url("/h/0"))
    assert rc == 1
    assert [r.path for r in a.requests] == ["/h/%d" % i for i in range(21)]
    assert "too-many-redirects" in [f["code"] for f in out[0]["findings"]]
    a.requests.clear()
    rc, out = check_json("--max-hops", "30", a.url("/h/0"))
    assert rc == 0
    assert len(a.requests) == 26 and out[0]["redirects"] == 25
    assert "chain" in [f["code"] for f in out[0]["findings"]]
    a.requests.clear()
    rc, out = check_json("--as", "curl", a.url("/h/0"))
    assert rc == 0 and len(a.requests) == 26


def test_curl_stops_after_50(ab):
    a, _ = ab
    a.route("/loop", 301, [("Location", "/loop")])
    rc, out = check_json("--as", "curl", a.url("/loop"))
    assert len(a.requests) == 51 and rc == 1


# ---- refresh ----------------------------------------------------------------

def test_meta_refresh(ab):
    a, _ = ab
    a.route("/page", 200, [("Content-Type", "text/html; charset=utf-8")],
            "<!-- <meta http-equiv=refresh content='0;url=/no'> -->"
            "<script>x='<meta http-equiv=refresh content=\"0;url=/no\">'</script>"
            "<META HTTP-EQUIV='Refresh' CONTENT='5; URL=\"next?a=1&amp;b=2\"'>")
    a.route("/next", 200, [("Refresh", "3;url=/last")])
    a.route("/last", 200)
    rc, out = check_json(a.url("/page"))
    assert [r.path for r in a.requests] == ["/page"]
    a.requests.clear()
    rc, out = check_json("--follow-refresh", a.url("/page"))
    assert [r.path for r in a.requests] == ["/page", "/next?a=1&b=2", "/last"]
    assert a.requests[1].header("Referer") == a.url("/page")
    assert a.requests[1].header("Sec-Fetch-User") is None
    hops = out[0]["hops"]
    assert hops[0]["refresh"] == {"delay": 5, "url": "next?a=1&b=2", "source": "meta"}
    assert hops[1]["refresh"] == {"delay": 3, "url": "/last", "source": "header"}
    assert [h["via"] for h in hops] == ["refresh", "refresh", None]
    assert out[0]["redirects"] == 0 and rc == 0


def test_refresh_to_self(ab):
    a, _ = ab
    a.route("/self", 200, [("Refresh", "10")])
    rc, out = check_json("--follow-refresh", a.url("/self"))
    assert len(a.requests) == 1
    assert "refresh-self" in [f["code"] for f in out[0]["findings"]]


# ---- HSTS --------------------------------------------------------------------

def test_hsts_upgrade_with_store_file(tls, pair, tmp_path):
    o, ca = tls
    o.reset()
    store = tmp_path / "hsts.txt"
    res = "sts.test:%d:127.0.0.1" % o.port
    o.route("/set", 200, [("Strict-Transport-Security", "max-age=3600; includeSubDomains")])
    o.route("/page", 200)
    rc, out = check_json("--cacert", ca, "--resolve", res, "--hsts", str(store),
                         "https://sts.test:%d/set" % o.port)
    assert rc == 0, out
    text = store.read_text()
    assert '\n.sts.test "' in text
    # written through a mkstemp file in the same directory, renamed: nothing
    # else is left there, and the store is private (0600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hsts.txt"]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert out[0]["hops"][0]["sts_note"] == "host noted as HSTS"
    # a later run upgrades http:// before sending, as a 307 Internal Redirect
    o.requests.clear()
    rc, out = check_json("--cacert", ca, "--resolve", res, "--hsts", str(store),
                         "-H", "Authorization: x", "-d", "k=v",
                         "http://sts.test:%d/page" % o.port)
    hops = out[0]["hops"]
    assert [(h["status"], h["reason"], h["internal"]) for h in hops] == \
        [(307, "Internal Redirect", True), (200, "OK", False)]
    assert hops[1]["url"] == "https://sts.test:%d/page" % o.port
    assert seq(o) == [("POST", "/page", b"k=v")]  # method and body kept
    assert o.requests[0].header("Authorization") is None  # origin changed
    # includeSubDomains covers www.sts.test; CURL_CA_BUNDLE works like --cacert
    o.requests.clear()
    env = dict(os.environ, CURL_CA_BUNDLE=ca)
    p = subprocess.run([BIN, "check", "--json", "--resolve", "www.sts.test:%d:127.0.0.1" % o.port,
                        "--hsts", str(store), "http://www.sts.test:%d/page" % o.port],
                       capture_output=True, env=env)
    assert p.returncode == 0, p.stdout
    assert len(o.requests) == 1
    # max-age=0 forgets the host
    o.route("/forget", 200, [("Strict-Transport-Security", "max-age=0")])
    check("--cacert", ca, "--resolve", res, "--hsts", str(store),
          "https://sts.test:%d/forget" % o.port)
    assert "sts.test" not in store.read_text().replace("# ", "").split("\n", 2)[2]


def test_hsts_store_write_error(tls, tmp_path):
    o, ca = tls
    o.reset()
    o.route("/set", 200, [("Strict-Transport-Security", "max-age=3600")])
    store = tmp_path / "missing-dir" / "hsts.txt"
    p = subprocess.run([BIN, "check", "--cacert", ca, "--resolve",
                        "sts.test:%d:127.0.0.1" % o.port, "--hsts", str(store),
                        "https://sts.test:%d/set" % o.port], capture_output=True)
    assert p.returncode == 2
    assert p.stderr.decode().endswith(
        "detour check: cannot write %s: No such file or directory\n" % store)


def test_hsts_ignored_over_http_and_ip(tls, ab, tmp_path):
    o, ca = tls
    a, _ = ab
    store = tmp_path / "h.txt"
    a.route("/p", 200, [("Strict-Transport-Security", "max-age=100")])
    rc, out = check_json("--hsts", str(store), a.url("/p"))
    assert "hsts-over-http" in [f["code"] for f in out[0]["findings"]]
    o.reset()
    o.route("/ip", 200, [("Strict-Transport-Security", "max-age=100")])
    rc, out = check_json("--cacert", ca, "--hsts", str(store), o.url("/ip"))
    assert rc == 0
    assert out[0]["hops"][0]["sts_note"] == "ignored: IP address host"
    assert [ln for ln in store.read_text().splitlines() if not ln.startswith("#")] == []


def test_https_downgrade(tls, ab):
    o, ca = tls
    a, _ = ab
    o.reset()
    o.route("/s", 301, [("Location", a.url("/plain")), ("Cache-Control", "max-age=60")])
    a.route("/plain", 200)
    rc, out = check_json("--cacert", ca, o.url("/s"))
    assert rc == 1
    assert "https-downgrade" in [f["code"] for f in out[0]["findings"]]
    assert out[0]["hops"][0]["cache"] == "cached for 1m (max-age)"


# ---- caching ----------------------------------------------------------------

def test_cache_findings(ab):
    a, _ = ab
    a.route("/t", 307, [("Location", "/p"), ("Cache-Control", "max-age=3600")])
    a.route("/p", 308, [("Location", "/end")])
    a.route("/end", 200)
    rc, out = check_json(a.url("/t"))
    f = {x["code"]: x["hop"] for x in out[0]["findings"]}
    assert f["temporary-cacheable"] == 1
    assert f["permanent-no-lifetime"] == 2
    assert f["mixed-permanence"] is None
    assert out[0]["hops"][0]["cache"] == "cached for 1h (max-age)"


# ---- output, input, exit status ----------------------------------------------

def test_json_shape(ab):
    a, _ = ab
    a.route("/s", 301, [("Location", "/t"), ("Vary", "Accept"), ("Set-Cookie", "a=1"),
                        ("Cache-Control", "max-age=60")])
    a.route("/t", 200)
    rc, out = check_json(a.url("/s"))
    assert rc == 0 and len(out) == 1
    o = out[0]
    assert set(o) == {"url", "as", "hops", "final_status", "final_url", "redirects",
                      "requests", "findings", "ok"}
    h = o["hops"][0]
    assert set(h) == {"n", "method", "url", "status", "reason", "protocol", "internal", "body_sent",
                      "location", "next", "via", "note", "cache", "sts", "sts_note",
                      "set_cookie", "vary", "refresh", "time_ms", "request_headers", "error",
                      "tls"}
    assert h["protocol"] == "HTTP/1.1"
    assert (h["status"], h["reason"], h["location"], h["next"], h["vary"]) == \
        (301, "Moved Permanently", "/t", a.url("/t"), "Accept")
    assert "User-Agent: " + "Mozilla/5.0" in " ".join(h["request_headers"])
    assert (o["final_status"], o["final_url"], o["redirects"], o["requests"], o["ok"]) == \
        (200, a.url("/t"), 1, 2, True)


def test_table_output(ab):
    a, _ = ab
    a.route("/s", 302, [("Location", "/t")])
    a.route("/t", 404)
    p = check(a.url("/s"))
    text = p.stdout.decode()
    assert p.returncode == 1
    assert "302 Found" in text and "404 Not Found" in text
    assert "Location: /t  ->  " + a.url("/t") in text
    assert "redirect-to-error" in text
    assert "\033[" not in text


def test_exit_codes(ab):
    a, _ = ab
    a.route("/ok", 200)
    assert check(a.url("/ok")).returncode == 0
    assert check("--bogus").returncode == 2
    assert check().returncode == 2
    assert check("not a url").returncode == 2
    s = Origin()
    port = s.port
    s.stop()
    rc, out = check_json("--timeout", "5", "http://127.0.0.1:%d/" % port)
    assert rc == 2 and out[0]["findings"][0]["code"] == "network-error"


def test_input_file_and_expect(ab, tmp_path):
    a, _ = ab
    a.route("/1", 301, [("Location", "/new1"), ("Cache-Control", "max-age=60")])
    a.route("/2", 302, [("Location", "/new2")])
    a.route("/gone", 410)
    a.route("/new1", 200)
    a.route("/new2", 200)
    f = tmp_path / "urls.csv"
    f.write_text("url,status,location\n# comment\n%s,301,/new1\n\"%s\",301,/new2\n%s,410\n"
                 % (a.url("/1"), a.url("/2"), a.url("/gone")))
    rc, out = check_json("--input", str(f), "--parallel", "2")
    assert [o["url"] for o in out] == [a.url("/1"), a.url("/2"), a.url("/gone")]
    assert [[x["code"] for x in o["findings"] if x["severity"] == "error"] for o in out] == \
        [[], ["expect-status"], []]
    assert rc == 1
    g = tmp_path / "urls.txt"
    g.write_text("%s\n\n%s\n" % (a.url("/1"), a.url("/new2")))
    rc, out = check_json("-i", str(g), "--expect", "301," + a.url("/new1"))
    assert [o["ok"] for o in out] == [True, False]


def test_many_urls_in_parallel(ab, tmp_path):
    a, _ = ab
    for i in range(200):
        a.route("/m/%d" % i, 301, [("Location", "/d/%d" % i), ("Cache-Control", "max-age=9")])
        a.route("/d/%d" % i, 200)
    f = tmp_path / "many.txt"
    f.write_text("".join(a.url("/m/%d\n" % i) for i in range(200)))
    rc, out = check_json("-i", str(f), "-P", "32")
    assert rc == 0
    assert [o["final_url"] for o in out] == [a.url("/d/%d" % i) for i in range(200)]
    assert len(a.requests) == 400


def test_against_rules(ab, tmp_path):
    a, _ = ab
    rules = tmp_path / "r.rules"
    rules.write_text("/old /new 301\n/blog/* https://blog.example.com/:splat 308\n"
                     "/wrong /right 301\n/gone - 410\n"
                     "http://shop.example.com/x /y 302\n"
                     "/docs/:version/:page /documentation/:page?v=:version\n")
    a.route("/old", 301, [("Location", "/new")])
    a.route("/blog/example", 308, [("Location", "https://blog.example.com/example")])
    a.route("/wrong", 302, [("Location", "/elsewhere")])
    a.route("/gone", 410)
    a.route("/x", 302, [("Location", "/y")])
    a.route("/docs/version/page", 307, [("Location", "/documentation/page?v=version")])
    rc, out = check_json("--against", a.base, str(rules))
    assert rc == 1
    bad = {o["rule"]: [f["message"] for f in o["findings"] if f["severity"] == "error"]
           for o in out}
    name = str(rules)
    assert bad == {
        name + ":1": [], name + ":2": [],
        name + ":3": ["expected 301, got 302",
                      "expected Location %s, got %s" % (a.url("/right"), a.url("/elsewhere"))],
        name + ":4": [], name + ":5": [], name + ":6": [],
    }
    # one request per rule, none followed; the rule's host goes in Host
    assert sorted(r.path for r in a.requests) == sorted(
        ["/old", "/blog/example", "/wrong", "/gone", "/x", "/docs/version/page"])
    assert [r.header("Host") for r in a.requests if r.path == "/x"] == \
        ["shop.example.com:%d" % a.port]


# ---- input that makes no request (issue 11: these crashed in check_conclude) --

BAD_INPUT = "  = not requested\n" \
    "  error   input-invalid: %s\n" \
    "          the URL to check is not an absolute http or https URL: no request was made\n\n"


@pytest.mark.parametrize("url,why", [
    ("not a url", "not an absolute URL"),
    ("ftp://x/", "not an http or https URL"),
])
def test_expect_with_unusable_url(url, why):
    # no hop was made, so there is nothing to hold --expect against: the
    # input error alone, exit 2 (an unusable input URL)
    p = check("--expect", "301", url)
    assert p.returncode == 2
    assert p.stdout.decode() == "%s  [as browser]\n" % url + BAD_INPUT % (
        "%s: %s" % (url, why))
    assert p.stderr == b""


def test_csv_row_with_status_and_unusable_url(ab, tmp_path):
    a, _ = ab
    a.route("/1", 301, [("Location", "/new1"), ("Cache-Control", "max-age=60")])
    a.route("/new1", 200)
    f = tmp_path / "urls.csv"
    f.write_text("url,status,location\nnot a url,301,/new1\n%s,301,/new1\n" % a.url("/1"))
    rc, out = check_json("-i", str(f))
    assert rc == 2
    assert [(o["url"], o["requests"], o["ok"]) for o in out] == \
        [("not a url", 0, False), (a.url("/1"), 2, True)]
    assert [(x["code"], x["hop"], x["message"]) for x in out[0]["findings"]] == \
        [("input-invalid", None, "not a url: not an absolute URL")]
    assert seq(a) == [("GET", "/1", b""), ("GET", "/new1", b"")]


def test_against_skips_regex_rules(ab, tmp_path):
    a, _ = ab
    rules = tmp_path / "r.rules"
    rules.write_text("~^/p/([0-9]+)$ /products/$1 302\n/old /new 301\n")
    a.route("/old", 301, [("Location", "/new")])
    p = check("--json", "--against", a.base, str(rules))
    assert p.returncode == 0
    assert p.stderr.decode() == (
        "detour check: rule %s:1 has a regex source (~^/p/([0-9]+)$): skipped, "
        "no request can be built from a regex\n" % rules)
    out = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [(o["rule"], o["ok"]) for o in out] == [(str(rules) + ":2", True)]
    assert seq(a) == [("GET", "/old", b"")]
    # a file of regex rules only: nothing to request, nothing fails
    only = tmp_path / "only.rules"
    only.write_text("~\\.php$ - 410\n")
    p = check("--against", a.base, str(only))
    assert (p.returncode, p.stdout.decode()) == (
        0, "against %s: 0 rules checked, 0 as the rules predict, 0 mismatched; 1 skipped\n"
        % a.base)
    assert p.stderr.decode() == (
        "detour check: rule %s:1 has a regex source (~\\.php$): skipped, "
        "no request can be built from a regex\n" % only)


# ---- certificates of https hops (--cacert, --resolve, findings) --------------

def _stamp(t):
    """openssl ca's -startdate/-enddate (GeneralizedTime, UTC)."""
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


def _rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _sign(d, ca, ca_key, name, sans, start, end):
    """A P-256 key and a certificate for name signed by the test CA with
    openssl ca, valid from start to end (Unix seconds, whole). Returns
    (cert, key)."""
    key = os.path.join(d, name + ".key")
    csr = os.path.join(d, name + ".csr")
    cert = os.path.join(d, name + ".pem")
    cnf = os.path.join(d, name + ".cnf")
    db = os.path.join(d, "index.txt")
    if not os.path.exists(db):
        open(db, "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca = test\n[test]\ndatabase = %s\nnew_certs_dir = %s\n"
                "serial = %s\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                "x509_extensions = ext\n[any]\ncommonName = supplied\n"
                "[ext]\nsubjectAltName = %s\nextendedKeyUsage = serverAuth\n"
                "basicConstraints = CA:FALSE\n" % (db, d, os.path.join(d, "serial"), sans))
    run = lambda *a: subprocess.run(["openssl"] + list(a), check=True, capture_output=True)  # noqa: E731
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    run("ca", "-batch", "-notext", "-config", cnf, "-cert", ca, "-keyfile", ca_key,
        "-in", csr, "-out", cert, "-startdate", _stamp(start), "-enddate", _stamp(end))
    return cert, key


@pytest.fixture(scope="module")
def certs(tls, tmp_path_factory):
    """Origins with certificates from the tls fixture's test CA (valid for
    60 days, expiring in 5 days, expired 12 hours ago) and a self-signed one.
    Yields ({name: (origin, not_after)}, ca)."""
    _, ca = tls
    ca_key = os.path.join(os.path.dirname(ca), "ca.key")
    d = str(tmp_path_factory.mktemp("certs"))
    now = int(time.time())
    plan = {
        # an hour short of 60 days: 59 days left whatever second the check runs in
        "valid.tls.test": (now - 86400, now + 60 * 86400 - 3600),
        "soon.tls.test": (now - 86400, now + 5 * 86400 + 3600),
        "expired.tls.test": (now - 10 * 86400, now - 43200),
    }
    origins = {}
    for name, (start, end) in plan.items():
        cert, key = _sign(d, ca, ca_key, name, "DNS:" + name, start, end)
        origins[name] = (Origin(tls=(cert, key)), end)
    # self-signed: its own issuer, no CA the checker trusts
    key = os.path.join(d, "self.key")
    cert = os.path.join(d, "self.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "30", "-subj", "/CN=self.tls.test",
                    "-addext", "subjectAltName=DNS:self.tls.test"],
                   check=True, capture_output=True)
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert],
                         check=True, capture_output=True).stdout.decode()
    end = calendar.timegm(time.strptime(end.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))
    origins["self.tls.test"] = (Origin(tls=(cert, key)), end)
    yield origins, ca
    for o, _ in origins.values():
        o.stop()


def _at(certs, name, path="/", host=None):
    """The --resolve option and the URL for name's origin (host: another
    name pointed at it)."""
    o, _ = certs[0][name]
    host = host or name
    return ["--resolve", "%s:%d:127.0.0.1" % (host, o.port)], \
        "https://%s:%d%s" % (host, o.port, path)


def test_cert_valid_shown_exactly(certs):
    origins, ca = certs
    o, end = origins["valid.tls.test"]
    o.reset()
    o.route("/", 200)
    res, url = _at(certs, "valid.tls.test")
    # the clock: --at, else DETOUR_NOW, else now (an hour short of 60 days)
    rc, out = check_json("--cacert", ca, *res, url)
    assert rc == 0
    assert out[0]["hops"][0]["tls"] == {
        "subject": "CN = valid.tls.test", "issuer": "CN = detour test CA",
        "alt_names": "DNS:valid.tls.test", "not_after": _rfc3339(end), "days_left": 59,
        "verified": True}
    assert out[0]["findings"] == []
    rc, out = check_json("--cacert", ca, *res, "--at", _rfc3339(end - 30 * 86400), url)
    assert out[0]["hops"][0]["tls"]["days_left"] == 30
    env = dict(os.environ, DETOUR_NOW=_rfc3339(end - 20 * 86400 - 1))
    p = subprocess.run([BIN, "check", "--json", "--cacert", ca] + res + [url],
                       capture_output=True, env=env)
    assert json.loads(p.stdout)["hops"][0]["tls"]["days_left"] == 20
    # the table
    p = check("--cacert", ca, *res, "--at", _rfc3339(end - 30 * 86400), url)
    assert p.returncode == 0
    lines = p.stdout.decode().splitlines()
    assert lines[2] == "        certificate: CN = valid.tls.test; issuer CN = detour test CA; " \
        "expires %s (30 days left)" % _rfc3339(end)
    # a clock near the end: the 14-day rule, judged at --at
    rc, out = check_json("--cacert", ca, *res, "--at", _rfc3339(end - 13 * 86400), url)
    assert rc == 0
    assert out[0]["findings"] == [{
        "code": "cert-expiring", "severity": "warning", "hop": 1,
        "message": "CN = valid.tls.test expires in 13 days (%s)" % _rfc3339(end),
        "help": "the certificate expires within 14 days: renew it (or check that "
                "automatic renewal works)"}]
    rc, out = check_json("--cacert", ca, *res, "--at", _rfc3339(end - 14 * 86400), url)
    assert out[0]["findings"] == []
    rc, out = check_json("--cacert", ca, *res, "--at", _rfc3339(end + 1), url)
    assert out[0]["hops"][0]["tls"]["days_left"] == -1
    assert [f["message"] for f in out[0]["findings"]] == \
        ["CN = valid.tls.test has expired (%s)" % _rfc3339(end)]
    p = check("--at", "yesterday", url)
    assert p.returncode == 2
    assert p.stderr.decode() == "detour check: --at 'yesterday' is not an RFC 3339 time\n"


def test_cert_expiring_in_5_days(certs):
    origins, ca = certs
    o, end = origins["soon.tls.test"]
    o.reset()
    o.route("/a", 301, [("Location", "/b"), ("Cache-Control", "max-age=60")])
    o.route("/b", 200)
    res, url = _at(certs, "soon.tls.test", "/a")
    rc, out = check_json("--cacert", ca, *res, url)
    assert rc == 0  # a warning
    hops = out[0]["hops"]
    want = {"subject": "CN = soon.tls.test", "issuer": "CN = detour test CA",
            "alt_names": "DNS:soon.tls.test", "not_after": _rfc3339(end), "days_left": 5,
            "verified": True}
    # the second hop reuses the connection: the certificate seen on it
    assert [h["tls"] for h in hops] == [want, want]
    assert [(f["code"], f["severity"], f["hop"], f["message"]) for f in out[0]["findings"]] == \
        [("cert-expiring", "warning", 1,
          "CN = soon.tls.test expires in 5 days (%s)" % _rfc3339(end)),
         ("location-relative", "info", 1, "Location: /b")]


def test_cert_wrong_name(certs):
    origins, ca = certs
    o, end = origins["valid.tls.test"]
    o.reset()
    o.route("/", 200)
    res, url = _at(certs, "valid.tls.test", host="wrong.tls.test")
    rc, out = check_json("--cacert", ca, *res, url)
    assert rc == 1
    assert o.requests == []  # the handshake fails, nothing is sent
    h = out[0]["hops"][0]
    reason = "SSL: no alternative certificate subject name matches target host name " \
        "'wrong.tls.test'"
    assert (h["status"], h["error"]) == (None, reason)
    assert h["tls"] == {"subject": "CN = valid.tls.test", "issuer": "CN = detour test CA",
                        "alt_names": "DNS:valid.tls.test", "not_after": _rfc3339(end),
                        "days_left": 59, "verified": False}
    assert out[0]["findings"] == [{
        "code": "cert-name-mismatch", "severity": "error", "hop": 1,
        "message": reason + " (the certificate is for DNS:valid.tls.test)",
        "help": "the certificate does not name the host (RFC 6125): browsers refuse the "
                "connection; add the host to its subjectAltName"}]
    assert (out[0]["final_status"], out[0]["ok"]) == (None, False)


UNVERIFIED_HELP = ("the certificate does not verify (self-signed, unknown CA, expired, "
                   "incomplete chain): browsers refuse the connection")


def test_cert_expired(certs):
    origins, ca = certs
    o, end = origins["expired.tls.test"]
    o.reset()
    res, url = _at(certs, "expired.tls.test")
    rc, out = check_json("--cacert", ca, *res, url)
    assert rc == 1
    h = out[0]["hops"][0]
    assert h["error"] == "SSL certificate problem: certificate has expired"
    assert h["tls"] == {"subject": "CN = expired.tls.test", "issuer": "CN = detour test CA",
                        "alt_names": "DNS:expired.tls.test", "not_after": _rfc3339(end),
                        "days_left": -1, "verified": False}
    assert out[0]["findings"] == [{
        "code": "cert-unverified", "severity": "error", "hop": 1,
        "message": "SSL certificate problem: certificate has expired", "help": UNVERIFIED_HELP}]
    p = check("--cacert", ca, *res, url)
    lines = [re.sub(r"  [0-9]+ ms$", "  N ms", ln) for ln in p.stdout.decode().splitlines()]
    assert lines[1:] == [
        "   1  GET     no response                %s  N ms" % url,
        "        error: SSL certificate problem: certificate has expired",
        "        certificate: CN = expired.tls.test; issuer CN = detour test CA; expired %s; "
        "not verified" % _rfc3339(end),
        "  = failed (1 request)",
        "  error   cert-unverified (hop 1): SSL certificate problem: certificate has expired",
        "          " + UNVERIFIED_HELP,
        ""]


def test_cert_self_signed_not_followed(certs):
    origins, ca = certs
    o, end = origins["self.tls.test"]
    o.reset()
    o.route("/", 301, [("Location", "https://elsewhere.test/")])
    res, url = _at(certs, "self.tls.test")
    rc, out = check_json("--cacert", ca, *res, url)
    assert rc == 1
    assert o.requests == []  # an unverified server gets no request: no redirect to follow
    assert out[0]["requests"] == 1 and out[0]["redirects"] == 0
    h = out[0]["hops"][0]
    assert h["error"] == "SSL certificate problem: self-signed certificate"
    assert h["tls"]["subject"] == h["tls"]["issuer"] == "CN = self.tls.test"
    assert (h["tls"]["not_after"], h["tls"]["verified"]) == (_rfc3339(end), False)
    assert [(f["code"], f["message"]) for f in out[0]["findings"]] == \
        [("cert-unverified", "SSL certificate problem: self-signed certificate")]


def test_cacert_and_resolve(certs, tmp_path):
    origins, ca = certs
    o, _ = origins["valid.tls.test"]
    o.reset()
    o.route("/", 200)
    res, url = _at(certs, "valid.tls.test")
    # without the test CA the chain does not verify (env cleared of curl's bundles)
    env = {k: v for k, v in os.environ.items() if k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE")}
    p = subprocess.run([BIN, "check", "--json"] + res + [url], capture_output=True, env=env)
    out = json.loads(p.stdout)
    assert p.returncode == 1
    assert [(f["code"], f["message"]) for f in out["findings"]] == \
        [("cert-unverified", "SSL certificate problem: unable to get local issuer certificate")]
    assert o.requests == []
    # SSL_CERT_FILE as curl reads it; --cacert wins over it
    p = subprocess.run([BIN, "check", "--json"] + res + [url], capture_output=True,
                       env=dict(env, SSL_CERT_FILE=ca))
    assert p.returncode == 0 and json.loads(p.stdout)["hops"][0]["tls"]["verified"] is True
    p = subprocess.run([BIN, "check", "--json", "--cacert", ca] + res + [url],
                       capture_output=True, env=dict(env, SSL_CERT_FILE="/nonexistent"))
    assert p.returncode == 0
    # --resolve is the only way the name reaches the origin (.test does not resolve)
    assert [r.header("Host") for r in o.requests] == ["valid.tls.test:%d" % o.port] * 2
    # usage errors
    p = check("--cacert", str(tmp_path / "none.pem"), url)
    assert p.returncode == 2
    assert p.stderr.decode() == \
        "detour check: --cacert %s: No such file or directory\n" % (tmp_path / "none.pem")
    for bad in ("valid.tls.test", "valid.tls.test:443", "valid.tls.test:x:127.0.0.1",
                "valid.tls.test:0:127.0.0.1", ":443:127.0.0.1", "h:443:"):
        p = check("--resolve", bad, url)
        assert p.returncode == 2
        assert p.stderr.decode() == \
            "detour check: bad --resolve '%s' (want HOST:PORT:ADDR)\n" % bad
