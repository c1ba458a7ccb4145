#!/usr/bin/python3
"""Generate the exact-path rule sets of bench/run.sh scenario (b), for detour and for nginx.

    gen_rules.py COUNT DETOUR_RULES NGINX_MAP

writes COUNT rules, /r/0 ... /r/{COUNT-1}, each redirecting /r/N to /target/N with 301:
  DETOUR_RULES  one rule a line in detour's rule language:   /r/N /target/N 301
  NGINX_MAP     the body of an nginx `map $uri $target { include NGINX_MAP; }`:   /r/N /target/N;
Either path may be "-" to skip that file. Standard library only; 1,000,000 rules take about a second.
"""
import sys

CHUNK = 100_000


def write(path, count, fmt):
    if path == "-":
        return
    with open(path, "w", encoding="ascii") as f:
        for start in range(0, count, CHUNK):
            f.write("".join(fmt % (i, i) for i in range(start, min(start + CHUNK, count))))


def main(argv):
    if len(argv) != 4 or not argv[1].isdigit():
        sys.stderr.write("usage: gen_rules.py COUNT DETOUR_RULES|- NGINX_MAP|-\n")
        return 2
    count = int(argv[1])
    write(argv[2], count, "/r/%d /target/%d 301\n")
    write(argv[3], count, "/r/%d /target/%d;\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
