#!/usr/bin/python3
"""Generate bench/regex.sh's "anyre" set: COUNT regex rules written the way people write them,
with no common literal prefix (so the literal-prefix index cannot split them), the same rules
as nginx regex locations, and request paths that hit them at random.

    gen_regex.py COUNT DETOUR_RULES NGINX_LOCATIONS PATHS [NPATHS]

Rule i uses template i % 8 with the number i in it, so every rule is distinct:
    ~^/(en|fr|de)/product-N-(\\d+)$        /shop/$1/N/$2
    ~\\.pN\\.php$                           /php/N
    ~/old-N/(.*)\\.html$                    /pages/N/$1
    ~^/(?:blog|news)/N-([a-z0-9-]+)$       /articles/N/$1
    ~-pN\\.aspx$                            /p/N
    ~^/(\\d{4})/(\\d{2})/post-N$             /posts/N/$1-$2
    ~^/(?<cat>[a-z]+)/item-N(?:\\.html)?$   /items/N?cat=:cat   (nginx: $cat)
    ~/download/fileN\\.(pdf|zip)$           /files/N.$1
PATHS gets NPATHS (default 65536) paths, one a line: a uniformly random rule each, with
random free parts. Standard library only.
"""
import random
import sys

TEMPLATES = [
    (r"^/(en|fr|de)/product-%d-(\d+)$", "/shop/$1/%d/$2", "/shop/$1/%d/$2",
     lambda n, r: "/%s/product-%d-%d" % (r.choice(["en", "fr", "de"]), n, r.randint(1, 99999))),
    (r"\.p%d\.php$", "/php/%d", "/php/%d",
     lambda n, r: "/%s/index.p%d.php" % (r.choice(["a", "cms", "x/y"]), n)),
    (r"/old-%d/(.*)\.html$", "/pages/%d/$1", "/pages/%d/$1",
     lambda n, r: "/site/old-%d/page%d.html" % (n, r.randint(1, 999))),
    (r"^/(?:blog|news)/%d-([a-z0-9-]+)$", "/articles/%d/$1", "/articles/%d/$1",
     lambda n, r: "/%s/%d-some-title-%d" % (r.choice(["blog", "news"]), n, r.randint(1, 99))),
    (r"-p%d\.aspx$", "/p/%d", "/p/%d",
     lambda n, r: "/catalog/item-p%d.aspx" % n),
    (r"^/(\d{4})/(\d{2})/post-%d$", "/posts/%d/$1-$2", "/posts/%d/$1-$2",
     lambda n, r: "/%d/%02d/post-%d" % (r.randint(2000, 2025), r.randint(1, 12), n)),
    (r"^/(?<cat>[a-z]+)/item-%d(?:\.html)?$", "/items/%d?cat=:cat", "/items/%d?cat=$cat",
     lambda n, r: "/%s/item-%d%s" % (r.choice(["tools", "garden", "toys"]), n,
                                     r.choice(["", ".html"]))),
    (r"/download/file%d\.(pdf|zip)$", "/files/%d.$1", "/files/%d.$1",
     lambda n, r: "/d/download/file%d.%s" % (n, r.choice(["pdf", "zip"]))),
]


def main(argv):
    if len(argv) not in (5, 6) or not argv[1].isdigit():
        sys.stderr.write("usage: gen_regex.py COUNT DETOUR_RULES NGINX_LOCATIONS PATHS [NPATHS]\n")
        return 2
    count, npaths = int(argv[1]), int(argv[5]) if len(argv) == 6 else 65536
    with open(argv[2], "w") as f, open(argv[3], "w") as g:
        for i in range(count):
            rx, tgt, ngt, _ = TEMPLATES[i % len(TEMPLATES)]
            f.write("~%s %s 302\n" % (rx % i, tgt % i))
            g.write('location ~ "%s" { return 302 %s; }\n' % (rx % i, ngt % i))
    r = random.Random(20261203)
    with open(argv[4], "w") as f:
        for _ in range(npaths):
            i = r.randrange(count)
            f.write(TEMPLATES[i % len(TEMPLATES)][3](i, r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
