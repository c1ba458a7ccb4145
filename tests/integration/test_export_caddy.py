"""`detour export caddy` against a real Caddy (Debian's caddy 2.6.2):
the exported Caddyfile is served by `caddy run` on a loopback port (started
and killed by PID by the test, its HOME and XDG directories in tmp, the
admin endpoint off, automatic HTTPS off), detour serves the same rules, and
every request's status and Location (resolved against the request URL) must
be equal."""
import os
import shutil
import subprocess

import pytest

from conftest import free_port
from test_import import DATA, ask, compare, data, export, stop, wait_listen

CADDY = shutil.which("caddy")

# Requests to every rule of export_caddy.rules: matching, not matching, each
# condition holding and not, the query kept and dropped, encoded paths.
PATHS = [
    "/old-page", "/old-page/", "/old-page?x=1", "/old-pages", "/landing?utm=1", "/landing/",
    "/blog", "/blog/", "/blog/2024/post?x=1", "/blogs", "/blog/a%20b", "/blog/caf%C3%A9",
    "/docs/v1/intro", "/docs/v1/intro?q=2", "/docs/v1", "/gone", "/gone/", "/moved?a=1",
    "/temp?a=1", "/p/12.html", "/p/12.html?a=b", "/p/x.html", "/u/ann", "/u/Ann", "/u/ann?z=1",
    "/shop", "/shop/cart/1?k=v", "/case", "/CASE?x=1", "/Case/", "/api/v1", "/nowhere",
    "/beta", "/agent", "/nobeta", "/cookie", "/q", "/q?ref=news", "/q?ref=news&x=1",
    "/q?ref=other", "/office", "/outside", "/both?a=1&b=2", "/both?a=1",
    "/shop/a%3Fb?c=d", "/blog/a%2Fb", "/docs/v%201/a%3Fb", "/old-page?", "/p/%31.html",
    "/api/v1?x=1",
]
REQUESTS = [{"target": t, "host": h} for h in ("localhost", "legacy.example.org",
                                                "secure.example.org") for t in PATHS] + [
    {"target": "/api/v1?x=1", "method": "POST"},
    {"target": "/api/v1", "method": "PUT"},
    {"target": "/beta", "headers": {"X-Beta": "1"}},
    {"target": "/beta", "headers": {"X-Beta": "2"}},
    {"target": "/agent", "headers": {"User-Agent": "Foo Mobile Safari"}},
    {"target": "/nobeta", "headers": {"X-Beta": "1"}},
    {"target": "/cookie", "headers": {"Cookie": "a=b; pref=dark"}},
    {"target": "/cookie", "headers": {"Cookie": "pref=darker"}},
]


@pytest.fixture
def caddy(tmp_path):
    procs = []

    def start(caddyfile):
        if CADDY is None:
            pytest.skip("caddy is not installed (scripts/deps.sh installs Debian's caddy)")
        root = tmp_path / "caddy"
        root.mkdir()
        port, tls_port = free_port(), free_port()
        # The exported file answers only its redirects: what else a site
        # serves is the user's. Like detour with no rule, 404 after them.
        site = caddyfile.replace("\t}\n}\n", "\t}\n\trespond 404\n}\n")
        site = site.replace("\n:80 {\n", "\n:%d {\n" % port)
        conf = ("{\n\tadmin off\n\tauto_https off\n\thttp_port %d\n\thttps_port %d\n}\n%s"
                % (port, tls_port, site))
        (root / "Caddyfile").write_text(conf)
        env = dict(os.environ, HOME=str(root), XDG_DATA_HOME=str(root / "data"),
                   XDG_CONFIG_HOME=str(root / "config"))
        p = subprocess.Popen([CADDY, "run", "--config", str(root / "Caddyfile"), "--adapter",
                              "caddyfile"], stdout=subprocess.DEVNULL,
                             stderr=open(root / "caddy.log", "w"), env=env, cwd=str(root))
        procs.append(p)
        try:
            wait_listen(port, p, "caddy")
        except RuntimeError:
            raise RuntimeError((root / "caddy.log").read_text())
        return port

    yield start
    for p in procs:
        stop(p)


def test_export_caddy_differential(caddy, make_server, tmp_path):
    rules = os.path.join(DATA, "export_caddy.rules")
    port = caddy(export("caddy", rules, tmp_path).read_text())
    srv = make_server(data("export_caddy.rules"))
    compare(port, srv.port, REQUESTS)
