"""Per-rule hit counters written as deltas (issue 10): every flush appends
one blob of (id, delta, last) records to the state's stats_log table, and the
log is folded into the keyed stats table when the statistics are read. Counts
are exact after N requests, across several flushes, a reload (the retired
table's counters are flushed), kill -9 after a flush and a clean restart."""
import http.client
import signal
import sqlite3
import struct
import time

import pytest

from test_admin import Admin


def hit(s, path, n):
    c = http.client.HTTPConnection(s.host, s.port, timeout=5)
    for _ in range(n):
        c.request("GET", path, headers={"Host": "x"})
        c.getresponse().read()
    c.close()


def db(s):
    return sqlite3.connect("file:%s?mode=ro" % (s.dir / "state" / "detour.db"), uri=True)


def varint(blob, pos):
    v, shift = 0, 0
    while True:
        c = blob[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, pos


def records(blob):
    """The (id, delta, last) records of one stats_log blob, in its order:
    version 2 (a zero u32, the byte 2, then varints with ids front-coded
    against the previous one; include/detour/statlog.h) or version 1."""
    if blob[:5] == b"\0\0\0\0\x02":
        pos, last, prev = 5, 0, b""
        while pos < len(blob):
            delta, pos = varint(blob, pos)
            zz, pos = varint(blob, pos)
            shared, pos = varint(blob, pos)
            more, pos = varint(blob, pos)
            last = (last + ((zz >> 1) ^ -(zz & 1))) & 0xFFFFFFFF
            prev = prev[:shared] + blob[pos:pos + more]
            pos += more
            yield prev.decode(), delta, last
        return
    pos = 0
    while pos < len(blob):
        delta, last, n = struct.unpack_from("<IIH", blob, pos)
        yield blob[pos + 10:pos + 10 + n].decode(), delta, last
        pos += 10 + n


def pending(s):
    """The stats_log blobs decoded: {id: [delta, ...]} in log order."""
    out = {}
    with db(s) as d:
        for (blob,) in d.execute("SELECT data FROM stats_log ORDER BY n"):
            for rid, delta, last in records(blob):
                assert delta > 0 and last > 1700000000
                out.setdefault(rid, []).append(delta)
    return out


def table(s):
    with db(s) as d:
        return dict(d.execute("SELECT id, hits FROM stats"))


def wait_pending(s, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = {k: sum(v) for k, v in pending(s).items()}
        if p == want:
            return
        time.sleep(0.05)
    raise AssertionError("stats_log holds %r, not %r" % (pending(s), want))


def stats(s):
    st, js, _, _ = s.req("GET", "/stats?limit=100")
    assert st == 200
    return {r["id"]: r["hits"] for r in js["rules"]}


@pytest.fixture
def srv(tmp_path):
    s = Admin(tmp_path, extra="stats-flush 1s\n", workers=2).start()
    yield s
    assert s.stop() in (0, -9), s.read_error_log()


def test_stats_deltas_exact(srv):
    s = srv
    old, keep = s.fid(1), "keep"
    hit(s, "/old", 37)
    hit(s, "/keep", 5)
    # One flush: one blob, the two rules' deltas; nothing folded yet.
    wait_pending(s, {old: 37, keep: 5})
    assert table(s) == {}
    hit(s, "/old", 11)
    wait_pending(s, {old: 48, keep: 5})
    assert pending(s)[old] == [37, 11]  # two blobs: deltas, not totals
    # A read folds the log into the table, exactly, and empties it.
    assert stats(s) == {old: 48, keep: 5}
    assert pending(s) == {} and table(s) == {old: 48, keep: 5}
    # Reload: the retired table's counters are flushed, the new one starts at 0.
    hit(s, "/old", 7)
    s.signal(signal.SIGHUP)
    s.wait_log("reloaded:")
    hit(s, "/old", 3)
    hit(s, "/keep", 2)
    assert stats(s) == {old: 58, keep: 7}
    # kill -9 once a flush has written the log: nothing lost, nothing twice.
    hit(s, "/keep", 4)
    wait_pending(s, {keep: 4})
    s.kill9_restart()
    assert stats(s) == {old: 58, keep: 11}
    # A clean stop flushes what the last window counted.
    hit(s, "/old", 2)
    s.stop()
    s.start()
    assert stats(s) == {old: 60, keep: 11}
    assert pending(s) == {}


def test_stats_exact_the_moment_an_answer_arrives(srv):
    # A hit answered is counted by the time its client sees the answer's
    # last byte and asks for the statistics, whichever period the worker's
    # loop iteration began in (a flush moving on while it ran marked the
    # hit in the next period and GET /stats missed it: CI, once in ~600).
    s = srv
    for n in range(1, 201):
        hit(s, "/keep", 1)
        assert stats(s).get("keep") == n, "after %d answers" % n


def test_stats_many_rules_one_blob(tmp_path):
    # 3000 rules hit once each: one flush is one row of stats_log.
    rules = "".join("/r/%d /t/%d 301\n" % (i, i) for i in range(3000))
    s = Admin(tmp_path, rules=rules, extra="stats-flush 1s\n", workers=1).start()
    try:
        c = http.client.HTTPConnection(s.host, s.port, timeout=5)
        for i in range(3000):
            c.request("GET", "/r/%d" % i, headers={"Host": "x"})
            c.getresponse().read()
        c.close()
        want = {s.fid(i + 1): 1 for i in range(3000)}
        wait_pending(s, want)
        with db(s) as d:
            assert d.execute("SELECT count(*) FROM stats_log").fetchone()[0] <= 3
        st, js, _, _ = s.req("GET", "/stats?limit=10000")
        assert js["total"] == 3000
        assert {r["id"]: r["hits"] for r in js["rules"]} == want
    finally:
        assert s.stop() == 0, s.read_error_log()


def test_stats_log_of_an_older_version(srv):
    # A log written by a detour before the version 2 blobs (a v1 blob left
    # unfolded at an upgrade) is folded with the new ones: per id, summed.
    s = srv
    old, keep = s.fid(1), "keep"
    hit(s, "/old", 3)
    wait_pending(s, {old: 3})
    s.stop()
    v1 = b"".join(struct.pack("<IIH", d, 1700000100, len(i)) + i.encode()
                  for i, d in ((old, 5), (keep, 2)))
    with sqlite3.connect(str(s.dir / "state" / "detour.db")) as d:
        d.execute("INSERT INTO stats_log(data) VALUES (?)", (v1,))
    assert {k: sum(v) for k, v in pending(s).items()} == {old: 8, keep: 2}
    s.start()
    hit(s, "/keep", 1)
    assert stats(s) == {old: 8, keep: 3}
    assert pending(s) == {} and table(s) == {old: 8, keep: 3}


def metrics_top(s):
    st, _, text, _ = s.req("GET", "/metrics")
    assert st == 200
    out = []
    for line in text.decode().splitlines():
        if line.startswith("detour_rule_hits_top{"):
            rid = line[len('detour_rule_hits_top{id="'):line.index('"}')]
            out.append((rid, int(float(line.rsplit(" ", 1)[1]))))
    return out


def check(s, want, deep=True):
    """GET /stats (pages of it) and the /metrics top rules against want:
    every id with a count, most hits first, then by id. deep: a page past
    what memory answers too (it is read from SQL, which folds the log)."""
    order = sorted(((k, v) for k, v in want.items() if v), key=lambda kv: (-kv[1], kv[0]))
    st, js, _, _ = s.req("GET", "/stats?limit=10000")
    assert st == 200
    assert [(r["id"], r["hits"]) for r in js["rules"]] == order
    assert js["total"] == len(order)
    st, js, _, _ = s.req("GET", "/stats?offset=3&limit=5")
    assert [(r["id"], r["hits"]) for r in js["rules"]] == order[3:8]
    assert js["total"] == len(order)
    assert metrics_top(s) == order[:10]
    if deep:
        # Past what memory answers (offset + limit over 20,000): SQL.
        st, js, _, _ = s.req("GET", "/stats?offset=30000&limit=10")
        assert (js["rules"], js["total"]) == ([], len(order))
        assert metrics_top(s) == order[:10]


def test_reads_from_memory_exact_through_a_history(tmp_path):
    # GET /stats and /metrics answer from the totals kept in memory: the
    # first read folds the log and loads them, the next ones leave the log
    # as it is (before, every read folded it). Exact through hits between
    # reads (rule 0 of the table among them), API rules added and deleted
    # (a deleted one stays listed), a reload that drops a rule, kill -9
    # after a flush and a clean restart.
    lines = ["/old /new 301", "/keep /kept 302 id=keep"] + ["/r/%d /t/%d 301" % (i, i) for i in range(20)]
    s = Admin(tmp_path, rules="\n".join(lines) + "\n", extra="stats-flush 1s\n", workers=2).start()
    want = {}

    def go(path, rid, n):
        hit(s, path, n)
        want[rid] = want.get(rid, 0) + n

    try:
        for i in range(20):
            go("/r/%d" % i, s.fid(3 + i), 1 + i % 4)  # ties: ordered by id
        go("/old", s.fid(1), 9)
        go("/keep", "keep", 2)
        check(s, want)
        # The log is no longer folded by a read.
        go("/old", s.fid(1), 4)
        go("/r/7", s.fid(10), 30)
        wait_pending(s, {s.fid(1): 4, s.fid(10): 30})
        check(s, want, deep=False)
        assert {k: sum(v) for k, v in pending(s).items()} == {s.fid(1): 4, s.fid(10): 30}
        for n in range(1, 6):
            go("/keep", "keep", n)
            check(s, want)
        # An API rule, then deleted: its count stays (an orphan). The API
        # table's totals pass to the table that replaces it: no load.
        loads = s.read_error_log().count("totals loaded")
        assert s.req("POST", "/rules", {"rule": "/promo /sale"})[0] == 201
        go("/promo", "api:1", 40)
        check(s, want)
        assert s.req("POST", "/rules", {"rule": "/promo2 /sale2 id=p2"})[0] == 201
        go("/promo2", "p2", 3)
        check(s, want)
        assert s.req("DELETE", "/rules/api:1")[0] == 204
        check(s, want)
        go("/old", s.fid(1), 1)
        check(s, want)
        assert s.req("DELETE", "/rules/p2")[0] == 204
        assert s.req("POST", "/rules", {"rule": "/promo3 /sale3 id=p2"})[0] == 201
        go("/promo3", "p2", 2)  # the id counted again, from its orphan total
        check(s, want)
        assert s.read_error_log().count("totals loaded") == loads
        # A reload that drops the last rule: its count stays too.
        s.rules_path.write_text("\n".join(lines[:-1]) + "\n")
        s.signal(signal.SIGHUP)
        s.wait_log("reloaded:")
        go("/r/0", s.fid(3), 3)
        check(s, want)
        # unused_since answers from memory too, API rules included (the
        # log is not folded).
        go("/r/1", s.fid(4), 1)
        wait_pending(s, {s.fid(4): 1})
        st, js, _, _ = s.req("GET", "/stats?unused_since=2000-01-01T00:00:00Z")
        assert js["unused"] == []
        assert {k: sum(v) for k, v in pending(s).items()} == {s.fid(4): 1}
        st, js, _, _ = s.req("GET", "/stats?unused_since=2100-01-01T00:00:00Z&limit=1000")
        assert sorted((u["id"], u["hits"]) for u in js["unused"]) == sorted(
            [(s.fid(3 + i), want[s.fid(3 + i)]) for i in range(19)]
            + [(s.fid(1), want[s.fid(1)]), ("keep", want["keep"]), ("p2", want["p2"])])
        # kill -9 once a flush wrote the log, then a clean restart.
        logged = sum(pending(s).get("keep", []))
        go("/keep", "keep", 6)
        deadline = time.monotonic() + 10
        while sum(pending(s).get("keep", [])) != logged + 6:
            assert time.monotonic() < deadline, pending(s)
            time.sleep(0.05)
        s.kill9_restart()
        check(s, want)
        go("/r/5", s.fid(8), 2)
        s.stop()
        s.start()
        check(s, want)
    finally:
        assert s.stop() in (0, -9), s.read_error_log()
