"""HTTP/2 (issue 10, RFC 9113): h2 by ALPN over TLS and h2c with prior knowledge, answered
by the same route and respond code as HTTP/1.1 (curl, nghttp); a POST through a 307 over h2;
the access log and metrics; `http2 off`; and the abuse cases with raw frames written here
(struct, no HTTP/2 package): rapid reset (CVE-2023-44487), a CONTINUATION flood, a client
that never opens its window, a client that never acknowledges SETTINGS, GOAWAY on SIGTERM."""
import http.server
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import free_port, wait_until
from test_tls import pki, tls_server, s_client  # noqa: F401 (fixtures)

RULES = """\
/a          /v1                    301
/hour       /t                     301  cache=1h
/nostore    /t                     302  cache=no-store
/form       http://127.0.0.1:{sink}/sink 307
https://a.test/x  https://new.test/y 308
"""

# ---- frames ----------------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
NO_ERROR, PROTOCOL_ERROR, SETTINGS_TIMEOUT, ENHANCE_YOUR_CALM = 0x0, 0x1, 0x4, 0xb


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def settings(**kv):
    ids = {"header_table_size": 1, "enable_push": 2, "max_concurrent_streams": 3,
           "initial_window_size": 4, "max_frame_size": 5, "max_header_list_size": 6}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in kv.items()))


def hint(n, prefix=7, first=0):
    """An HPACK integer (RFC 7541 §5.1)."""
    lim = (1 << prefix) - 1
    if n < lim:
        return bytes([first | n])
    out = [first | lim]
    n -= lim
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def literal(name, value):
    """A literal field without indexing, new name, no Huffman (RFC 7541 §6.2.2)."""
    return b"\x00" + hint(len(name)) + name + hint(len(value)) + value


def request_block(path=b"/a", authority=b"x", method=b"GET", extra=()):
    return b"".join([literal(b":method", method), literal(b":scheme", b"http"),
                     literal(b":path", path), literal(b":authority", authority)] +
                    [literal(n, v) for n, v in extra])


def h2c(server, client_settings=None, ack=True, timeout=5.0):
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    s.sendall(PREFACE + (client_settings or settings()))
    if ack:
        s.sendall(frame(SETTINGS, ACK, 0))
    return s


def read_frames(s, until=None, timeout=5.0):
    """Frames read until EOF, a timeout, or until(frame) is true. Returns (frames, eof)."""
    buf, frames = b"", []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            f = (buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff, buf[9:9 + n])
            buf = buf[9 + n:]
            frames.append(f)
            if until and until(f):
                return frames, False
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            return frames, True
        if not b:
            return frames, True
        buf += b
    return frames, False


def goaway_code(frames):
    for t, _, _, p in frames:
        if t == GOAWAY:
            return struct.unpack(">II", p[:8])[1]
    return None


def is_goaway(f):
    return f[0] == GOAWAY


# ---- servers ---------------------------------------------------------------------------

