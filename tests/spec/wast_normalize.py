#!/usr/bin/env python3
"""Rewrite a .wast script into an equivalent one that wabt 1.0.32's wast2json can parse.

Debian 12's wabt cannot read 7 files of the core-2.0 suite. This tool reads the script format
as s-expressions and rewrites only the forms wabt lacks, each into the form the text format
spec defines it as an abbreviation of (WebAssembly core spec §6.5 "Instructions", §6.6.x
"Abbreviations"), so every command and assertion keeps its meaning and count:

  1. Comments (`;;` to end of line, nested `(; ;)`) are dropped while tokenising. A line comment
     ends at LF or CR (spec §6.3.4 `newline`); wabt trips an assertion on comments.wast.
  2. Omitted table index (reference types, §6.5.5: "x is 0 when omitted"): `table.get`,
     `table.set`, `table.size`, `table.grow`, `table.fill` with no index get an explicit `0`.
     Plain (`table.size`) and folded (`(table.get (local.get 0))`) forms alike.
  3. Folded `if` with several condition instructions, `(if label bt c1 c2 ... (then ...) (else ...))`,
     which §6.5.8 defines as `c1 c2 ... if label bt ... end`: the conditions are hoisted in front
     of a folded `if` that has none: `c1 c2 ... (if label bt (then ...) (else ...))`. Only done when
     there are two or more conditions (wabt handles zero or one).
  4. A top-level `(module $id? quote "..."*)` (not inside an assertion) is replaced by the module it
     quotes: the strings are decoded, concatenated and tokenised like the rest (quote modules inside
     `assert_malformed`/`assert_invalid` stay as they are; they are text-module assertions).

Line numbers of the original are kept: every token is emitted on its original line (tokens that move
or are inserted stay on the current line), so "line" fields of the JSON match the .wast file.

Usage: wast_normalize.py IN.wast OUT.wast      (writes OUT, prints the rewrites made)
       wast_normalize.py --count IN.wast       (prints the number of top-level commands per kind)
"""
import sys
from collections import Counter

WS = b" \t\n\r"
DELIM = b" \t\n\r()\";"


class Atom:
    __slots__ = ("text", "line")

    def __init__(self, text, line):
        self.text = text  # bytes
        self.line = line


class List:
    __slots__ = ("items", "line", "end_line")

    def __init__(self, line):
        self.items = []
        self.line = line
        self.end_line = line


