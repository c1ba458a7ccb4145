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

BIN = os.environ.get("DETOUR_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "asan", "detour")


def u8(s):
    """A str whose Latin-1 bytes are the UTF-8 of s (http.server sends
    header values as Latin-1)."""
    return s.encode().decode("latin-1")


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
