#!/usr/bin/env bash
# Two reference servers sharing one limiter throttle as one: for each shared
# limiter (Redis, then the PostgreSQL database with -limiter db), build
# examples/server once, start two processes (A and B) on one PostgreSQL
# store with the same AUTH_SECRET, register a fresh account, and check that
#
#   - 30 wrong passwords for the account, sent one at a time round-robin to
#     A and B from 127.0.0.1, get 401 until the login rule's Free-th failure
#     counted over both servers, and 429 from the next attempt on: the
#     (Free+1)-th in total, not the (2*Free+1)-th that two separate
#     limiters would allow;
#   - the right password then gets 429 with a Retry-After from both.
#
# The threshold is read from the library's default rule (go doc), so the
# script follows the defaults: LOGIN_RULE names the exported Backoff that
# governs failed logins of one account from one address.
#
# Each run starts from clean counters: the Redis run uses Redis database
# $SHARED_LIMITER_REDIS_DB (default 15), which it empties before and after;
# the database run deletes the rows of auth_limiter_keys (the default table
# prefix) once the servers have migrated.
#
# Usage: scripts/shared-limiter.sh [POSTGRES_URL]
#   POSTGRES_URL  the store and the db limiter, a postgres:// URL; default
#                 $AUTH_TEST_POSTGRES_DSN, else
#                 postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
#   AUTH_TEST_REDIS_ADDR  the Redis host:port (default 127.0.0.1:6379).
#
# Needs go, curl, python3, psql and redis-cli.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
CALL_SHOW_CHARS=160

db="${1:-${AUTH_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}}"
redis_addr="${AUTH_TEST_REDIS_ADDR:-127.0.0.1:6379}"
redis_db="${SHARED_LIMITER_REDIS_DB:-15}"
rule_var="${LOGIN_RULE:-DefaultLoginAccountBackoff}"
attempts=30
password="correct horse battery staple"

redis_flush() {
  redis-cli -h "${redis_addr%:*}" -p "${redis_addr##*:}" -n "$redis_db" FLUSHDB >/dev/null
}
script_cleanup() { redis_flush 2>/dev/null || true; }

step "the threshold: auth.$rule_var"
# The exported rule is a copy of an unexported default (importers cannot
# change the library's own); read the literal from either.
unexported="d${rule_var:1}"
free=$( { go doc github.com/ingestiq/auth "$rule_var"; go doc -u github.com/ingestiq/auth "$unexported"; } 2>/dev/null |
  sed -n "s/^[[:space:]]*\($rule_var\|$unexported\)[[:space:]]*= Backoff{Free: \([0-9]*\),.*/\2/p" | head -n1)
[ -n "$free" ] || fail "cannot read Free of auth.$rule_var from go doc"
echo "    Free = $free: the ${free}th failure imposes the first delay, attempt $((free + 1)) is refused"
[ $((2 * free + 1)) -le "$attempts" ] || fail "$attempts attempts cannot tell one shared limiter from two ($free free each)"

step "build the reference server"
build_server
echo "    built"

# run_pair LIMITER LABEL runs the check with both servers on -limiter LIMITER.
run_pair() {
  local limiter="$1" label="$2" email pid_a pid_b url_a url_b i url first="" n401=0 n429=0
  email="shared-limiter-$label-$(date +%s)-$RANDOM$RANDOM@example.com"

  step "[$label] start A and B on one PostgreSQL store ($(redact_db "$db")), -limiter $(redact_db "$limiter")"
  launch_server 127.0.0.1:0 "$tmp/server-a.log" "$db" -limiter "$limiter"
  pid_a=$SERVER_PID
  launch_server 127.0.0.1:0 "$tmp/server-b.log" "$db" -limiter "$limiter"
  pid_b=$SERVER_PID
  wait_healthy "$pid_a" "$tmp/server-a.log" 127.0.0.1:0 30 "server A"
  url_a="$SERVER_URL/api/v2/auth"
  wait_healthy "$pid_b" "$tmp/server-b.log" 127.0.0.1:0 30 "server B"
  url_b="$SERVER_URL/api/v2/auth"
  echo "    A: $url_a (pid $pid_a)  B: $url_b (pid $pid_b)"
  if [ "$label" = db ]; then
    psql "$db" -qc "DELETE FROM auth_limiter_keys" || fail "cannot clear auth_limiter_keys"
  fi

  step "[$label] register $email on A -> 201"
  call -X POST "$url_a/register" -H "Content-Type: application/json" \
    -d '{"email": "'"$email"'", "password": "'"$password"'", "name": "Shared Limiter"}'
  expect_status 201

  step "[$label] $attempts wrong passwords, round-robin A, B, A, ..."
  for i in $(seq 1 "$attempts"); do
    if [ $((i % 2)) = 1 ]; then url=$url_a; else url=$url_b; fi
    status=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X POST "$url/login" \
      -H "Content-Type: application/json" -d '{"email": "'"$email"'", "password": "wrong password"}') \
      || fail "curl login $i"
    case "$status" in
    401) n401=$((n401 + 1)) ;;
    429) n429=$((n429 + 1)); [ -n "$first" ] || first=$i ;;
    *) fail "attempt $i: HTTP $status $(head -c 200 "$tmp/body")" ;;
    esac
    if [ -z "$first" ] && [ "$i" -gt "$free" ]; then
      fail "attempt $i got $status: not throttled after $free failures over both servers (separate limiters?)"
    fi
  done
  echo "    $n401 x 401, $n429 x 429; the first 429 at attempt $first"
  [ "$first" = $((free + 1)) ] || fail "the first 429 came at attempt $first, want $((free + 1))"

  step "[$label] the right password on A and on B -> 429 with Retry-After"
  for url in "$url_a" "$url_b"; do
    status=$(curl -sS -D "$tmp/headers" -o "$tmp/body" -w '%{http_code}' -X POST "$url/login" \
      -H "Content-Type: application/json" -d '{"email": "'"$email"'", "password": "'"$password"'"}')
    echo "    ${url%/api/v2/auth}: HTTP $status, $(grep -i '^retry-after:' "$tmp/headers" | tr -d '\r' || echo 'no Retry-After')"
    [ "$status" = 429 ] || fail "the right password got $status, want 429 while the account waits"
    grep -qi '^retry-after: [1-9]' "$tmp/headers" || fail "no Retry-After on the 429"
  done

  stop_server "$pid_a"
  stop_server "$pid_b"
}

command -v redis-cli >/dev/null || fail "redis-cli is missing"
redis_flush || fail "Redis at $redis_addr does not answer"
run_pair "redis://$redis_addr/$redis_db" redis
run_pair db db

step "two servers throttled as one, through Redis and through the database"
