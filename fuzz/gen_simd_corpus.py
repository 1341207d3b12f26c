#!/usr/bin/env python3
"""Writes the SIMD seed modules of fuzz/corpus/wasm/ (simd_*.wasm): one small module per Wasm
2.0 vector instruction, whose exported functions take no parameters and apply the
instruction to edge-case constants (NaN, infinities, -0, lane minima and maxima, out-of-range
shift counts and addresses). They seed fuzz_wasm (the fuzzer mutates working vector code) and
are the inputs of the differential test against wabt (tests/wasm/wasm_diff.py, ctest
wasm_diff), which runs every export on both engines.

    fuzz/gen_simd_corpus.py [OUTDIR]        (needs wat2wasm; default fuzz/corpus/wasm)
"""
import os
import subprocess
import sys
import tempfile

V = [
    "(v128.const i8x16 0 1 -1 127 -128 2 3 4 5 6 7 8 9 10 11 -12)",
    "(v128.const i16x8 0 1 -1 32767 -32768 256 -256 1000)",
    "(v128.const i32x4 0 -1 0x7fffffff 0x80000000)",
    "(v128.const f32x4 nan -0 inf 1.5)",
    "(v128.const f64x2 -nan 2.5)",
    "(v128.const f32x4 -inf 3.4e38 -1.5 0.5)",
    "(v128.const f64x2 1e300 -0.5)",
    "(v128.const i64x2 0x8000000000000000 0x7fffffffffffffff)",
    "(v128.const f32x4 2147483648 -2147483904 4294967296 -0.75)",
    "(v128.const f64x2 -2147483649 4294967295.5)",
]
PAIRS = [(0, 1), (1, 2), (2, 3), (3, 5), (4, 6), (5, 0), (6, 4), (7, 2), (8, 3), (9, 6), (1, 1)]

UN = """v128.not f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 i8x16.abs i8x16.neg i8x16.popcnt
f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest f64x2.ceil f64x2.floor f64x2.trunc f64x2.nearest
i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u i32x4.extadd_pairwise_i16x8_s
i32x4.extadd_pairwise_i16x8_u i16x8.abs i16x8.neg i16x8.extend_low_i8x16_s
i16x8.extend_high_i8x16_s i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u i32x4.abs i32x4.neg
i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s i32x4.extend_low_i16x8_u
i32x4.extend_high_i16x8_u i64x2.abs i64x2.neg i64x2.extend_low_i32x4_s i64x2.extend_high_i32x4_s
i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u f32x4.abs f32x4.neg f32x4.sqrt f64x2.abs
f64x2.neg f64x2.sqrt i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_s
f32x4.convert_i32x4_u i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero
f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u""".split()

BIN = """i8x16.swizzle i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s i8x16.gt_u i8x16.le_s
i8x16.le_u i8x16.ge_s i8x16.ge_u i16x8.eq i16x8.ne i16x8.lt_s i16x8.lt_u i16x8.gt_s i16x8.gt_u
i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u i32x4.eq i32x4.ne i32x4.lt_s i32x4.lt_u i32x4.gt_s
i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s i32x4.ge_u f32x4.eq f32x4.ne f32x4.lt f32x4.gt
f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le f64x2.ge v128.and v128.andnot
v128.or v128.xor i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u i8x16.add i8x16.add_sat_s
i8x16.add_sat_u i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u i8x16.min_s i8x16.min_u i8x16.max_s
i8x16.max_u i8x16.avgr_u i16x8.q15mulr_sat_s i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u
i16x8.add i16x8.add_sat_s i16x8.add_sat_u i16x8.sub i16x8.sub_sat_s i16x8.sub_sat_u i16x8.mul
i16x8.min_s i16x8.min_u i16x8.max_s i16x8.max_u i16x8.avgr_u i16x8.extmul_low_i8x16_s
i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u i32x4.add
i32x4.sub i32x4.mul i32x4.min_s i32x4.min_u i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s
i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u
i32x4.extmul_high_i16x8_u i64x2.add i64x2.sub i64x2.mul i64x2.eq i64x2.ne i64x2.lt_s
i64x2.gt_s i64x2.le_s i64x2.ge_s i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s
i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u f32x4.add f32x4.sub f32x4.mul f32x4.div
f32x4.min f32x4.max f32x4.pmin f32x4.pmax f64x2.add f64x2.sub f64x2.mul f64x2.div f64x2.min
f64x2.max f64x2.pmin f64x2.pmax""".split()

