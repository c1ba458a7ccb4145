#!/usr/bin/python3
"""The generated parts of the man pages (docs/man/*.scd): every block

    ; generated: detour help --man TOPIC
    ...
    ; end generated

is the output of `BIN help --man TOPIC`, which writes it from the tables the
parsers read (the subcommands' option tables, lib/config.c's directives,
lib/ruleopts.c's options; src/cli/man.h). Usage:

    scripts/mansync.py BIN           rewrite the blocks (make man-sync)
    scripts/mansync.py --check BIN   exit 1, naming the page, when a block differs (make test)
"""
import glob
import re
import subprocess
import sys

BLOCK = re.compile(r"^; generated: detour help --man (\S+)\n(.*?)^; end generated\n", re.M | re.S)


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    binary = args[0]
    stale = []
    for page in sorted(glob.glob("docs/man/*.scd")):
        with open(page) as f:
            text = f.read()

        def fill(m):
            out = subprocess.run([binary, "help", "--man", m.group(1)], check=True,
                                 capture_output=True, text=True).stdout
            return "; generated: detour help --man %s\n%s; end generated\n" % (m.group(1), out)

        new = BLOCK.sub(fill, text)
        if new != text:
            stale.append(page)
            if not check:
                with open(page, "w") as f:
                    f.write(new)
    if check and stale:
        print("mansync: %s differ from the parsers' tables: run `make man-sync`"
              % ", ".join(stale), file=sys.stderr)
        return 1
    if not check:
        print("mansync: %s" % (", ".join(stale) + " rewritten" if stale else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
