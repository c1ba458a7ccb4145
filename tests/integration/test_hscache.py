"""The regex index's compiled-database cache (issue 10; docs/internals/table.md, "The database
cache"): a start with a state directory compiles the vectorscan database of its prefix-less
regex rules and keeps it in STATE-DIR/hs-cache/; the next start with the same rules loads it
(a log line says so) and answers byte for byte as before; a corrupt entry is ignored, said,
compiled again and replaced; `serve -t` keeps no cache. And a reload that compiles a big
database never stalls serving: the old table answers, promptly, until the new one is
published, and the admin API (health, metrics) answers meanwhile."""
import glob
import http.client
import os
import random
import signal
import subprocess
import time

from conftest import BIN, Server, free_port, wait_port

TEMPLATES = [
    (r"^/(en|fr|de)/product-%d-(\d+)$", "/shop/$1/%d/$2",
     lambda n, r: "/%s/product-%d-%d" % (r.choice(["en", "fr", "de"]), n, r.randint(1, 999))),
    (r"\.p%d\.php$", "/php/%d", lambda n, r: "/x/index.p%d.php" % n),
    (r"/old-%d/(.*)\.html$", "/pages/%d/$1", lambda n, r: "/s/old-%d/p%d.html" % (n, r.randint(1, 9))),
    (r"^/(?:blog|news)/%d-([a-z0-9-]+)$", "/articles/%d/$1",
     lambda n, r: "/%s/%d-title" % (r.choice(["blog", "news"]), n)),
    (r"-p%d\.aspx$", "/p/%d", lambda n, r: "/c/item-p%d.aspx" % n),
    (r"^/(?<cat>[a-z]+)/item-%d(?:\.html)?$", "/items/%d?cat=:cat",
     lambda n, r: "/toys/item-%d%s" % (n, r.choice(["", ".html"]))),
]

# vectorscan's compile is about 1 ms a pattern, several times that under ASan: enough to see
# the cache's effect and a reload in progress, little enough for the test's time.
COUNT = 300
# test_regex_scan.py's: ASan's bookkeeping of the compiler's many allocations, kept small.
# DETOUR_HS_TICK_MS: "still compiling" every 200 ms instead of every 10 s.
ENV = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
           ":malloc_context_size=0:quarantine_size_mb=0", DETOUR_HS_TICK_MS="200")


def rules_text(count, tag="a"):
    lines = ["/ping /pong-%s 302\n" % tag]
    for i in range(count):
        rx, tgt, _ = TEMPLATES[i % len(TEMPLATES)]
        lines.append("~%s %s 302\n" % (rx % i, tgt % i))
        if i == count // 2:
            lines.append("~/k/a\\Kb$ /pcre2-only 302\n")  # vectorscan refuses \K
    lines.append("~\\.html$ /any-html 302\n")
    return "".join(lines)


def paths(count):
    r = random.Random(20261203)
    out = ["/ping", "/k/ab", "/nothing", "/x.html"]
    for _ in range(150):
        i = r.randrange(count)
        out.append(TEMPLATES[i % len(TEMPLATES)][2](i, r))
    return out


