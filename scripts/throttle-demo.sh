#!/usr/bin/env bash
# Throttling demonstration against the reference server, with its default
# settings (throttling on, no trusted proxies):
#
#  1. register one account;
#  2. send 30 logins with wrong passwords for it, each with a different
#     X-Forwarded-For: the first ones answer 401 INVALID_CREDENTIALS, then
#     the account is throttled and they answer 429 RATE_LIMITED with
#     Retry-After; the header changes nothing, and the server's audit log
#     shows every attempt keyed to the real peer address;
#  3. while throttled, the correct password gets the same status, the same
#     Retry-After header and the very same body as a wrong one;
#  4. after the Retry-After delay, the correct password logs in (when the
#     delay is at most a minute; the default back-off starts at 1 second and
#     doubles with each further failure, so it is a few seconds here).
#
# Every step is asserted; the script exits non-zero on the first mismatch.
#
# Usage: scripts/throttle-demo.sh [DB]
#   DB  a -db value for the server (default: a fresh SQLite file in a
#       temporary directory).
#
# The server listens on a free port of 127.0.0.1. Needs go and curl.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

db="${1:-sqlite:$tmp/auth.db}"
email="throttle-$(date +%s)-$RANDOM$RANDOM@example.com"
password="correct-horse-battery-staple-9"
attempts=30

# login sends a login with the given password and X-Forwarded-For, keeping
# the body in $tmp/body.$3 and the headers in $tmp/headers.$3, and sets
# $status, $code (the error code, if any) and $retry_after.
login() {
  local pw="$1" xff="$2" tag="$3"
  status=$(curl -sS -o "$tmp/body.$tag" -D "$tmp/headers.$tag" -w '%{http_code}' \
    -X POST "$base/api/v2/auth/login" \
    -H "Content-Type: application/json" \
    -H "X-Forwarded-For: $xff" \
    -d '{"email": "'"$email"'", "password": "'"$pw"'"}') || fail "curl login"
  # The server writes compact JSON; sed keeps this loop fast.
  code=$(sed -n 's/.*"code":"\([A-Z_]*\)".*/\1/p' "$tmp/body.$tag") || true
  retry_after=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([^[:space:]]*\).*/\1/p' "$tmp/headers.$tag" | head -n 1) || true
}

# header prints a header of a saved response, without the line ending.
header() {
  sed -n "s/^$2: *//Ip" "$tmp/headers.$1" | tr -d '\r' | head -n 1
}

step "build the reference server"
build_server
echo "    built"

db_shown=$(redact_db "$db")
step "start it with default settings (throttling on, no trusted proxy), -db $db_shown"
start_server "$db"
base="$SERVER_URL"
addr="${SERVER_URL#http://}"
grep -q 'throttling is OFF' "$tmp/server.log" && fail "the server says throttling is off"
echo "    listening on $addr"

step "register $email"
status=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X POST "$base/api/v2/auth/register" \
  -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "'"$password"'", "name": "Throttle Demo"}') || fail "curl register"
[ "$status" = 201 ] || fail "register: HTTP $status, want 201: $(head -c 300 "$tmp/body")"
echo "    HTTP 201"

step "$attempts wrong passwords, each from a different X-Forwarded-For"
seq401=0      # 401s before the first 429
first429=""   # the attempt that was first throttled
n401=0
n429=0
for i in $(seq 1 "$attempts"); do
  xff="203.0.113.$i"
  login "wrong-password-$i" "$xff" "w$i"
  printf '    %2d  X-Forwarded-For: %-13s -> HTTP %s %-19s %s\n' "$i" "$xff" "$status" "$code" \
    "${retry_after:+Retry-After: $retry_after}"
  case "$status" in
  401)
    [ "$code" = INVALID_CREDENTIALS ] || fail "attempt $i: 401 with code $code, want INVALID_CREDENTIALS"
    [ -z "$retry_after" ] || fail "attempt $i: a 401 with Retry-After"
    n401=$((n401 + 1))
    [ -n "$first429" ] || seq401=$((seq401 + 1))
    ;;
  429)
    [ "$code" = RATE_LIMITED ] || fail "attempt $i: 429 with code $code, want RATE_LIMITED"
    [[ "$retry_after" =~ ^[1-9][0-9]*$ ]] || fail "attempt $i: 429 with Retry-After \"$retry_after\", want whole seconds"
    n429=$((n429 + 1))
    [ -n "$first429" ] || first429=$i
    last429="w$i"
    ;;
  *)
    fail "attempt $i: HTTP $status, want 401 or 429: $(head -c 300 "$tmp/body.w$i")"
    ;;
  esac
done
loop401=$n401
echo "    $n401 x 401 INVALID_CREDENTIALS, $n429 x 429 RATE_LIMITED; first throttled: attempt ${first429:-none}"
[ -n "$first429" ] || fail "no attempt was throttled"
# The default per-account rule (LoginAccountBackoff) allows a few failures,
# then imposes a delay.
[ "$seq401" -ge 1 ] && [ "$seq401" -le 6 ] ||
  fail "$seq401 attempts answered 401 before the first 429, want a few (the default allows 5)"
# Throttled attempts do no password check and are not counted. A 401 after
# the first 429 means that the delay ran out before the next attempt (1 s,
# then 2 s, 4 s, ...), which is a new failure and doubles the delay: however
# slow the machine, 30 attempts within 30 s see at most 5 of those.
[ "$((n401 - seq401))" -le 5 ] || fail "$((n401 - seq401)) failures got through after the first 429"
echo "    $seq401 failures before the first delay; $((n401 - seq401)) more got through once a delay had run out (each doubles the next delay)"

