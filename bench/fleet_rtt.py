"""One Redis round trip over redis:// and over rediss:// (issue 13): a
node on each (fresh redis-server, TLS port only for rediss, a throw-away CA
and client certificate), GET /audit?limit=1 on the admin API (one XREVRANGE
on the node's write connection) N times on a keep-alive connection,
alternately, REPEAT rounds; prints the medians of each round's p50 and p99.
The difference is the cost of the TLS relay (src/server/fleet_tls.c) on one
round trip: two more thread wake-ups and the record crypto.

    DETOUR_BIN=build/detour /usr/bin/python3 bench/fleet_rtt.py [N] [REPEAT]
"""
import http.client
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
os.environ.setdefault("DETOUR_BIN", str(HERE.parent / "build" / "detour"))
from conftest import free_port, wait_port  # noqa: E402
from test_fleet_tls import make_pki  # noqa: E402


def redis(d, pki, tls):
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(d)]
    if tls:
        args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(pki / "redis.pem"),
                 "--tls-key-file", str(pki / "redis.key"), "--tls-ca-cert-file",
                 str(pki / "ca.pem")]
    else:
        args += ["--port", str(port)]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port("127.0.0.1", port, p)
    return p, port


def node(d, url, extra):
    port, aport = free_port(), free_port()
    d.mkdir()
    (d / "site.rules").write_text("/a /b 301\n")
    (d / "d.conf").write_text(
        "listen 127.0.0.1:%d\nrules site.rules\nadmin 127.0.0.1:%d\nstate-dir st\nstate %s\n"
        "error-log err.log\n%s" % (port, aport, url, extra))
    p = subprocess.Popen([os.environ["DETOUR_BIN"], "serve", "-c", "d.conf"], cwd=str(d))
    wait_port("127.0.0.1", aport, p)
    return p, aport


def rtt(aport, n):
    c = http.client.HTTPConnection("127.0.0.1", aport)
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", "/audit?limit=1")
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
        lat.append((time.perf_counter() - t) * 1e6)
    c.close()
    lat.sort()
    return lat[len(lat) // 2], lat[len(lat) * 99 // 100]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    d = pathlib.Path(tempfile.mkdtemp(prefix="detour-fleet-rtt-"))
    pki = make_pki(d)
    procs = []
    try:
        rp, rport = redis(d, pki, False)
        sp, sport = redis(d, pki, True)
        procs += [rp, sp]
        n1, a1 = node(d / "plain", "redis://127.0.0.1:%d/0" % rport, "")
        procs.append(n1)
        n2, a2 = node(d / "tls", "rediss://127.0.0.1:%d/0" % sport,
                      "state-ca %s\nstate-cert %s %s\n" % (
                          pki / "ca.pem", pki / "client.pem", pki / "client.key"))
        procs.append(n2)
        time.sleep(1)
        res = {"redis": [], "rediss": []}
        for _ in range(repeat):
            res["redis"].append(rtt(a1, n))
            res["rediss"].append(rtt(a2, n))
        med = lambda v: sorted(v)[len(v) // 2]
        for k, v in res.items():
            print("%-7s GET /audit?limit=1: p50 %4.0f us, p99 %5.0f us (medians of %d x %d)" % (
                k, med([x[0] for x in v]), med([x[1] for x in v]), repeat, n))
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
        subprocess.run(["rm", "-rf", str(d)])


if __name__ == "__main__":
    main()
