#!/bin/sh
# enclos store init/status end to end (sim backend): creation, the status report (rollback
# warning, replay check), refusal on TDX (no sealing key), refusal of a tampered anchor and of a
# directory without a store. Usage: store_cli.sh path/to/enclos
set -u
enclos="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$tmp/data" "$tmp/sim" "$tmp/empty"

"$enclos" store init --data "$tmp/data" --tee sim --sim-state "$tmp/sim" >"$tmp/out" 2>"$tmp/err" ||
  fail "init: $(cat "$tmp/err")"
"$enclos" store status --data "$tmp/data" --tee sim --sim-state "$tmp/sim" >"$tmp/out" 2>"$tmp/err" ||
  fail "status: $(cat "$tmp/err")"
grep -q "sealing key:      sim" "$tmp/out" || fail "status names no sealing key source: $(cat "$tmp/out")"
grep -q "no trusted monotonic state" "$tmp/out" || fail "status hides the missing monotonic state"
grep -q "replay on read:   detected" "$tmp/out" || fail "status does not report the read check"
grep -q "read-write" "$tmp/out" || fail "status mode"

# TDX: no sealing key, no silent fallback.
if "$enclos" store status --data "$tmp/data" --tee tdx >"$tmp/out" 2>"$tmp/err"; then
  fail "status on tdx succeeded"
fi
grep -q "peer TEE's key vault" "$tmp/err" || fail "tdx error does not name the vault: $(cat "$tmp/err")"

# Another sim identity (other state dir): wrong sealing key.
mkdir -p "$tmp/sim2"
if "$enclos" store status --data "$tmp/data" --tee sim --sim-state "$tmp/sim2" 2>"$tmp/err" >/dev/null; then
  fail "status with another sealing key succeeded"
fi
grep -q "wrong sealing key" "$tmp/err" || fail "wrong key error: $(cat "$tmp/err")"

# A directory without a store: status refuses (init would create).
if "$enclos" store status --data "$tmp/empty" --tee sim --sim-state "$tmp/sim" 2>"$tmp/err" >/dev/null; then
  fail "status of an empty directory succeeded"
fi
grep -q "NOT_FOUND\|no store" "$tmp/err" || fail "empty dir error: $(cat "$tmp/err")"

# A flipped bit in the rollback anchor.
printf '\377' | dd of="$tmp/data/store.anchor" bs=1 seek=40 conv=notrunc 2>/dev/null
if "$enclos" store status --data "$tmp/data" --tee sim --sim-state "$tmp/sim" 2>"$tmp/err" >/dev/null; then
  fail "status with a tampered anchor succeeded"
fi
grep -q "anchor" "$tmp/err" || fail "tampered anchor error: $(cat "$tmp/err")"

# Usage errors exit 2.
"$enclos" store frobnicate >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown subcommand does not exit 2"
"$enclos" store status >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing --data does not exit 2"
echo "store_cli: ok"
