#!/bin/sh
# End to end: `enclos attest` against ratls_test_server (sim). Passes with a matching policy
# (with and without --nonce), fails with a clear reason for a wrong code hash, a wrong config
# root, and without allow_sim. Usage: e2e_attest.sh ENCLOS_BIN SERVER_BIN
set -u
enclos=$1 server=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root=0102030405060708091011121314151617181920212223242526272829303132
code=aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
other=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
"$server" --state "$dir/sim" --config-root $root --app hello --code-hash $code --conns 8 >"$dir/port" 2>"$dir/server.log" &
for i in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$dir/port")
[ -n "$port" ] || { echo "server did not start"; cat "$dir/server.log"; exit 1; }
url=https://127.0.0.1:$port
printf '{"allow_sim": true, "tee": ["sim"], "config_root": "%s", "app": {"name": "hello", "code_hash": "%s"}}' $root $code >"$dir/good.json"
printf '{"allow_sim": true, "app": {"code_hash": "%s"}}' $other >"$dir/code.json"
printf '{"allow_sim": true, "config_root": "%s"}' $other >"$dir/root.json"
pass=0 fail=0
check() { # name want-status grep-pattern args...
  name=$1 want=$2 pat=$3; shift 3
  out=$("$enclos" attest "$url" "$@" 2>&1); st=$?
  if [ $st -eq $want ] && echo "$out" | grep -q "$pat"; then pass=$((pass+1)); echo "ok   $name";
  else fail=$((fail+1)); echo "FAIL $name (exit $st)"; echo "$out"; fi
}
check matching_policy 0 "config-root        $root" --policy "$dir/good.json"
check matching_policy_fresh 0 "fresh evidence bound to this TLS session" --policy "$dir/good.json" --nonce
check wrong_code_hash 1 "app code hash $code is not the expected one" --policy "$dir/code.json"
check wrong_config_root 1 "configuration root $root differs" --policy "$dir/root.json"
check sim_refused_by_default 1 "does not set allow_sim"
check json_output 0 '"ok":true' --policy "$dir/good.json" --json
mkdir "$dir/coll"
check collateral_option 0 "policy: satisfied" --policy "$dir/good.json" --collateral "$dir/coll" --fetch --cache "$dir/cache"
check collateral_missing_dir 1 "collateral directory $dir/nope" --policy "$dir/good.json" --collateral "$dir/nope"
wait
# enclos ca: init a root, sign the TEE's CSR after checking its evidence; refuse without allow_sim
"$server" --state "$dir/sim" --config-root $root --csr "$dir/inter.csr" 2>/dev/null
printf '{"allow_sim": true, "config_root": "%s"}' $root >"$dir/ca-good.json"
printf '{"config_root": "%s"}' $root >"$dir/ca-nosim.json"
cacheck() { name=$1 want=$2 pat=$3; shift 3
  out=$("$enclos" ca "$@" 2>&1); st=$?
  if [ $st -eq $want ] && echo "$out" | grep -q "$pat"; then pass=$((pass+1)); echo "ok   $name";
  else fail=$((fail+1)); echo "FAIL $name (exit $st)"; echo "$out"; fi
}
cacheck ca_init 0 "operator root written" init "$dir/ca"
cacheck ca_sign_refuses_sim 1 "does not set allow_sim" sign --ca "$dir/ca" --csr "$dir/inter.csr" --policy "$dir/ca-nosim.json" --out "$dir/inter.crt"
cacheck ca_sign 0 "intermediate CA written" sign --ca "$dir/ca" --csr "$dir/inter.csr" --policy "$dir/ca-good.json" --out "$dir/inter.crt"
cacheck ca_sign_collateral_option 0 "intermediate CA written" sign --ca "$dir/ca" --csr "$dir/inter.csr" --policy "$dir/ca-good.json" --collateral "$dir/coll" --out "$dir/inter2.crt"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
