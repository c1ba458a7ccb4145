"""Faults (issue 11, "Proof that it stays up"): the state directory on a full
file system and on a read-only one, the access log on a full disk, and the
descriptor limit at the connection cap. Each file system is a small tmpfs
mounted by the test (root only) and unmounted in its teardown."""
import http.client
import json
import os
import re
import resource
import socket
import subprocess
import time

import pytest

from conftest import BIN, Server, free_port, wait_port

RULES = "/old /new 301\n"


@pytest.fixture
def tmpfs(tmp_path):
    """mount(SIZE) mounts a tmpfs of SIZE (e.g. "2m") and returns its path."""
    mounts = []
    if os.geteuid() != 0:
        pytest.skip("mounts a tmpfs: needs root")

    def mount(size, name="fs"):
        d = tmp_path / ("%s%d" % (name, len(mounts)))
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", str(d)],
                           capture_output=True, text=True)
        if r.returncode:
            pytest.skip("cannot mount a tmpfs: %s" % r.stderr.strip())
        mounts.append(d)
        return d

    yield mount
    for d in reversed(mounts):
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(d, name="filler"):
    """Fills the file system of d to the last byte; returns the file."""
    p = d / name
    fd = os.open(str(p), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return p


class AdminServer(Server):
    def __init__(self, tmp_path, state_dir, rules=RULES, extra="", access_log=None):
        self.admin_port = free_port()
        conf = "admin 127.0.0.1:%d\nstate-dir %s\nstats-flush 1s\n%s" % (self.admin_port, state_dir, extra)
        super().__init__(tmp_path, rules, conf_extra=conf)
        if access_log:
            text = self.conf_path.read_text().replace("access-log access.log\n", "access-log %s\n" % access_log)
            self.conf_path.write_text(text)

    def start(self):
        super().start()
        wait_port(self.host, self.admin_port, self.proc)
        return self

    def req(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.admin_port, timeout=10)
        h = {"Host": "127.0.0.1:%d" % self.admin_port}
        data = json.dumps(body) if body is not None else None
        if data is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        headers = dict(r.getheaders())
        c.close()
        return r.status, (json.loads(text) if text else None), headers


def get(port, path, host="127.0.0.1"):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, r.getheader("Location")


def api_ids(s):
    st, js, _ = s.req("GET", "/rules?origin=api")
    assert st == 200
    return {r["id"] for r in js["rules"]}


def stop_ok(s):
    rc = s.stop()
    assert rc == 0, "detour exited with %s; error log:\n%s" % (rc, s.read_error_log())


def test_state_dir_full_507_and_nothing_acknowledged_is_lost(tmp_path, tmpfs):
    state = tmpfs("2m", "state")
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    s = AdminServer(srv_dir, state).start()
    try:
        st, js, _ = s.req("POST", "/rules", {"rule": "/before /kept-before 302 id=before"})
        assert st == 201, js
        filler = fill(state)
        acked, refused = {"before"}, set()
        pad = "x" * 1500
        for i in range(400):
            rid = "r%d" % i
            st, js, hdr = s.req("POST", "/rules", {"rule": "/p%d /t/%s 302 id=%s" % (i, pad, rid)})
            if st == 201:
                acked.add(rid)
                continue
            # The cause, and that nothing of it was stored.
            assert st == 507, (st, js)
            assert js["cause"] == "disk full" and js["stored"] is False, js
            assert "full" in js["error"], js
            refused.add(rid)
            if len(refused) >= 5:
                break
        assert refused, "the state never filled up"
        # Redirects are still answered, and what the API acknowledged serves.
        assert get(s.port, "/old") == (301, "/new")
        assert get(s.port, "/before") == (302, "/kept-before")
        # Maintenance through the API is refused the same way, and not applied.
        st, js, _ = s.req("POST", "/maintenance", {"on": True, "status": 503, "target": "-"})
        if st != 200:
            assert st == 507 and js["cause"] == "disk full", js
            assert get(s.port, "/old") == (301, "/new")
        assert s.read_error_log().count("database or disk is full") >= 1
        stop_ok(s)
        filler.unlink()
        s.start()
        ids = api_ids(s)
        assert acked <= ids, "acknowledged rules lost: %s" % (acked - ids)
        assert not (refused & ids), "refused rules stored: %s" % (refused & ids)
    finally:
        s.stop()


def test_state_dir_read_only_503(tmp_path, tmpfs):
    state = tmpfs("4m", "state")
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    s = AdminServer(srv_dir, state).start()
    try:
        st, js, _ = s.req("POST", "/rules", {"rule": "/a /kept-a 302 id=a"})
        assert st == 201, js
        st, js, _ = s.req("POST", "/rules", {"rule": "/t /kept-t 302 id=t", "ttl": "4s"})
        assert st == 201, js
        stop_ok(s)
        r = subprocess.run(["mount", "-o", "remount,ro", str(state)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        s.start()
        # The stored rules serve; reading the API works.
        assert get(s.port, "/a") == (302, "/kept-a")
        assert api_ids(s) == {"a", "t"}
        # A rule whose ttl runs out stops serving though it cannot be
        # deleted, without an error a second.
        deadline = time.monotonic() + 8
        while get(s.port, "/t")[0] != 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert get(s.port, "/t")[0] == 404
        time.sleep(1.5)
        assert "expiring API rules" not in s.read_error_log()
        # A change is refused with the cause, and a retry hint.
        st, js, hdr = s.req("POST", "/rules", {"rule": "/b /kept-b 302 id=b"})
        assert st == 503, (st, js)
        assert js["cause"] == "read-only" and js["stored"] is False, js
        assert hdr.get("Retry-After") == "10"
        st, js, _ = s.req("DELETE", "/rules/a")
        assert st == 503 and js["cause"] == "read-only", (st, js)
        assert get(s.port, "/a") == (302, "/kept-a")
        assert "read-only" in s.read_error_log()
        stop_ok(s)
        subprocess.run(["mount", "-o", "remount,rw", str(state)], check=True)
        s.start()
        assert api_ids(s) == {"a"}  # the writable start expired t
    finally:
        s.stop()


def metric(s, name):
    c = http.client.HTTPConnection(s.host, s.admin_port, timeout=10)
    c.request("GET", "/metrics", headers={"Host": "127.0.0.1:%d" % s.admin_port})
    text = c.getresponse().read().decode()
    c.close()
    m = re.search(r"^%s (\d+)$" % name, text, re.M)
    assert m, text
    return int(m.group(1))


def test_access_log_disk_full_drops_and_counts(tmp_path, tmpfs):
    logs = tmpfs("1m", "logs")
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    log = logs / "access.log"
    s = AdminServer(srv_dir, srv_dir / "state", access_log=str(log)).start()
    try:
        assert get(s.port, "/old") == (301, "/new")
        time.sleep(1.2)
        assert "GET /old" in log.read_text()
        filler = fill(logs)
        assert metric(s, "detour_accesslog_dropped_total") == 0
        t0 = time.monotonic()
        for i in range(300):
            assert get(s.port, "/old?n=%d" % i) == (301, "/new?n=%d" % i)
        took = time.monotonic() - t0
        assert took < 20, "requests slowed down by the full log disk: %.1f s" % took
        # Flushed at least once a second: each line is written (into the
        # last page the file had) or dropped and counted, none is lost
        # silently. A write the full disk cut short leaves the start of a
        # line that counts as dropped: only whole lines count as written.
        deadline = time.monotonic() + 5
        while True:
            whole = log.read_text(errors="replace").split("\n")[:-1]
            written = sum("GET /old?n=" in line for line in whole)
            dropped = metric(s, "detour_accesslog_dropped_total")
            if written + dropped >= 300 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert dropped > 200 and written + dropped == 300, (written, dropped)
        text = s.wait_log("access log: write: No space left on device")
        assert text.count("access log: write:") == 1, "the error is said once, not per flush"
        filler.unlink()
        assert get(s.port, "/old?after=1") == (301, "/new?after=1")
        s.wait_log("access log: writing again")
        assert "/old?after=1" in log.read_text()
    finally:
        s.stop()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_emfile_pauses_accept_and_resumes(tmp_path):
    limit = 48

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    s = Server(tmp_path, RULES, conf_extra="max-connections 10000\ntimeout keepalive 60s\n")
    s.proc = subprocess.Popen([BIN, "serve", "-c", str(s.conf_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=str(s.dir), preexec_fn=low_nofile)
    held = []
    try:
        wait_port(s.host, s.port, s.proc)
        time.sleep(0.3)  # the probe's connection is gone
        # Open keep-alive connections until one is no longer answered.
        stuck = None
        for i in range(limit + 20):
            c = socket.create_connection((s.host, s.port), timeout=2)
            c.sendall(b"GET /old HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = c.recv(4096)
            except socket.timeout:
                stuck = c
                break
            assert data.startswith(b"HTTP/1.1 301 "), data
            held.append(c)
        assert stuck is not None, "never ran out of descriptors"
        assert len(held) > 5
        s.wait_log("pausing accept")
        # Paused, not spinning: little CPU while the limit holds.
        cpu0 = cpu_seconds(s.proc.pid)
        time.sleep(2)
        used = cpu_seconds(s.proc.pid) - cpu0
        assert used < 0.5, "busy loop at EMFILE: %.2f s of CPU in 2 s" % used
        # Serving continues on the connections it has.
        for c in held[:5]:
            c.sendall(b"GET /old HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(4096).startswith(b"HTTP/1.1 301 ")
        # Room again: the waiting connection is accepted and answered.
        for c in held[:5]:
            c.close()
        held = held[5:]
        stuck.settimeout(5)
        assert stuck.recv(4096).startswith(b"HTTP/1.1 301 ")
        stuck.close()
        assert get(s.port, "/old") == (301, "/new")
        text = s.wait_log("accepting again after")
        assert text.count("pausing accept") == 1, "the pause is logged once:\n" + text
    finally:
        for c in held:
            c.close()
        rc = s.stop()
    assert rc == 0, s.read_error_log()


def test_access_log_fifo_whose_reader_stalls(tmp_path):
    """A log shipper's FIFO whose reader stops reading: once the pipe is
    full, lines are dropped and counted; requests are still answered."""
    fifo = tmp_path / "access.fifo"
    os.mkfifo(str(fifo))
    # A reader that never reads (opened first: the server's open needs one).
    reader = os.open(str(fifo), os.O_RDONLY | os.O_NONBLOCK)
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    s = AdminServer(srv_dir, srv_dir / "state", access_log=str(fifo)).start()
    try:
        long = "x" * 2000  # about 2 KB a line: the 64 KiB pipe fills after ~30
        t0 = time.monotonic()
        for i in range(300):
            assert get(s.port, "/old?%s=%d" % (long, i))[0] == 301
            if i % 50 == 49:
                time.sleep(1.1)  # a flush a second
        assert time.monotonic() - t0 < 30
        deadline = time.monotonic() + 5
        while metric(s, "detour_accesslog_dropped_total") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert metric(s, "detour_accesslog_dropped_total") > 100
        assert "access log: write: Resource temporarily unavailable" in s.read_error_log()
    finally:
        s.stop()
        os.close(reader)