# The server keyed every attempt to the peer address: without trusted
# proxies X-Forwarded-For is ignored.
failures_logged=$(grep -c 'msg=auth.login.failure' "$tmp/server.log" || true)
[ "$failures_logged" -eq "$n401" ] || fail "the server logged $failures_logged failed logins, want $n401"
if grep 'msg=auth.login.failure\|msg=auth.throttled' "$tmp/server.log" | grep -q 'client_ip=203\.0\.113\.'; then
  fail "the server took a client address from X-Forwarded-For"
fi
if grep 'msg=auth.login.failure\|msg=auth.throttled' "$tmp/server.log" | grep -vq 'client_ip=127\.0\.0\.1'; then
  fail "an audit record lacks client_ip=127.0.0.1"
fi
echo "    server audit log: $failures_logged auth.login.failure and $(grep -c 'msg=auth.throttled' "$tmp/server.log" || true) auth.throttled records, all with client_ip=127.0.0.1"

step "while throttled: a wrong and the correct password get the same answer"
# The two calls must both fall within one delay: when the delay left is
# under a second, let it run out and fail once more, which starts a delay
# twice as long.
rm -f "$tmp/headers.right"
for _ in 1 2 3 4 5; do
  login "wrong-password-again" "198.51.100.1" wrong
  if [ "$status" = 401 ]; then
    [ "$code" = INVALID_CREDENTIALS ] || fail "401 with code $code, want INVALID_CREDENTIALS"
    echo "    (a wrong password after the delay ran out: 401, and a longer delay starts)"
    n401=$((n401 + 1))
    continue
  fi
  [ "$status" = 429 ] || fail "a wrong password answered HTTP $status, want 401 or 429"
  [[ "$retry_after" =~ ^[1-9][0-9]*$ ]] || fail "a 429 with Retry-After \"$retry_after\", want whole seconds"
  if [ "$retry_after" -lt 2 ]; then
    echo "    (Retry-After: $retry_after; waiting for that delay to run out first)"
    sleep "$retry_after"
    sleep 0.2
    continue
  fi
  login "$password" "198.51.100.2" right
  break
done
[ -f "$tmp/headers.right" ] || fail "could not catch a delay of 2 s or more in five tries"
echo "    wrong password:   HTTP $(head -n 1 "$tmp/headers.wrong" | cut -d' ' -f2) Retry-After: $(header wrong Retry-After)  $(cat "$tmp/body.wrong")"
echo "    correct password: HTTP $(head -n 1 "$tmp/headers.right" | cut -d' ' -f2) Retry-After: $(header right Retry-After)  $(cat "$tmp/body.right")"
[ "$(head -n 1 "$tmp/headers.wrong" | cut -d' ' -f2)" = 429 ] || fail "the wrong password was not throttled"
[ "$status" = 429 ] || fail "the correct password answered HTTP $status while the account is throttled, want 429"
cmp -s "$tmp/body.wrong" "$tmp/body.right" || fail "the bodies differ"
cmp -s "$tmp/body.w$first429" "$tmp/body.right" || fail "the body differs from the first 429's"
for h in Content-Type Cache-Control X-Content-Type-Options; do
  [ "$(header wrong "$h")" = "$(header right "$h")" ] || fail "the $h headers differ"
done
[ -n "$(header right Retry-After)" ] || fail "the correct password's 429 has no Retry-After"
# Retry-After counts down the same delay; both are whole seconds.
[ "$(header wrong Retry-After)" = "$(header right Retry-After)" ] ||
  echo "    note: Retry-After went from $(header wrong Retry-After) to $(header right Retry-After) between the two calls"
echo "    identical: status, body (byte for byte), Content-Type, Cache-Control, X-Content-Type-Options, Retry-After present"
wait_s=$(header right Retry-After)

step "after the back-off (Retry-After: $wait_s s)"
echo "    the default per-account rule allows 5 failures, then delays 1 s, doubling with every"
echo "    further failure up to 15 min; throttled attempts do no password check and are not"
echo "    counted, so $n401 failures in all give a delay of $wait_s s here."
if [ "$wait_s" -le 60 ]; then
  sleep "$wait_s"
  sleep 0.2
  login "$password" "198.51.100.3" after
  echo "    correct password after ${wait_s}s: HTTP $status"
  [ "$status" = 200 ] || fail "the correct password answered HTTP $status after the back-off, want 200"
  # Without a reset the first failure would start a delay at once and the
  # second would answer 429.
  login "wrong-password-after-1" "198.51.100.4" after1
  s1="$status $code"
  login "wrong-password-after-2" "198.51.100.5" after2
  echo "    two wrong passwords right after: HTTP $s1, HTTP $status $code (the success reset the account's count)"
  [ "$s1" = "401 INVALID_CREDENTIALS" ] && [ "$status" = 401 ] ||
    fail "wrong passwords after a successful login answered HTTP $s1 and $status, want 401 twice"
  after="; after the ${wait_s} s delay the correct password logged in (200)"
else
  echo "    not waiting $wait_s s here; the Go tests prove it with an injected clock"
  after="; the delay (${wait_s} s) was too long to wait for here"
fi

stop_server_cleanly
if grep -qF -- "$password" "$tmp/server.log" || grep -q 'wrong-password' "$tmp/server.log"; then
  fail "the server log holds a password"
fi

printf '\nPASS: %d wrong passwords from rotating X-Forwarded-For: %d x 401, then throttled (%d x 429 RATE_LIMITED with Retry-After); the correct password got the identical 429 while throttled%s\n' \
  "$attempts" "$loop401" "$n429" "$after"
