#!/usr/bin/env python3
"""Differential test of the enclos wasm engine against wabt's wasm-interp (Debian `wabt`).

    tests/wasm/wasm_diff.py --runner build/asan/tests/wasm/wasm_diff_run [-v] FILE_OR_DIR...

Both engines get the same bytes. For each input, wasm-interp --run-all-exports and
wasm_diff_run (its enclos twin, same output format) must agree on:
  - whether the module is rejected (decode/validation error),
  - whether instantiation traps (segments out of bounds, start function, missing imports),
  - for every exported function without parameters, in export order on one instance: the
    results, or that it traps and with which trap.
Normalisation: trap details after the first ':' are dropped (wording of the kind only), NaN
signs/payloads are not compared (the spec leaves them nondeterministic; in v128 results a
32-bit lane, or an aligned pair of lanes, that is NaN on both sides counts as equal), reference
results compare as null / non-null.
Not compared ("inconclusive"): anything after enclos hits a limit wabt does not have (fuel,
call depth) or wabt's own call-stack limit; modules enclos rejects with a size limit
(ENCLOS_E_LIMIT); wasm-interp running over --timeout seconds.

Exit status 1 if any input differs (each difference is printed with both outputs).
"""
import argparse
import os
import re
import subprocess
import sys


def classify(out, rc, ours):
    """-> (kind, lines): kind REJECT / INIT / RUN / LIMIT."""
    lines = [l for l in out.splitlines() if l.strip()]
    if ours and rc == 3:
        return "LIMIT", lines
    if any("error initializing module" in l for l in lines):
        return "INIT", lines
    if rc != 0:
        return "REJECT", lines
    return "RUN", [l for l in lines if " => " in l]


NAN_RE = re.compile(r"(f32|f64):-?nan")


def norm_line(l):
    name, _, rest = l.partition(" => ")
    if rest.startswith("error:"):
        msg = rest[len("error:"):].strip().split(":")[0]
        return name, ("error", msg)
    if rest.startswith("inconclusive"):
        return name, ("inconclusive", "")
    rest = NAN_RE.sub(r"\1:nan", rest)
    rest = re.sub(r"(funcref|externref):(\d+)", lambda m: "%s:%d" % (m.group(1), m.group(2) != "0"), rest)
    return name, ("ok", rest)


def f32_nan(w):
    return (w & 0x7F800000) == 0x7F800000 and (w & 0x007FFFFF) != 0


def f64_nan(lo, hi):
    v = (hi << 32) | lo
    return (v & 0x7FF0000000000000) == 0x7FF0000000000000 and (v & 0x000FFFFFFFFFFFFF) != 0


def v128_equal(a, b):
    wa = [int(x, 16) for x in a.split()]
    wb = [int(x, 16) for x in b.split()]
    if len(wa) != 4 or len(wb) != 4:
        return a == b
    for k in range(0, 4, 2):
        if wa[k:k + 2] == wb[k:k + 2]:
            continue
        if f64_nan(wa[k], wa[k + 1]) and f64_nan(wb[k], wb[k + 1]):
            continue
        for j in (k, k + 1):
            if wa[j] != wb[j] and not (f32_nan(wa[j]) and f32_nan(wb[j])):
                return False
    return True


def values_equal(a, b):
    va = [x.strip() for x in a.split(", ")]
    vb = [x.strip() for x in b.split(", ")]
    if len(va) != len(vb):
        return False
    for x, y in zip(va, vb):
        if x == y:
            continue
        if x.startswith("v128 i32x4:") and y.startswith("v128 i32x4:"):
            if v128_equal(x[len("v128 i32x4:"):], y[len("v128 i32x4:"):]):
                continue
        return False
    return True


def compare(ours, theirs):
    """-> (verdict, why): SAME / DIFF / INCONCLUSIVE."""
    (ok_kind, ol), (tk_kind, tl) = ours, theirs
    if ok_kind == "LIMIT":
        return "INCONCLUSIVE", "enclos limit: " + (ol[0] if ol else "")
    if tk_kind == "TIMEOUT":
        return "INCONCLUSIVE", "wasm-interp timed out"
    if ok_kind != tk_kind:
        return "DIFF", "enclos %s, wabt %s" % (ok_kind, tk_kind)
    if ok_kind != "RUN":
        return "SAME", ""
    for i, o in enumerate(ol):
        oname, oval = norm_line(o)
        if oval[0] == "inconclusive":
            return "SAME", "(compared up to an enclos limit)"
        if i >= len(tl):
            return "DIFF", "enclos ran more exports (%s)" % oname
        tname, tval = norm_line(tl[i])
        if tval == ("error", "call stack exhausted"):
            return "SAME", "(compared up to wabt's call stack limit)"
        if oname != tname:
            return "DIFF", "export order: %s vs %s" % (oname, tname)
        if oval[0] != tval[0] or (oval[0] == "error" and oval[1] != tval[1]):
            return "DIFF", "%s: enclos '%s', wabt '%s'" % (oname, o, tl[i])
        if oval[0] == "ok" and not values_equal(oval[1], tval[1]):
            return "DIFF", "%s: enclos '%s', wabt '%s'" % (oname, o, tl[i])
    if len(tl) > len(ol):
        return "DIFF", "wabt ran more exports (%s)" % tl[len(ol)]
    return "SAME", ""


def inputs(paths):
    for p in paths:
        if os.path.isdir(p):
            for n in sorted(os.listdir(p)):
                f = os.path.join(p, n)
                if os.path.isfile(f):
                    yield f
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runner", required=True, help="wasm_diff_run binary")
    ap.add_argument("--wabt", default="wasm-interp")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("-v", action="store_true", help="print every input's verdict")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    counts = {"SAME": 0, "DIFF": 0, "INCONCLUSIVE": 0}
    for f in inputs(a.paths):
        r = subprocess.run([a.runner, f], capture_output=True, text=True, errors="replace", timeout=600)
        ours = classify(r.stdout, r.returncode, True)
        try:
            w = subprocess.run([a.wabt, "--run-all-exports", f], capture_output=True, text=True,
                               errors="replace", timeout=a.timeout)
            theirs = classify(w.stdout + w.stderr, w.returncode, False)
            wout = w.stdout + w.stderr
        except subprocess.TimeoutExpired:
            theirs, wout = ("TIMEOUT", []), "(timeout)"
        verdict, why = compare(ours, theirs)
        counts[verdict] += 1
        if verdict == "DIFF" or a.v:
            print("%s: %s %s" % (f, verdict, why))
        if verdict == "DIFF":
            print("  --- enclos (exit %d)\n%s  --- wabt\n%s" % (
                r.returncode, "".join("  " + l + "\n" for l in r.stdout.splitlines()[:40]),
                "".join("  " + l + "\n" for l in wout.splitlines()[:40])))
    total = sum(counts.values())
    print("wasm_diff: %d inputs: %d same, %d different, %d inconclusive" % (
        total, counts["SAME"], counts["DIFF"], counts["INCONCLUSIVE"]))
    return 1 if counts["DIFF"] else 0


if __name__ == "__main__":
    sys.exit(main())
