"""A real browser meets detour's HTTPS (issue 9): headless Chromium, with the
test CA in a fresh NSS database, sees Strict-Transport-Security over https
and, on its next plain http:// navigation to that host, upgrades internally
(Chromium's "307 Internal Redirect", RFC 6797 §8.3) without sending a byte
of plain HTTP to detour. The browser's own net log is the witness.

Chromium is started and stopped by the test (its own profile and HOME in
tmp_path, loopback only: every *.test name maps to 127.0.0.1)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import free_port
from origin import make_ca

CHROMIUM = shutil.which("chromium")
HOST = "www.hsts.test"

pytestmark = pytest.mark.skipif(CHROMIUM is None or shutil.which("certutil") is None,
                                reason="chromium or certutil (libnss3-tools) not installed")


def nssdb(home, ca):
    """A fresh NSS database in HOME trusting the test CA, as Chromium on
    Linux reads it (~/.pki/nssdb)."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    subprocess.run(["certutil", "-d", "sql:%s" % db, "-N", "--empty-password"], check=True,
                   capture_output=True)
    subprocess.run(["certutil", "-d", "sql:%s" % db, "-A", "-t", "C,,", "-n", "detour-test",
                    "-i", ca], check=True, capture_output=True)


def navigate(tmp_path, url, netlog):
    """One headless navigation in the persistent profile; returns the DOM.
    The process is ours: it ends by itself (--dump-dom), or timeout kills it."""
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    r = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--user-data-dir=%s" % (tmp_path / "profile"),
         "--host-resolver-rules=MAP *.test 127.0.0.1",
         "--log-net-log=%s" % netlog, "--net-log-capture-mode=Default",
         "--dump-dom", url],
        env=env, capture_output=True, timeout=90)
    return r.stdout.decode(errors="replace")


def events(netlog):
    """(event type name, params) of every net log event."""
    d = json.load(open(netlog))
    names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    return [(names.get(e["type"], ""), e.get("params", {})) for e in d["events"]]


def test_hsts_seen_then_internal_upgrade(make_server, tmp_path):
    d = tmp_path / "ca"
    d.mkdir()
    ca, cert, key = make_ca(str(d), names=(HOST,))
    (tmp_path / "home").mkdir()
    nssdb(tmp_path / "home", ca)
    tls_port = free_port()
    s = make_server(
        "https://%s/first /landing 307\n"
        "https://%s/second /landing 307\n"
        "http://%s/second /plain-was-used 307\n" % (HOST, HOST, HOST),
        listen=["127.0.0.1:{port}", "127.0.0.1:%d tls" % tls_port],
        conf_extra="tls-cert %s %s\nhsts max-age=1y\n" % (cert, key))

    # 1. Over https the browser gets HSTS and keeps it in its profile.
    log1 = tmp_path / "net1.json"
    navigate(tmp_path, "https://%s:%d/first" % (HOST, tls_port), log1)
    seen = [p for t, p in events(log1) if t == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]
    heads = [h for p in seen for h in p.get("headers", [])]
    # over h2 (ALPN, issue 10): Chromium writes the status line without a reason phrase and
    # the field names as they came, in lower case
    assert "HTTP/1.1 307" in heads, heads
    assert "strict-transport-security: max-age=31536000" in heads, heads
    ts = json.load(open(tmp_path / "profile" / "Default" / "TransportSecurity"))
    assert [e["mode"] for e in ts["sts"]] == ["force-https"]

    # 2. A plain http:// navigation to the same host and port: Chromium
    # upgrades it internally and detour only ever sees the TLS request.
    log2 = tmp_path / "net2.json"
    navigate(tmp_path, "http://%s:%d/second" % (HOST, tls_port), log2)
    ev = events(log2)
    fake = [p["headers"] for t, p in ev if t == "URL_REQUEST_FAKE_RESPONSE_HEADERS_CREATED"]
    assert ["HTTP/1.1 307 Internal Redirect",
            "Location: https://%s:%d/second" % (HOST, tls_port),
            "Cross-Origin-Resource-Policy: Cross-Origin",
            "Non-Authoritative-Reason: HSTS"] in fake, fake
    redirected = [p["location"] for t, p in ev if t == "URL_REQUEST_REDIRECTED"]
    assert redirected[:2] == ["https://%s:%d/second" % (HOST, tls_port),
                              "https://%s:%d/landing" % (HOST, tls_port)], redirected
    log = s.wait_log('"GET /second HTTP/2.0" 307', log="access")
    assert "/plain-was-used" not in log
    # Nothing reached the plain listener, and nothing plain reached the TLS one.
    assert "400" not in log.split("GET /second")[0]


def test_no_hsts_over_plain_http(make_server, tmp_path):
    """RFC 6797 §7.2: never over plain HTTP, so a browser has nothing to keep."""
    (tmp_path / "home").mkdir()
    s = make_server("//%s/first /landing 307\n" % HOST, conf_extra="hsts max-age=1y\n")
    log = tmp_path / "net.json"
    navigate(tmp_path, "http://%s:%d/first" % (HOST, s.port), log)
    heads = [h for t, p in events(log) if t == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS"
             for h in p.get("headers", [])]
    assert "HTTP/1.1 307 Temporary Redirect" in heads, heads
    assert not [h for h in heads if h.lower().startswith("strict-transport-security")]


def test_form_post_through_307_over_h2(make_server, tmp_path):
    """Issue 10: Chromium speaks h2 to detour (ALPN), and a form POST that detour answers
    with a 307 arrives at the target as a POST with its body (RFC 9110 §15.4.8)."""
    import http.server
    import ssl
    import threading

    d = tmp_path / "ca"
    d.mkdir()
    ca, cert, key = make_ca(str(d), names=(HOST, "sink.test"))
    (tmp_path / "home").mkdir()
    nssdb(tmp_path / "home", ca)
    got = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            got.append((self.command, self.path, self.rfile.read(n)))
            body = b"<html><body><p id=r>received</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Sink)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        tls_port = free_port()
        s = make_server("https://%s/form https://sink.test:%d/sink 307\n"
                        % (HOST, httpd.server_address[1]),
                        listen=["127.0.0.1:{port}", "127.0.0.1:%d tls" % tls_port],
                        conf_extra="tls-cert %s %s\n" % (cert, key))
        page = tmp_path / "form.html"
        page.write_text(
            '<form id=f method=post action="https://%s:%d/form">'
            '<input name=greeting value="hello h2"><input name=n value=42></form>'
            '<script>document.getElementById("f").submit()</script>' % (HOST, tls_port))
        log = tmp_path / "net.json"
        dom = navigate(tmp_path, "file://%s" % page, log)
        assert "received" in dom, dom
        assert got == [("POST", "/sink", b"greeting=hello+h2&n=42")]
        ev = events(log)
        assert any(t.startswith("HTTP2_SESSION") for t, _ in ev)  # h2 by ALPN
        s.wait_log('"POST /form HTTP/2.0" 307 ', log="access")
    finally:
        httpd.shutdown()
        httpd.server_close()
