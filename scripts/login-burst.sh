#!/usr/bin/env bash
# Login burst against the reference server with its default settings
# (throttling on, argon2id with 19 MiB per hash, at most GOMAXPROCS hashes
# at once) on a fresh SQLite file: register one user, fire N concurrent
# logins of it (examples/loadtest -burst N), and watch the server's memory
# (VmRSS sampled every 50 ms, and VmHWM, the kernel's peak, at the end).
#
# Asserts that no login failed with a 5xx or a transport error, that every
# one answered 200 or a clean 429 RATE_LIMITED with Retry-After, that the
# server logged no error, and that the peak RSS stayed under the bound.
# Prints the peak RSS in MiB and the logins per second.
#
# Memory: each argon2id hash holds 19 MiB, and at most GOMAXPROCS run at
# once however many logins wait, so the hashing memory does not grow with
# the burst; each waiting connection costs tens of KiB. With GOGC=100 the
# Go heap grows to about twice the live hashing buffers before each
# collection: on 2 CPUs we measured a peak RSS of 118-153 MiB for 200
# logins over ten runs (about 35 MiB at idle; 93 MiB for 20 logins, 141 MiB
# for 400, 205 MiB for 1200). The default bound is 40 MiB plus 64 MiB per
# CPU (168 MiB on 2 CPUs). GOMEMLIMIT, exported before running the script,
# reaches the server: GOMEMLIMIT=100MiB brought the peak for 200 logins to
# about 120 MiB at no visible cost in throughput.
#
# Usage: scripts/login-burst.sh
#   LOGIN_BURST_N        how many concurrent logins (default 200).
#   LOGIN_BURST_MAX_MIB  the bound on the server's peak RSS in MiB
#                        (default 40 + 64 per CPU).
#
# The server listens on a free port of 127.0.0.1. Needs go, curl and a
# Linux /proc.
set -euo pipefail
cd "$(dirname "$0")/.."

n="${LOGIN_BURST_N:-200}"
cpus=$(nproc)
max_mib="${LOGIN_BURST_MAX_MIB:-$((40 + 64 * cpus))}"
tmp="$(mktemp -d)"
server_pid=""
sampler_pid=""

cleanup() {
  local status=$?
  if [ -n "$sampler_pid" ]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$tmp/server.log" ]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 40 "$tmp/server.log" >&2
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

step() { printf '\n==> %s\n' "$*"; }

# kib prints a field of the server's /proc status, in KiB.
kib() {
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$server_pid/status"
}

mib() {
  awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'
}

step "build the reference server and the load test"
go build -o "$tmp/server" ./examples/server
go build -o "$tmp/loadtest" ./examples/loadtest
echo "    built"

step "start the server with default settings on a fresh SQLite file"
: >"$tmp/server.log"
AUTH_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
  "$tmp/server" -addr 127.0.0.1:0 -db "sqlite:$tmp/auth.db" >"$tmp/server.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 150); do # at most about 30 seconds
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start"
  addr=$(sed -n 's/.*msg=listening addr=\([^ ]*\).*/\1/p' "$tmp/server.log" | head -n 1) || true
  if [ -n "$addr" ] && curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null; then
    break
  fi
  addr=""
  sleep 0.2
done
[ -n "$addr" ] || fail "the server did not answer GET /healthz within 30 seconds"
grep -q 'throttling is OFF' "$tmp/server.log" && fail "the server says throttling is off"
echo "    listening on $addr (pid $server_pid), $cpus CPUs, throttling on${GOMEMLIMIT:+, GOMEMLIMIT=$GOMEMLIMIT}${GOGC:+, GOGC=$GOGC}"
idle=$(kib VmRSS)
echo "    RSS at idle: $(mib "$idle") MiB"

# Sample VmRSS every 50 ms into a file, one value a line.
(
  while [ -r "/proc/$server_pid/status" ]; do
    awk '$1 == "VmRSS:" {print $2}' "/proc/$server_pid/status" 2>/dev/null || true
    sleep 0.05
  done
) >"$tmp/rss" &
sampler_pid=$!

step "register one user and fire $n concurrent logins of it"
status=0
"$tmp/loadtest" -url "http://$addr/api/v2/auth" -burst "$n" || status=$?
sleep 0.2
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

step "server memory"
hwm=$(kib VmHWM)
after=$(kib VmRSS)
sampled=$(sort -n "$tmp/rss" | tail -n 1)
echo "    RSS at idle $(mib "$idle") MiB; highest sample $(mib "${sampled:-0}") MiB ($(wc -l <"$tmp/rss") samples); after the burst $(mib "$after") MiB"
echo "    peak RSS (VmHWM): $(mib "$hwm") MiB (bound: $max_mib MiB)"

kill -TERM "$server_pid"
wait "$server_pid" || fail "the server exited with status $? on SIGTERM"
server_pid=""
errors=$(grep -c 'level=ERROR' "$tmp/server.log" || true)
logins=$(grep -c 'msg=auth.login.success' "$tmp/server.log" || true)
echo "    server log: $logins successful logins, $errors errors"

[ "$status" -eq 0 ] || fail "the burst failed (status $status): see its report above"
[ "$errors" -eq 0 ] || fail "the server logged $errors errors: $(grep 'level=ERROR' "$tmp/server.log" | head -n 3)"
[ "$hwm" -le $((max_mib * 1024)) ] || fail "peak RSS $(mib "$hwm") MiB is over the bound of $max_mib MiB"
printf '\nPASS: %d concurrent logins, no 5xx, peak RSS %s MiB (under %d MiB)\n' "$n" "$(mib "$hwm")" "$max_mib"
