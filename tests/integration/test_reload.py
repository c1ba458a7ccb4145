"""SIGHUP reloads under traffic (no request fails; a broken file keeps the old
rules answering and logs file:line:col; a fixed file then takes effect) and
SIGUSR1 reopens the logs (logrotate)."""
import http.client
import os
import re
import signal
import threading
import time

from conftest import Conn, expected_response, get, mask_date, wait_until


def write_atomic(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def location_of(server, path="/a"):
    with Conn(server) as c:
        c.send(get(path))
        raw = c.read_response()
    m = re.search(rb"\r\nLocation: ([^\r\n]*)\r\n", raw)
    return int(raw[9:12]), m.group(1).decode() if m else None


class Traffic:
    """Keeps requesting /a from a thread, alternating a keep-alive
    http.client connection and fresh raw connections; records every answer
    and every failure."""

    def __init__(self, server):
        self.server = server
        self.stop = threading.Event()
        self.seen = []       # (source, location) in order
        self.failures = []
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=5)
        sock_id = None
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                if i % 2:
                    conn.request("GET", "/a")
                    r = conn.getresponse()
                    r.read()
                    if sock_id is None:
                        sock_id = id(conn.sock)
                    if id(conn.sock) != sock_id:
                        self.failures.append("keep-alive connection was replaced")
                    st, loc = r.status, r.getheader("Location")
                    self.seen.append(("ka", loc))
                else:
                    st, loc = location_of(self.server)
                    self.seen.append(("new", loc))
                if st != 301:
                    self.failures.append("status %d" % st)
            except Exception as e:  # any failure at all is a test failure
                self.failures.append(repr(e))
        conn.close()

    def __enter__(self):
        self.t.start()
        wait_until(lambda: len(self.seen) >= 10, timeout=5)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(10)

    def count(self):
        return len(self.seen)


def test_reload_good_file_under_traffic(make_server):
    s = make_server("/a /v1 301\n", workers=2)
    with Traffic(s) as tr:
        write_atomic(s.rules_path, "/a /v2 301\n/b /other 302\n")
        s.signal(signal.SIGHUP)
        s.wait_log("info: reloaded: 2 rules in ")
        # every request that starts after the swap sees the new table
        for _ in range(20):
            assert location_of(s) == (301, "/v2")
        n = tr.count()
        wait_until(lambda: tr.count() >= n + 20, timeout=5)
    assert tr.failures == []
    locs = [l for _, l in tr.seen]
    assert set(locs) == {"/v1", "/v2"}, set(locs)
    # on the keep-alive connection (one worker) the switch happens once
    ka = [l for src, l in tr.seen if src == "ka"]
    first_v2 = ka.index("/v2")
    assert all(l == "/v1" for l in ka[:first_v2]) and all(l == "/v2" for l in ka[first_v2:])
    assert location_of(s, "/b") == (302, "/other")


def test_reload_broken_file_keeps_old_rules(make_server):
    s = make_server("/a /v1 301\n", workers=2)
    with Traffic(s) as tr:
        write_atomic(s.rules_path, "/a /v2 301\n/b  /c  999\n")
        s.signal(signal.SIGHUP)
        log = s.wait_log("reload failed: ")
        line = [l for l in log.splitlines() if "reload failed" in l][0]
        assert re.search(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ detour\[%d\] error: reload failed: %s:2:9: "
            r"unsupported status 999: expected 301, 302, 303, 307, 308 or 410; the old rules "
            r"keep serving$" % (s.proc.pid, re.escape(str(s.rules_path))), line), line
        n = tr.count()
        wait_until(lambda: tr.count() >= n + 20, timeout=5)
        assert location_of(s) == (301, "/v1")

        # a fixed file then takes effect
        write_atomic(s.rules_path, "/a /v3 301\n")
        s.signal(signal.SIGHUP)
        s.wait_log("info: reloaded: 1 rules in ")
        assert location_of(s) == (301, "/v3")
        n = tr.count()
        wait_until(lambda: tr.count() >= n + 20, timeout=5)
    assert tr.failures == []
    assert {l for _, l in tr.seen} <= {"/v1", "/v3"}
    assert tr.seen[-1][1] == "/v3"


