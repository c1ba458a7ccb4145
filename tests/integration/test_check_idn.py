"""`detour check` and internationalised host names (UTS #46 by libidn2, as a
browser): a URL typed with a non-ASCII host and a Location naming one are
both requested with the host's punycode form (Host header and URL), and the
public suffix list decides "same site" (Sec-Fetch-Site)."""
import json
import subprocess

import pytest

from conftest import BIN
from origin import Origin


@pytest.fixture
def o():
    srv = Origin()
    yield srv
    srv.stop()


def u8(s):
    """A header value holding the UTF-8 bytes of s (http.server writes
    Latin-1)."""
    return s.encode().decode("latin-1")


def check_json(*args):
    p = subprocess.run([BIN, "check", "--no-color", "-q", "--json"] + list(args),
                       capture_output=True, timeout=60)
    return p.returncode, json.loads(p.stdout)


def test_idn_host_typed_and_in_location(o):
    port = o.port
    o.route("/a", 301, [("Location", u8("http://\u00fcber.test:%d/b" % port))])
    o.route("/b", 200)
    rc, d = check_json("--resolve", "xn--bcher-kva.test:%d:127.0.0.1" % port,
                       "--resolve", "xn--ber-goa.test:%d:127.0.0.1" % port,
                       "http://B\u00fccher.test:%d/a" % port)
    assert rc == 0, d
    assert [h["url"] for h in d["hops"]] == [
        "http://xn--bcher-kva.test:%d/a" % port, "http://xn--ber-goa.test:%d/b" % port]
    assert [r.header("Host") for r in o.requests] == [
        "xn--bcher-kva.test:%d" % port, "xn--ber-goa.test:%d" % port]


def test_invalid_idn_is_not_requested(o):
    o.route("/a", 301, [("Location", u8("http://a\u2488b.test/"))])  # U+2488: disallowed
    rc, d = check_json(o.url("/a"))
    assert d["hops"][0]["status"] == 301 and len(d["hops"]) == 1
    assert "location-invalid" in [f["code"] for f in d["findings"]]
    assert len(o.requests) == 1
