#!/usr/bin/env bash
# Converts the core-2.0 spec scripts to JSON command lists (cached) and runs spec_runner on them.
#
#   tests/spec/run.sh [-b BUILD_DIR] [-r RUNNER] [-v] [--no-guard] [--wabt] [NAME...]
#
#   -b DIR      build tree holding tests/spec/spec_runner (default: build/spec); the converted
#               files go to DIR/spec-json/<name>/ and are reused while the .wast and the
#               normaliser are unchanged (keyed by their sha256)
#   -r RUNNER   the runner binary (default: DIR/tests/spec/spec_runner)
#   --wabt      run wabt's spectest-interp instead of our runner (reference pass counts)
#   NAME...     only these files (e.g. i32 simd_lane); default: all 147
# Other options (-v, --no-guard, --timeout N, --selftest) are passed to spec_runner.
#
# wast2json (wabt 1.0.32) cannot parse 7 files; for a file it rejects, wast_normalize.py rewrites
# the forms wabt lacks (see that file) and the result is converted instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="${ENCLOS_SPEC_DIR:-$root/../shared/testdata/wasm-spec/core-2.0}"
build="$root/build/spec"
runner=""
wabt=0
pass=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    -b) build="$(cd "$2" && pwd)"; shift 2 ;;
    -r) runner="$2"; shift 2 ;;
    --wabt) wabt=1; shift ;;
    -v|--no-guard|--selftest) pass+=("$1"); shift ;;
    --timeout) pass+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
runner="${runner:-$build/tests/spec/spec_runner}"
command -v wast2json >/dev/null || { echo "run.sh: wast2json not found (apt-get install wabt)" >&2; exit 2; }
[ -d "$suite" ] || { echo "run.sh: no spec suite at $suite" >&2; exit 2; }
if [ $wabt -eq 0 ] && [ ! -x "$runner" ]; then
  echo "run.sh: no runner at $runner (cmake --build $build --target spec_runner)" >&2; exit 2
fi
if [ ${#names[@]} -eq 0 ]; then
  for f in "$suite"/*.wast; do names+=("$(basename "$f" .wast)"); done
fi

out="$build/spec-json"
mkdir -p "$out"
norm_hash="$(sha256sum "$here/wast_normalize.py" | cut -c1-16)"
jsons=()
for n in "${names[@]}"; do
  src="$suite/$n.wast"
  [ -f "$src" ] || { echo "run.sh: no such script: $src" >&2; exit 2; }
  key="$(sha256sum "$src" | cut -c1-16)-$norm_hash"
  d="$out/$n"
  if [ "$(cat "$d/.key" 2>/dev/null)" != "$key" ]; then
    rm -rf "$d"; mkdir -p "$d"
    if ! (cd "$d" && wast2json "$src" -o "$n.json" >/dev/null 2>"$d/wast2json.err"); then
      # wabt cannot parse it: rewrite the forms it lacks, then convert that.
      rm -f "$d"/*.json "$d"/*.wasm "$d"/*.wat
      python3 "$here/wast_normalize.py" "$src" "$d/$n.normalized.wast" >"$d/normalize.log"
      if ! (cd "$d" && wast2json "$n.normalized.wast" -o "$n.json" >/dev/null 2>"$d/wast2json.err"); then
        echo "run.sh: $n: wast2json failed even after normalising:" >&2
        head -5 "$d/wast2json.err" >&2; exit 2
      fi
      echo "run.sh: $n: normalised ($(wc -l <"$d/normalize.log") rewrites, see $d/normalize.log)" >&2
    fi
    echo "$key" >"$d/.key"
  fi
  jsons+=("$d/$n.json")
done

if [ $wabt -eq 1 ]; then
  fail=0
  for j in "${jsons[@]}"; do
    n="$(basename "$j" .json)"
    line="$(cd "$(dirname "$j")" && spectest-interp "$n.json" 2>&1 | tail -1)" || fail=1
    echo "$n: $line"
  done
  exit $fail
fi
exec "$runner" ${pass[@]+"${pass[@]}"} "${jsons[@]}"