def test_reload_errors_of_every_kind(make_server):
    s = make_server("/a /v1 301\n")
    cases = []

    # a rules file that cannot be read
    missing = s.dir / "missing.rules"
    s.conf_path.write_text(s.conf_path.read_text() + "rules missing.rules\n")
    cases.append("reload failed: %s: No such file or directory; the old rules keep serving"
                 % missing)
    s.signal(signal.SIGHUP)
    s.wait_log(cases[-1])
    assert location_of(s) == (301, "/v1")

    # a broken detour.conf: file:line:col, and the old configuration stays
    conf = s.conf_path.read_text().replace("rules missing.rules\n", "workers zero\n")
    s.conf_path.write_text(conf)
    nline = conf.count("\n")
    s.signal(signal.SIGHUP)
    s.wait_log("reload failed: %s:%d:9: expected 'auto' or a number of workers from 1 to 256, "
               "found \"zero\"; the old configuration and rules keep serving"
               % (s.conf_path, nline))
    assert location_of(s) == (301, "/v1")

    # a config that names a second, broken rules file
    (s.dir / "two.rules").write_text("# second file\n\n/x   relative-target\n")
    s.conf_path.write_text(conf.replace("workers zero\n", "rules two.rules\n"))
    s.signal(signal.SIGHUP)
    s.wait_log("reload failed: %s:3:6: expected a target" % (s.dir / "two.rules"))
    assert location_of(s) == (301, "/v1")

    # fixed: both files load, in order
    (s.dir / "two.rules").write_text("/a /shadowed 302\n/x /y 302\n")
    s.signal(signal.SIGHUP)
    s.wait_log("info: reloaded: 3 rules in ")
    assert location_of(s) == (301, "/v1")
    assert location_of(s, "/x") == (302, "/y")


def test_reload_applies_server_header_and_warns_on_restart_only_changes(make_server):
    s = make_server("/a /v1 301\n")
    assert exchange_bytes(s, "/a") == expected_response(301, "/v1")
    s.conf_path.write_text(s.conf_path.read_text() + "server-header on\ntimeout header 5s\n")
    s.signal(signal.SIGHUP)
    s.wait_log("info: reloaded: 1 rules in ")
    assert exchange_bytes(s, "/a") == expected_response(301, "/v1", server=True)
    assert ("warn: reload: listen, workers, max-connections, limit and timeout changes take "
            "effect at the next restart") in s.read_error_log()


def exchange_bytes(server, path):
    with Conn(server) as c:
        c.send(get(path))
        return mask_date(c.read_response())


def test_reload_moves_the_access_log(make_server):
    s = make_server("/a /v1 301 id=a\n")
    with Conn(s) as c:
        c.send(get("/a?first"))
        c.read_response()
    s.wait_log("/a?first", log="access", timeout=3)
    s.conf_path.write_text(s.conf_path.read_text().replace("access-log access.log",
                                                           "access-log moved.log"))
    s.signal(signal.SIGHUP)
    s.wait_log("info: reloaded: 1 rules in ")
    with Conn(s) as c:
        c.send(get("/a?second"))
        c.read_response()
    moved = s.dir / "moved.log"
    wait_until(lambda: moved.exists() and "/a?second" in moved.read_text(), timeout=3)
    assert "/a?second" not in s.access_log.read_text()
    assert "/a?first" not in moved.read_text()


def test_reload_with_the_config_file_gone(make_server):
    s = make_server("/a /v1 301\n")
    s.conf_path.unlink()
    s.signal(signal.SIGHUP)
    s.wait_log("error: reload failed: %s: cannot open: No such file or directory; the old "
               "configuration and rules keep serving" % s.conf_path)
    assert location_of(s) == (301, "/v1")


def test_reload_keeps_connections_and_pipelines(make_server):
    s = make_server("/a /v1 301\n")
    with Conn(s) as c:
        c.send(get("/a"))
        assert mask_date(c.read_response()) == expected_response(301, "/v1")
        write_atomic(s.rules_path, "/a /v2 308\n")
        s.signal(signal.SIGHUP)
        s.wait_log("info: reloaded: 1 rules in ")
        c.send(get("/a") * 3)
        for _ in range(3):
            assert mask_date(c.read_response()) == expected_response(308, "/v2")


