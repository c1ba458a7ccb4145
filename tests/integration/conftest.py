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


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


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
        listen_lines = listen or ["127.0.0.1:%d" % self.port]
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
