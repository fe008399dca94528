#!/usr/bin/env bash
# Two reference servers on one PostgreSQL database behave as one: build
# examples/server once, start two processes (A and B) on two loopback ports
# with the same AUTH_SECRET and -no-throttle, and check that
#
#   - a user registered on A logs in on B, and B's access token works on A;
#   - 16 concurrent refreshes of one refresh token, split between A and B,
#     all get 200 with one successor (the same jti), as the default reuse
#     window of 10 s allows; once that successor is refreshed in turn,
#     the first token is a grandparent: reuse, which revokes the session on
#     both;
#   - a logout on A ends the session on B at once.
#
# Each step is printed; the script exits non-zero on the first failure and
# stops both servers whatever happens.
#
# Usage: scripts/two-servers.sh [POSTGRES_URL]
#   POSTGRES_URL  the database, as a postgres:// URL; the default is
#                 $AUTH_TEST_POSTGRES_DSN, else
#                 postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
#                 The servers use the default table prefix "auth_" and
#                 migrate it on start (both at once, on purpose); the script
#                 registers a fresh, unique email each run.
#   TWO_ADDR_A, TWO_ADDR_B  the servers' addresses (default 127.0.0.1:3911
#                 and 127.0.0.1:3912).
#
# Needs go, curl and python3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
FAILURE_LOG_LINES=all
CALL_SHOW_CHARS=300

db="${1:-${AUTH_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}}"
addr_a="${TWO_ADDR_A:-127.0.0.1:3911}"
addr_b="${TWO_ADDR_B:-127.0.0.1:3912}"
base_a="http://$addr_a/api/v2/auth"
base_b="http://$addr_b/api/v2/auth"
racers=16
email="two-servers-$(date +%s)-$RANDOM$RANDOM@example.com"
password="correct horse battery staple"

# field prints a field of the last body, named by a dotted path.
field() { json_field "$tmp/body" "$1"; }

step "build the reference server"
build_server
echo "    built"

db_shown=$(redact_db "$db")
step "start A on $addr_a and B on $addr_b, one database ($db_shown), one secret, -no-throttle"
for a in "$addr_a" "$addr_b"; do
  if something_listens "$a"; then
    fail "something already listens on $a; set TWO_ADDR_A / TWO_ADDR_B"
  fi
done
# Both start at once, so both run Migrate concurrently.
launch_server "$addr_a" "$tmp/server-a.log" "$db" -no-throttle
pid_a=$SERVER_PID
launch_server "$addr_b" "$tmp/server-b.log" "$db" -no-throttle
pid_b=$SERVER_PID
wait_healthy "$pid_a" "$tmp/server-a.log" "$addr_a" 30 "server A"
echo "    server A ($addr_a, pid $pid_a) is up"
wait_healthy "$pid_b" "$tmp/server-b.log" "$addr_b" 30 "server B"
echo "    server B ($addr_b, pid $pid_b) is up"

step "register $email on A -> 201"
call -X POST "$base_a/register" -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "'"$password"'", "name": "Two Servers"}'
expect_status 201
user_id=$(field user.id)
access_a=$(field accessToken)

step "log in on B -> 200, same user"
call -X POST "$base_b/login" -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "'"$password"'"}'
expect_status 200
[ "$(field user.id)" = "$user_id" ] || fail "B's login found user $(field user.id), A registered $user_id"
access_b=$(field accessToken)
refresh_b=$(field refreshToken)

step "GET /me on A with B's access token -> 200"
call "$base_a/me" -H "Authorization: Bearer $access_b"
expect_status 200
[ "$(field user.id)" = "$user_id" ] || fail "/me on A returned user $(field user.id), want $user_id"

step "$racers concurrent refreshes of B's refresh token, split between A and B -> $racers x 200, one successor"
python3 - "$base_a" "$base_b" "$refresh_b" "$racers" >"$tmp/race" <<'EOF' || fail "the race did not run"
import base64, json, sys, threading, urllib.error, urllib.request

base_a, base_b, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"refreshToken": token}).encode()
start = threading.Barrier(n)
results = [None] * n

def race(i):
    base = base_a if i % 2 == 0 else base_b
    req = urllib.request.Request(base + "/refresh", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    start.wait()  # all requests leave together
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            rt = json.load(resp)["refreshToken"]
            claims = rt.split(".")[1]
            jti = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["jti"]
            results[i] = (resp.status, "AB"[i % 2], jti, rt)
    except urllib.error.HTTPError as e:
        results[i] = (e.code, "AB"[i % 2], "-", "-")
    except Exception as e:
        results[i] = ("error: %s" % e, "AB"[i % 2], "-", "-")

threads = [threading.Thread(target=race, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for status, server, jti, rt in results:
    print(server, status, jti, rt)
EOF
cut -d' ' -f1-3 "$tmp/race" | sed 's/^/    server /'
ok=$(grep -c '^[AB] 200 ' "$tmp/race" || true)
successors=$(awk '$2 == 200 {print $3}' "$tmp/race" | sort -u | wc -l)
echo "    200: $ok of $racers, distinct successors: $successors"
[ "$ok" = "$racers" ] || fail "$ok refreshes succeeded, want all $racers (reuse window)"
[ "$successors" = 1 ] || fail "$successors distinct successors, want one"
successor=$(awk '$2 == 200 {print $4; exit}' "$tmp/race")

step "refresh the successor on A -> 200; then B's first token (now a grandparent) on B -> 401"
call -X POST "$base_a/refresh" -H "Content-Type: application/json" -d '{"refreshToken": "'"$successor"'"}'
expect_status 200
call -X POST "$base_b/refresh" -H "Content-Type: application/json" -d '{"refreshToken": "'"$refresh_b"'"}'
expect_status 401

step "the reuse revoked B's session on both servers: GET /me with its access token -> 401 on A and on B"
call "$base_a/me" -H "Authorization: Bearer $access_b"
expect_status 401
call "$base_b/me" -H "Authorization: Bearer $access_b"
expect_status 401

step "GET /me on B with A's (registration) access token -> 200"
call "$base_b/me" -H "Authorization: Bearer $access_a"
expect_status 200

step "log out on A -> 200"
call -X POST "$base_a/logout" -H "Authorization: Bearer $access_a"
expect_status 200

step "GET /me on B with the logged-out token -> 401"
call "$base_b/me" -H "Authorization: Bearer $access_a"
expect_status 401

step "stop both servers"
stop_server "$pid_a"
stop_server "$pid_b"
echo "    stopped"

printf '\nPASS: two servers on one PostgreSQL database behave as one\n'
