"""`audit-keep DURATION|off [MAX-ENTRIES]` (issue 11: the audit log grew
forever): records older than the age kept, and the oldest beyond the count,
are deleted in the background in batches, in the SQLite state and in the
fleet's Redis streams; GET /audit is asserted exactly before and after; the
freed SQLite pages are reused; a backlog of 20,000 records is pruned without
delaying API changes; detour_audit_pruned_total counts what went."""
import http.client
import re
import sqlite3
import statistics
import subprocess
import time

import pytest

from conftest import BIN, wait_until
from test_admin import Admin
from test_fleet import fleet, url_of  # noqa: F401  (the fixture)


def audit(s, q=""):
    st, js, _, _ = s.req("GET", "/audit" + q)
    assert st == 200, js
    return [(e["action"], e["detail"]) for e in js["audit"]]


def pruned_metric(s):
    st, _, text, _ = s.req("GET", "/metrics")
    assert st == 200
    m = re.search(rb"^detour_audit_pruned_total (\d+)$", text, re.M)
    assert m, text
    return int(m.group(1))


@pytest.fixture
def admin_keep(tmp_path):
    made = []

    def make(keep, **kw):
        s = Admin(tmp_path, token=False, extra="audit-keep %s\n" % keep, **kw).start()
        made.append(s)
        return s
    yield make
    for s in made:
        assert s.stop() == 0, s.read_error_log()


def add(s, rule):
    st, js, _, _ = s.req("POST", "/rules", {"rule": rule}, token=None)
    assert st == 201, js
    return js["id"]


def test_by_age_exactly_the_old_ones_go(admin_keep):
    """audit-keep 2s: a record goes 2-4 s after it was made (ages are whole
    seconds, a prune every second), the younger one stays until its turn.
    The states GET /audit passes through are exactly these three."""
    s = admin_keep("2s")
    r1 = add(s, "/one /1 302")
    assert audit(s) == [("add", r1 + " /one /1 302")]
    time.sleep(2.5)  # r2 at least two whole seconds younger
    r2 = add(s, "/two /2 302")
    want = [[("add", r2 + " /two /2 302"), ("add", r1 + " /one /1 302")],
            [("add", r2 + " /two /2 302")],
            []]
    seen = [audit(s)]
    deadline = time.monotonic() + 10
    while seen[-1] and time.monotonic() < deadline:
        time.sleep(0.05)
        a = audit(s)
        if a != seen[-1]:
            seen.append(a)
    assert seen == want
    assert pruned_metric(s) == 2
    # The rules themselves are not the audit's: both still serve.
    assert s.get("/one") == (302, "/1") and s.get("/two") == (302, "/2")
    assert "audit-keep" not in s.read_error_log()


def test_by_count_the_newest_stay(admin_keep):
    s = admin_keep("off 3")
    ids = [add(s, "/c%d /t%d 302" % (i, i)) for i in range(5)]
    want = [("add", "%s /c%d /t%d 302" % (ids[i], i, i)) for i in (4, 3, 2)]
    assert wait_until(lambda: audit(s) == want, 5), audit(s)
    assert pruned_metric(s) == 2
    # one more: the oldest of the three goes
    ids.append(add(s, "/c5 /t5 302"))
    want = [("add", "%s /c%d /t%d 302" % (ids[i], i, i)) for i in (5, 4, 3)]
    assert wait_until(lambda: audit(s) == want, 5), audit(s)
    assert pruned_metric(s) == 3


def test_off_keeps_everything(admin_keep):
    s = admin_keep("off")
    ids = [add(s, "/k%d /t 302" % i) for i in range(3)]
    time.sleep(2.5)
    assert audit(s) == [("add", "%s /k%d /t 302" % (ids[i], i)) for i in (2, 1, 0)]
    assert pruned_metric(s) == 0


BACKLOG = 20000