class Sink(http.server.BaseHTTPRequestHandler):
    """Where the 307 of /form sends its POST: records method, path and body."""
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Sink.got.append((self.command, self.path, self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


@pytest.fixture
def sink():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Sink)
    Sink.got = []
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def rules(sink_port=1):
    return RULES.replace("{sink}", str(sink_port))


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def strip_date(b):
    return re.sub(rb"(?im)^date: [^\r\n]*\r\n", b"", b)


def strip_expires(b):
    return re.sub(rb"(?im)^expires: [^\r\n]*\r\n", b"expires: X\r\n", strip_date(b))


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


# ---- curl and nghttp -------------------------------------------------------------------

def test_h2c_prior_knowledge_same_answer_as_http11(make_server):
    s = make_server(rules())
    base = "http://127.0.0.1:%d" % s.port
    got = strip_date(curl("-i", "--http2-prior-knowledge", base + "/a"))
    assert got == (b"HTTP/2 301 \r\n"
                   b"location: /v1\r\n"
                   b"content-type: text/html; charset=utf-8\r\n"
                   b"content-length: 90\r\n\r\n"
                   b"<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
                   b"<p><a href=\"/v1\">Redirecting</a></p>\n")
    # the same fields as HTTP/1.1, names in lower case, Connection left out
    for path in ("/a", "/hour", "/nostore", "/nope", "/a?q=1"):
        # Expires follows the clock: the two requests may straddle a second
        h1 = strip_expires(curl("-i", "--http1.1", "-H", "Connection: close", base + path))
        h2 = strip_expires(curl("-i", "--http2-prior-knowledge", base + path))
        head1, body1 = h1.split(b"\r\n\r\n", 1)
        head2, body2 = h2.split(b"\r\n\r\n", 1)
        assert body1 == body2
        lines1 = head1.split(b"\r\n")
        status = lines1[0].split(b" ")[1]
        assert head2.split(b"\r\n")[0] == b"HTTP/2 " + status + b" "
        fields1 = [l.split(b":", 1)[0].lower() + b":" + l.split(b":", 1)[1]
                   for l in lines1[1:] if not l.lower().startswith(b"connection:")]
        assert head2.split(b"\r\n")[1:] == fields1, path
    got = strip_date(curl("-i", "--http2-prior-knowledge", base + "/hour"))
    assert b"cache-control: max-age=3600\r\n" in got and b"expires: " in got
    got = strip_date(curl("-i", "--http2-prior-knowledge", base + "/nostore"))
    assert got.startswith(b"HTTP/2 302 \r\nlocation: /t\r\ncache-control: no-store\r\n")
    # HEAD: the fields, no body
    got = strip_date(curl("-i", "-I", "--http2-prior-knowledge", base + "/a"))
    assert got == (b"HTTP/2 301 \r\nlocation: /v1\r\ncontent-type: text/html; charset=utf-8\r\n"
                   b"content-length: 90\r\n\r\n")


def test_h2_over_tls_by_alpn(tls_server, pki):
    t = tls_server(conf_extra="hsts max-age=600\n", rules=rules())
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "h2,http/1.1")
    assert "ALPN protocol: h2" in out
    got = strip_date(curl("-i", "--http2", "--cacert", str(pki / "ca.pem"), "--resolve",
                          "a.test:%d:127.0.0.1" % t.tls_port,
                          "https://a.test:%d/x" % t.tls_port))
    assert got == (b"HTTP/2 308 \r\n"
                   b"location: https://new.test/y\r\n"
                   b"strict-transport-security: max-age=600\r\n"
                   b"content-type: text/html; charset=utf-8\r\n"
                   b"content-length: 106\r\n\r\n"
                   b"<!DOCTYPE html>\n<title>308 Permanent Redirect</title>\n"
                   b"<p><a href=\"https://new.test/y\">Redirecting</a></p>\n")
    # many streams on one connection: every answer right
    urls = []
    for i in range(30):
        urls += ["-o", "/dev/null", "https://a.test:%d/x?%d" % (t.tls_port, i)]
    out = curl("--http2", "-s", "-w", "%{http_version} %{http_code} %{redirect_url}\n",
               "--cacert", str(pki / "ca.pem"), "--resolve", "a.test:%d:127.0.0.1" % t.tls_port,
               *urls)
    assert out.decode().splitlines() == ["2 308 https://new.test/y?%d" % i for i in range(30)]
    # the access log and the metrics see them
    t.srv.wait_log('"GET /x HTTP/2.0" 308 ', log="access")
    m = metrics(t.admin_port)
    assert 'detour_protocol_requests_total{protocol="HTTP/2"} 31' in m
    assert 'detour_protocol_requests_total{protocol="HTTP/1.x"} 0' in m


def test_nghttp_verbose(make_server):
    s = make_server(rules())
    p = subprocess.run(["nghttp", "-nv", "http://127.0.0.1:%d/hour" % s.port],
                       capture_output=True, timeout=20, text=True)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]" in out
    assert "[SETTINGS_HEADER_TABLE_SIZE(0x01):4096]" in out
    assert "[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):32768]" in out
    assert "[SETTINGS_INITIAL_WINDOW_SIZE(0x04):1048576]" in out  # `limit body`
    assert re.search(r"recv \(stream_id=\d+\) :status: 301", out)
    assert re.search(r"recv \(stream_id=\d+\) location: /t\n", out)
    assert re.search(r"recv \(stream_id=\d+\) cache-control: max-age=3600\n", out)
    assert "recv DATA frame <length=89, flags=0x01" in out
    assert "; END_STREAM" in out


