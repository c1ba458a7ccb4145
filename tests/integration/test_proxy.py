"""Trusted proxies and the PROXY protocol (issue 9, docs/https.md "Behind a
load balancer"): PROXY v1 and v2 headers on a proxy-protocol listener
(valid, split across writes, invalid, missing, from an untrusted peer:
closed and counted in /metrics), Forwarded / X-Forwarded-For /
X-Forwarded-Proto from a trusted peer and ignored from any other, each seen
in exact responses (if-ip=, https:// and http:// rules, maintenance
allow-ip=, sticky=ip) and in the access log's client field; and Debian's
haproxy in front of detour, with send-proxy-v2 and with option forwardfor
plus X-Forwarded-Proto."""
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

import pytest

from conftest import Conn, expected_response, free_port, get, mask_date, wait_until

RULES = """\
https://h.example/s  /was-https  301
http://h.example/s   /was-http   301
/lan                 /inside     302  if-ip=203.0.113.0/24,127.0.0.2/32
/lan                 /outside    302
/who                 /x          302
/pick                /a          307  weight=50 sticky=ip
/pick                /b          307  weight=50 sticky=ip
"""

def log_lines(server):
    text = server.access_log.read_text() if server.access_log.exists() else ""
    return [l for l in text.split("\n") if l]


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src="203.0.113.7", dst="127.0.0.1", sport=40000, dport=80, fam="TCP4"):
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def v2(src="203.0.113.7", dst="127.0.0.1", sport=40000, dport=80, cmd=0x21, tlvs=b""):
    if ":" in src:
        body = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        fam = 0x21
    else:
        body = socket.inet_aton(src) + socket.inet_aton(dst)
        fam = 0x11
    body += struct.pack("!HH", sport, dport) + tlvs
    return V2_SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body


# PP2_TYPE_SSL: client PP2_CLIENT_SSL, verify 0, sub-TLV PP2_SUBTYPE_SSL_VERSION "TLSv1.3"
SSL_TLV = b"\x20" + struct.pack("!H", 5 + 3 + 7) + b"\x01\x00\x00\x00\x00" + \
    b"\x21" + struct.pack("!H", 7) + b"TLSv1.3"


def resp(status, location, connection=None):
    """The exact response (Date masked); an if-ip= match is private to its
    client (Cache-Control: private)."""
    r = expected_response(status, location, connection=connection)
    if location == "/inside":
        r = r.replace(b"\r\nContent-Type:", b"\r\nCache-Control: private\r\nContent-Type:")
    return r


class ProxyServer:
    """A detour with a plain listener (the fixture's port), a proxy-protocol
    listener (pp_port), an admin listener for /metrics, and the access log."""

    def __init__(self, make_server, trusted="127.0.0.1/32", extra=""):
        self.pp_port = free_port()
        self.admin_port = free_port()
        self.s = make_server(
            RULES, listen=["127.0.0.1:{port}", "127.0.0.1:%d proxy-protocol" % self.pp_port],
            conf_extra="trusted-proxies %s\nadmin 127.0.0.1:%d\nstate-dir state\n%s" % (
                trusted, self.admin_port, extra))

    def pp_conn(self):
        class PP:
            pass
        p = PP()
        p.host, p.port = "127.0.0.1", self.pp_port
        return Conn(p)

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.admin_port,
                                    timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("detour_proxy_protocol_errors_total{"):
                reason = line.split('"')[1]
                out[reason] = int(line.rsplit(" ", 1)[1])
        return out

    def peers(self, n):
        """The client fields of the access log, once it has n lines."""
        wait_until(lambda: len(log_lines(self.s)) >= n, timeout=5)
        return [l.split(" ", 1)[0] for l in log_lines(self.s)]


def assert_refused(c, timeout=5):
    """The server closes without a byte (a reset counts: it closed with our
    bytes unread)."""
    try:
        assert c.read_until_close(timeout) == b""
    except ConnectionResetError:
        pass


def ask(c, path, host="h.example", extra=b""):
    c.send(get(path, host=host, extra=extra))
    return mask_date(c.read_response())


@pytest.fixture
def ps(make_server):
    return ProxyServer(make_server)


# ---- the PROXY protocol ------------------------------------------------------------------

