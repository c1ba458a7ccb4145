"""`detour check` and the protocol of every hop: against h2o (Debian's h2o
2.2.5, started and stopped by the test on loopback) over TLS, where ALPN
offers h2: with --http2 (and by default, as libcurl and browsers do) every
hop is HTTP/2; with --http1.1 every hop is HTTP/1.1; and `detour crawl`
reports it per hop too."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BIN, free_port, wait_port
from origin import make_ca

H2O = shutil.which("h2o")
pytestmark = pytest.mark.skipif(H2O is None, reason="h2o not installed")
HOST = "www.h2.test"


class Proc:
    def __init__(self, p):
        self.p = p

    def poll(self):
        return self.p.poll()

    def stderr_text(self):
        return ""


@pytest.fixture
def h2o(tmp_path):
    ca, cert, key = make_ca(str(tmp_path), names=(HOST,))
    port = free_port()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "new").write_text("<!DOCTYPE html><p>new</p>")
    (docs / "index.html").write_text('<!DOCTYPE html><a href="/old">old</a>'
                                     '<img src="http://cdn.invalid/a.png">')
    base = "https://%s:%d" % (HOST, port)
    conf = tmp_path / "h2o.conf"
    conf.write_text(
        "user: root\n"
        "pid-file: %s/h2o.pid\n"
        "error-log: %s/h2o.err\n"
        "listen:\n  host: 127.0.0.1\n  port: %d\n"
        "  ssl:\n    certificate-file: %s\n    key-file: %s\n"
        "hosts:\n  \"%s:%d\":\n    paths:\n"
        "      /old:\n        redirect:\n          url: %s/mid\n          status: 301\n"
        "      /mid:\n        redirect:\n          url: %s/new\n          status: 302\n"
        "      /:\n        file.dir: %s\n"
        % (tmp_path, tmp_path, port, cert, key, HOST, port, base, base, docs))
    p = subprocess.Popen([H2O, "-c", str(conf)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port, Proc(p))
        yield {"base": base, "ca": ca, "port": port}
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def check(h, *args):
    r = subprocess.run([BIN, "check", "--no-color", "-q", "--cacert", h["ca"], "--resolve",
                        "%s:%d:127.0.0.1" % (HOST, h["port"])] + list(args),
                       capture_output=True, timeout=60)
    return r


def hops(r):
    return [(x["url"].split("/", 3)[3], x["status"], x["protocol"])
            for x in json.loads(r.stdout)["hops"]]


def test_http2_every_hop(h2o):
    r = check(h2o, "--json", "--http2", h2o["base"] + "/old")
    assert r.returncode == 0, r.stderr
    assert hops(r) == [("old", 301, "HTTP/2"), ("mid", 302, "HTTP/2"), ("new", 200, "HTTP/2")]
    # The default negotiates it too (libcurl's CURL_HTTP_VERSION_2TLS).
    assert hops(check(h2o, "--json", h2o["base"] + "/old"))[0][2] == "HTTP/2"


def test_http11_every_hop(h2o):
    r = check(h2o, "--json", "--http1.1", h2o["base"] + "/old")
    assert r.returncode == 0, r.stderr
    assert hops(r) == [("old", 301, "HTTP/1.1"), ("mid", 302, "HTTP/1.1"),
                       ("new", 200, "HTTP/1.1")]


def test_table_shows_protocol(h2o):
    r = check(h2o, "--http2", h2o["base"] + "/old")
    lines = r.stdout.decode().splitlines()
    assert [l.strip() for l in lines if l.strip().startswith("protocol:")] == \
        ["protocol: HTTP/2"] * 3


def test_crawl_reports_protocol(h2o, tmp_path):
    out = tmp_path / "c.json"
    r = subprocess.run([BIN, "crawl", "-q", "--rate", "0", "--cacert", h2o["ca"], "--resolve",
                        "%s:%d:127.0.0.1" % (HOST, h2o["port"]), "--json", str(out),
                        h2o["base"] + "/"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    ch = d["chains"][0]
    assert [(x["status"], x["protocol"]) for x in ch["hops"]] == \
        [(301, "HTTP/2"), (302, "HTTP/2"), (200, "HTTP/2")]
    # The test certificate lives two days (once for the whole crawl); h2o's
    # 301 carries no cache lifetime; /new is linked by no page; an http image
    # on the https page (outside the scope: not requested).
    def rel(u):
        return u[len(h2o["base"]):] if u.startswith(h2o["base"]) else u
    assert [(f["code"], rel(f["url"]), [rel(p) for p in f["pages"]])
            for f in d["findings"]] == [
        ("cert-expiring", "/", []), ("chain", "/old", ["/"]),
        ("link-to-redirect", "/old", ["/"]),
        ("mixed-content", "http://cdn.invalid/a.png", ["/"]),
        ("mixed-permanence", "/old", ["/"]), ("permanent-no-lifetime", "/old", ["/"]),
        ("redirect-only", "/new", [])]
