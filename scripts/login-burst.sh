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
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

n="${LOGIN_BURST_N:-200}"
cpus=$(nproc)
max_mib="${LOGIN_BURST_MAX_MIB:-$((40 + 64 * cpus))}"
sampler_pid=""

# script_cleanup (run by lib.sh on exit, before the server stops) stops the
# memory sampler.
script_cleanup() {
  if [ -n "$sampler_pid" ]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
  fi
}

# kib prints a field of the server's /proc status, in KiB.
kib() {
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$SERVER_PID/status"
}

mib() {
  awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'
}

step "build the reference server and the load test"
build_server
go build -o "$tmp/loadtest" ./examples/loadtest
echo "    built"

step "start the server with default settings on a fresh SQLite file"
start_server "sqlite:$tmp/auth.db"
addr="${SERVER_URL#http://}"
grep -q 'throttling is OFF' "$tmp/server.log" && fail "the server says throttling is off"
echo "    listening on $addr (pid $SERVER_PID), $cpus CPUs, throttling on${GOMEMLIMIT:+, GOMEMLIMIT=$GOMEMLIMIT}${GOGC:+, GOGC=$GOGC}"
idle=$(kib VmRSS)
echo "    RSS at idle: $(mib "$idle") MiB"

# Sample VmRSS every 50 ms into a file, one value a line.
(
  while [ -r "/proc/$SERVER_PID/status" ]; do
    awk '$1 == "VmRSS:" {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || true
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

stop_server_cleanly
errors=$(grep -c 'level=ERROR' "$tmp/server.log" || true)
logins=$(grep -c 'msg=auth.login.success' "$tmp/server.log" || true)
echo "    server log: $logins successful logins, $errors errors"

[ "$status" -eq 0 ] || fail "the burst failed (status $status): see its report above"
[ "$errors" -eq 0 ] || fail "the server logged $errors errors: $(grep 'level=ERROR' "$tmp/server.log" | head -n 3)"
[ "$hwm" -le $((max_mib * 1024)) ] || fail "peak RSS $(mib "$hwm") MiB is over the bound of $max_mib MiB"
printf '\nPASS: %d concurrent logins, no 5xx, peak RSS %s MiB (under %d MiB)\n' "$n" "$(mib "$hwm")" "$max_mib"