TEST = "v128.any_true i8x16.all_true i8x16.bitmask i16x8.all_true i16x8.bitmask i32x4.all_true i32x4.bitmask i64x2.all_true i64x2.bitmask".split()
SHIFT = "i8x16.shl i8x16.shr_s i8x16.shr_u i16x8.shl i16x8.shr_s i16x8.shr_u i32x4.shl i32x4.shr_s i32x4.shr_u i64x2.shl i64x2.shr_s i64x2.shr_u".split()
SPLAT = [("i8x16.splat", "i32", ["0", "-1", "0x1ff"]), ("i16x8.splat", "i32", ["-32769", "7"]),
         ("i32x4.splat", "i32", ["0x80000000"]), ("i64x2.splat", "i64", ["-2"]),
         ("f32x4.splat", "f32", ["nan:0x200000", "-0"]), ("f64x2.splat", "f64", ["-inf", "0.1"])]
LANES = [("i8x16", 16, "i32", ["_s", "_u"]), ("i16x8", 8, "i32", ["_s", "_u"]), ("i32x4", 4, "i32", [""]),
         ("i64x2", 2, "i64", [""]), ("f32x4", 4, "f32", [""]), ("f64x2", 2, "f64", [""])]
LOADS = [("v128.load", 16), ("v128.load8x8_s", 8), ("v128.load8x8_u", 8), ("v128.load16x4_s", 8),
         ("v128.load16x4_u", 8), ("v128.load32x2_s", 8), ("v128.load32x2_u", 8),
         ("v128.load8_splat", 1), ("v128.load16_splat", 2), ("v128.load32_splat", 4),
         ("v128.load64_splat", 8), ("v128.load32_zero", 4), ("v128.load64_zero", 8)]
LANE_MEM = [("8", 16, 1), ("16", 8, 2), ("32", 4, 4), ("64", 2, 8)]

DATA = '(memory 1 2) (data (i32.const 0) "\\00\\01\\02\\03\\80\\81\\fe\\ff\\10\\20\\30\\40\\7f\\7e\\7d\\7c\\aa\\bb")' \
       ' (data (i32.const 65520) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10")'


def fn(name, result, body):
    return '(func (export "%s") (result %s) %s)' % (name, result, body)