def start(s, timeout=240.0):
    """Server.start with a start-up long enough for a compile under ASan."""
    s.proc = subprocess.Popen([BIN, "serve", "-c", str(s.conf_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=str(s.dir), env=ENV)
    s.proc.stderr_text = s.read_error_log
    wait_port(s.host, s.port, s.proc, timeout=timeout)
    return s


def stop(s):
    rc = s.stop(timeout=60)
    assert rc == 0, "detour exited with %s:\n%s\n%s" % (
        rc, s.read_error_log(), s.proc.stderr.read().decode(errors="replace"))


def answers(s, ps):
    out = []
    conn = http.client.HTTPConnection(s.host, s.port, timeout=10)
    for p in ps:
        conn.request("GET", p)
        resp = conn.getresponse()
        body = resp.read()
        out.append((p, resp.status, resp.getheader("Location"), body))
    conn.close()
    return out


def log_of_pid(s, pid):
    return "".join(l for l in s.read_error_log().splitlines(True) if "[%d]" % pid in l)


def run(body, tmp_path):
    """body(tmp_path, servers); a server left running by a failed assertion is stopped."""
    servers = []
    try:
        body(tmp_path, servers)
    finally:
        for s in servers:
            if s.proc is not None and s.proc.poll() is None:
                s.stop(timeout=60)


def entries(s):
    return sorted(glob.glob(str(s.dir / "state" / "hs-cache" / "*.hsdb")))


def _second_start_loads_the_cache(tmp_path, servers):
    s = Server(tmp_path, rules_text(COUNT), conf_extra="state-dir state\nstats off\n")
    servers.append(s)
    ps = paths(COUNT)

    # serve -t compiles and keeps nothing.
    t = subprocess.run([BIN, "serve", "-t", "-c", str(s.conf_path)], cwd=str(s.dir), env=ENV,
                       capture_output=True, timeout=300)
    assert t.returncode == 0, t.stderr
    assert not os.path.exists(s.dir / "state" / "hs-cache")

    # First start: compiled, and cached.
    start(s)
    log = log_of_pid(s, s.proc.pid)
    # COUNT + 2 candidates: the COUNT rules, \K and \.html$; \K stays on PCRE2
    assert "regex index: compiling %d patterns with vectorscan" % (COUNT + 2) in log, log
    assert "regex index: %d patterns compiled in " % (COUNT + 1) in log, log
    assert "(0 prefilter, 1 left on PCRE2); caching it as " in log, log
    first = answers(s, ps)
    stop(s)
    [entry] = entries(s)
    assert os.stat(entry).st_mode & 0o777 == 0o600
    assert log.split("caching it as ")[1][:16] == os.path.basename(entry)[:16]
    by_path = {p: (st, loc) for p, st, loc, _ in first}
    assert by_path["/ping"] == (302, "/pong-a")
    assert by_path["/k/ab"] == (302, "/pcre2-only")
    assert by_path["/nothing"][0] == 404
    assert by_path["/x.html"] == (302, "/any-html")
    assert by_path["/x/index.p1.php"] == (302, "/php/1")

    # Second start: loaded from the cache, same answers, same bytes.
    start(s)
    log = log_of_pid(s, s.proc.pid)
    assert "regex index: %d patterns loaded from the cached database %s in " % (
        COUNT + 2, os.path.basename(entry)[:16]) in log, log
    assert "compil" not in log, log
    second = answers(s, ps)
    stop(s)
    assert [(p, st, loc) for p, st, loc, _ in second] == [(p, st, loc) for p, st, loc, _ in first]
    assert [b for *_, b in second] == [b for *_, b in first]
    assert entries(s) == [entry]

    # A corrupt entry (a byte of the database flipped): ignored, said, compiled, replaced.
    data = bytearray(open(entry, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(entry, "wb").write(bytes(data))
    start(s)
    log = log_of_pid(s, s.proc.pid)
    assert "regex index: cached database %s ignored (checksum mismatch); compiling" % (
        os.path.basename(entry)[:64]) in log, log
    assert "regex index: %d patterns compiled in " % (COUNT + 1) in log, log
    third = answers(s, ps)
    stop(s)
    assert third == first
    assert entries(s) == [entry]
    assert open(entry, "rb").read() != bytes(data)

    # Truncated (a crash while it was written elsewhere, a full disk): ignored too; and the
    # entry written then loads on the next start.
    open(entry, "wb").write(bytes(data[:100]))
    start(s)
    log = log_of_pid(s, s.proc.pid)
    assert "ignored (truncated); compiling" in log, log
    stop(s)
    start(s)
    log = log_of_pid(s, s.proc.pid)
    assert "loaded from the cached database" in log, log
    assert answers(s, ps) == first
    stop(s)


def _reload_compiling_never_stalls(tmp_path, servers):
    admin = free_port()
    s = Server(tmp_path, rules_text(8, "a"),
               conf_extra="state-dir state\nstats off\nadmin 127.0.0.1:%d\n" % admin)
    servers.append(s)
    start(s)
    assert answers(s, ["/ping"])[0][2] == "/pong-a"
    # A bigger set that is not in the cache: the reload compiles it for seconds.
    s.rules_path.write_text(rules_text(COUNT * 2, "b"))
    s.signal(signal.SIGHUP)
    s.wait_log("regex index: compiling %d patterns" % (COUNT * 2 + 2), timeout=30)
    during, admin_ok, slowest = 0, 0, 0.0
    while "reloaded:" not in s.read_error_log():
        t0 = time.monotonic()
        [(_, status, loc, _)] = answers(s, ["/ping"])
        slowest = max(slowest, time.monotonic() - t0)
        if "reloaded:" in s.read_error_log():
            break  # published meanwhile: either answer is right
        assert (status, loc) == (302, "/pong-a")
        during += 1
        conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=10)
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        r.read()
        conn.close()
        admin_ok += r.status == 200
        time.sleep(0.05)
    assert during >= 3, "the compile was too quick to watch: %d requests" % during
    assert admin_ok >= 3
    # Each answer in well under the compile's time (seconds): no request waited for it.
    assert slowest < 1.0, slowest
    assert answers(s, ["/ping"])[0][2] == "/pong-b"
    log = s.read_error_log()
    assert "regex index: %d patterns compiled" % (COUNT * 2 + 1) in log
    # Progress while it compiled, and none after.
    assert "regex index: still compiling (0.2 s)" in log, log
    assert "still compiling" not in log.split("patterns compiled")[-1]
    stop(s)


def _old_entries_pruned(tmp_path, servers):
    """Four entries stay, the ones used last (a load counts as a use); a fifth set's store
    removes the oldest."""
    def small(tag):
        return "".join("~\\.%s%d$ /%s/%d 302\n" % (tag, i, tag, i) for i in range(4))

    s = Server(tmp_path, small("a"), conf_extra="state-dir state\nstats off\n")
    servers.append(s)
    start(s)
    keys = {"a": entries(s)}
    assert len(keys["a"]) == 1
    reloads = 0

    def reload_to(tag):
        nonlocal reloads
        s.rules_path.write_text(small(tag))
        time.sleep(0.02)  # distinct mtimes
        s.signal(signal.SIGHUP)
        reloads += 1
        deadline = time.monotonic() + 60
        while s.read_error_log().count("reloaded:") < reloads:
            assert time.monotonic() < deadline, s.read_error_log()
            time.sleep(0.02)
        assert answers(s, ["/x.%s1" % tag])[0][2] == "/%s/1" % tag

    for tag in "bcd":
        before = set(entries(s))
        reload_to(tag)
        [keys[tag]] = [set(entries(s)) - before]
    assert len(entries(s)) == 4
    reload_to("a")  # loaded: a is now the latest used
    assert s.read_error_log().count("loaded from the cached database") == 1
    reload_to("e")  # stored: b, the oldest used, goes
    left = set(entries(s))
    assert len(left) == 4
    assert not (keys["b"] & left)
    assert set(keys["a"]) <= left and keys["c"] <= left and keys["d"] <= left
    assert "regex index cache: removed " in s.read_error_log()
    stop(s)


def test_second_start_loads_the_cache(tmp_path):
    run(_second_start_loads_the_cache, tmp_path)


def test_reload_compiling_never_stalls(tmp_path):
    run(_reload_compiling_never_stalls, tmp_path)


def test_old_entries_pruned(tmp_path):
    run(_old_entries_pruned, tmp_path)
