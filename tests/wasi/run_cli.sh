#!/usr/bin/env bash
# `enclos run` end to end: stdout passthrough, exit status = guest exit code, trap -> 134 with a
# message, --dir/--env. SKIPs (and passes) while the engine reports "not implemented".
# Usage: run_cli.sh ENCLOS_BINARY GUEST_DIR SHARED_DIR
set -u
enclos="$1"; guests="$2"; shared="$3"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$enclos" ] || { echo "SKIP: $enclos was not built"; exit 0; }

out=$("$enclos" run "$guests/exitcode.wasm" 42 2>"$tmp/err"); rc=$?
if grep -q "not implemented" "$tmp/err"; then echo "SKIP: $(cat "$tmp/err")"; exit 0; fi
[ "$rc" = 42 ] || fail "exit status $rc, want 42 ($(cat "$tmp/err"))"
[ "$out" = "exiting with 42" ] || fail "stdout '$out'"

out=$("$enclos" run "$guests/trap.wasm" 2>"$tmp/err"); rc=$?
[ "$rc" = 134 ] || fail "trap exit status $rc, want 134"
[ "$out" = "about to trap" ] || fail "trap stdout '$out'"
grep -q "wasm trap: unreachable" "$tmp/err" || fail "trap message: $(cat "$tmp/err")"
grep -q "code offset 0x" "$tmp/err" || fail "trap offset: $(cat "$tmp/err")"
# the function is named from the module's name section
grep -q "(crash_here) at code offset 0x" "$tmp/err" || fail "trap function name: $(cat "$tmp/err")"

out=$("$enclos" run --env GREETING=hey "$guests/args_env.wasm" a 'b c'); rc=$?
[ "$rc" = 0 ] || fail "args_env exit $rc"
[ "$out" = "$(printf 'argc=3\nargv[1]=a\nargv[2]=b c\nGREETING=hey')" ] || fail "args_env '$out'"

mkdir "$tmp/sb"
out=$("$enclos" run --dir "$tmp/sb::/sandbox" "$guests/files.wasm"); rc=$?
[ "$rc" = 0 ] && [ "$out" = "files ok" ] || fail "files: $rc '$out'"

out=$("$enclos" run "$shared/bench/wasm/prebuilt/wasi/sha256.wasm" 1); rc=$?
grep -qx "$out" "$shared/bench/wasm/expected.txt" || fail "sha256 printed '$out'"

"$enclos" run --fuel 1000 "$shared/bench/wasm/prebuilt/wasi/fib.wasm" 2>"$tmp/err" >/dev/null
[ $? = 134 ] && grep -q "fuel exhausted" "$tmp/err" || fail "fuel: $(cat "$tmp/err")"
"$enclos" run --bogus x.wasm 2>/dev/null; [ $? = 2 ] || fail "bad option status"
"$enclos" run "$tmp/missing.wasm" 2>/dev/null; [ $? = 1 ] || fail "missing file status"
echo "enclos run: ok"
