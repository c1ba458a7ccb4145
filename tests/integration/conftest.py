"""Fixtures that start the real detour binary on free loopback ports.

DETOUR_BIN names the binary (the Makefile sets it to build/asan/detour).
Every server started here is stopped (SIGTERM, then SIGKILL after 10 s) by
the fixture that started it; its stderr is kept for assertions."""
import os
import signal
import socket
import subprocess
import time

import pytest

BIN = os.environ.get("DETOUR_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "detour")
BIN = os.path.abspath(BIN)


_given = set()


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A loopback port nothing listens on, never the same twice in one run.
    The kernel may hand back a port it gave a moment ago, since the probe
    socket is closed before the caller binds it: two listeners of one test
    (pebble's ACME and management ports, say) then collide."""
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _given:
            _given.add(port)
            return port


def wait_port(host, port, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("detour exited early with %s: %s" % (proc.returncode, proc.stderr_text()))
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect((host, port))
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("detour did not listen on %s:%d" % (host, port))


class Server:
    """A running `detour serve` with its config directory."""

    def __init__(self, tmp_path, rules, conf_extra="", workers=1, listen=None, rules_files=None):
        self.dir = tmp_path
        self.port = free_port()
        self.host = "127.0.0.1"
        self.rules_path = tmp_path / "site.rules"
        self.rules_path.write_text(rules)
        self.access_log = tmp_path / "access.log"
        self.error_log = tmp_path / "error.log"
        # "{port}" in a listen line stands for this server's port.
        listen_lines = [l.replace("{port}", str(self.port)) for l in listen] if listen else [
            "127.0.0.1:%d" % self.port]
        conf = "".join("listen %s\n" % l for l in listen_lines)
        conf += "workers %d\n" % workers
        conf += "rules site.rules\n"
        for f in rules_files or []:
            conf += "rules %s\n" % f
        conf += "access-log access.log\n"
        conf += "error-log error.log\n"
        conf += conf_extra
        self.conf_path = tmp_path / "detour.conf"
        self.conf_path.write_text(conf)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve", "-c", str(self.conf_path)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=str(self.dir))
        self.proc.stderr_text = lambda: self.read_error_log()
        wait_port(self.host, self.port, self.proc)
        return self

    def read_error_log(self):
        try:
            return self.error_log.read_text()
        except FileNotFoundError:
            return ""

    def url(self, path):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def wait_log(self, needle, timeout=10.0, log="error"):
        path = self.error_log if log == "error" else self.access_log
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = path.read_text()
            except FileNotFoundError:
                text = ""
            if needle in text:
                return text
            time.sleep(0.02)
        raise AssertionError("%r not in %s log:\n%s" % (needle, log, text))


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(rules, **kw):
        sub = tmp_path / ("s%d" % len(servers))
        sub.mkdir()
        s = Server(sub, rules, **kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        rc = s.stop()
        # A sanitizer report or a crash fails the test that started it.
        assert rc == 0, "detour exited with %s; error log:\n%s\nstderr:\n%s" % (
            rc, s.read_error_log(), s.proc.stderr.read().decode(errors="replace"))


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """Like make_server, but the servers live for the whole test module
    (for tests that do not change the server's state)."""
    servers = []

    def make(rules, **kw):
        sub = tmp_path_factory.mktemp("srv")
        s = Server(sub, rules, **kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        rc = s.stop()
        assert rc == 0, "detour exited with %s; error log:\n%s\nstderr:\n%s" % (
            rc, s.read_error_log(), s.proc.stderr.read().decode(errors="replace"))


def raw(server, data, timeout=5.0, shut=False, read_until_close=True):
    """Sends bytes on a fresh connection and returns everything read until the
    server closes (or until timeout)."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
        return b"".join(chunks)


def split_responses(data):
    """Splits a byte stream of HTTP/1.1 responses (with Content-Length) into
    (status, headers dict (lower-case names), body) triples."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "incomplete response: %r" % data
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        n = int(headers.get("content-length", "0"))
        if status == 100:
            n = 0
        out.append((status, headers, rest[:n], lines[0].decode()))
        data = rest[n:]
    return out


# ---- helpers for exact-bytes tests (test_server, test_http1, test_reload, ...) ----

import calendar
import re

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# IMF-fixdate, RFC 9110 §5.6.7: "Sun, 06 Nov 1994 08:49:37 GMT"
IMF_FIXDATE = re.compile(r"^(%s), (\d\d) (%s) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$" % (
    "|".join(WEEKDAYS), "|".join(MONTHS)))

REASONS = {
    100: "Continue", 301: "Moved Permanently", 302: "Found", 303: "See Other",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
    404: "Not Found", 408: "Request Timeout", 410: "Gone", 413: "Content Too Large",
    414: "URI Too Long", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 505: "HTTP Version Not Supported",
}


def parse_http_date(value):
    """Checks that value is an IMF-fixdate whose weekday is right and returns
    its Unix time."""
    m = IMF_FIXDATE.match(value)
    assert m, "not an IMF-fixdate: %r" % value
    wd, day, mon, year, hh, mm, ss = m.groups()
    t = calendar.timegm((int(year), MONTHS.index(mon) + 1, int(day), int(hh), int(mm), int(ss)))
    assert time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t)) == value, value
    return t


def html_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def redirect_body(status, location):
    return ("<!DOCTYPE html>\n<title>%d %s</title>\n<p><a href=\"%s\">Redirecting</a></p>\n" % (
        status, REASONS[status], html_escape(location))).encode()


def status_body(status):
    """The body of a response without a Location (404, 410, parser errors)."""
    return ("<!DOCTYPE html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n" % (
        status, REASONS[status], status, REASONS[status])).encode()


DATE_PLACEHOLDER = b"Date: <date>\r\n"


def expected_response(status, location=None, *, head=False, connection=None, cache=None,
                      server=False):
    """The exact bytes detour sends, with the Date header replaced by
    DATE_PLACEHOLDER (see mask_date). cache: None, "no-store" or max-age
    seconds (the Expires value is checked by check_expires)."""
    lines = ["HTTP/1.1 %d %s" % (status, REASONS[status])]
    head_bytes = b""
    if server:
        lines.append("Server: detour")
    if location is not None:
        lines.append("Location: %s" % location)
    if cache == "no-store":
        lines.append("Cache-Control: no-store")
    elif cache is not None:
        lines.append("Cache-Control: max-age=%d" % cache)
        lines.append("Expires: <expires>")
    body = redirect_body(status, location) if location is not None else status_body(status)
    lines.append("Content-Type: text/html; charset=utf-8")
    lines.append("Content-Length: %d" % len(body))
    if connection:
        lines.append("Connection: %s" % connection)
    first, rest = lines[0], lines[1:]
    head_bytes = (first + "\r\n").encode() + DATE_PLACEHOLDER + "".join(
        l + "\r\n" for l in rest).encode() + b"\r\n"
    return head_bytes if head else head_bytes + body


DATE_LINE = re.compile(rb"\r\nDate: ([^\r\n]*)\r\n")
EXPIRES_LINE = re.compile(rb"\r\nExpires: ([^\r\n]*)\r\n")


def mask_date(resp):
    """Checks the Date header of one response (it must come right after the
    status line) and replaces its value by <date>; an Expires value must be
    the Date plus the max-age and is replaced by <expires>. Returns the masked
    bytes."""
    m = DATE_LINE.search(resp)
    assert m, "no Date header in %r" % resp
    first_line_end = resp.index(b"\r\n")
    assert m.start() == first_line_end, "Date is not the first header: %r" % resp
    date = parse_http_date(m.group(1).decode())
    assert abs(date - time.time()) < 5, "Date %r is not now" % m.group(1)
    out = resp[:m.start()] + b"\r\n" + DATE_PLACEHOLDER + resp[m.end():]
    e = EXPIRES_LINE.search(out)
    if e:
        ma = re.search(rb"\r\nCache-Control: max-age=(\d+)\r\n", out)
        assert ma, "Expires without max-age: %r" % resp
        assert parse_http_date(e.group(1).decode()) == date + int(ma.group(1)), resp
        out = out[:e.start()] + b"\r\nExpires: <expires>\r\n" + out[e.end():]
    return out


class Conn:
    """A raw client connection that reads whole responses (framed by
    Content-Length) from a buffer, for pipelining and exact-bytes tests."""

    def __init__(self, server, timeout=5.0, family=None, host=None, nodelay=True):
        host = host or server.host
        self.s = socket.create_connection((host, server.port), timeout=timeout)
        if nodelay:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def send_bytewise(self, data, pause=0.0005):
        for i in range(len(data)):
            self.s.sendall(data[i:i + 1])
            if pause:
                time.sleep(pause)

    def _fill(self, deadline):
        self.s.settimeout(max(0.01, deadline - time.monotonic()))
        b = self.s.recv(65536)
        if not b:
            raise EOFError("connection closed with %r buffered" % self.buf)
        self.buf += b

    def read_response(self, head=False, timeout=None):
        """Returns the raw bytes of the next response. head: the request
        was HEAD (no body whatever Content-Length says)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        end = self.buf.index(b"\r\n\r\n") + 4
        status = int(self.buf[9:12])
        n = 0
        if not head and status >= 200:
            m = re.search(rb"\r\nContent-Length: (\d+)\r\n", self.buf[:end], re.I)
            n = int(m.group(1)) if m else 0
        while len(self.buf) < end + n:
            self._fill(deadline)
        resp, self.buf = self.buf[:end + n], self.buf[end + n:]
        return resp

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until_close(self, timeout=None):
        """Reads until the server closes; fails if it does not within the
        timeout. Returns what came (buffered bytes included)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                raise AssertionError("the server did not close; got %r" % self.buf)
            if not b:
                out, self.buf = self.buf, b""
                return out
            self.buf += b

    def assert_closed(self, timeout=None):
        rest = self.read_until_close(timeout)
        assert rest == b"", "unexpected bytes before close: %r" % rest

    def assert_silent(self, wait):
        """Nothing arrives (and the connection stays open) for wait seconds."""
        self.s.settimeout(wait)
        try:
            b = self.s.recv(65536)
        except socket.timeout:
            return
        raise AssertionError("expected nothing, got %r" % b)


def get(path, host="x", extra=b"", method=b"GET", version=b"HTTP/1.1"):
    """A request head as bytes."""
    if isinstance(path, str):
        path = path.encode()
    h = b"Host: %s\r\n" % host.encode() if host is not None else b""
    return method + b" " + path + b" " + version + b"\r\n" + h + extra + b"\r\n"


def has_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def run_detour(args, cwd=None, timeout=30, input=None):
    """Runs the binary to completion; returns (exit status, stdout, stderr) as text."""
    p = subprocess.run([BIN] + list(args), cwd=cwd, capture_output=True, timeout=timeout,
                       input=input)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def wait_until(pred, timeout=5.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("condition not met within %.1f s" % timeout)
