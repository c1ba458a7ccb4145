"""Exact table output of `detour check` (the real binary, $DETOUR_BIN)
against recording origins (origin.py): what a person sees. Times are the
only variable part; `table()` replaces them with "N ms"."""
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from origin import Origin  # noqa: E402
from test_check import BIN, u8  # noqa: E402


def run(*args):
    p = subprocess.run([BIN, "check", "--no-color", "-q"] + list(args), capture_output=True,
                       timeout=120)
    return p


def table(p, port=None):
    """stdout as text (bytes as Latin-1), times as "N ms", the origin's port
    as PORT."""
    out = p.stdout.decode("latin-1")
    out = re.sub(r"  \d+ ms\n", "  N ms\n", out)
    if port:
        out = out.replace(":%d" % port, ":PORT")
    return out


@pytest.fixture
def origin():
    o = Origin()
    yield o
    o.stop()


# ---- terminal injection (issue 11) ---------------------------------------

OSC52 = "\x1b]52;c;ZXZpbA==\x07"  # OSC 52: write "evil" to the clipboard


def hostile(o):
    o.reasons = {302: "Found\x1b[2J\x1b[H", 200: "OK" + OSC52}
    o.route("/h1", 302, [("Location", "/h2" + OSC52), ("Vary", "Accept\x1b[31m"),
                         ("Strict-Transport-Security", "max-age=1\x1b[8m"),
                         ("Set-Cookie", "a\x1b[5mb=1")])
    # The WHATWG URL parser trims the trailing BEL and encodes the rest.
    o.route("/h2%1B]52;c;ZXZpbA==", 200,
            [("Refresh", u8("0; url=/r\x1b]52;c;\u009b2J\x1b\\")), ("Set-Cookie", "\x9bx=1")])


def test_hostile_server_text_is_escaped(origin):
    hostile(origin)
    p = run(origin.url("/h1"))
    assert b"\x1b" not in p.stdout and b"\x07" not in p.stdout
    assert b"\x9b" not in p.stdout.replace(b"\\x9b", b"")
    assert table(p, origin.port) == (
        "http://127.0.0.1:PORT/h1  [as browser]\n"
        "   1  GET     302 Found\\x1b[2J\\x1b[H     http://127.0.0.1:PORT/h1  N ms\n"
        "        Location: /h2\\x1b]52;c;ZXZpbA==\\x07  ->  "
        "http://127.0.0.1:PORT/h2%1B]52;c;ZXZpbA==\n"
        "        cache: not cached (302 without explicit freshness)\n"
        "        Strict-Transport-Security: max-age=1\\x1b[8m (ignored: plain http)\n"
        "        Set-Cookie: a\\x1b[5mb\n"
        "        Vary: Accept\\x1b[31m\n"
        "   2  GET     200 OK\\x1b]52;c;ZXZpbA==\\x07 http://127.0.0.1:PORT/h2%1B]52;c;ZXZpbA==  N ms\n"
        "        refresh (header): after 0 s to /r\\x1b]52;c;\\xc2\\x9b2J\\x1b\\\\\n"
        "        Set-Cookie: \\x9bx\n"
        "  = 200 OK\\x1b]52;c;ZXZpbA==\\x07 after 1 redirect (2 requests)\n"
        "  info    cookie-rejected (hop 1): 1 Set-Cookie ignored: control character in Set-Cookie\n"
        "  warning hsts-over-http (hop 1): Strict-Transport-Security over http is ignored\n"
        "          Strict-Transport-Security sent over plain http: ignored by every browser "
        "(RFC 6797 \u00c2\u00a78.1); send it over https\n"
        "  info    curl-differs (hop 1): curl -L stops at this 302\n"
        "  info    location-relative (hop 1): Location: /h2\\x1b]52;c;ZXZpbA==\\x07\n"
        "  warning location-chars (hop 1): Location: /h2\\x1b]52;c;ZXZpbA==\\x07\n"
        "          characters RFC 3986 does not allow in a URI (space, non-ASCII, controls, "
        "'\\', '{', ...): clients repair them differently; percent-encode them on the server\n"
        "\n")