def test_post_through_307_over_h2(tls_server, pki, sink):
    t = tls_server(rules=rules(sink))
    body = b"name=detour&" + b"x" * 200000  # over the 64 KiB window: flow control
    (tmp := t.srv.dir / "body").write_bytes(body)
    out = curl("--http2", "-L", "-s", "-w", "\n%{num_redirects}",
               "--cacert", str(pki / "ca.pem"), "--resolve", "a.test:%d:127.0.0.1" % t.tls_port,
               "--data-binary", "@" + str(tmp), "https://a.test:%d/form" % t.tls_port)
    assert out == b"ok\n1"
    assert Sink.got == [("POST", "/sink", body)]
    t.srv.wait_log('"POST /form HTTP/2.0" 307 ', log="access")


def test_h2c_body_skipped_and_big_header_refused(make_server):
    s = make_server(rules())
    base = "http://127.0.0.1:%d" % s.port
    (body := s.dir / "body").write_bytes(b"y" * 150000)
    # a body bigger than the default window (curl 7.88 stops sending it once answered,
    # and then cannot reuse the connection, with h2o too: not checked here)
    out = curl("--http2-prior-knowledge", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "--data-binary", "@%s" % body, base + "/a")
    assert out == b"301"
    # nghttp sends all of a 900 kB body, whatever the answer: WINDOW_UPDATEs, then the end
    (big := s.dir / "big").write_bytes(b"z" * 900000)
    p = subprocess.run(["nghttp", "-v", "-d", str(big), base + "/a"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "recv WINDOW_UPDATE" in p.stdout and ":status: 301" in p.stdout
    # over `limit body` (1 MiB): 413 at once, as in HTTP/1.1
    (huge := s.dir / "huge").write_bytes(b"z" * 1100000)
    out = curl("--http2-prior-knowledge", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "--data-binary", "@%s" % huge, base + "/a")
    assert out == b"413"
    # a header list over `limit header-bytes` (32 KiB): 431, as in HTTP/1.1
    out = curl("--http2-prior-knowledge", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "-H", "x-big: " + "b" * 40000, base + "/a")
    assert out == b"431"


def test_http2_off(tls_server, make_server):
    t = tls_server(conf_extra="http2 off\n")
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "h2,http/1.1")
    assert "ALPN protocol: http/1.1" in out
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "h2")
    assert "alert no application protocol" in out
    # the preface is then an HTTP/1.1 request line, and a bad one
    s = make_server(rules(), conf_extra="http2 off\n")
    with socket.create_connection((s.host, s.port), timeout=5) as c:
        c.sendall(PREFACE + settings())
        got = c.recv(4096)
    assert got.startswith(b"HTTP/1.1 400 Bad Request\r\n")  # "PRI *": not OPTIONS


def test_maintenance_page_over_h2(make_server, tmp_path):
    """A 100 kB maintenance page (bigger than a stream's default window and than the
    response scratch buffer): the same status, fields and bytes as over HTTP/1.1."""
    page = "<html>" + "down for now " * 8000 + "</html>"
    (tmp_path / "page.html").write_text(page)
    s = make_server(rules(), conf_extra="maintenance - retry-after=120 page=%s on\n"
                    % (tmp_path / "page.html"))
    base = "http://127.0.0.1:%d" % s.port
    for _ in range(2):  # the second on a fresh connection after the buffer shrank back
        h2 = strip_date(curl("-i", "--http2-prior-knowledge", base + "/a"))
        h1 = strip_date(curl("-i", "--http1.1", base + "/a"))
        assert h2.startswith(b"HTTP/2 503 \r\n")
        assert b"retry-after: 120\r\n" in h2 and b"cache-control: no-store\r\n" in h2
        assert h2.split(b"\r\n\r\n", 1)[1] == h1.split(b"\r\n\r\n", 1)[1] == page.encode()
    # nghttp with a 16 KiB window: the body arrives through WINDOW_UPDATEs
    p = subprocess.run(["nghttp", "-w", "14", "-W", "14", base + "/a"], capture_output=True,
                       timeout=20)
    assert p.returncode == 0 and p.stdout == page.encode()