def tokenize(src, base_line=1):
    """Yields ('(' | ')' | 'atom', text, line). Strings are atoms that keep their quotes."""
    i, n, line = 0, len(src), base_line
    while i < n:
        c = src[i]
        if c == 0x0A:
            line += 1
            i += 1
        elif c in WS:
            i += 1
        elif src.startswith(b";;", i):
            while i < n and src[i] not in (0x0A, 0x0D):
                i += 1
        elif src.startswith(b"(;", i):
            depth, i = 1, i + 2
            while depth:
                if i >= n:
                    raise SyntaxError("unterminated block comment")
                if src.startswith(b"(;", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith(b";)", i):
                    depth, i = depth - 1, i + 2
                else:
                    if src[i] == 0x0A:
                        line += 1
                    i += 1
        elif c == 0x28:
            yield ("(", b"(", line)
            i += 1
        elif c == 0x29:
            yield (")", b")", line)
            i += 1
        elif c == 0x22:
            j = i + 1
            while j < n and src[j] != 0x22:
                j += 2 if src[j] == 0x5C else 1
            if j >= n:
                raise SyntaxError("unterminated string at line %d" % line)
            tok = src[i:j + 1]
            yield ("atom", tok, line)
            line += tok.count(b"\n")
            i = j + 1
        else:
            j = i
            while j < n and src[j] not in DELIM:
                j += 1
            if j == i:  # a lone ';' that starts no comment: keep it, wabt will complain
                j = i + 1
            yield ("atom", src[i:j], line)
            i = j


def parse(src, base_line=1):
    top, stack = [], []
    for kind, text, line in tokenize(src, base_line):
        if kind == "(":
            lst = List(line)
            (stack[-1].items if stack else top).append(lst)
            stack.append(lst)
        elif kind == ")":
            if not stack:
                raise SyntaxError("unbalanced ')' at line %d" % line)
            stack.pop().end_line = line
        else:
            (stack[-1].items if stack else top).append(Atom(text, line))
    if stack:
        raise SyntaxError("unbalanced '(' at line %d" % stack[-1].line)
    return top


def decode_string(tok):
    """A text-format string literal (spec §6.3.3) -> bytes."""
    s, out, i = tok[1:-1], bytearray(), 0
    hexd = b"0123456789abcdefABCDEF"
    esc = {ord("t"): 9, ord("n"): 10, ord("r"): 13, ord('"'): 0x22, ord("'"): 0x27, ord("\\"): 0x5C}
    while i < len(s):
        c = s[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        d = s[i + 1]
        if d in esc:
            out.append(esc[d])
            i += 2
        elif d == ord("u"):
            j = s.index(b"}", i)
            out += chr(int(s[i + 3:j].replace(b"_", b""), 16)).encode("utf-8")
            i = j + 1
        elif d in hexd and s[i + 2] in hexd:
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        else:
            raise SyntaxError("bad escape in string")
    return bytes(out)


def head(x):
    if isinstance(x, List) and x.items and isinstance(x.items[0], Atom):
        return x.items[0].text
    return None


def is_index(x):
    if not isinstance(x, Atom):
        return False
    t = x.text
    return t.startswith(b"$") or (t[:1].isdigit())


TABLE_OPS = {b"table.get", b"table.set", b"table.size", b"table.grow", b"table.fill"}
IF_TYPE_HEADS = {b"type", b"param", b"result"}
log = []


def rewrite_seq(items):
    """Rewrites a list of items in place (an instruction sequence or any list's tail)."""
    out = []
    k = 0
    while k < len(items):
        x = items[k]
        if isinstance(x, List):
            rewrite_list(x)
            hoisted = hoist_if(x)
            if hoisted:
                out.extend(hoisted)
            out.append(x)
        else:
            out.append(x)
            if x.text in TABLE_OPS:
                nxt = items[k + 1] if k + 1 < len(items) else None
                if not is_index(nxt):
                    out.append(Atom(b"0", x.line))
                    log.append("line %d: %s -> %s 0" % (x.line, x.text.decode(), x.text.decode()))
        k += 1
    items[:] = out


def rewrite_list(lst):
    h = head(lst)
    if h in TABLE_OPS:
        # Folded: (table.get operand...) -> (table.get 0 operand...)
        rest = lst.items[1:]
        if not (rest and is_index(rest[0])):
            lst.items.insert(1, Atom(b"0", lst.items[0].line))
            log.append("line %d: (%s ...) -> (%s 0 ...)" % (lst.line, h.decode(), h.decode()))
        # the operands are an instruction sequence
        tail = lst.items[2:]
        rewrite_seq(tail)
        lst.items[2:] = tail
        return
    tail = lst.items[1:]
    rewrite_seq(tail)
    lst.items[1:] = tail


def hoist_if(lst):
    """For (if label? bt* c1 c2 ... (then) (else)?) with 2+ conditions, removes the conditions from
    the if and returns them (to be placed in front of it)."""
    if head(lst) != b"if":
        return None
    items = lst.items
    k = 1
    if k < len(items) and isinstance(items[k], Atom) and items[k].text.startswith(b"$"):
        k += 1
    while k < len(items) and head(items[k]) in IF_TYPE_HEADS:
        k += 1
    start = k
    while k < len(items) and isinstance(items[k], List) and head(items[k]) not in (b"then", b"else"):
        k += 1
    conds = items[start:k]
    if len(conds) < 2 or k >= len(items) or head(items[k]) != b"then":
        return None
    del items[start:k]
    log.append("line %d: folded if with %d conditions -> conditions hoisted before (if ...)"
               % (lst.line, len(conds)))
    return conds


def unquote_modules(top):
    for x in top:
        if head(x) != b"module":
            continue
        items = x.items
        k = 1
        if k < len(items) and isinstance(items[k], Atom) and items[k].text.startswith(b"$"):
            k += 1
        if not (k < len(items) and isinstance(items[k], Atom) and items[k].text == b"quote"):
            continue
        text = b"".join(decode_string(s.text) for s in items[k + 1:])
        fields = parse(text, base_line=0)
        for f in fields:  # everything from the quote sits on the quote's line
            set_line(f, items[k].line)
        # "(module quote "(module ...)")" is not valid; the quoted text is module fields.
        x.items[k:] = fields
        log.append("line %d: (module quote ...) -> (module ...) with the quoted text" % x.line)


def set_line(x, line):
    x.line = line
    if isinstance(x, List):
        x.end_line = line
        for y in x.items:
            set_line(y, line)


def emit(top):
    out = bytearray()
    cur = [1]

    def goto(line):
        if line > cur[0]:
            out.extend(b"\n" * (line - cur[0]))
            cur[0] = line
        elif out and out[-1:] not in (b"\n", b"("):
            out.extend(b" ")

    def rec(x):
        if isinstance(x, Atom):
            goto(x.line)
            out.extend(x.text)
            cur[0] += x.text.count(b"\n")
        else:
            goto(x.line)
            out.extend(b"(")
            for y in x.items:
                rec(y)
            if x.end_line > cur[0]:
                goto(x.end_line)
            out.extend(b")")

    for x in top:
        rec(x)
    out.extend(b"\n")
    return bytes(out)


def count_commands(top):
    c = Counter()
    for x in top:
        h = head(x)
        c[h.decode() if h else "?"] += 1
    return c


def main(argv):
    if len(argv) == 3 and argv[1] == "--count":
        with open(argv[2], "rb") as f:
            top = parse(f.read())
        for k, v in sorted(count_commands(top).items()):
            print(k, v)
        return 0
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        top = parse(f.read())
    before = count_commands(top)
    unquote_modules(top)
    for x in top:
        rewrite_list(x)
    if count_commands(top) != before:
        print("wast_normalize: command counts changed (bug)", file=sys.stderr)
        return 1
    with open(argv[2], "wb") as f:
        f.write(emit(top))
    for l in log:
        print(l)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
