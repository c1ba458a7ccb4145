"""The Redis fleet (docs/internals/fleet.md) with real redis-server processes
and three detour nodes: a change through one node answers on the others
within 100 ms (p99 over some hundreds of changes), concurrent changes end in
the same state everywhere, Redis killed -> changes refused with 503 while
redirects keep being served -> Redis back -> resync, a node killed with
kill -9 resyncs before it serves, fleet-wide statistics, `detour ctl
fleet`. Every redis-server is started here on a free loopback port and
killed by its PID."""
import http.client
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN, Server, free_port, wait_port

RULES = "/file /from-file 301\n"


class Redis:
    def __init__(self, tmp_path, port=None, extra=()):
        self.port = port or free_port()
        self.dir = tmp_path / ("redis-%d" % self.port)
        self.dir.mkdir(exist_ok=True)
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)] + self.extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port("127.0.0.1", self.port, self.proc)
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True, timeout=10).stdout


class Node(Server):
    def __init__(self, tmp_path, url, name, workers=1, extra=""):
        self.admin_port = free_port()
        super().__init__(tmp_path, RULES, workers=workers, conf_extra=(
            "admin 127.0.0.1:%d\nstate-dir state\nstate %s node=%s\nstats-flush 1s\n%s" % (
                self.admin_port, url, name, extra)))
        self.name = name

    def start(self):
        super().start()
        wait_port(self.host, self.admin_port, self.proc)
        return self

    def req(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.admin_port, timeout=15)
        h = {}
        data = json.dumps(body) if body is not None else None
        if data is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            js = json.loads(text) if text else None
        except ValueError:
            js = None
        return r.status, js

    def session(self):
        """A keep-alive connection to the admin API: req(method, path, body)."""
        node = self

        class Session:
            def __init__(self):
                self.c = http.client.HTTPConnection(node.host, node.admin_port, timeout=15)

            def req(self, method, path, body=None):
                h = {}
                data = json.dumps(body) if body is not None else None
                if data is not None:
                    h["Content-Type"] = "application/json"
                try:
                    self.c.request(method, path, body=data, headers=h)
                    r = self.c.getresponse()
                except (http.client.HTTPException, OSError):
                    self.c.close()  # closed between requests: once more
                    self.c.request(method, path, body=data, headers=h)
                    r = self.c.getresponse()
                text = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                return r.status, json.loads(text) if text else None

            def close(self):
                self.c.close()
        return Session()

    def get(self, path, conn=None):
        c = conn or http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.request("GET", path, headers={"Host": "x"})
        r = c.getresponse()
        r.read()
        if conn is None:
            c.close()
        return r.status, r.getheader("Location")


def stop_all(made):
    """Stops the nodes of a fleet fixture (made["nodes"]) all at once, each
    flushing and saving its copy, then its redis-servers (made["redis"]);
    fails when a node ended with a status other than 0 (or was killed)."""
    failed = []
    for n in made["nodes"]:
        if n.proc and n.proc.poll() is None:
            n.proc.send_signal(signal.SIGTERM)
    for n in made["nodes"]:
        try:
            rc = n.proc.wait(10) if n.proc else None
        except subprocess.TimeoutExpired:
            n.proc.kill()
            rc = n.proc.wait()
        if rc not in (0, -9, None):
            failed.append((n.name, rc, n.read_error_log()))
    for r in made["redis"]:
        r.kill()
    assert not failed, failed


@pytest.fixture
def fleet(tmp_path):
    made = {"redis": [], "nodes": []}

    def redis(**kw):
        r = Redis(tmp_path, **kw).start()
        made["redis"].append(r)
        return r

    def node(url, name, **kw):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        n = Node(d, url, name, **kw).start()
        made["nodes"].append(n)
        return n

    yield redis, node
    stop_all(made)


def url_of(r):
    return "redis://127.0.0.1:%d/0" % r.port


