"""What `make install` ships (issue 11): the systemd unit can start with the
user its own comment names, and the sample /etc/detour/detour.conf is valid."""
import getpass
import os
import re
import subprocess

from conftest import BIN

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def unit():
    text = open(os.path.join(ROOT, "examples", "detour.service")).read()
    keys = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            keys.setdefault(m.group(1), []).append(m.group(2))
    return keys


def test_unit_runs_as_the_user_that_owns_its_state():
    k = unit()
    # StateDirectory= and LogsDirectory= are created owned by User=: without it
    # they are root's (0750) and detour, once it is the user detour, cannot write.
    assert k["User"] == ["detour"] and k["Group"] == ["detour"]
    assert k["StateDirectory"] == ["detour"] and k["LogsDirectory"] == ["detour"]
    assert k["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert k["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    # It would silently turn off the PCRE2 JIT.
    assert "MemoryDenyWriteExecute" not in k


def test_sample_conf_is_valid(tmp_path):
    text = open(os.path.join(ROOT, "examples", "detour.production.conf")).read()
    assert "state-dir /var/lib/detour\n" in text and "user detour\n" in text
    # The same file with its paths moved into tmp_path and the user that runs the test.
    text = text.replace("/etc/detour/", "%s/" % tmp_path).replace("/var/lib/detour", str(tmp_path))
    text = text.replace("/var/log/detour/", "%s/" % tmp_path)
    text = text.replace("user detour", "user %s" % getpass.getuser())
    (tmp_path / "detour.conf").write_text(text)
    (tmp_path / "site.rules").write_text(open(os.path.join(ROOT, "examples", "site.rules")).read())
    r = subprocess.run([BIN, "serve", "-t", "-c", str(tmp_path / "detour.conf")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