def test_many_reloads_in_a_row(make_server):
    s = make_server("/a /v0 301\n", workers=2)
    with Traffic(s) as tr:
        for i in range(1, 21):
            write_atomic(s.rules_path, "/a /v%d 301\n" % i)
            s.signal(signal.SIGHUP)
            wait_until(lambda: s.read_error_log().count("info: reloaded:") >= i, timeout=5)
        assert location_of(s) == (301, "/v20")
    assert tr.failures == []


# ---- SIGUSR1: reopen the logs --------------------------------------------------------------

def test_sigusr1_reopens_access_and_error_logs(make_server):
    s = make_server("/a /v1 301 id=a\n")
    with Conn(s) as c:
        c.send(get("/a?before"))
        c.read_response()
    rotated = s.dir / "access.log.1"
    rotated_err = s.dir / "error.log.1"
    # logrotate: rename, then signal. The buffered line must end in the old
    # file (flushed before the reopen), later lines in the new one.
    s.access_log.rename(rotated)
    s.error_log.rename(rotated_err)
    s.signal(signal.SIGUSR1)
    wait_until(lambda: s.error_log.exists() and "info: logs reopened" in s.error_log.read_text())
    assert "GET /a?before HTTP/1.1" in rotated.read_text()
    with Conn(s) as c:
        c.send(get("/a?after"))
        c.read_response()
    s.wait_log('"GET /a?after HTTP/1.1" 301 ', log="access", timeout=3)
    assert "/a?after" not in rotated.read_text()
    assert "/a?before" not in s.access_log.read_text()
    assert "listening on" in rotated_err.read_text()
    assert "listening on" not in s.error_log.read_text()
    # the server keeps working and writes to the new files
    s.signal(signal.SIGHUP)
    s.wait_log("info: reloaded: 1 rules in ")
    assert "reloaded" not in rotated_err.read_text()


def test_sigusr1_flushes_the_access_log_at_once(make_server):
    s = make_server("/a /v1 301 id=a\n")
    with Conn(s) as c:
        for i in range(5):
            c.send(get("/a?n=%d" % i))
            c.read_response()
    s.signal(signal.SIGUSR1)
    s.wait_log("info: logs reopened")
    # the flush happened before "logs reopened" was written
    text = s.access_log.read_text()
    assert [l.split('"')[1] for l in text.splitlines()] == [
        "GET /a?n=%d HTTP/1.1" % i for i in range(5)]


def test_reload_reports_every_error_and_keeps_old_rules(make_server):
    """A reload of a file with several bad lines logs each (file:line:col),
    then one "reload failed" line naming the first and the count; the old
    rules keep serving, and POST /reload would say the same."""
    s = make_server("/a /v1 301\n")
    write_atomic(s.rules_path, "/a /v2 301\n/b\n/c /d 999\n/e /f 301 bogus=1\n")
    s.signal(signal.SIGHUP)
    log = s.wait_log("reload failed: ")
    p = re.escape(str(s.rules_path))
    lines = [re.sub(r"^\S+ detour\[\d+\] ", "", l) for l in log.splitlines()
             if "reload" in l and "error:" in l]
    assert len(lines) == 4, lines
    assert re.fullmatch(r"error: reload: %s:2:3: expected a target after the source: a path, "
                        r"an http\(s\) URL, or '-' \(with status 410\)" % p, lines[0]), lines
    assert re.fullmatch(r"error: reload: %s:3:7: unsupported status 999: expected 301, 302, "
                        r"303, 307, 308 or 410" % p, lines[1]), lines
    assert re.fullmatch(r"error: reload: %s:4:11: unknown option \"bogus\" .*" % p,
                        lines[2]), lines
    assert re.fullmatch(r"error: reload failed: %s:2:3: expected a target after the source: "
                        r"a path, an http\(s\) URL, or '-' \(with status 410\) \(and 2 more "
                        r"errors\); the old rules keep serving" % p, lines[3]), lines
    assert location_of(s) == (301, "/v1")
