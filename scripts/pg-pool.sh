#!/usr/bin/env bash
# The reference server on PostgreSQL under concurrent load, to see what its
# connection pool does: GET /me at 16 connections (wrk, keep-alive) and
# POST /refresh at 8 clients (examples/loadtest -mix refresh=1), each for
# PG_POOL_DURATION seconds, reporting throughput, p50/p99 latency and the new
# PostgreSQL connections per second (pg_stat_database.sessions, PostgreSQL
# 14 or later) during each measurement.
#
# Usage: scripts/pg-pool.sh [DSN] [SERVER FLAG...]
#   DSN   a postgres:// URL (default $AUTH_TEST_POSTGRES_DSN)
#   the server flags follow, such as -db-max-conns 8
#   PG_POOL_DURATION  seconds per measurement (default 10)
#   PG_POOL_SERVER    a server binary to use instead of building
#                     examples/server (to measure another revision)
# The server runs with -no-throttle. Needs go, curl, wrk, psql, python3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

dsn="${1:-${AUTH_TEST_POSTGRES_DSN:-}}"
[ -n "$dsn" ] || fail "give a postgres:// DSN or set AUTH_TEST_POSTGRES_DSN"
shift || true
duration="${PG_POOL_DURATION:-10}"
command -v wrk >/dev/null || fail "wrk is not installed (apt-get install wrk)"

# sessions prints how many sessions the database has seen so far.
sessions() {
  psql "$dsn" -tAc "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
}

step "build"
if [ -n "${PG_POOL_SERVER:-}" ]; then
  cp "$PG_POOL_SERVER" "$tmp/server"
else
  build_server
fi
go build -o "$tmp/loadtest" ./examples/loadtest

step "start the reference server on $(redact_db "$dsn") $*"
start_server "$dsn" -no-throttle -reuse-window 0 "$@"
api="$SERVER_URL/api/v2/auth"
call -X POST "$api/register" -H "Content-Type: application/json" \
  -d '{"email": "pool-'"$RANDOM$RANDOM"'@example.com", "password": "securepassword123", "name": "Pool"}'
expect_status 201
access=$(json_field "$tmp/body" accessToken)

step "GET /me, 16 connections, ${duration}s"
before=$(sessions)
wrk -t 2 -c 16 -d "${duration}s" --latency -H "Authorization: Bearer $access" "$api/me" >"$tmp/wrk.txt"
after=$(sessions)
cat "$tmp/wrk.txt"
me_rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.txt")
me_p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk.txt")
me_p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")
me_new=$(python3 -c "print(round(($after - $before) / $duration, 1))")
grep -q "Non-2xx" "$tmp/wrk.txt" && fail "GET /me answered something else than 2xx"

step "POST /refresh, 8 clients, ${duration}s"
before=$(sessions)
"$tmp/loadtest" -url "$api" -c 8 -d "${duration}s" -mix refresh=1 -race-sessions 0 -progress 0 >"$tmp/lt.txt" 2>&1 ||
  { cat "$tmp/lt.txt"; fail "the load test failed"; }
after=$(sessions)
cat "$tmp/lt.txt"
read -r rf_rps rf_p50 rf_p99 < <(awk '$1 == "refresh" && NF >= 8 {print $3, $4, $6; exit}' "$tmp/lt.txt")
rf_new=$(python3 -c "print(round(($after - $before) / $duration, 1))")

step "summary"
printf '| route | clients | req/s | p50 | p99 | new PostgreSQL connections/s |\n| --- | --- | --- | --- | --- | --- |\n'
printf '| GET /me | 16 | %s | %s | %s | %s |\n' "$me_rps" "$me_p50" "$me_p99" "$me_new"
printf '| POST /refresh | 8 | %s | %s | %s | %s |\n' "$rf_rps" "$rf_p50" "$rf_p99" "$rf_new"
