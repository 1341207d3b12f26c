#!/usr/bin/env bash
# Benchmarks `enclos serve` against nginx on this machine, same run (issue 8, acceptance 3):
#   1. keep-alive requests/s and p50/p99 latency: a trivial app call (POST
#      /apps/echo/call/echo ["hi"], a fresh wasm instance per call) vs nginx returning a
#      static 200 over TLS 1.3;
#   (plus GET /healthz on enclos: the server's own cost without an app call);
#   2. new TLS 1.3 connections/s (one request per connection, "Connection: close"):
#      GET /healthz on enclos vs the same static 200 on nginx.
# Both use a P-256 key (enclos mints P-256 leaves; nginx gets a self-signed P-256 cert) and
# as many workers as cores. wrk and nginx come from Debian (scripts/install-deps).
#   usage: bench/server_vs_nginx.sh [SECONDS=10] [CONNECTIONS=32]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
conns="${2:-32}"
"$root/scripts/install-deps"
[ -x "$root/build/release/src/cli/enclos" ] || "$root/scripts/build" release >/dev/null
enclos="$root/build/release/src/cli/enclos"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
threads="$(nproc)"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- enclos -----------------------------------------------------------------------------------
"$enclos" --log error serve --listen 127.0.0.1:0 --data "$tmp/enclos" --ready-file "$tmp/enclos.port" \
  --app "echo=$root/build/release/examples/echo.wasm" >"$tmp/enclos.log" 2>&1 &
pids+=($!)
# --- nginx ------------------------------------------------------------------------------------
nport="$(free_port)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/nginx.key" -out "$tmp/nginx.crt" 2>/dev/null
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes $threads;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $tmp/nginx.crt;
    ssl_certificate_key $tmp/nginx.key;
    location / { return 200 "ok\n"; }
  }
}
CONF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx.err" &
pids+=($!)
for _ in $(seq 600); do [ -s "$tmp/enclos.port" ] && break; sleep 0.1; done
eport="$(cat "$tmp/enclos.port")"
sleep 0.5

cat >"$tmp/call.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '["hi"]'
wrk.headers["Content-Type"] = "application/json"
LUA
curl -skf -X POST --data '["hi"]' "https://127.0.0.1:$eport/apps/echo/call/echo" >/dev/null
curl -skf "https://127.0.0.1:$nport/" >/dev/null

# run NAME wrk-args... -> "rps p50 p99"
run() {
  local name="$1"; shift
  local out
  out="$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$@" 2>&1)"
  echo "$out" >"$tmp/$name.wrk"
  local rps p50 p99 errs
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errs="$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")"
  printf "%-40s %12s req/s   p50 %-9s p99 %-9s %s\n" "$name" "$rps" "$p50" "$p99" "$errs"
  echo "$rps" >"$tmp/$name.rps"
}

echo "machine: $(nproc) cores, $(uname -r); wrk -t$threads -c$conns -d${secs}s; enclos $("$enclos" version | head -1)"
run "enclos app call (keep-alive)" -s "$tmp/call.lua" "https://127.0.0.1:$eport/apps/echo/call/echo"
run "nginx static 200 (keep-alive)" "https://127.0.0.1:$nport/"
run "enclos healthz, no app (keep-alive)" "https://127.0.0.1:$eport/healthz"
run "enclos new TLS connections" -H "Connection: close" "https://127.0.0.1:$eport/healthz"
run "nginx new TLS connections" -H "Connection: close" "https://127.0.0.1:$nport/"
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{100*a/b:.0f}%')" "$1" "$2"; }
echo "trivial call vs nginx static:   $(ratio "$(cat "$tmp/enclos app call (keep-alive).rps")" "$(cat "$tmp/nginx static 200 (keep-alive).rps")") (goal >= 50%)"
echo "handshakes vs nginx:            $(ratio "$(cat "$tmp/enclos new TLS connections.rps")" "$(cat "$tmp/nginx new TLS connections.rps")") (goal >= 80%)"
