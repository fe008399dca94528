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
cd "$(dirname "$0")/.."

duration="${LOADTEST_DURATION:-60s}"
conc="${LOADTEST_C:-16}"
tmp="$(mktemp -d)"
db="${1:-sqlite:$tmp/auth.db}"
server_pid=""

cleanup() {
  local status=$?
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

step "build the reference server and the load test"
go build -o "$tmp/server" ./examples/server
go build -o "$tmp/loadtest" ./examples/loadtest
echo "    built"

# The -db value without its password, for the output.
db_shown=$(printf '%s' "$db" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:xxxxx@#')
step "start the server with -no-throttle -db $db_shown"
: >"$tmp/server.log"
AUTH_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
  "$tmp/server" -addr 127.0.0.1:0 -db "$db" -no-throttle >"$tmp/server.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 300); do # at most about 60 seconds
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start"
  addr=$(sed -n 's/.*msg=listening addr=\([^ ]*\).*/\1/p' "$tmp/server.log" | head -n 1) || true
  if [ -n "$addr" ] && curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null; then
    break
  fi
  addr=""
  sleep 0.2
done
[ -n "$addr" ] || fail "the server did not answer GET /healthz within 60 seconds"
echo "    listening on $addr (pid $server_pid)"

step "load test: $conc workers for $duration"
status=0
# shellcheck disable=SC2086 # LOADTEST_ARGS is a list of flags
"$tmp/loadtest" -url "http://$addr/api/v2/auth" -c "$conc" -d "$duration" ${LOADTEST_ARGS:-} || status=$?

step "the server"
hwm=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status" 2>/dev/null || echo "?")
echo "    peak RSS (VmHWM): $hwm MiB"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server exited with status $? on SIGTERM"
server_pid=""
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