def test_proxy_headers_set_the_client(ps):
    cases = [
        (v1(), "/inside", "203.0.113.7"),
        (v1(src="198.51.100.9"), "/outside", "198.51.100.9"),
        (v1(src="2001:db8::7", dst="::1", fam="TCP6"), "/outside", "2001:db8::7"),
        (b"PROXY UNKNOWN\r\n", "/outside", "127.0.0.1"),
        (b"PROXY UNKNOWN 1.2.3.4 whatever\r\n", "/outside", "127.0.0.1"),
        (v2(), "/inside", "203.0.113.7"),
        (v2(src="2001:db8::7", dst="::1"), "/outside", "2001:db8::7"),
        (v2(cmd=0x20), "/outside", "127.0.0.1"),  # LOCAL: the proxy's own connection
        (V2_SIG + b"\x21\x00\x00\x00", "/outside", "127.0.0.1"),  # AF_UNSPEC
    ]
    for hdr, where, _ in cases:
        with ps.pp_conn() as c:
            c.send(hdr + get("/lan"))
            assert mask_date(c.read_response()) == resp(302, where), hdr
            # the header's client holds for every request of the connection
            assert ask(c, "/lan") == resp(302, where)
    assert ps.peers(2 * len(cases)) == [p for _, _, p in cases for _ in (0, 1)]
    assert ps.metrics() == {"invalid": 0, "incomplete": 0, "untrusted": 0}


def test_proxy_split_and_pipelined(ps):
    # byte by byte, then the requests in another write
    with ps.pp_conn() as c:
        c.send_bytewise(v2())
        time.sleep(0.05)
        c.send(get("/lan") + get("/who"))
        assert mask_date(c.read_response()) == resp(302, "/inside")
        assert mask_date(c.read_response()) == resp(302, "/x")
    with ps.pp_conn() as c:
        c.send_bytewise(v1())
        c.send_bytewise(get("/lan"))
        assert mask_date(c.read_response()) == resp(302, "/inside")
    # header and request in one segment: the request's bytes stay for HTTP
    with ps.pp_conn() as c:
        c.send(v1() + get("/lan") + get("/lan", extra=b"Connection: close\r\n"))
        assert mask_date(c.read_response()) == resp(302, "/inside")
        assert mask_date(c.read_response()) == resp(302, "/inside", connection="close")
    assert ps.metrics() == {"invalid": 0, "incomplete": 0, "untrusted": 0}


def test_proxy_ssl_tlv_is_https(ps):
    with ps.pp_conn() as c:
        c.send(v2(tlvs=SSL_TLV) + get("/s", host="h.example"))
        assert mask_date(c.read_response()) == resp(301, "/was-https")
    with ps.pp_conn() as c:
        c.send(v2(tlvs=b"\x04\x00\x02ab") + get("/s", host="h.example"))  # NOOP TLV only
        assert mask_date(c.read_response()) == resp(301, "/was-http")


@pytest.mark.parametrize("data,reason", [
    (get("/lan"), "invalid"),                               # no header at all
    (b"PROXY TCP4 203.0.113.7 127.0.0.1 1 2\n", "invalid"),  # bare LF
    (b"PROXY TCP4 1.2.3.4 127.0.0.1 01 2\r\n" + get("/lan"), "invalid"),
    (b"PROXY TCP4 " + b"1" * 120, "invalid"),               # no CRLF within 107 bytes
    (V2_SIG + b"\x31\x11\x00\x0c" + bytes(12), "invalid"),   # version 3
    (V2_SIG + b"\x21\x11\x00\x04abcd", "invalid"),           # address block too short
    (b"\x16\x03\x01\x00\xa5\x01\x00", "invalid"),           # a TLS ClientHello
    (v1()[:20], "incomplete"),                              # then the client closes
    (v2()[:20], "incomplete"),
    (b"", "incomplete"),
])
def test_proxy_refused(ps, data, reason):
    with ps.pp_conn() as c:
        c.send(data)
        if reason == "incomplete":
            c.s.shutdown(socket.SHUT_WR)
        assert_refused(c)  # not a byte of HTTP
    want = {"invalid": 0, "incomplete": 0, "untrusted": 0}
    want[reason] = 1
    wait_until(lambda: ps.metrics() == want)


def test_proxy_header_timeout(make_server):
    ps = ProxyServer(make_server, extra="timeout header 1s\n")
    with ps.pp_conn() as c:
        c.send(v1()[:10])
        t0 = time.monotonic()
        assert_refused(c)
        assert 0.5 < time.monotonic() - t0 < 3.5
    assert ps.metrics() == {"invalid": 0, "incomplete": 1, "untrusted": 0}


