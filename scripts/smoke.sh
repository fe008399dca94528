#!/usr/bin/env bash
# Smoke test of the reference server: build it, start it on a fresh
# database, and run the documentation's curl commands against it (register,
# login, me, refresh, reuse of a spent refresh token, logout), checking each
# status and the key JSON fields. Exits non-zero on the first failure.
#
# Usage: scripts/smoke.sh [DB]
#   DB          a -db value for the server, such as
#               postgres://postgres@127.0.0.1:5432/test?sslmode=disable or
#               mysql://root@127.0.0.1:3306/test; the default is a fresh
#               SQLite file in a temporary directory.
#   SMOKE_ADDR  the address the server listens on (default 127.0.0.1:0, a free
#               port, read back from the server's log).
#
# Needs go, curl and python3 (for reading JSON).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
FAILURE_LOG_LINES=all

addr="${SMOKE_ADDR:-127.0.0.1:0}"
db="${1:-sqlite:$tmp/auth.db}"
email="smoke-$(date +%s)-$RANDOM$RANDOM@example.com"

# field prints a field of the last body, named by a dotted path such as
# user.email; it fails when the field is missing.
field() { json_field "$tmp/body" "$1"; }

# expect_field checks that a field of the last body equals a value.
expect_field() {
  local got
  got=$(field "$1")
  [ "$got" = "$2" ] || fail "$1 is \"$got\", want \"$2\""
}

# expect_error checks the status and error code of the last call.
expect_error() {
  expect_status "$1"
  expect_field error.code "$2"
}

step "build the reference server"
build_server
echo "    built"

db_shown=$(redact_db "$db")
step "start it on $addr with -db $db_shown"
if [ "${addr##*:}" != 0 ] && something_listens "$addr"; then
  fail "something already listens on $addr; set SMOKE_ADDR"
fi
SERVER_ADDR="$addr"
start_server "$db"
base="$SERVER_URL"
call "$base/healthz"
expect_status 200
expect_field status ok

step "register $email"
call -X POST "$base/api/v2/auth/register" \
  -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "securepassword123", "name": "John Doe"}'
expect_status 201
expect_field user.email "$email"
expect_field user.name "John Doe"
user_id=$(field user.id)
[ -n "$user_id" ] || fail "user.id is empty"
reg_access=$(field accessToken)
reg_refresh=$(field refreshToken)
case "$reg_access" in eyJhbGciOiJIUzI1NiIs*) ;; *) fail "the access token does not look like an HS256 JWT" ;; esac
[ -n "$reg_refresh" ] || fail "refreshToken is empty"

step "register the same email again -> 409"
call -X POST "$base/api/v2/auth/register" \
  -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "securepassword123", "name": "John Doe"}'
expect_error 409 EMAIL_EXISTS

step "login"
call -X POST "$base/api/v2/auth/login" \
  -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "securepassword123"}'
expect_status 200
expect_field user.id "$user_id"
access=$(field accessToken)
refresh=$(field refreshToken)

step "login with a wrong password -> 401"
call -X POST "$base/api/v2/auth/login" \
  -H "Content-Type: application/json" \
  -d '{"email": "'"$email"'", "password": "wrongpassword123"}'
expect_error 401 INVALID_CREDENTIALS

step "me"
call "$base/api/v2/auth/me" \
  -H "Authorization: Bearer $access"
expect_status 200
expect_field user.id "$user_id"
expect_field user.email "$email"
expect_field user.name "John Doe"
expect_field user.role owner
org=$(field user.organizationId)
[ -n "$org" ] || fail "user.organizationId is empty"
created=$(field user.createdAt)
[[ "$created" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]] ||
  fail "user.createdAt \"$created\" is not like 2024-01-28T12:00:00.000Z"

step "refresh"
call -X POST "$base/api/v2/auth/refresh" \
  -H "Content-Type: application/json" \
  -d '{"refreshToken": "'"$refresh"'"}'
expect_status 200
new_access=$(field accessToken)
new_refresh=$(field refreshToken)
[ -n "$new_access" ] && [ -n "$new_refresh" ] || fail "refresh returned an empty token"
[ "$new_refresh" != "$refresh" ] || fail "refresh returned the same refresh token"

step "me with the refreshed access token"
call "$base/api/v2/auth/me" -H "Authorization: Bearer $new_access"
expect_status 200
expect_field user.id "$user_id"

step "refresh with the spent refresh token again, at once -> 200, the same successor (reuse window)"
call -X POST "$base/api/v2/auth/refresh" \
  -H "Content-Type: application/json" \
  -d '{"refreshToken": "'"$refresh"'"}'
expect_status 200

step "refresh the successor -> 200"
call -X POST "$base/api/v2/auth/refresh" \
  -H "Content-Type: application/json" \
  -d '{"refreshToken": "'"$new_refresh"'"}'
expect_status 200
new_access=$(field accessToken)
new_refresh=$(field refreshToken)

step "the first refresh token, whose successor is spent too -> 401, session revoked"
call -X POST "$base/api/v2/auth/refresh" \
  -H "Content-Type: application/json" \
  -d '{"refreshToken": "'"$refresh"'"}'
expect_error 401 INVALID_TOKEN

step "the session's newest tokens are revoked too -> 401"
call -X POST "$base/api/v2/auth/refresh" \
  -H "Content-Type: application/json" \
  -d '{"refreshToken": "'"$new_refresh"'"}'
expect_error 401 INVALID_TOKEN
call "$base/api/v2/auth/me" -H "Authorization: Bearer $new_access"
expect_error 401 INVALID_TOKEN

step "logout (the registration's session)"
call -X POST "$base/api/v2/auth/logout" \
  -H "Authorization: Bearer $reg_access"
expect_status 200
expect_field message "Logged out successfully"

step "logout again -> 401"
call -X POST "$base/api/v2/auth/logout" \
  -H "Authorization: Bearer $reg_access"
expect_error 401 INVALID_TOKEN

step "me after logout -> 401"
call "$base/api/v2/auth/me" \
  -H "Authorization: Bearer $reg_access"
expect_error 401 INVALID_TOKEN

step "refresh after logout -> 401"
call -X POST "$base/api/v2/auth/refresh" \
  -H "Content-Type: application/json" \
  -d '{"refreshToken": "'"$reg_refresh"'"}'
expect_error 401 INVALID_TOKEN

step "graceful shutdown; no token or password in the log"
stop_server_cleanly
grep -q 'msg=stopped' "$tmp/server.log" || fail "the server did not log a clean stop"
for secret in securepassword123 "$reg_access" "$reg_refresh" "$access" "$refresh" "$new_access" "$new_refresh"; do
  if grep -qF -- "$secret" "$tmp/server.log"; then
    fail "the server log holds a token or password"
  fi
done
echo "    $(grep -c 'msg=request' "$tmp/server.log") requests logged, none with a secret"

printf '\nPASS: the documentation flow works against the reference server (-db %s)\n' "$db_shown"