def test_backlog_goes_in_batches_without_delaying_changes_and_pages_are_reused(tmp_path):
    """20,000 records a day old in detour.db (a server that ran with `off`):
    a restart with `audit-keep 1h` deletes them 500 at a time, and API
    changes made meanwhile wait at most one batch. Then the deleted pages
    are reused: new records do not grow the file."""
    s = Admin(tmp_path, token=False, extra="audit-keep off\n").start()
    keep_id = add(s, "/keep /k 302")
    assert s.stop() == 0
    db = tmp_path / "state" / "detour.db"
    old = int(time.time()) - 86400
    with sqlite3.connect(str(db)) as c:
        c.executemany("INSERT INTO audit(at, who, action, detail) VALUES (?, 'ops', 'add', ?)",
                      [(old, "api:%d /old%d /x 302" % (i, i)) for i in range(BACKLOG)])
    # the record of keep_id is old too; the restart's own are not
    with sqlite3.connect(str(db)) as c:
        c.execute("UPDATE audit SET at = ? WHERE detail LIKE ?", (old, keep_id + " %"))
        pages0 = c.execute("PRAGMA page_count").fetchone()[0]
    conf = s.conf_path.read_text().replace("audit-keep off\n", "audit-keep 1h\n")
    s.conf_path.write_text(conf)
    s.start()
    try:
        lat = []
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 20:
            a = time.monotonic()
            rid = add(s, "/n%d /x 302" % n)
            lat.append(time.monotonic() - a)
            n += 1
            if pruned_metric(s) >= BACKLOG + 1:
                break
        assert pruned_metric(s) == BACKLOG + 1
        during = sorted(lat)
        # after: the same changes with nothing to prune
        lat2 = []
        for i in range(len(lat)):
            a = time.monotonic()
            add(s, "/m%d /x 302" % i)
            lat2.append(time.monotonic() - a)
        after = sorted(lat2)
        p50d, maxd = statistics.median(during), during[-1]
        p50a, maxa = statistics.median(after), after[-1]
        print("changes during the prune: %d, p50 %.1f ms, max %.1f ms; after: p50 %.1f ms, "
              "max %.1f ms" % (len(during), p50d * 1e3, maxd * 1e3, p50a * 1e3, maxa * 1e3))
        # A change waits for one batch at most: bounded, not for the backlog.
        assert maxd < 0.5, (during[-5:], after[-5:])
        got = audit(s, "?limit=10000")
        assert len(got) == 2 * len(lat) and ("add", rid + " /n%d /x 302" % (n - 1)) in got
        assert not any(d.startswith("api:") and " /old" in d for _, d in got)
        with sqlite3.connect(str(db)) as c:
            assert c.execute("SELECT count(*) FROM audit WHERE at < ?",
                             (int(time.time()) - 3600,)).fetchone()[0] == 0
            free = c.execute("PRAGMA freelist_count").fetchone()[0]
            pages = c.execute("PRAGMA page_count").fetchone()[0]
        assert free > 100, (free, pages, pages0)
        # 300 more records: into the freed pages, the file does not grow
        for i in range(300):
            s.req("POST", "/reload")
        with sqlite3.connect(str(db)) as c:
            free2 = c.execute("PRAGMA freelist_count").fetchone()[0]
            pages2 = c.execute("PRAGMA page_count").fetchone()[0]
        assert pages2 == pages and free2 < free, (pages, pages2, free, free2)
    finally:
        assert s.stop() == 0, s.read_error_log()


def test_fleet_streams_are_pruned_by_age_and_count(fleet):  # noqa: F811
    """Two nodes with `audit-keep 3s 4`: the fleet's stream and each node's
    are trimmed by Redis's clock and to the newest 4; GET /audit exactly
    before and after; a node's stream carries the age as its TTL (a node
    that is gone leaves nothing behind)."""
    redis, node = fleet
    r = redis()
    a = node(url_of(r), "a", extra="audit-keep 3s 4\n")
    b = node(url_of(r), "b", extra="audit-keep 3s 4\n")

    def fl(n, q=""):
        st, js = n.req("GET", "/audit" + q)
        assert st == 200, js
        return [(e["node"], e["action"], e["detail"]) for e in js["audit"]]

    ids = []
    for i in range(6):
        st, js = (a if i % 2 == 0 else b).req("POST", "/rules", {"rule": "/f%d /x 302" % i})
        assert st == 201, js
        ids.append(js["id"])
    rec = [("a" if i % 2 == 0 else "b", "add", "%s /f%d /x 302" % (ids[i], i)) for i in range(6)]
    # the count: the newest 4 of the fleet's, of a's own 3 all (b prunes its own)
    assert wait_until(lambda: fl(a) == rec[:1:-1], 5), fl(a)
    assert fl(b) == rec[:1:-1]
    assert fl(a, "?node=a") == [rec[4], rec[2], rec[0]]
    assert fl(b, "?node=b") == [rec[5], rec[3], rec[1]]
    assert int(r.cli("XLEN", "detour:audit")) == 4
    ttl = int(r.cli("PTTL", "detour:audit:a"))
    assert 0 < ttl <= 3000, ttl
    assert int(r.cli("PTTL", "detour:audit")) == -1  # pruned by the nodes
    # the age: everything goes within 3-4 s, on both nodes' streams
    assert wait_until(lambda: fl(a) == [] and fl(b, "?node=a") == [] and
                      fl(a, "?node=b") == [], 8), (fl(a), fl(a, "?node=a"))
    st, js = a.req("POST", "/rules", {"rule": "/late /x 302"})
    assert st == 201
    assert fl(b) == [("a", "add", js["id"] + " /late /x 302")]

    def metric(n):
        c = http.client.HTTPConnection(n.host, n.admin_port, timeout=10)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        return int(re.search(r"^detour_audit_pruned_total (\d+)$", text, re.M).group(1))
    # 12 records were made (6 in the fleet's stream, 3 in each node's):
    # the fleet's 6 pruned by one node or the other, a node's by that node
    # or by the TTL of its stream (which counts nothing).
    total = metric(a) + metric(b)
    assert 6 <= total <= 12, total


def test_broken_directive_names_file_and_line(tmp_path):
    (tmp_path / "r.rules").write_text("/a /b 301\n")
    (tmp_path / "d.conf").write_text("rules r.rules\n\naudit-keep 90 days\n")
    out = subprocess.run([BIN, "serve", "-t", "-c", str(tmp_path / "d.conf")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert ("d.conf:3:15: expected a number of audit records from 1 to 100000000, or "
            "'off', found \"days\"") in out.stderr, out.stderr
