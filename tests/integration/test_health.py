"""Health checks of mirror groups (docs/health.md): small origins on loopback
go up and down, and the weighted group follows them.

Each mirror is a Python http.server on its own loopback port that answers
HEAD /ping with 200 (or 503 when told to fail); stopping it closes the port
(connection refused) and starting it again reopens the same port."""
import http.client
import http.server
import json
import subprocess
import threading
import time

from conftest import BIN, free_port, wait_port, wait_until

INTERVAL = "health-check interval=200ms timeout=150ms rise=2 fall=2\n"


class Mirror:
    def __init__(self):
        self.port = free_port()
        self.status = 200
        self.pings = 0
        self.httpd = None

    def start(self):
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):
                mirror.pings += 1
                self.send_response(mirror.status if self.path == "/ping" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def origin(self):
        return "http://127.0.0.1:%d" % self.port


def rules(m1, m2, extra=""):
    return ("/download/*  %s/files/:splat  302  weight=1 health=/ping\n"
            "/download/*  %s/files/:splat  302  weight=1 health=/ping\n" % (m1.origin(), m2.origin())
            + extra)


def locations(srv, n=24, path="/download/a.iso"):
    """The Location of n GET requests (each must be a 302)."""
    out = []
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    for _ in range(n):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        assert r.status == 302
        out.append(r.getheader("Location"))
    c.close()
    return out


def wait_locations(srv, want, timeout=6.0):
    """Waits until every Location is in the set want; returns the last set seen."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = set(locations(srv))
        if seen == want:
            return seen
        time.sleep(0.1)
    raise AssertionError("locations %r, wanted %r; error log:\n%s" % (seen, want, srv.read_error_log()))


def test_mirror_down_and_up(make_server):
    m1, m2 = Mirror().start(), Mirror().start()
    try:
        srv = make_server(rules(m1, m2), conf_extra=INTERVAL)
        a, b = m1.origin() + "/files/a.iso", m2.origin() + "/files/a.iso"
        srv.wait_log("health checks: 2 targets, every 200 ms")
        assert set(locations(srv)) == {a, b}

        # m2 refuses connections: after fall=2 probes it leaves the group.
        m2.stop()
        srv.wait_log("mirror %s/ping down (" % m2.origin())
        assert set(locations(srv)) == {a}
        assert set(locations(srv, path="/download/x/y.tar.gz")) == {m1.origin() + "/files/x/y.tar.gz"}

        # Back: after rise=2 good probes it is used again.
        m2.start()
        srv.wait_log("mirror %s/ping up" % m2.origin())
        wait_locations(srv, {a, b})
        assert m1.pings >= 4
        log = srv.read_error_log()
        assert log.count("mirror %s/ping down" % m2.origin()) == 1
        assert log.count("mirror %s/ping up" % m2.origin()) == 1
        assert "mirror %s/ping" % m1.origin() not in log
        assert "no healthy target" not in log
    finally:
        m1.stop()
        m2.stop()


def test_http_503_and_all_down(make_server):
    m1, m2 = Mirror().start(), Mirror().start()
    try:
        srv = make_server(rules(m1, m2), conf_extra=INTERVAL)
        a, b = m1.origin() + "/files/a.iso", m2.origin() + "/files/a.iso"
        srv.wait_log("health checks: 2 targets")

        # A 503 is down, with the status in the log.
        m1.status = 503
        srv.wait_log("mirror %s/ping down (HTTP 503)" % m1.origin())
        wait_locations(srv, {b})

        # Every member down: the group uses all of them, and says so once.
        m2.status = 500
        text = srv.wait_log("no healthy target in group /download/* (")
        assert "mirror %s/ping down (HTTP 500)" % m2.origin() in text
        wait_locations(srv, {a, b})
        time.sleep(0.6)  # three more rounds: no new line
        assert srv.read_error_log().count("no healthy target in group") == 1
        line = [l for l in srv.read_error_log().splitlines() if "no healthy target" in l][0]
        assert line.endswith("site.rules:1): using all"), line
        assert " warn: " in line

        m1.status = 200
        srv.wait_log("group /download/* (")
        srv.wait_log("mirror %s/ping up" % m1.origin())
        wait_locations(srv, {a})
    finally:
        m1.stop()
        m2.stop()


def test_reload_reenumerates(make_server):
    m1, m2, m3 = Mirror().start(), Mirror().start(), Mirror().start()
    try:
        srv = make_server(rules(m1, m2), conf_extra=INTERVAL)
        srv.wait_log("health checks: 2 targets")
        m2.stop()
        srv.wait_log("mirror %s/ping down" % m2.origin())

        # The new rules keep m2 (still down: its state carries over) and
        # add m3 in a second group.
        srv.rules_path.write_text(rules(m1, m2) +
                                  "/get/*  %s/g/:splat  307  weight=1 health=/ping\n"
                                  "/get/*  %s/g/:splat  307  weight=1 health=/ping\n"
                                  % (m3.origin(), m2.origin()))
        import signal
        srv.signal(signal.SIGHUP)
        srv.wait_log("health checks: 4 targets")
        srv.wait_log("reloaded:")
        assert set(locations(srv)) == {m1.origin() + "/files/a.iso"}
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
        for _ in range(8):
            c.request("GET", "/get/z")
            r = c.getresponse()
            r.read()
            assert (r.status, r.getheader("Location")) == (307, m3.origin() + "/g/z")
        c.close()

        # Rules without health=: the prober stops; a later reload starts it.
        srv.rules_path.write_text("/download/*  %s/files/:splat  302\n" % m1.origin())
        srv.signal(signal.SIGHUP)
        time.sleep(0.5)
        srv.wait_log("reloaded:")
        assert set(locations(srv, n=3)) == {m1.origin() + "/files/a.iso"}
        pings = m1.pings
        time.sleep(0.6)
        assert m1.pings == pings
        assert srv.read_error_log().count("health checks:") == 2
    finally:
        m1.stop()
        m2.stop()
        m3.stop()


def test_config_errors(tmp_path):
    import subprocess
    from conftest import BIN
    conf = tmp_path / "detour.conf"
    (tmp_path / "site.rules").write_text("/a /b\n")
    conf.write_text("rules site.rules\nhealth-check interval=1s timeout=2s\n")
    p = subprocess.run([BIN, "serve", "-c", str(conf)], capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert "detour.conf:2:14: health-check timeout (2000 ms) is longer than its interval (1000 ms)" \
        in p.stderr


def admin_get(srv, aport, path):
    c = http.client.HTTPConnection("127.0.0.1", aport, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    assert r.status == 200, body
    return body.decode()


def target_gauges(text):
    """{(rule, url): value} of the detour_target_up series."""
    out = {}
    for line in text.splitlines():
        if line.startswith("detour_target_up{"):
            labels, value = line[len("detour_target_up{"):].rsplit("} ", 1)
            rule = labels.split('rule="', 1)[1].split('",', 1)[0]
            url = labels.split('target="', 1)[1].rstrip('"')
            out[(rule, url)] = int(value)
    return out


def test_target_gauges_and_ctl(make_server):
    """Issue 11: mirror health only showed in the error log. /metrics has
    detour_target_up{rule,target} 1/0 per health-checked target, GET
    /targets lists them with the last probe, `detour ctl targets` prints
    them."""
    m1, m2 = Mirror().start(), Mirror()  # m2 never listens: refused
    aport = free_port()
    try:
        srv = make_server(rules(m1, m2, "/plain /p\n"), conf_extra=INTERVAL + (
            "admin 127.0.0.1:%d\nstate-dir state\n" % aport))
        wait_port("127.0.0.1", aport, srv.proc)
        r1, r2 = "%s:1" % srv.rules_path, "%s:2" % srv.rules_path
        u1, u2 = m1.origin() + "/ping", m2.origin() + "/ping"
        srv.wait_log("mirror %s down (" % u2)
        text = admin_get(srv, aport, "/metrics")
        assert "# TYPE detour_target_up gauge\n" in text
        assert target_gauges(text) == {(r1, u1): 1, (r2, u2): 0}
        js = json.loads(admin_get(srv, aport, "/targets"))
        t1, t2 = js["targets"]
        assert (t1["rule"], t1["target"], t1["up"], t1["probed"], t1["status"], t1["error"]) == (
            r1, u1, True, True, 200, None)
        assert (t2["rule"], t2["target"], t2["up"], t2["probed"], t2["status"]) == (
            r2, u2, False, True, None)
        assert "onnect" in t2["error"]  # libcurl's "Failed to connect ..."
        assert t1["group"] == t2["group"] == "/download/* (%s)" % r1
        p = subprocess.run([BIN, "ctl", "--admin", "127.0.0.1:%d" % aport, "targets"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert lines[0].split() == ["STATE", "RULE", "TARGET", "LAST", "PROBE"]
        assert lines[1].split()[:4] == ["up", r1, u1, "HTTP"]
        assert lines[2].split()[:3] == ["down", r2, u2]
        # Back up: the gauge follows.
        m2.start()
        wait_until(lambda: target_gauges(admin_get(srv, aport, "/metrics")) == {
            (r1, u1): 1, (r2, u2): 1}, timeout=6)
        # No health targets left (reload): no series, ctl says so.
        srv.rules_path.write_text("/plain /p\n")
        srv.signal(__import__("signal").SIGHUP)
        srv.wait_log("reloaded")
        assert target_gauges(admin_get(srv, aport, "/metrics")) == {}
        assert json.loads(admin_get(srv, aport, "/targets")) == {"targets": []}
        p = subprocess.run([BIN, "ctl", "--admin", "127.0.0.1:%d" % aport, "targets"],
                           capture_output=True, text=True)
        assert p.stdout.startswith("no health-checked targets"), p.stdout
    finally:
        m1.stop()
        m2.stop()


def mapped(pid, name):
    """Whether a library whose file name starts with name is mapped in pid."""
    with open("/proc/%d/maps" % pid) as f:
        return any(line.rstrip().rsplit("/", 1)[-1].startswith(name) for line in f if "/" in line)


def test_libcurl_loaded_with_the_first_target(make_server):
    """libcurl (with GnuTLS, Kerberos, ... behind it) is neither mapped nor
    initialised by a server whose tables have no health= target (issue 10:
    start-up time and RSS); the first reload that brings targets loads it
    and the prober works as usual."""
    import signal
    m1, m2 = Mirror().start(), Mirror().start()
    try:
        srv = make_server("/download/*  %s/files/:splat  302\n" % m1.origin(),
                          conf_extra=INTERVAL)
        pid = srv.proc.pid
        assert not mapped(pid, "libcurl")
        assert not mapped(pid, "libgnutls")
        srv.rules_path.write_text(rules(m1, m2))
        srv.signal(signal.SIGHUP)
        srv.wait_log("health checks: 2 targets")
        assert mapped(pid, "libcurl")
        assert wait_until(lambda: m1.pings >= 2 and m2.pings >= 2, timeout=5)
        assert set(locations(srv)) == {m1.origin() + "/files/a.iso", m2.origin() + "/files/a.iso"}
    finally:
        m1.stop()
        m2.stop()