def test_proxy_untrusted_peer(make_server):
    ps = ProxyServer(make_server, trusted="10.0.0.0/8 2001:db8::/32")
    with ps.pp_conn() as c:
        c.send(v1() + get("/lan"))
        assert_refused(c)
    with ps.pp_conn() as c:
        c.send(v2() + get("/lan"))
        assert_refused(c)
    wait_until(lambda: ps.metrics() == {"invalid": 0, "incomplete": 0, "untrusted": 2})


def test_proxy_needs_trusted_proxies(tmp_path):
    from conftest import run_detour
    (tmp_path / "r.rules").write_text("/a /b\n")
    (tmp_path / "d.conf").write_text("listen 127.0.0.1:1\nlisten 127.0.0.1:2 proxy-protocol\n"
                                     "rules r.rules\n")
    rc, out, err = run_detour(["serve", "-t", "-c", str(tmp_path / "d.conf")])
    assert rc != 0
    assert ("%s:2: listen 127.0.0.1:2 proxy-protocol needs trusted-proxies: the addresses of "
            "the load balancers that connect to it" % (tmp_path / "d.conf")) in err


# ---- Forwarded, X-Forwarded-For, X-Forwarded-Proto ----------------------------------------

TRUSTED_CASES = [
    # (extra header lines, /lan answer, /s answer, access-log client)
    (b"", "/outside", "/was-http", "127.0.0.1"),
    (b"X-Forwarded-For: 203.0.113.7\r\n", "/inside", "/was-http", "203.0.113.7"),
    (b"X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n", "/inside", "/was-http", "203.0.113.7"),
    # a client's own entry to the left of the proxy's is not believed
    (b"X-Forwarded-For: 203.0.113.7, 198.51.100.1\r\n", "/outside", "/was-http",
     "198.51.100.1"),
    (b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.1\r\n", "/outside",
     "/was-http", "198.51.100.1"),
    (b"X-Forwarded-For: [2001:db8::7]:4711\r\n", "/outside", "/was-http", "2001:db8::7"),
    (b"X-Forwarded-Proto: https\r\n", "/outside", "/was-https", "127.0.0.1"),
    (b"X-Forwarded-Proto: http, https\r\nX-Forwarded-For: 203.0.113.9\r\n", "/inside",
     "/was-https", "203.0.113.9"),
    (b"X-Forwarded-Proto: https, http\r\n", "/outside", "/was-http", "127.0.0.1"),
    (b"Forwarded: for=203.0.113.7;proto=https\r\n", "/inside", "/was-https", "203.0.113.7"),
    (b'Forwarded: for="[2001:db8::7]:4711";proto=http\r\n', "/outside", "/was-http",
     "2001:db8::7"),
    (b"Forwarded: for=203.0.113.7;proto=https, for=127.0.0.1;proto=http\r\n", "/inside",
     "/was-https", "203.0.113.7"),
    (b"Forwarded: for=_hidden;proto=https\r\n", "/outside", "/was-https", "127.0.0.1"),
    # Forwarded wins over X-Forwarded-*
    (b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
     b"Forwarded: for=198.51.100.1\r\n", "/outside", "/was-http", "198.51.100.1"),
]


def test_forwarded_from_trusted_peer(ps):
    s = ps.s
    n = 0
    with Conn(s) as c:
        for extra, lan, scheme, _ in TRUSTED_CASES:
            assert ask(c, "/lan", extra=extra) == resp(302, lan), extra
            assert ask(c, "/s", extra=extra) == resp(301, scheme), extra
            n += 2
    assert ps.peers(n) == [p for _, _, _, p in TRUSTED_CASES for _ in (0, 1)]


def test_forwarded_ignored_from_untrusted_peer(make_server):
    ps = ProxyServer(make_server, trusted="10.0.0.0/8")
    with Conn(ps.s) as c:
        for extra, _, _, _ in TRUSTED_CASES:
            assert ask(c, "/lan", extra=extra) == resp(302, "/outside"), extra
            assert ask(c, "/s", extra=extra) == resp(301, "/was-http"), extra
    assert set(ps.peers(2 * len(TRUSTED_CASES))) == {"127.0.0.1"}


