#!/usr/bin/env bash
# End-to-end test of two-step sign-in on the reference server, with codes
# made by an independent TOTP implementation, Debian's oathtool: enroll a
# TOTP factor, confirm it, log out, log in (MFA_REQUIRED and a ticket, no
# tokens), redeem the ticket with a code (tokens with aal 2), refuse the
# same code again, spend a recovery code once, and throttle a ticket tried
# with six wrong codes (429).
#
# Usage: scripts/mfa-e2e.sh [DB]
#   DB  a -db value for the server (default: a fresh SQLite file).
#
# Needs go, curl, python3 and oathtool (apt-get install -y oathtool).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
FAILURE_LOG_LINES=all

command -v oathtool >/dev/null || fail "oathtool is not installed (apt-get install -y oathtool)"
db="${1:-sqlite:$tmp/auth.db}"
email="mfa-$(date +%s)-$RANDOM$RANDOM@example.com"
password="securepassword123"

field() { json_field "$tmp/body" "$1"; }
expect_field() {
  local got
  got=$(field "$1")
  [ "$got" = "$2" ] || fail "$1 is \"$got\", want \"$2\""
}
expect_error() {
  expect_status "$1"
  expect_field error.code "$2"
}
# no_tokens fails when the last body holds an access or refresh token.
no_tokens() {
  python3 - "$tmp/body" <<'PY' || fail "the body carries a token"
import json, sys
b = json.load(open(sys.argv[1]))
sys.exit(1 if "accessToken" in b or "refreshToken" in b else 0)
PY
}
# claim TOKEN NAME prints a claim of a JWT's payload (lists space-separated).
claim() {
  python3 - "$1" "$2" <<'PY'
import base64, json, sys
p = sys.argv[1].split(".")[1]
v = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))[sys.argv[2]]
print(" ".join(v) if isinstance(v, list) else v)
PY
}
# totp_code [OFFSET_SECONDS] prints oathtool's code for $secret now (or
# OFFSET_SECONDS from now).
totp_code() {
  oathtool --totp -b -N "now + ${1:-0} seconds" "$secret"
}
post() { # post PATH BODY [TOKEN]
  local auth=()
  [ -z "${3:-}" ] || auth=(-H "Authorization: Bearer $3")
  call -X POST "$base/api/v2/auth$1" -H "Content-Type: application/json" ${auth[@]+"${auth[@]}"} -d "$2"
}
login_ticket() {
  post /login '{"email": "'"$email"'", "password": "'"$password"'"}'
  expect_error 401 MFA_REQUIRED
  no_tokens
  [ "$(field error.methods)" = "['totp', 'recovery_code']" ] || fail "methods are $(field error.methods)"
  ticket=$(field error.ticket)
  [ -n "$ticket" ] || fail "no ticket"
}

step "build and start the reference server"
build_server
start_server "$db"
base="$SERVER_URL"

step "register $email"
post /register '{"email": "'"$email"'", "password": "'"$password"'", "name": "Two Step"}'
expect_status 201
access=$(field accessToken)
[ "$(claim "$access" aal)" = 1 ] || fail "a password-only token has aal $(claim "$access" aal)"
[ "$(claim "$access" amr)" = pwd ] || fail "a password-only token has amr $(claim "$access" amr)"

step "enroll a TOTP factor (fresh login, no password needed)"
post /mfa/totp '' "$access"
expect_status 200
secret=$(field secret)
uri=$(field uri)
case "$uri" in otpauth://totp/*"secret=$secret"*) ;; *) fail "uri $uri" ;; esac
case "$uri" in *issuer=*) ;; *) fail "uri without issuer" ;; esac
[ "$(printf %s "$secret" | wc -c)" = 32 ] || fail "the secret is not 160 bits of base32"

step "until confirmed, login still gives tokens"
post /login '{"email": "'"$email"'", "password": "'"$password"'"}'
expect_status 200

step "confirm with oathtool's code -> ten recovery codes"
post /mfa/totp/confirm '{"code": "'"$(totp_code)"'"}' "$access"
expect_status 200
mapfile -t recovery < <(python3 -c 'import json,sys; [print(c) for c in json.load(open(sys.argv[1]))["recoveryCodes"]]' "$tmp/body")
[ "${#recovery[@]}" = 10 ] || fail "${#recovery[@]} recovery codes, want 10"
call "$base/api/v2/auth/mfa" -H "Authorization: Bearer $access"
expect_status 200
expect_field recoveryCodesLeft 10

step "log out"
call -X POST "$base/api/v2/auth/logout" -H "Authorization: Bearer $access"
expect_status 200

step "a client that ignores MFA: login -> 401 MFA_REQUIRED, no token"
login_ticket

step "redeem the ticket with oathtool's next code -> tokens at aal 2"
code=$(totp_code 30) # the next time step: the confirmation spent this one
post /mfa/verify '{"ticket": "'"$ticket"'", "code": "'"$code"'"}'
expect_status 200
access=$(field accessToken)
refresh=$(field refreshToken)
[ "$(claim "$access" aal)" = 2 ] || fail "aal is $(claim "$access" aal), want 2"
[ "$(claim "$access" amr)" = "pwd otp" ] || fail "amr is $(claim "$access" amr), want pwd otp"

step "the ticket again -> 401"
post /mfa/verify '{"ticket": "'"$ticket"'", "code": "'"$code"'"}'
expect_status 401

step "the same code with a new ticket -> 401 INVALID_CODE"
login_ticket
post /mfa/verify '{"ticket": "'"$ticket"'", "code": "'"$code"'"}'
expect_error 401 INVALID_CODE

step "refresh keeps aal 2"
post /refresh '{"refreshToken": "'"$refresh"'"}'
expect_status 200
[ "$(claim "$(field accessToken)" aal)" = 2 ] || fail "aal after refresh is not 2"

step "a recovery code works once"
login_ticket
post /mfa/verify '{"ticket": "'"$ticket"'", "recoveryCode": "'"${recovery[0]}"'"}'
expect_status 200
[ "$(claim "$(field accessToken)" aal)" = 2 ] || fail "aal after a recovery code is not 2"
login_ticket
post /mfa/verify '{"ticket": "'"$ticket"'", "recoveryCode": "'"${recovery[0]}"'"}'
expect_error 401 INVALID_CODE
call "$base/api/v2/auth/mfa" -H "Authorization: Bearer $access"
expect_field recoveryCodesLeft 9

step "a wrong code six times on one ticket -> five 401s, then 429"
# A login with another recovery code first: success resets the account's
# count of wrong codes, which the replays above added to.
login_ticket
post /mfa/verify '{"ticket": "'"$ticket"'", "recoveryCode": "'"${recovery[1]}"'"}'
expect_status 200
login_ticket
wrong=$(printf '%06d' $(((10#$(totp_code) + 500000) % 1000000)))
for i in 1 2 3 4 5; do
  post /mfa/verify '{"ticket": "'"$ticket"'", "code": "'"$wrong"'"}'
  expect_error 401 INVALID_CODE
done
post /mfa/verify '{"ticket": "'"$ticket"'", "code": "'"$wrong"'"}'
expect_error 429 RATE_LIMITED

step "no secret, code or token in the log"
stop_server_cleanly
for s in "$password" "$secret" "${recovery[@]}" "$ticket" "$access" "$refresh"; do
  if grep -qF -- "$s" "$tmp/server.log"; then
    fail "the server log holds a secret"
  fi
done

printf '\nPASS: two-step sign-in works against the reference server with oathtool codes (-db %s)\n' "$(redact_db "$db")"