def test_oversized_answer_memory_is_counted_exactly(make_server):
    """An answer bigger than the session's 4 KiB render buffer (a query of 1,000 `&` kept in
    Location and body, about 6 kB: its frames fit the connection's own 8 KiB) grows that
    buffer and takes a stream buffer of its own: both count against `limit buffer-memory`
    while they exist and are given back after, while the connection stays open. Before, the
    growth was counted through c->out swapped for the render buffer, and the count stayed at
    206,848 bytes until the connection closed."""
    aport = free_port()
    s = make_server(rules(), conf_extra="admin 127.0.0.1:%d\n" % aport)
    held = re.compile(r"^detour_connection_buffer_bytes (\d+)$", re.M)
    with h2c(s) as c:
        for sid in (1, 3):
            c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                            request_block(path=b"/a?" + b"&" * 1000)))
            frames, eof = read_frames(c, until=lambda f: f[0] == DATA and f[1] & END_STREAM)
            assert not eof
            body = b"".join(f[3] for f in frames if f[0] == DATA and f[2] == sid)
            assert body == ("<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
                            "<p><a href=\"/v1?%s\">Redirecting</a></p>\n"
                            % ("&amp;" * 1000)).encode()
            assert wait_until(lambda: held.search(metrics(aport)).group(1) == "0", timeout=5), \
                metrics(aport)


# ---- raw frames: limits and abuse ------------------------------------------------------

def test_raw_request_and_settings(make_server):
    s = make_server(rules())
    with h2c(s) as c:
        c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block()))
        frames, eof = read_frames(c, until=lambda f: f[0] == DATA and f[1] & END_STREAM)
    assert not eof
    st = [f for f in frames if f[0] == SETTINGS and not f[1] & ACK][0]
    got = dict(struct.unpack(">HI", st[3][i:i + 6]) for i in range(0, len(st[3]), 6))
    assert got == {3: 100, 1: 4096, 6: 32768, 2: 0, 4: 1 << 20, 9: 1}
    assert any(f[0] == SETTINGS and f[1] & ACK for f in frames)
    hdr = [f for f in frames if f[0] == HEADERS][0]
    assert hdr[2] == 1 and hdr[1] & END_HEADERS
    assert [f[3] for f in frames if f[0] == DATA] == [
        b"<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
        b"<p><a href=\"/v1\">Redirecting</a></p>\n"]


def test_rapid_reset_gets_goaway_enhance_your_calm(make_server):
    s = make_server(rules())
    with h2c(s) as c:
        burst = b"".join(frame(HEADERS, END_HEADERS, sid, request_block()) +
                         frame(RST_STREAM, 0, sid, struct.pack(">I", 0x8))  # CANCEL
                         for sid in range(1, 2 * 1000, 2))
        try:
            c.sendall(burst)
        except (BrokenPipeError, ConnectionResetError):
            pass
        frames, eof = read_frames(c, until=is_goaway, timeout=10)
    assert goaway_code(frames) == ENHANCE_YOUR_CALM
    # fewer than all of them were answered
    assert len([f for f in frames if f[0] == HEADERS]) < 1000


def test_continuation_flood_is_cut_off(make_server):
    s = make_server(rules())
    with h2c(s) as c:
        c.sendall(frame(HEADERS, 0, 1, request_block()))
        sent = 0
        try:
            for i in range(2000):
                c.sendall(frame(CONTINUATION, 0, 1, literal(b"x-f%d" % i, b"v" * 100)))
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        frames, eof = read_frames(c, until=is_goaway, timeout=10)
        assert goaway_code(frames) == ENHANCE_YOUR_CALM
        # and the connection is closed
        frames, eof = read_frames(c, timeout=5)
        assert eof
    assert not any(f[0] == HEADERS for f in frames)