def modules():
    for op in UN:
        yield op, [fn("v%d" % i, "v128", "(%s %s)" % (op, V[i])) for i in range(len(V))]
    for op in BIN:
        yield op, [fn("p%d_%d" % p, "v128", "(%s %s %s)" % (op, V[p[0]], V[p[1]])) for p in PAIRS]
    for op in TEST:
        body = [fn("v%d" % i, "i32", "(%s %s)" % (op, V[i])) for i in range(len(V))]
        body.append(fn("zero", "i32", "(%s (v128.const i64x2 0 0))" % op))
        body.append(fn("ones", "i32", "(%s (v128.const i64x2 -1 -1))" % op))
        yield op, body
    for op in SHIFT:
        yield op, [fn("s%d_%d" % (i, k), "v128", "(%s %s (i32.const %d))" % (op, V[i], n))
                   for i in (0, 1, 2, 7) for k, n in enumerate((0, 1, 7, 9, 33, 65, -1))]
    yield "v128.bitselect", [fn("b%d" % i, "v128", "(v128.bitselect %s %s %s)" % (V[i], V[(i + 1) % 10], V[(i + 2) % 10]))
                             for i in range(len(V))]
    yield "i8x16.shuffle", [
        fn("a", "v128", "(i8x16.shuffle 0 17 2 19 4 21 6 23 31 30 29 28 3 2 1 0 %s %s)" % (V[0], V[2])),
        fn("b", "v128", "(i8x16.shuffle 16 16 16 16 15 15 15 15 0 0 0 0 31 31 31 31 %s %s)" % (V[3], V[7]))]
    yield "v128.const", [fn("c%d" % i, "v128", V[i]) for i in range(len(V))]
    for op, t, vals in SPLAT:
        yield op, [fn("s%d" % k, "v128", "(%s (%s.const %s))" % (op, t, v)) for k, v in enumerate(vals)]
    for shape, n, t, sfx in LANES:
        body = []
        for s in sfx:
            for lane in sorted({0, 1, n - 1}):
                for i in (0, 3, 4, 7):
                    body.append(fn("x%s_%d_%d" % (s, lane, i), t, "(%s.extract_lane%s %d %s)" % (shape, s, lane, V[i])))
        val = {"i32": "(i32.const -2)", "i64": "(i64.const -3)", "f32": "(f32.const nan:0x1)", "f64": "(f64.const -0)"}[t]
        for lane in (0, n - 1):
            body.append(fn("r%d" % lane, "v128", "(%s.replace_lane %d %s %s)" % (shape, lane, V[lane % 10], val)))
        yield shape + ".lanes", body
    for op, size in LOADS:
        body = [fn("a%d_%d" % (k, a), "v128", "(%s offset=%d (i32.const %d))" % (op, off, a))
                for k, (a, off) in enumerate(((0, 0), (1, 3), (65520, 0), (65536 - size, 0),
                                              (65537 - size, 0), (0, 65536)))]
        yield op, [DATA] + body
    store = [fn("st%d" % a, "v128", "(v128.store (i32.const %d) %s) (v128.load (i32.const %d))" % (a, V[2], a))
             for a in (0, 7, 65520)]
    store.append(fn("oob", "v128", "(v128.store (i32.const 65521) %s) (v128.load (i32.const 0))" % V[1]))
    yield "v128.store", [DATA] + store
    for bits, lanes, size in LANE_MEM:
        body = []
        for lane in (0, lanes - 1):
            for a in (0, 5, 65536 - size, 65537 - size):
                body.append(fn("l%d_%d" % (lane, a), "v128", "(v128.load%s_lane %d (i32.const %d) %s)" % (bits, lane, a, V[0])))
                body.append(fn("s%d_%d" % (lane, a), "v128",
                               "(v128.store%s_lane %d (i32.const %d) %s) (v128.load (i32.const 0))" % (bits, lane, a, V[2])))
        yield "v128.lane%s" % bits, [DATA] + body
    # v128 through locals, globals, blocks, select, calls and loops
    yield "control", [
        '(global $g (mut v128) (v128.const i32x4 1 2 3 4))',
        '(func $f (param v128 v128) (result v128 v128) (local.get 1) (local.get 0))',
        fn("swap", "v128", "(call $f %s %s) (drop)" % (V[0], V[2])),
        fn("glob", "v128", "(global.set $g (i32x4.mul (global.get $g) (global.get $g))) (global.get $g)"),
        fn("sel", "v128", "(select %s %s (i32.const 0))" % (V[1], V[2])),
        fn("selt", "v128", "(select (result v128) %s %s (i32.const 1))" % (V[1], V[2])),
        fn("blk", "v128", "(block (param v128) (result v128) (i8x16.add (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1))) (i32.const 0) (drop)".replace(
            "(block", "%s (block" % V[0])),
        '(func (export "loop") (result v128) (local $v v128) (local $i i32)'
        ' (loop $l (local.set $v (i32x4.add (local.get $v) (i32x4.splat (local.get $i))))'
        ' (local.set $i (i32.add (local.get $i) (i32.const 1)))'
        ' (br_if $l (i32.lt_u (local.get $i) (i32.const 100)))) (local.get $v))',
        '(func (export "zero") (result v128) (local v128) (local.get 0))',
    ]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "wasm")
    os.makedirs(out, exist_ok=True)
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in modules():
            src = os.path.join(tmp, "m.wat")
            with open(src, "w") as f:
                f.write("(module\n  " + "\n  ".join(body) + ")\n")
            dst = os.path.join(out, "simd_" + name.replace(".", "_") + ".wasm")
            r = subprocess.run(["wat2wasm", src, "-o", dst], capture_output=True, text=True)
            if r.returncode:
                sys.exit("wat2wasm failed for %s:\n%s\n%s" % (name, r.stderr, open(src).read()))
            n += 1
    print("wrote %d modules to %s" % (n, out))


if __name__ == "__main__":
    main()