def wait_status(node, path, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.get(path)[0] == status:
            return True
        time.sleep(0.01)
    return False


def pct(v):
    """p50, p99, max of v."""
    v = sorted(v)
    return v[len(v) // 2], v[max(0, -(-len(v) * 99 // 100) - 1)], v[-1]


CHANGES = 1000  # the proof: the distribution over 1,000 changes


def measure_propagation(a, b, c, label=""):
    """CHANGES changes through A, back to back on a keep-alive connection,
    while one observer per node (B and C) polls the next path it has not
    seen yet (see the test below). Returns the latencies in ms: POST on A to
    live on B and C, 2xx to live, POST answered; and the seconds it took."""
    sa = a.session()
    sent, acked = [None] * CHANGES, [None] * CHANGES
    seen = {n.name: [None] * CHANGES for n in (b, c)}
    posted = [0]  # changes whose POST went out
    failed = []

    def observe(n):
        cn = http.client.HTTPConnection(n.host, n.port, timeout=10)
        i = 0
        while i < CHANGES and not failed:
            if i >= posted[0]:
                time.sleep(0.0005)  # nothing sent yet: do not spin on the GIL
                continue
            st, loc = n.get("/p%d" % i, cn)
            now = time.monotonic()
            if st == 302:
                seen[n.name][i] = now
                i += 1
            elif now - sent[i] > 5:
                failed.append("%s never saw /p%d" % (n.name, i))
            else:
                time.sleep(0.0005)
        cn.close()
    obs = [threading.Thread(target=observe, args=(n,)) for n in (b, c)]
    ca = http.client.HTTPConnection(a.host, a.port, timeout=10)
    for t in obs:
        t.start()
    t_start = time.monotonic()
    try:
        for i in range(CHANGES):
            sent[i] = time.monotonic()
            posted[0] = i + 1
            st, js = sa.req("POST", "/rules", {"rule": "/p%d /to-%d 302" % (i, i)})
            acked[i] = time.monotonic()
            assert st == 201, js
            assert js["id"] == "api:%d" % (i + 1), js
            if i % 50 == 0:  # A's own table has a change when its 2xx is out
                assert a.get("/p%d" % i, ca) == (302, "/to-%d" % i)
    finally:
        for t in obs:
            t.join()
    took = time.monotonic() - t_start
    assert not failed, failed
    ms = lambda x: x * 1000
    lat = [ms(max(seen[b.name][i], seen[c.name][i]) - sent[i]) for i in range(CHANGES)]
    after = [ms(max(0, max(seen[b.name][i], seen[c.name][i]) - acked[i]))
             for i in range(CHANGES)]
    post = [ms(acked[i] - sent[i]) for i in range(CHANGES)]
    ca.close()
    print("\nfleet%s: %d changes through A in %.1f s; POST on A to live on B and C: p50 %.1f ms, "
          "p99 %.1f ms, max %.1f ms; POST answered: p50 %.1f, p99 %.1f, max %.1f; 2xx to "
          "live on B and C: p50 %.1f, p99 %.1f, max %.1f (%s)" % (
              (label, len(lat), took) + pct(lat) + pct(post) + pct(after) + (BIN,)))
    sa.close()
    return lat, after, post, took


def test_change_on_a_answers_on_b_and_c_within_100ms(fleet):
    """1,000 changes through A, back to back on a keep-alive connection,
    while one observer per node (B and C) polls the next path it has not
    seen yet: a node applies the stream in order, so when /pN answers
    there, every earlier change does too. A change's latency: from its POST
    on A to the later of B and C answering it. Pipelined (A does not wait
    for B and C); an observer that finds a path not there yet waits 0.5 ms
    before asking again (the machine's cores are the servers')."""
    redis, node = fleet
    r = redis()
    a, b, c = (node(url_of(r), n) for n in ("a", "b", "c"))
    lat, after, post, took = measure_propagation(a, b, c)
    p50, p99, mx = pct(lat)
    if "/asan/" not in BIN and "/tsan/" not in BIN:
        assert p99 < 100, (p50, p99)  # from the POST on A to live on B and C
    elif "/asan/" in BIN:
        # ASan (make test) on a shared machine: every change rebuilds the
        # API table on three nodes (2-3x slower than the release build),
        # and the 2 cores are shared by other jobs: the median is judged,
        # the tail is measured (the release build judges p99).
        # ThreadSanitizer (5-15x slower): measured, not judged.
        assert p50 < 100, (p50, p99)
    # ids are unique across the fleet, the version counted every change
    st, js = b.req("GET", "/rules?origin=api&limit=%d" % CHANGES)
    ids = [x["id"] for x in js["rules"]]
    assert len(ids) == CHANGES and len(set(ids)) == CHANGES
    st, js = c.req("GET", "/fleet")
    assert st == 200
    assert js["self"]["node"] == "c" and js["self"]["version"] == CHANGES
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        st, js = c.req("GET", "/fleet")
        if sorted(n["node"] for n in js["nodes"]) == ["a", "b", "c"] and all(
                n["version"] == CHANGES for n in js["nodes"]):
            break
        time.sleep(0.1)
    assert sorted(n["node"] for n in js["nodes"]) == ["a", "b", "c"], js
    # delete through C: gone on A and B
    st, _ = c.req("DELETE", "/rules/api:1")
    assert st == 204
    assert wait_status(a, "/p0", 404, 1) and wait_status(b, "/p0", 404, 1)
    st, js = b.req("DELETE", "/rules/api:1")
    assert st == 404


def test_concurrent_changes_end_in_the_same_state(fleet):
    """1,002 changes at once through the three nodes (each: 250 adds, and a
    delete of every third rule it added, on keep-alive connections): every
    node ends with the same 498 rules, in the same order."""
    redis, node = fleet
    r = redis()
    nodes = [node(url_of(r), n) for n in ("a", "b", "c")]
    errors, made = [], []
    adds = 250

    def work(n):
        s = n.session()
        for i in range(adds):
            st, js = s.req("POST", "/rules", {"rule": "/c-%s-%d /x 302" % (n.name, i)})
            made.append(1)
            if st != 201:
                errors.append((st, js))
            elif i % 3 == 0:
                st, js = s.req("DELETE", "/rules/" + js["id"])
                made.append(1)
                if st != 204:
                    errors.append((st, js))
        s.close()
    t0 = time.monotonic()
    ts = [threading.Thread(target=work, args=(n,)) for n in nodes]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - t0
    assert not errors, errors[:3]
    assert len(made) == 3 * (adds + (adds + 2) // 3) == 1002
    # every node at the last version (the stream's end), then compare
    deadline = time.monotonic() + 5
    while True:
        vs = [n.req("GET", "/fleet")[1]["self"]["version"] for n in nodes]
        if vs == [len(made)] * 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert vs == [len(made)] * 3, vs
    states = []
    for n in nodes:
        st, js = n.req("GET", "/rules?origin=api&limit=1000")
        states.append([(x["id"], x["rule"]) for x in js["rules"]])
    print("\nfleet: %d concurrent changes through 3 nodes in %.1f s" % (len(made), took))
    assert len(states[0]) == 3 * (adds - (adds + 2) // 3)
    assert states[0] == states[1] == states[2]
    for n in nodes:
        assert n.get("/c-a-1") == (302, "/x") and n.get("/c-c-0")[0] == 404


def test_redis_down_refuses_changes_keeps_serving_and_resyncs(fleet):
    redis, node = fleet
    r = redis()
    a, b = node(url_of(r), "a"), node(url_of(r), "b")
    st, js = a.req("POST", "/rules", {"rule": "/before /b 302"})
    assert st == 201
    assert wait_status(b, "/before", 302, 1)
    r.kill()
    a.wait_log("fleet: lost Redis")
    st, js = a.req("POST", "/rules", {"rule": "/during /d 302"})
    assert st == 503 and js["error"].startswith("state store unavailable"), js
    st, js = b.req("DELETE", "/rules/api:1")
    assert st == 503
    # serving goes on, with the last state
    for n in (a, b):
        for _ in range(50):
            assert n.get("/before") == (302, "/b")
            assert n.get("/file") == (301, "/from-file")
    st, js = a.req("GET", "/metrics")
    r2 = redis(port=r.port)  # back, empty (no persistence): the fleet's state is what it has
    # changes work again within 5 s
    deadline = time.monotonic() + 5
    while True:
        st, js = b.req("POST", "/rules", {"rule": "/after /a 302"})
        if st == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert st == 201, js
    assert wait_status(a, "/after", 302, 1)
    a.wait_log("resynced to state version")
    c = http.client.HTTPConnection(a.host, a.admin_port, timeout=5)
    c.request("GET", "/metrics")
    m = c.getresponse().read().decode()
    assert "detour_fleet_connected 1" in m
    assert "detour_fleet_changes_refused_total 1" in m


def test_redis_down_at_start_serves_the_saved_state(fleet):
    redis, node = fleet
    r = redis()
    a = node(url_of(r), "a")
    st, js = a.req("POST", "/rules", {"rule": "/kept /k 302"})
    assert st == 201
    time.sleep(1.2)  # the local copy is refreshed at most once a second
    assert a.stop() == 0
    r.kill()
    a.start()
    a.wait_log("serving the last state saved under state-dir")
    assert a.get("/kept") == (302, "/k")
    st, js = a.req("POST", "/rules", {"rule": "/x /y 302"})
    assert st == 503
    redis(port=r.port)
    a.wait_log("resynced to state version 0")
    # Redis came back empty: the fleet's state wins
    assert wait_status(a, "/kept", 404, 2)


def test_kill9_restart_resyncs_before_serving(fleet):
    redis, node = fleet
    r = redis()
    a, b = node(url_of(r), "a"), node(url_of(r), "b")
    b.proc.kill()
    b.proc.wait()
    for i in range(20):
        st, js = a.req("POST", "/rules", {"rule": "/k%d /v%d 302" % (i, i)})
        assert st == 201
    b.start()
    # the first request after the port opens sees every change
    for i in range(20):
        assert b.get("/k%d" % i) == (302, "/v%d" % i)
    assert a.get("/k0") == (302, "/v0")


def test_fleet_statistics_add_up(fleet):
    redis, node = fleet
    r = redis()
    nodes = [node(url_of(r), n) for n in ("a", "b", "c")]
    sent = {"a": 7, "b": 11, "c": 13}
    for n in nodes:
        for _ in range(sent[n.name]):
            assert n.get("/file")[0] == 301
        for _ in range(sent[n.name] - 5):
            assert n.get("/missing-everywhere")[0] == 404
        assert n.get("/only-on-" + n.name)[0] == 404
    time.sleep(1.5)
    want = sum(sent.values())
    for n in nodes:
        st, js = n.req("GET", "/stats")
        assert st == 200, js
        hits = {x["id"]: x["hits"] for x in js["rules"]}
        assert js["scope"] == "fleet"
        assert sum(hits.values()) == want, js
        um = {x["path"]: x["count"] for x in js["unmatched"]}
        assert um["/missing-everywhere"] == want - 15, js["unmatched"]
        assert um["/only-on-a"] == um["/only-on-b"] == um["/only-on-c"] == 1
        assert js["unmatched_total"] == want - 15 + 3
        # requests: the fleet's totals, by status (each node: its 301s,
        # its 404s and one /only-on-NODE)
        assert js["requests"] == {"total": 50, "by_status": {"301": 31, "404": 19}}, js
    st, js = nodes[0].req("GET", "/stats?node=b")
    assert sum(x["hits"] for x in js["rules"]) == 11 and js["scope"] == "b"
    assert {x["path"]: x["count"] for x in js["unmatched"]} == {
        "/missing-everywhere": 6, "/only-on-b": 1}
    assert js["requests"] == {"total": 18, "by_status": {"301": 11, "404": 7}}, js
    # /metrics: the fleet's request totals on any node; ?node= one node's
    for path, want in (("/metrics", ['detour_fleet_requests_total{status="301"} 31\n',
                                     'detour_fleet_requests_total{status="404"} 19\n']),
                       ("/metrics?node=c",
                        ['detour_fleet_requests_total{node="c",status="301"} 13\n',
                         'detour_fleet_requests_total{node="c",status="404"} 9\n'])):
        cn = http.client.HTTPConnection(nodes[1].host, nodes[1].admin_port, timeout=5)
        cn.request("GET", path)
        m = cn.getresponse().read().decode()
        cn.close()
        for w in want:
            assert w in m, (w, [l for l in m.splitlines() if "fleet_requests" in l])
        # this node's own counters stay per node (Prometheus sums them)
        assert 'detour_requests_total{status="301"} 11\n' in m


def test_audit_is_fleet_wide_and_names_the_node(fleet):
    """Every change is audited in Redis with the change itself (one script),
    naming the node it was made through: GET /audit on any node lists the
    fleet's, ?node= one node's."""
    redis, node = fleet
    r = redis()
    a, b, c = (node(url_of(r), n) for n in ("a", "b", "c"))
    st, js = a.req("POST", "/rules", {"rule": "/au /x 302"})
    assert st == 201
    rid = js["id"]
    assert b.req("DELETE", "/rules/" + rid)[0] == 204
    assert c.req("POST", "/maintenance", {"on": True, "target": "/down"})[0] == 200
    assert c.req("POST", "/maintenance", {"on": False})[0] == 200
    assert a.req("POST", "/reload")[0] == 200
    assert b.req("DELETE", "/rules/api:99")[0] == 404  # not a change: not audited
    want = [("a", "reload", "ok"), ("c", "maintenance", "off"),
            ("c", "maintenance", "on /down 307"), ("b", "delete", rid),
            ("a", "add", rid + " /au /x 302")]
    for n in (a, b, c):
        st, js = n.req("GET", "/audit")
        assert st == 200 and js["scope"] == "fleet", js
        assert [(e["node"], e["action"], e["detail"]) for e in js["audit"]] == want, js
        assert all(e["who"] == "local" and e["at"].endswith("Z") for e in js["audit"]), js
    st, js = c.req("GET", "/audit?node=a")
    assert st == 200 and js["scope"] == "a"
    assert [(e["node"], e["action"]) for e in js["audit"]] == [("a", "reload"), ("a", "add")]
    st, js = a.req("GET", "/audit?node=c&limit=1")
    assert [(e["node"], e["action"], e["detail"]) for e in js["audit"]] == [
        ("c", "maintenance", "off")]
    assert r.cli("XLEN", "detour:audit").strip() == "5"
    out = subprocess.run([BIN, "ctl", "--admin", "127.0.0.1:%d" % b.admin_port, "audit",
                          "--node", "a"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert [l.split()[1:4] for l in out.stdout.splitlines()] == [
        ["a", "local", "reload"], ["a", "local", "add"]], out.stdout
    # Redis gone: the audit log cannot be read (503), as the statistics
    r.kill()
    a.wait_log("fleet: lost Redis")
    st, js = a.req("GET", "/audit")
    assert st == 503 and js["error"].startswith("state store unavailable"), js


def test_ttl_expires_on_every_node_at_its_instant(fleet):
    redis, node = fleet
    r = redis()
    a, b = node(url_of(r), "a"), node(url_of(r), "b")
    st, js = a.req("POST", "/rules", {"rule": "/t /ttl 302", "ttl": "2s"})
    assert st == 201
    assert wait_status(b, "/t", 302, 1)
    until = time.time() + 2
    assert wait_status(a, "/t", 404, 4) and wait_status(b, "/t", 404, 0.3)
    assert time.time() - until < 1.2
    deadline = time.monotonic() + 3
    while r.cli("HLEN", "detour:rules").strip() != "0":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_maintenance_follows_the_fleet(fleet):
    redis, node = fleet
    r = redis()
    a, b = node(url_of(r), "a"), node(url_of(r), "b")
    st, js = a.req("POST", "/maintenance", {"on": True, "target": "https://status.example/"})
    assert st == 200, js
    assert wait_status(b, "/file", 307, 1)
    assert b.get("/file") == (307, "https://status.example/")
    st, js = b.req("POST", "/maintenance", {"on": False})
    assert st == 200
    assert wait_status(a, "/file", 301, 1)


def test_ctl_fleet(fleet):
    redis, node = fleet
    r = redis()
    a, b = node(url_of(r), "a"), node(url_of(r), "b")
    deadline = time.monotonic() + 3
    while True:  # both heartbeats in (each node sends one when it connects)
        out = subprocess.run([BIN, "ctl", "--admin", "127.0.0.1:%d" % a.admin_port, "fleet"],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        if len(lines) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert lines[0].split() == ["NODE", "VERSION", "LAG_MS", "SEEN_MS"]
    assert sorted(l.split()[0] for l in lines[1:]) == ["a", "b"]


def stall_a_change(r, a):
    """Stops Redis (SIGSTOP) for 1.5 s while node a makes a change: the
    node answers 503 and settles the outcome; Redis, running the stalled
    script afterwards, writes nothing (one rule before, one after)."""
    os.kill(r.proc.pid, signal.SIGSTOP)
    t = threading.Timer(1.5, lambda: os.kill(r.proc.pid, signal.SIGCONT))
    t.start()
    try:
        st, js = a.req("POST", "/rules", {"rule": "/stalled /s 302"})
    finally:
        t.join()
    assert st == 503, js
    assert js["error"].startswith("state store unavailable: "), js
    time.sleep(0.5)
    assert r.cli("HLEN", "detour:rules").strip() == "1"
    assert r.cli("GET", "detour:version").strip() == "1"
    assert a.get("/stalled")[0] == 404
    a.wait_log("settling its outcome")


def test_a_stalled_write_run_after_its_503_changes_nothing(fleet):
    """Redis stopped (SIGSTOP) with a change in flight: the node gives up,
    settles the outcome (Redis's clock past the deadline, no token) and
    answers 503; when Redis runs the stalled script, it is past its
    deadline and writes nothing."""
    redis, node = fleet
    r = redis()
    a = node("redis://127.0.0.1:%d/0?timeout=300" % r.port, "a")
    st, js = a.req("POST", "/rules", {"rule": "/first /f 302"})
    assert st == 201
    stall_a_change(r, a)
    st, js = a.req("POST", "/rules", {"rule": "/after /a 302"})
    assert st == 201, js
    assert a.get("/after") == (302, "/a")


def sentinel_conf(path, port, primary_port):
    path.write_text(
        "port %d\nbind 127.0.0.1\ndir %s\n"
        "sentinel monitor m 127.0.0.1 %d 2\n"
        "sentinel down-after-milliseconds m 1000\n"
        "sentinel failover-timeout m 5000\n"
        "sentinel parallel-syncs m 1\n" % (port, path.parent, primary_port))


def test_sentinel_failover_loses_no_acknowledged_change(fleet, tmp_path):
    """A primary, a replica and three sentinels. Changes stream through node
    A while the primary is killed: every change answered 2xx is there after
    the failover, on A and on B; none answered 503 is."""
    redis, node = fleet
    p = redis()
    rep = redis(extra=["--replicaof", "127.0.0.1", str(p.port)])
    sentinels = []
    for i in range(3):
        port = free_port()
        d = tmp_path / ("sentinel-%d" % i)
        d.mkdir()
        sentinel_conf(d / "sentinel.conf", port, p.port)
        s = subprocess.Popen(["redis-sentinel", str(d / "sentinel.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sentinels.append((s, port))
    try:
        for s, port in sentinels:
            wait_port("127.0.0.1", port, s)
        deadline = time.monotonic() + 15
        while "slave0:" not in p.cli("INFO", "replication") or "master_link_status:up" not in \
                rep.cli("INFO", "replication"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        url = "redis-sentinel://%s/m?timeout=1000" % ",".join(
            "127.0.0.1:%d" % port for _, port in sentinels)
        a, b = node(url, "a"), node(url, "b")
        ok, refused = [], []
        killed_at = restarted = None
        t_end = None
        i = 0
        s0 = sentinels[0][1]
        while True:
            rule = "/fo-%d /x%d 302" % (i, i)
            st, js = a.req("POST", "/rules", {"rule": rule})
            if st == 201:
                ok.append(rule)
            else:
                assert st == 503, (st, js)
                refused.append((rule, js["error"]))
            i += 1
            if i == 10:
                p.kill()
                killed_at = time.monotonic()
            if killed_at and not restarted and str(rep.port) in subprocess.run(
                    ["redis-cli", "-p", str(s0), "SENTINEL", "get-master-addr-by-name", "m"],
                    capture_output=True, text=True).stdout:
                # The old primary comes back (empty: no persistence) once
                # the sentinels switched, as the new one's replica (what
                # the sentinels would make it, some seconds later), and
                # WAIT 1 can be satisfied again.
                restarted = time.monotonic()
                p.extra = ["--replicaof", "127.0.0.1", str(rep.port)]
                p.start()
            if restarted and t_end is None and st == 201:
                t_end = i + 10  # 10 more after the first success on the new primary
            if t_end is not None and i >= t_end:
                break
            assert time.monotonic() - (killed_at or time.monotonic()) < 40, (
                "no failover", refused[-3:], a.read_error_log()[-3000:])
            if st == 503:
                time.sleep(0.1)
        print("failover: %d changes acknowledged, %d refused, the first: %s" % (
            len(ok), len(refused), refused[0][1]))
        assert len(refused) > 0
        refused = [r for r, _ in refused]
        for n in (a, b):
            deadline = time.monotonic() + 10
            while True:
                st, js = n.req("GET", "/rules?origin=api&limit=1000")
                have = set(x["rule"] for x in js["rules"]) if st == 200 else set()
                if set(ok) <= have or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert set(ok) <= have, sorted(set(ok) - have)
            assert not (set(refused) & have), sorted(set(refused) & have)
    finally:
        for s, _ in sentinels:
            s.kill()
            s.wait()


def test_unconfirmed_by_replicas_is_undone_and_refused(fleet):
    """replicas=1 and no replica: WAIT 1 does not confirm within the
    timeout, so the change is undone (its inverse) and answers 503; the
    rule serves nowhere afterwards."""
    redis, node = fleet
    r = redis()
    a = node("redis://127.0.0.1:%d/0?replicas=1&timeout=200" % r.port, "a")
    st, js = a.req("POST", "/rules", {"rule": "/unconfirmed /u 302"})
    assert st == 503, js
    assert "0 of 1 replicas confirmed the change within 200 ms (WAIT)" in js["error"], js
    assert r.cli("HLEN", "detour:rules").strip() == "0"
    assert r.cli("GET", "detour:version").strip() == "2"  # the change and its undoing
    assert wait_status(a, "/unconfirmed", 404, 1)
    assert a.get("/unconfirmed")[0] == 404


def test_redis_lost_and_back_under_load_fails_no_request(fleet):
    """wrk against node B while Redis (with an AOF, appendfsync always) is
    killed with kill -9 and started again: every request answered with the
    API rule's redirect, none failed; the node resyncs to the state Redis
    kept."""
    redis, node = fleet
    aof = ["--appendonly", "yes", "--appendfsync", "always"]
    r = redis(extra=aof)
    a, b = node(url_of(r), "a"), node(url_of(r), "b", workers=2)
    st, js = a.req("POST", "/rules", {"rule": "/load /l 302"})
    assert st == 201
    assert wait_status(b, "/load", 302, 1)
    w = subprocess.Popen(["wrk", "-t2", "-c16", "-d5s", b.url("/load")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        r.kill()
        b.wait_log("fleet: lost Redis")
        time.sleep(1)
        redis(port=r.port, extra=aof)
        out, err = w.communicate(timeout=30)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert w.returncode == 0, err
    assert "requests in" in out, out
    assert "Socket errors" not in out and "Non-2xx or 3xx" not in out, out
    b.wait_log("resynced to state version 1")
    assert b.get("/load") == (302, "/l")


class DropProxy:
    """A TCP proxy to Redis on a free loopback port. arm(marker): the next
    client chunk holding marker reaches Redis, then the connection is cut
    before Redis's reply gets back (a reply lost after the write ran)."""

    def __init__(self, upstream_port):
        import socket
        self.up = upstream_port
        self.port = free_port()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(16)
        self.marker = None
        self.cut = threading.Event()
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def arm(self, marker):
        with self.lock:
            self.marker = marker

    def accept(self):
        import socket
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.up))
            dead = threading.Event()
            threading.Thread(target=self.pipe, args=(c, u, True, dead), daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, False, dead), daemon=True).start()

    def pipe(self, src, dst, to_redis, dead):
        import socket
        try:
            while True:
                d = src.recv(65536)
                if not d or dead.is_set():
                    break
                hit = False
                if to_redis:
                    with self.lock:
                        hit = self.marker is not None and self.marker in d
                        if hit:
                            self.marker = None
                            dead.set()  # from now on, nothing goes back
                dst.sendall(d)
                if hit:
                    time.sleep(0.2)  # Redis runs it; its reply is dropped
                    self.cut.set()
                    for s in (src, dst):
                        s.shutdown(socket.SHUT_RDWR)
                    break
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.ls.close()


@pytest.mark.parametrize("what", ["delete", "maintenance"])
def test_unconfirmed_after_a_lost_reply_is_undone_everywhere(fleet, what):
    """The edge case the undo used to miss: a delete (or a maintenance
    change) whose reply is lost, settled as applied by its token, then not
    confirmed by WAIT. The token holds the value it replaced, so the node
    undoes it (put / maint) and answers 503: the rule (or the maintenance
    state) is as before on Redis and on every node."""
    redis, node = fleet
    r = redis()
    now = int(time.time())
    # The state before: one API rule and no maintenance, written as a
    # node would (the encoding of docs/internals/fleet.md).
    val = "1\n%d\n0\nlocal\n/keep /k 302" % now
    r.cli("HSET", "detour:rules", "keep", val)
    r.cli("SET", "detour:version", "1")
    r.cli("SET", "detour:seq", "1")
    px = DropProxy(r.port)
    try:
        # replicas=1 and no replica: every WAIT fails.
        url = "redis://127.0.0.1:%d/0?replicas=1&timeout=300" % px.port
        a, b = node(url, "a"), node(url_of(r), "b")
        for n in (a, b):
            assert n.get("/keep") == (302, "/k")
        if what == "delete":
            px.arm(b"$3\r\ndel\r\n")
            st, js = a.req("DELETE", "/rules/keep")
        else:
            px.arm(b"$5\r\nmaint\r\n")
            st, js = a.req("POST", "/maintenance", {"on": True, "target": "/down"})
        assert px.cut.is_set(), (st, js)
        assert st == 503, (js, a.read_error_log())
        assert js["error"].startswith("state store unavailable: 0 of 1 replicas confirmed "
                                      "the change within 300 ms (WAIT); the change was not "
                                      "applied"), (js, a.read_error_log())
        a.wait_log("settling its outcome")
        # the change and its undoing
        assert r.cli("GET", "detour:version").strip() == "3"
        if what == "delete":
            assert r.cli("HGET", "detour:rules", "keep").rstrip("\n") == val
        else:
            assert r.cli("GET", "detour:maint").strip() == ""
        time.sleep(0.3)
        for n in (a, b):
            assert n.get("/keep") == (302, "/k"), n.name
            assert n.get("/file") == (301, "/from-file"), n.name
            st, js = n.req("GET", "/rules?origin=api")
            assert st == 200 and [(x["id"], x["rule"]) for x in js["rules"]] == [
                ("keep", "/keep /k 302")], js
            st, js = n.req("GET", "/maintenance")
            assert st == 200 and js["on"] is False, js
        c = http.client.HTTPConnection(a.host, a.admin_port, timeout=5)
        c.request("GET", "/metrics")
        m = c.getresponse().read().decode()
        assert 'detour_fleet_changes_settled_total{outcome="applied"} 1' in m
        assert "detour_fleet_changes_reverted_total 1" in m
        assert "detour_fleet_changes_undo_failed_total 0" in m
        # both in the fleet's audit, the undo by detour
        st, js = b.req("GET", "/audit")
        got = [(e["node"], e["who"], e["action"], e["detail"]) for e in js["audit"]]
        if what == "delete":
            assert got == [("a", "detour", "undo", "keep (delete) not confirmed by the replicas"),
                           ("a", "local", "delete", "keep")], got
        else:
            assert got == [("a", "detour", "undo", "(maintenance) not confirmed by the replicas"),
                           ("a", "local", "maintenance", "on /down 307")], got
    finally:
        px.close()


def metrics_top(n):
    c = http.client.HTTPConnection(n.host, n.admin_port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    out = []
    for line in text.splitlines():
        if line.startswith("detour_rule_hits_top{"):
            rid = line[len('detour_rule_hits_top{id="'):line.index('"}')]
            out.append((rid, int(float(line.rsplit(" ", 1)[1]))))
    return out


def test_metrics_top_rules_from_the_rank(fleet):
    """/metrics' top rules come from a sorted set the flushes keep beside the
    hits (P:rank), not from every id's hits read at every scrape; a fleet
    whose rank is missing (counts written by a detour from before it) has
    it rebuilt from the hits at the next scrape."""
    redis, node = fleet
    r = redis()
    a, b = node(url_of(r), "a"), node(url_of(r), "b")
    ids = []
    for i in range(12):
        st, js = a.req("POST", "/rules", {"rule": "/p%d /t%d 301" % (i, i)})
        assert st == 201, js
        ids.append(js["id"])
    assert wait_status(b, "/p11", 301)
    want = {}
    for i in range(12):
        n = (i * 7) % 5 + 1  # ties, ordered by id
        for k in range(n):
            assert (a if k % 2 else b).get("/p%d" % i)[0] == 301
        want[ids[i]] = n
    want[ids[11]] += 1  # wait_status's
    time.sleep(1.5)  # both nodes flushed
    order = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert metrics_top(a) == order
    assert metrics_top(b) == order
    rank = [k for k in r.cli("--scan", "--pattern", "*rank*").split() if k]
    assert len(rank) == 1, rank
    assert r.cli("ZCARD", rank[0]).strip() == "12"
    r.cli("DEL", rank[0])
    assert metrics_top(a) == order
    assert r.cli("ZCARD", rank[0]).strip() == "12"