def test_empty_continuation_flood_is_cut_off(make_server):
    s = make_server(rules())
    with h2c(s) as c:
        c.sendall(frame(HEADERS, 0, 1, request_block()) +
                  frame(CONTINUATION, 0, 1) * 100)
        frames, eof = read_frames(c, until=is_goaway, timeout=10)
    assert goaway_code(frames) == ENHANCE_YOUR_CALM


def test_client_that_never_opens_its_window_is_timed_out(make_server):
    s = make_server(rules(), conf_extra="timeout header 1s\n")
    with h2c(s, settings(initial_window_size=0)) as c:
        c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block()))
        t0 = time.monotonic()
        frames, eof = read_frames(c, timeout=6)
        took = time.monotonic() - t0
    assert eof and 0.5 < took < 4
    assert any(f[0] == HEADERS for f in frames)
    assert not any(f[0] == DATA for f in frames)  # no window, no body
    assert goaway_code(frames) == NO_ERROR


def test_settings_never_acknowledged(make_server):
    s = make_server(rules(), conf_extra="timeout header 1s\ntimeout keepalive 1s\n")
    with h2c(s, ack=False) as c:
        t0 = time.monotonic()
        frames, eof = read_frames(c, timeout=6)
        took = time.monotonic() - t0
    assert eof and 0.5 < took < 4
    assert goaway_code(frames) == SETTINGS_TIMEOUT


def test_bad_preface_and_frames(make_server):
    s = make_server(rules())
    # a wrong frame right after the preface: a connection error
    with socket.create_connection((s.host, s.port), timeout=5) as c:
        c.sendall(PREFACE + frame(DATA, 0, 0, b"x"))
        frames, eof = read_frames(c, timeout=5)
    assert eof and goaway_code(frames) == PROTOCOL_ERROR
    # uppercase field names are malformed (RFC 9113 §8.2.1): the stream is reset
    with h2c(s) as c:
        c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                        request_block(extra=[(b"X-Up", b"1")])))
        frames, eof = read_frames(c, until=lambda f: f[0] in (RST_STREAM, GOAWAY))
    assert frames[-1][0] in (RST_STREAM, GOAWAY)
    # and the server still answers
    out = curl("--http2-prior-knowledge", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "http://127.0.0.1:%d/a" % s.port)
    assert out == b"301"


def test_goaway_on_sigterm(make_server):
    s = make_server(rules())
    with h2c(s) as c:
        c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block()))
        read_frames(c, until=lambda f: f[0] == DATA and f[1] & END_STREAM)
        s.signal(signal.SIGTERM)
        frames, eof = read_frames(c, timeout=8)
    assert goaway_code(frames) == NO_ERROR
    assert struct.unpack(">I", [f for f in frames if f[0] == GOAWAY][0][3][:4])[0] == 1
    assert eof
    s.proc.wait(10)
    assert s.proc.returncode == 0


def test_concurrent_stream_limit(make_server):
    s = make_server(rules())
    with h2c(s, settings(initial_window_size=0)) as c:
        # 101 open streams whose answers cannot finish (no window): the 101st is over
        # SETTINGS_MAX_CONCURRENT_STREAMS. nghttp2 makes it a connection error (RFC 9113
        # §5.1.2 allows a stream error; §5.4.1 a connection error is the stricter reading):
        # GOAWAY PROTOCOL_ERROR naming the 100th stream as the last one processed.
        c.sendall(b"".join(frame(HEADERS, END_STREAM | END_HEADERS, sid, request_block())
                           for sid in range(1, 2 * 101 + 1, 2)))
        frames, eof = read_frames(c, timeout=5)
    g = [f for f in frames if f[0] == GOAWAY]
    assert g and struct.unpack(">II", g[0][3][:8]) == (199, PROTOCOL_ERROR)
    assert b"max concurrent streams exceeded" in g[0][3]
    assert eof