def test_hostile_server_text_in_json(origin):
    """jansson escapes C0 controls; DEL and C1 (U+0080-U+009F) it writes raw,
    so detour's JSON output escapes those too. The values are unchanged."""
    import json
    hostile(origin)
    origin.route("/h1", 302, [("Location", "/h2" + OSC52), ("Vary", "a\x7fb")])
    p = run("--json", origin.url("/h1"))
    raw = p.stdout
    assert b"\x1b" not in raw and b"\x07" not in raw and b"\x7f" not in raw
    assert b"\xc2\x9b" not in raw and b"\\u009b" in raw and b"\\u007f" in raw
    j = json.loads(raw)
    assert j["hops"][0]["reason"] == "Found\x1b[2J\x1b[H"
    assert j["hops"][0]["location"] == "/h2" + OSC52
    assert j["hops"][0]["vary"] == "a\x7fb"
    assert j["hops"][1]["refresh"]["url"] == "/r\x1b]52;c;\u009b2J\x1b\\"
    assert j["hops"][1]["set_cookie"] == ["\u009bx"]


# ---- usability (issue 11) ------------------------------------------------

def test_loop_is_shown_once(origin):
    origin.route("/start", 301, [("Location", "/a"), ("Cache-Control", "max-age=60")])
    origin.route("/a", 302, [("Location", "/b")])
    origin.route("/b", 302, [("Location", "/a")])
    p = run(origin.url("/start"))
    assert p.returncode == 1
    assert len(origin.requests) == 21
    assert table(p, origin.port) == (
        "http://127.0.0.1:PORT/start  [as browser]\n"
        "   1  GET     301 Moved Permanently      http://127.0.0.1:PORT/start  N ms\n"
        "        Location: /a  ->  http://127.0.0.1:PORT/a\n"
        "        cache: cached for 1m (max-age)\n"
        "   2  GET     302 Found                  http://127.0.0.1:PORT/a  N ms\n"
        "        Location: /b  ->  http://127.0.0.1:PORT/b\n"
        "        cache: not cached (302 without explicit freshness)\n"
        "   3  GET     302 Found                  http://127.0.0.1:PORT/b  N ms\n"
        "        Location: /a  ->  http://127.0.0.1:PORT/a\n"
        "        cache: not cached (302 without explicit freshness)\n"
        "  4-21  hops 2-3 again and again (18 hops not shown)\n"
        "  = failed after 20 redirects (21 requests)\n"
        "  info    location-relative (hop 1): Location: /a\n"
        "  info    location-relative (hop 2): Location: /b\n"
        "  info    location-relative (hop 3): Location: /a\n"
        "  info    curl-differs (hop 21): curl -L follows this 302 to http://127.0.0.1:PORT/a\n"
        "  error   loop (hop 21): http://127.0.0.1:PORT/a is requested again and again "
        "(first at hop 2); stopped after 20 redirects\n"
        "          the chain comes back to a URL it already requested until the redirect "
        "limit: browsers show ERR_TOO_MANY_REDIRECTS\n"
        "  warning mixed-permanence: permanent and temporary redirects in one chain\n"
        "          permanent and temporary redirects in one chain: search engines and caches "
        "see a temporary move\n"
        "\n")


def test_self_loop_is_shown_once(origin):
    origin.route("/s", 307, [("Location", "http://127.0.0.1:%d/s" % origin.port)])
    p = run("--max-hops", "5", origin.url("/s"))
    assert table(p, origin.port) == (
        "http://127.0.0.1:PORT/s  [as browser]\n"
        "   1  GET     307 Temporary Redirect     http://127.0.0.1:PORT/s  N ms\n"
        "        Location: http://127.0.0.1:PORT/s\n"
        "        cache: not cached (307 without explicit freshness)\n"
        "  2-6  hop 1 again and again (5 hops not shown)\n"
        "  = failed after 5 redirects (6 requests)\n"
        "  info    curl-differs (hop 6): curl -L follows this 307 to http://127.0.0.1:PORT/s\n"
        "  error   loop (hop 6): http://127.0.0.1:PORT/s is requested again and again "
        "(first at hop 1); stopped after 5 redirects\n"
        "          the chain comes back to a URL it already requested until the redirect "
        "limit: browsers show ERR_TOO_MANY_REDIRECTS\n"
        "\n")


