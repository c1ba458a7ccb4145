#!/usr/bin/python3
"""The driver of bench/soak.sh (issue 11): everything but the load, in one process.

    soak.py PID ADMIN_PORT RUN_DIR SECONDS WARMUP_SECONDS

Against the detour process PID, until SECONDS have passed:
  - every second a reload (SIGHUP) of RUN_DIR/site.rules, one in ten with a broken file
    (RUN_DIR/bad.rules; the next one restores RUN_DIR/good.rules);
  - every 100 ms an API change on the admin listener, alternately POST /rules (a new rule) and
    DELETE /rules/ID (the rule just added), on one keep-alive connection;
  - every 10 s the access log is renamed to access.log.1 and SIGUSR1 reopens it;
  - every 10 s a sample: VmRSS (RssAnon, RssFile, RssShmem) and the number of open descriptors
    of PID, taken half a second after a reload was asked for, half a second before the next.
Prints the samples, then one line of JSON with the counts (API calls failed, reloads, broken
reloads, reopens, samples; RSS: lowest, highest, first and last sample after WARMUP_SECONDS, the
same of the lowest sample of each minute after it ("floors"), VmHWM) for soak.sh's verdict.

Environment, to tell which activity makes memory grow: SOAK_NO_API=1, SOAK_NO_RELOAD=1,
SOAK_NO_REOPEN=1 turn one off; SOAK_SMAPS=1 copies /proc/PID/smaps every minute to
RUN_DIR/smaps-SECONDS. Standard library only."""
import http.client
import json
import os
import signal
import sys
import time


def rss_kib(pid, field="VmRSS"):
    """VmRSS (or VmHWM, its peak) of PID in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rollup(pid):
    """RssAnon, RssFile and RssShmem of PID in kB (from /proc/PID/status)."""
    r = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("RssAnon", "RssFile", "RssShmem"):
                r[k] = int(line.split()[1])
    return r.get("RssAnon", 0), r.get("RssFile", 0), r.get("RssShmem", 0)


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Admin:
    def __init__(self, port):
        self.port = port
        self.c = None

    def req(self, method, path, body=None):
        for attempt in range(2):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                headers = {"Host": "127.0.0.1:%d" % self.port}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, payload
            except (OSError, http.client.HTTPException):
                # The admin closes an idle connection after 30 s; one retry on a new one.
                if self.c is not None:
                    self.c.close()
                self.c = None
                if attempt:
                    return 0, b""
        return 0, b""


def api_step(admin, counts, added):
    """One API change: POST a new rule, or DELETE the one added before (returns its id)."""
    counts["api_calls"] += 1
    if added is None:
        n = counts["api_calls"]
        st, body = admin.req("POST", "/rules", {"rule": "/soak/%d /landing/%d 302" % (n, n)})
        if st == 201:
            return json.loads(body)["id"]
        counts["api_failed"] += 1
        return None
    st, _ = admin.req("DELETE", "/rules/" + added)
    if st != 204:
        counts["api_failed"] += 1
    return None


def reload_step(pid, run, counts):
    """One reload (SIGHUP), of a broken rules file every tenth time."""
    site = os.path.join(run, "site.rules")
    broken = counts["reloads"] % 10 == 9
    src = os.path.join(run, "bad.rules" if broken else "good.rules")
    with open(src, "rb") as f, open(site + ".new", "wb") as g:
        g.write(f.read())
    os.replace(site + ".new", site)
    os.kill(pid, signal.SIGHUP)
    counts["reloads"] += 1
    counts["broken_reloads"] += broken


def main(argv):
    pid, aport, run, secs, warm = int(argv[1]), int(argv[2]), argv[3], float(argv[4]), float(argv[5])
    no_api = os.environ.get("SOAK_NO_API") == "1"
    no_reload = os.environ.get("SOAK_NO_RELOAD") == "1"
    no_reopen = os.environ.get("SOAK_NO_REOPEN") == "1"
    admin = Admin(aport)
    log = os.path.join(run, "access.log")
    start = time.monotonic()
    next_reload = start + 1
    next_api = start + 0.1
    # Samples half-way between two reloads: a sample taken as SIGHUP goes out catches the new
    # table being built while the old one serves, a transient peak, not the steady state.
    next_ten = start + 10.5
    counts = {"api_calls": 0, "api_failed": 0, "reloads": 0, "broken_reloads": 0, "reopens": 0}
    samples = []
    added = None
    smaps = os.environ.get("SOAK_SMAPS") == "1"

    def sample(t):
        if smaps and len(samples) % 6 == 0:
            # /proc/PID/smaps every minute, to diff the mappings (RUN_DIR/smaps-SECONDS)
            with open("/proc/%d/smaps" % pid) as f, open(os.path.join(run, "smaps-%04d" % t), "w") as g:
                g.write(f.read())
        samples.append((t, rss_kib(pid), fds(pid)))
        print("t=%6.0fs rss=%d kB fds=%d" % samples[-1] + " (anon %d file %d shmem %d)" % rollup(pid),
              flush=True)

    sample(0.0)
    while True:
        now = time.monotonic()
        if now - start >= secs:
            break
        if now >= next_api:
            next_api += 0.1
            if not no_api:
                added = api_step(admin, counts, added)
        if now >= next_reload:
            next_reload += 1
            if not no_reload:
                reload_step(pid, run, counts)
        if now >= next_ten:
            next_ten += 10
            if not no_reopen:
                try:
                    os.replace(log, log + ".1")
                except FileNotFoundError:
                    pass
                os.kill(pid, signal.SIGUSR1)
                counts["reopens"] += 1
            sample(now - start)
        time.sleep(max(0.0, min(next_api, next_reload, next_ten) - time.monotonic()))
    after = [s for s in samples if s[0] >= warm]
    counts["samples"] = len(samples)
    counts["rss_peak"] = rss_kib(pid, "VmHWM")
    if after:
        rss = [s[1] for s in after]
        fd = [s[2] for s in after]
        # The lowest sample of each minute after warm-up: memory the server keeps shows in every
        # sample of a minute, a transient (a reload caught by a sample) in one only.
        floors = {}
        for t, r, _ in after:
            m = int((t - warm) // 60)
            floors[m] = min(floors.get(m, r), r)
        fl = [floors[m] for m in sorted(floors)]
        counts.update(rss_min=min(rss), rss_max=max(rss), rss_first=rss[0], rss_last=rss[-1],
                      floor_min=min(fl), floor_max=max(fl), floor_first=fl[0], floor_last=fl[-1],
                      fds_min=min(fd), fds_max=max(fd))
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
