"""The reload thread with a big cold regex table (issue 10): POST /reload of N regexes
(default 10,000, no hs-cache entry) while GET /healthz is asked every 50 ms (its latency
during the compile), then a SIGHUP to a second, different table and a SIGTERM 2 s into its
compile (the time to exit and the status). Not part of `make test`.

    python3 bench/reload_thread.py build/detour 10000 /tmp/reload-bench

Starts its own detour on free loopback ports, in DIR (created), and stops it by its PID.
"""
import sys, os, time, json, subprocess, threading, http.client, socket, signal
TEMPLATES = [r"^/(en|fr|de)/product-%d-(\d+)$", r"\.p%d\.php$", r"/old-%d/(.*)\.html$",
             r"^/(?:blog|news)/%d-([a-z0-9-]+)$", r"-p%d\.aspx$", r"^/(?<cat>[a-z]+)/item-%d(?:\.html)?$"]
def rules(n, tag):
    return "/ping /pong-%s 302\n" % tag + "".join("~%s /t/%d 302\n" % (TEMPLATES[i % 6] % i, i) for i in range(n))
BIN = sys.argv[1]; N = int(sys.argv[2]); d = sys.argv[3]
os.makedirs(d, exist_ok=True)
def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
P, A = port(), port()
open(d + "/r.rules", "w").write(rules(4, "a"))
open(d + "/d.conf", "w").write("listen 127.0.0.1:%d\nworkers 1\nrules r.rules\nstate-dir state\nstats off\nadmin 127.0.0.1:%d\nerror-log err.log\n" % (P, A))
proc = subprocess.Popen([BIN, "serve", "-c", d + "/d.conf"], cwd=d)
time.sleep(1.5)
def req(m, p, t=600):
    c = http.client.HTTPConnection("127.0.0.1", A, timeout=t); c.request(m, p); r = c.getresponse(); b = r.read(); c.close(); return r.status, b
open(d + "/r.rules", "w").write(rules(N, "b"))
res = {}
def post():
    t = time.monotonic(); res["r"] = req("POST", "/reload"); res["t"] = time.monotonic() - t
th = threading.Thread(target=post); th.start()
lat = []
while th.is_alive():
    t = time.monotonic(); req("GET", "/healthz"); lat.append(time.monotonic() - t); time.sleep(0.05)
lat.sort()
print("POST /reload of %d regexes: %.1f s, answer %s; %d GET /healthz meanwhile, p50 %.1f ms, max %.1f ms" % (
    N, res["t"], res["r"], len(lat), lat[len(lat)//2]*1e3, lat[-1]*1e3))
# SIGTERM during a second cold compile
open(d + "/r.rules", "w").write(rules(N, "c").replace("-p", "-q").replace(".p", ".q"))
proc.send_signal(signal.SIGHUP)
while "compiling" not in open(d + "/err.log").read().split("reloaded:")[-1].replace("still compiling", ""):
    time.sleep(0.05)
time.sleep(2)
t = time.monotonic(); proc.send_signal(signal.SIGTERM); rc = proc.wait(); 
print("SIGTERM 2 s into a %d-regex compile: exit %d after %.2f s" % (N, rc, time.monotonic() - t))
