#!/usr/bin/env python3
"""ctest spec_normalize: the 7 core-2.0 scripts wabt 1.0.32 cannot parse are normalised by
wast_normalize.py, converted by wast2json, and must keep every command: the JSON's commands per
kind must equal the original script's top-level forms per kind (read by our own s-expression
reader). Usage: check_normalize.py SUITE_DIR SCRATCH_DIR"""
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wast_normalize  # noqa: E402

FILES = ["comments", "if", "table_fill", "table_get", "table_grow", "table_set", "table_size"]
# top-level form -> JSON command type (wast2json: a trapping module is assert_uninstantiable)
MAP = {"invoke": "action", "get": "action"}


def main(suite, scratch):
    fail = 0
    for n in FILES:
        src = os.path.join(suite, n + ".wast")
        d = os.path.join(scratch, n)
        os.makedirs(d, exist_ok=True)
        norm = os.path.join(d, n + ".normalized.wast")
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "wast_normalize.py"),
                        src, norm], check=True, stdout=subprocess.DEVNULL)
        p = subprocess.run(["wast2json", n + ".normalized.wast", "-o", n + ".json"], cwd=d,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            print("%s: wast2json failed on the normalised script:\n%s" % (n, p.stderr.decode()[:800]))
            fail = 1
            continue
        with open(src, "rb") as f:
            top = wast_normalize.parse(f.read())
        want = collections.Counter()
        for x in top:
            h = wast_normalize.head(x).decode()
            if h == "assert_trap" and wast_normalize.head(x.items[1]) == b"module":
                h = "assert_uninstantiable"
            want[MAP.get(h, h)] += 1
        with open(os.path.join(d, n + ".json")) as f:
            got = collections.Counter(c["type"] for c in json.load(f)["commands"])
        if got != want:
            print("%s: command counts differ: script %s, json %s" % (n, dict(want), dict(got)))
            fail = 1
        else:
            print("%s: ok, %d commands" % (n, sum(got.values())))
    return fail


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