def test_forwarded_sticky_ip(make_server):
    seen = {}
    for trusted in ("127.0.0.1/32", "10.0.0.0/8"):
        ps = ProxyServer(make_server, trusted=trusted)
        got = set()
        with Conn(ps.s) as c:
            for i in range(24):
                xff = b"X-Forwarded-For: 203.0.113.%d\r\n" % (i + 1)
                r = ask(c, "/pick", extra=xff)
                loc = [l for l in r.split(b"\r\n") if l.startswith(b"Location: ")][0]
                # the same client keeps its variant
                assert ask(c, "/pick", extra=xff) == r
                got.add(loc)
        seen[trusted] = got
    assert seen["127.0.0.1/32"] == {b"Location: /a", b"Location: /b"}
    assert len(seen["10.0.0.0/8"]) == 1  # everyone is 127.0.0.1


def test_forwarded_maintenance_allow_ip(make_server):
    ps = ProxyServer(make_server, extra="maintenance /down allow-ip=203.0.113.7\n")
    with Conn(ps.s) as c:
        assert ask(c, "/who", extra=b"X-Forwarded-For: 203.0.113.7\r\n") == resp(302, "/x")
        assert ask(c, "/who", extra=b"Forwarded: for=203.0.113.7\r\n") == resp(302, "/x")
        r = ask(c, "/who")
        assert r.startswith(b"HTTP/1.1 307 Temporary Redirect\r\n") and \
            b"\r\nLocation: /down\r\n" in r
        r = ask(c, "/who", extra=b"X-Forwarded-For: 203.0.113.8\r\n")
        assert b"\r\nLocation: /down\r\n" in r
    # over the PROXY protocol too
    with ps.pp_conn() as c:
        c.send(v2() + get("/who"))
        assert mask_date(c.read_response()) == resp(302, "/x")


# ---- haproxy in front -----------------------------------------------------------------------

HAPROXY = "/usr/sbin/haproxy"


def wait_listen(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "haproxy exited: %s" % proc.stderr.read().decode()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("haproxy did not listen on %d" % port)


@pytest.fixture
def haproxy(tmp_path):
    procs = []

    def start(cfg):
        path = tmp_path / ("haproxy%d.cfg" % len(procs))
        path.write_text(cfg)
        p = subprocess.Popen([HAPROXY, "-db", "-f", str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def curl(port, path, host="h.example"):
    """curl from 127.0.0.2 (not a trusted proxy) to haproxy: status and Location."""
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "--interface", "127.0.0.2",
                        "-H", "Host: " + host, "-H", "X-Forwarded-For: 203.0.113.66",
                        "-w", "%{http_code} %header{location}",
                        "http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.skipif(not os.path.exists(HAPROXY), reason="Debian's haproxy is not installed")
def test_haproxy_in_front(make_server, haproxy):
    ps = ProxyServer(make_server)
    tcp_port, http_port = free_port(), free_port()
    p = haproxy("""
global
    maxconn 100
defaults
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tcp_in
    mode tcp
    bind 127.0.0.1:%d
    default_backend detour_pp
backend detour_pp
    mode tcp
    server d 127.0.0.1:%d send-proxy-v2
frontend http_in
    mode http
    bind 127.0.0.1:%d
    option forwardfor
    http-request del-header Forwarded
    http-request set-header X-Forwarded-Proto https
    default_backend detour_http
backend detour_http
    mode http
    server d 127.0.0.1:%d
""" % (tcp_port, ps.pp_port, http_port, ps.s.port))
    wait_listen(tcp_port, p)
    wait_listen(http_port, p)
    time.sleep(0.2)
    # (1) send-proxy-v2: the client is curl's 127.0.0.2 (untrusted, so its own
    # X-Forwarded-For is ignored); the scheme is the plain connection's
    assert curl(tcp_port, "/lan") == "302 /inside"
    assert curl(tcp_port, "/s") == "301 /was-http"
    # (2) option forwardfor appends 127.0.0.2 after the client's own entry;
    # X-Forwarded-Proto https from the trusted haproxy makes it an https request
    assert curl(http_port, "/lan") == "302 /inside"
    assert curl(http_port, "/s") == "301 /was-https"
    assert curl(http_port, "/who") == "302 /x"
    peers = ps.peers(5)
    assert peers == ["127.0.0.2"] * 5, peers
    # haproxy's connection to port (1) opened with a valid header
    assert ps.metrics()["invalid"] == 0