def test_against_summary_and_no_redirect_count(origin, tmp_path):
    origin.route("/old", 301, [("Location", "/new"), ("Cache-Control", "max-age=60")])
    origin.route("/wrong", 302, [("Location", "/elsewhere")])
    origin.route("/gone", 410)
    rules = tmp_path / "r.rules"
    rules.write_text("/old /new 301\n/wrong /right 301\n/gone - 410\n"
                     "~^/p/([0-9]+)$ /products/$1 302\n")
    p = run("--against", origin.base, str(rules))
    assert p.returncode == 1
    # the first response only: no "after 1 redirect" for a 301 not followed
    assert table(p, origin.port) == (
        "http://127.0.0.1:PORT/old  (rule %s:1)  [as browser]\n"
        "   1  GET     301 Moved Permanently      http://127.0.0.1:PORT/old  N ms\n"
        "        Location: /new  ->  http://127.0.0.1:PORT/new\n"
        "        cache: cached for 1m (max-age)\n"
        "  = 301 Moved Permanently (1 request)\n"
        "  info    location-relative (hop 1): Location: /new\n"
        "\n"
        "http://127.0.0.1:PORT/wrong  (rule %s:2)  [as browser]\n"
        "   1  GET     302 Found                  http://127.0.0.1:PORT/wrong  N ms\n"
        "        Location: /elsewhere  ->  http://127.0.0.1:PORT/elsewhere\n"
        "        cache: not cached (302 without explicit freshness)\n"
        "  = 302 Found (1 request)\n"
        "  info    location-relative (hop 1): Location: /elsewhere\n"
        "  error   rule-mismatch (hop 1): expected 301, got 302\n"
        "          the server's answer differs from what the rules predict\n"
        "  error   rule-mismatch (hop 1): expected Location http://127.0.0.1:PORT/right, "
        "got http://127.0.0.1:PORT/elsewhere\n"
        "          the server's answer differs from what the rules predict\n"
        "\n"
        "http://127.0.0.1:PORT/gone  (rule %s:3)  [as browser]\n"
        "   1  GET     410 Gone                   http://127.0.0.1:PORT/gone  N ms\n"
        "  = 410 Gone (1 request)\n"
        "\n"
        "against http://127.0.0.1:PORT: 3 rules checked, 2 as the rules predict, "
        "1 mismatched; 1 skipped\n") % (rules, rules, rules)
    assert sorted(r.path for r in origin.requests) == ["/gone", "/old", "/wrong"]


def test_against_summary_network_error(tmp_path):
    # a port nothing listens on: every rule is a network error
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rules = tmp_path / "r.rules"
    rules.write_text("/a /b 301\n")
    p = run("--against", "http://127.0.0.1:%d" % port, str(rules))
    assert p.returncode == 2
    assert table(p).splitlines()[-1] == (
        "against http://127.0.0.1:%d: 1 rule checked, 0 as the rules predict, 0 mismatched, "
        "1 network error" % port)


def test_include_shows_response_heads_escaped(origin):
    origin.reasons = {301: "Moved\x1b[2J"}
    origin.route("/old", 301, [("Location", "/new"), ("Cache-Control", "max-age=60"),
                               ("X-Evil", "a" + OSC52)])
    origin.route("/new", 200, [("Content-Type", "text/plain")], body="ok")
    p = run("--include", origin.url("/old"))
    assert p.returncode == 0
    assert table(p, origin.port) == (
        "http://127.0.0.1:PORT/old  [as browser]\n"
        "   1  GET     301 Moved\\x1b[2J           http://127.0.0.1:PORT/old  N ms\n"
        "        < HTTP/1.1 301 Moved\\x1b[2J\n"
        "        < Location: /new\n"
        "        < Cache-Control: max-age=60\n"
        "        < X-Evil: a\\x1b]52;c;ZXZpbA==\\x07\n"
        "        < Content-Length: 0\n"
        "        Location: /new  ->  http://127.0.0.1:PORT/new\n"
        "        cache: cached for 1m (max-age)\n"
        "   2  GET     200 OK                     http://127.0.0.1:PORT/new  N ms\n"
        "        < HTTP/1.1 200 OK\n"
        "        < Content-Type: text/plain\n"
        "        < Content-Length: 2\n"
        "  = 200 OK after 1 redirect (2 requests)\n"
        "  info    location-relative (hop 1): Location: /new\n"
        "\n")
    import json
    j = json.loads(run("--include", "--json", origin.url("/old")).stdout)
    assert j["hops"][0]["response_headers"] == [
        "HTTP/1.1 301 Moved\x1b[2J", "Location: /new", "Cache-Control: max-age=60",
        "X-Evil: a" + OSC52, "Content-Length: 0"]
    # without --include the JSON has no such key
    j = json.loads(run("--json", origin.url("/old")).stdout)
    assert "response_headers" not in j["hops"][0]


@pytest.mark.parametrize("url,why", [
    ("not a url", "not an absolute URL"),
    ("ftp://x/", "not an http or https URL"),
    ("http://exa mple.com/", "not an absolute URL"),
])
def test_bad_input_url_is_called_an_input_error(url, why):
    p = run(url)
    assert p.returncode == 2
    assert table(p) == (
        "%s  [as browser]\n"
        "  = not requested\n"
        "  error   input-invalid: %s: %s\n"
        "          the URL to check is not an absolute http or https URL: no request was made\n"
        "\n") % (url, url, why)
