#!/usr/bin/env bash
# Throughput of GET /me on the reference server, as a ratio to a trivial
# handler on the same server, measured with the same load tool (the issue's
# "GET /me ÷ trivial handler at 2, 16 and 64 connections").
#
# The server runs with -db memory -no-throttle on a loopback port. Three
# routes are loaded, one after the other, in each of ME_PAIRS rounds per
# connection count (ping, whoami, me, ping, whoami, me, ...):
#   GET /api/v2/ping       the trivial baseline: no authentication, no store,
#                          a small JSON answer (same mux, same request log)
#   GET /api/v2/whoami     an application route behind a.Middleware: verify
#                          the access token and check its session
#   GET /api/v2/auth/me    the library's /me: the middleware's work plus the
#                          user read and the profile answer
# and each round's ratio is route req/s ÷ ping req/s of the same round; the
# table shows the medians [min–max]. The load tool shares the machine's
# cores with the server, alike for every route.
#
# Usage: scripts/me-throughput.sh
#   ME_DURATION  seconds per measurement (default 10)
#   ME_PAIRS     rounds per connection count (default 3)
#   ME_CONNS     connection counts (default "2 16 64")
#   ME_TOOL      wrk or go (default: wrk when installed, else examples/mebench)
# Writes the table to bench-out/me-throughput.md too. Needs go and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${ME_DURATION:-10}"
pairs="${ME_PAIRS:-3}"
conns="${ME_CONNS:-2 16 64}"
tool="${ME_TOOL:-}"
if [ -z "$tool" ]; then
  if command -v wrk >/dev/null 2>&1; then tool=wrk; else tool=go; fi
fi
tmp="$(mktemp -d)"
server_pid=""

cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

echo "==> build the reference server" >&2
go build -o "$tmp/server" ./examples/server
if [ "$tool" = go ]; then
  go build -o "$tmp/mebench" ./examples/mebench
fi

# The server logs a line per request, to /dev/null here (a file would grow
# by hundreds of MB); the port is one that nothing listens on.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_server() {
  local port
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    port_free "$port" || continue
    AUTH_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
      "$tmp/server" -addr "127.0.0.1:$port" -db memory -no-throttle >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
        base="http://127.0.0.1:$port"
        return 0
      fi
      sleep 0.1
    done
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  done
  fail "the server did not start; run it by hand to see why: $tmp/server -addr 127.0.0.1:3000 -db memory -no-throttle"
}
start_server
echo "==> server on $base (pid $server_pid), load tool: $tool" >&2

curl -fsS -o /dev/null "$base/api/v2/ping" ||
  fail "GET /api/v2/ping is not served: examples/server needs its trivial baseline route"
email="me-bench-$RANDOM@example.com"
password="correct horse battery staple"
curl -fsS -o /dev/null -X POST "$base/api/v2/auth/register" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Me Bench\"}" || fail "register"

# token logs in again and prints a fresh access token (they live 15 minutes).
token() {
  curl -fsS -X POST "$base/api/v2/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" |
    sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p'
}

# load PATH CONNS SECONDS [TOKEN] prints the route's requests per second.
load() {
  local path=$1 c=$2 secs=$3 tok=${4:-} out
  local header=()
  [ -n "$tok" ] && header=(-H "Authorization: Bearer $tok")
  if [ "$tool" = wrk ]; then
    out=$(wrk -t "$((c < 2 ? c : 2))" -c "$c" -d "${secs}s" "${header[@]}" "$base$path") ||
      fail "wrk on $path: $out"
  else
    out=$("$tmp/mebench" -url "$base$path" -c "$c" -d "${secs}s" "${header[@]}" 2>&1) ||
      fail "mebench on $path: $out"
  fi
  if grep -q 'Non-2xx' <<<"$out"; then fail "$path answered non-2xx under load: $out"; fi
  kill -0 "$server_pid" 2>/dev/null || fail "the server died under load"
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

# stats prints "median [min–max]" of its arguments.
stats() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%s [%s–%s]", fmt(m), fmt(v[1]), fmt(v[NR]) }
    function fmt(x) { return (x >= 100) ? sprintf("%.0f", x) : sprintf("%.2f", x) }'
}

load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
machine="nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(go version | sed 's/^go version //'), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $load_avg at start"
rows=()
for c in $conns; do
  tok=$(token)
  [ -n "$tok" ] || fail "login gave no access token"
  load /api/v2/ping "$c" 2 >/dev/null # warm-up
  ping=() who=() me=() rwho=() rme=()
  for i in $(seq 1 "$pairs"); do
    p=$(load /api/v2/ping "$c" "$duration")
    w=$(load /api/v2/whoami "$c" "$duration" "$tok")
    m=$(load /api/v2/auth/me "$c" "$duration" "$tok")
    ping+=("$p") who+=("$w") me+=("$m")
    rwho+=("$(awk -v a="$w" -v b="$p" 'BEGIN {printf "%.3f", a / b}')")
    rme+=("$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.3f", a / b}')")
    echo "    c=$c round $i: ping $p/s, whoami $w/s, me $m/s" >&2
  done
  rows+=("| $c | $(stats "${ping[@]}") | $(stats "${who[@]}") | $(stats "${rwho[@]}") | $(stats "${me[@]}") | $(stats "${rme[@]}") |")
done

mkdir -p bench-out
{
  echo "### GET /me throughput on the reference server (scripts/me-throughput.sh)"
  echo
  echo "Machine: $machine. Server: examples/server -db memory -no-throttle, HS256; load tool: $tool," \
    "closed loop over keep-alive connections, ${duration} s per measurement, $pairs interleaved rounds per row" \
    "(ping, whoami, me); req/s and ratios are medians [min–max] of the rounds."
  echo
  echo "| connections | ping req/s (trivial) | whoami req/s (Middleware) | whoami ÷ ping | /auth/me req/s (library route) | me ÷ ping |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee bench-out/me-throughput.md
