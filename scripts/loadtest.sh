#!/usr/bin/env bash
# Load test of the reference server: build it and examples/loadtest, start
# the server with throttling off (-no-throttle: the load test registers
# hundreds of users from one address) on a free loopback port, run the load
# test against it, print its report, and stop the server. The load test
# mixes register, login, me and refresh, then checks that no data was lost:
# every user registered can log in, every live session refreshes exactly
# once. Exits with the load test's status: non-zero on any 5xx, transport
# error, lost user or lost session.
#
# Usage: scripts/loadtest.sh [DB]
#   DB                 a -db value for the server, such as
#                      postgres://postgres@127.0.0.1:5432/test?sslmode=disable
#                      or mysql://root@127.0.0.1:3306/test; the default is a
#                      fresh SQLite file in a temporary directory.
#   LOADTEST_DURATION  how long the load phase runs (default 60s).
#   LOADTEST_C         how many concurrent workers (default 16).
#   LOADTEST_ARGS      more flags for the load test, such as "-seed 1".
#
# The server and the load test talk over 127.0.0.1 only. Needs go and curl.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
SERVER_WAIT=60

duration="${LOADTEST_DURATION:-60s}"
conc="${LOADTEST_C:-16}"
db="${1:-sqlite:$tmp/auth.db}"

step "build the reference server and the load test"
build_server
go build -o "$tmp/loadtest" ./examples/loadtest
echo "    built"

# The -db value without its password, for the output.
db_shown=$(redact_db "$db")
step "start the server with -no-throttle -db $db_shown"
start_server "$db" -no-throttle -reuse-window 0
addr="${SERVER_URL#http://}"
echo "    listening on $addr (pid $SERVER_PID)"

step "load test: $conc workers for $duration"
status=0
# shellcheck disable=SC2086 # LOADTEST_ARGS is a list of flags
"$tmp/loadtest" -url "http://$addr/api/v2/auth" -c "$conc" -d "$duration" ${LOADTEST_ARGS:-} || status=$?

step "the server"
hwm=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?")
echo "    peak RSS (VmHWM): $hwm MiB"
stop_server_cleanly
grep -q 'msg=stopped' "$tmp/server.log" || fail "the server did not log a clean stop"
errors=$(grep -c 'level=ERROR' "$tmp/server.log" || true)
echo "    stopped cleanly; $(grep -c 'msg=request' "$tmp/server.log" || true) requests logged, $errors errors logged"
if [ "$errors" -gt 0 ]; then
  echo "--- errors in the server log (first 10) ---"
  grep 'level=ERROR' "$tmp/server.log" | head -n 10
  status=1
fi

if [ "$status" -ne 0 ]; then
  fail "the load test failed (status $status) against -db $db_shown"
fi
printf '\nPASS: load test against -db %s\n' "$db_shown"
