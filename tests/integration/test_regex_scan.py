"""Ten thousand regex rules with no common literal prefix, served (issue 10): the table puts
them in one vectorscan database (docs/internals/table.md, "Regex sources"). Every answer is
checked against a reference that tries the rules one by one in file order (Python's re), with
exact and prefix rules before and after them and a regex vectorscan cannot compile (\\K) in
between, which stays on PCRE2 at its place."""
import http.client
import os
import random
import re
import subprocess

from conftest import BIN, Server, wait_port

TEMPLATES = [
    (r"^/(en|fr|de)/product-%d-(\d+)$", "/shop/$1/%d/$2",
     lambda n, r: "/%s/product-%d-%d" % (r.choice(["en", "fr", "de"]), n, r.randint(1, 99999))),
    (r"\.p%d\.php$", "/php/%d", lambda n, r: "/%s/index.p%d.php" % (r.choice(["a", "x/y"]), n)),
    (r"/old-%d/(.*)\.html$", "/pages/%d/$1",
     lambda n, r: "/site/old-%d/page%d.html" % (n, r.randint(1, 999))),
    (r"^/(?:blog|news)/%d-([a-z0-9-]+)$", "/articles/%d/$1",
     lambda n, r: "/%s/%d-title-%d" % (r.choice(["blog", "news"]), n, r.randint(1, 99))),
    (r"-p%d\.aspx$", "/p/%d", lambda n, r: "/catalog/item-p%d.aspx" % n),
    (r"^/(\d{4})/(\d{2})/post-%d$", "/posts/%d/$1-$2",
     lambda n, r: "/%d/%02d/post-%d" % (r.randint(2000, 2025), r.randint(1, 12), n)),
    (r"^/(?<cat>[a-z]+)/item-%d(?:\.html)?$", "/items/%d?cat=:cat",
     lambda n, r: "/%s/item-%d%s" % (r.choice(["tools", "toys"]), n, r.choice(["", ".html"]))),
    (r"/download/file%d\.(pdf|zip)$", "/files/%d.$1",
     lambda n, r: "/d/download/file%d.%s" % (n, r.choice(["pdf", "zip"]))),
]
COUNT = 10000


def rules_and_reference():
    """The rules file, and [(kind, source, target)] in file order for the reference."""
    rules = [
        ("exact", "/fr/product-16-7", "/exact-first"),   # before the regex that matches it
        ("prefix", "/blog/", "/blog-prefix"),            # /blog/* before ^/(?:blog|news)/...
    ]
    for i in range(COUNT):
        rx, tgt, _ = TEMPLATES[i % len(TEMPLATES)]
        rules.append(("regex", rx % i, tgt % i))
        if i == 5000:
            rules.append(("regex", r"/k/a\Kb$", "/pcre2-only"))  # vectorscan cannot compile \K
    rules.append(("exact", "/en/product-8-1", "/exact-after"))    # never: the regex is first
    rules.append(("regex", r"\.html$", "/any-html"))
    rules.append(("regex", r".", "/fallback"))
    text = []
    for kind, src, tgt in rules:
        if kind == "exact":
            text.append("%s %s 302\n" % (src, tgt))
        elif kind == "prefix":
            text.append("%s* %s 302\n" % (src, tgt))
        else:
            text.append("~%s %s 302\n" % (src, tgt))
    return "".join(text), rules


def expected(rules, compiled, path):
    for (kind, src, tgt), rx in zip(rules, compiled):
        if kind == "exact":
            if path == src:
                return tgt
        elif kind == "prefix":
            if path.startswith(src) or path + "/" == src:
                return tgt
        else:
            m = rx.search(path)
            if m:
                out = re.sub(r"\$(\d)", lambda g: m.group(int(g.group(1))) or "", tgt)
                return re.sub(r":([a-z]+)", lambda g: m.group(g.group(1)), out)
    return None


def test_ten_thousand_regexes(tmp_path):
    text, rules = rules_and_reference()
    # Python's re spells a named group (?P<...>) and has no \K (which moves only the
    # match's start: the same paths match without it)
    compiled = [re.compile(src.replace("(?<cat>", "(?P<cat>").replace("\\K", ""))
                if kind == "regex" else None for kind, src, _ in rules]
    rnd = random.Random(20261203)
    paths = ["/fr/product-16-7", "/en/product-8-1", "/blog/3-title-1", "/blog/x", "/k/ab",
             "/x/k/ab", "/nothing.html", "/nothing", "/", "/tools/item-6.html", "/toys/item-6x"]
    for _ in range(250):
        i = rnd.randrange(COUNT)
        paths.append(TEMPLATES[i % len(TEMPLATES)][2](i, rnd))

    srv = Server(tmp_path, text)
    # vectorscan compiles about a thousand patterns a second, and its compiler allocates
    # a lot: under ASan (whose allocator then records every call's stack) the 10,000
    # take minutes; without the allocation stacks and the quarantine, under one. The
    # sanitizers' checks stay on. (lint's regex-pcre2 note: test_lint.py.)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""),
                                                 "malloc_context_size=0:quarantine_size_mb=0"]))
    srv.proc = subprocess.Popen([BIN, "serve", "-c", str(srv.conf_path)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(tmp_path))
    try:
        wait_port(srv.host, srv.port, srv.proc, timeout=400)
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        for p in paths:
            c.request("GET", p)
            r = c.getresponse()
            r.read()
            want = expected(rules, compiled, p)
            assert (r.status, r.getheader("Location")) == (302, want), p
        c.close()
    finally:
        rc = srv.stop()
    assert rc == 0, srv.read_error_log()
