#!/usr/bin/env bash
# End-to-end test of organizations on the reference server, over HTTP: an
# owner invites an admin and a member (tokens from the development mailer's
# log), an invitation link used by another logged-in account is refused,
# they accept, list, roles change, the admin cannot touch the owner nor make
# owners, a member cannot promote itself, another organization's id is 404,
# the last owner cannot leave, switching changes /me's organizationId and
# role, a role change reaches the next refresh, ownership is transferred,
# and a removed member's access token dies at once. The README's
# "Organizations and members" curl lines are these calls.
#
# Usage: scripts/orgs-e2e.sh [DB]
#   DB  a -db value for the server (default: a fresh SQLite file).
#
# Needs go, curl and python3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

db="${1:-sqlite:$tmp/auth.db}"
run="$(date +%s)-$RANDOM$RANDOM"
password="securepassword123"

# field PATH prints a field of the last body; PATH is dotted, with list
# indexes as numbers (organizations.0.id).
field() {
  python3 - "$tmp/body" "$1" <<'PY' || fail "the body has no field $1"
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)
PY
}
expect_field() {
  local got
  got=$(field "$1")
  [ "$got" = "$2" ] || fail "$1 is \"$got\", want \"$2\""
}
expect_error() {
  expect_status "$1"
  expect_field error.code "$2"
}
claim() {
  python3 - "$1" "$2" <<'PY'
import base64, json, sys
p = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))[sys.argv[2]])
PY
}
# api METHOD PATH TOKEN [BODY]
api() {
  local args=(-X "$1" "$base/api/v2/auth$2" -H "Authorization: Bearer $3")
  [ -z "${4:-}" ] || args+=(-H "Content-Type: application/json" -d "$4")
  call "${args[@]}"
}
# register NAME: registers NAME-$run@example.com; sets access, refresh.
register() {
  call -X POST "$base/api/v2/auth/register" -H "Content-Type: application/json" \
    -d '{"email": "'"$1-$run"'@example.com", "password": "'"$password"'", "name": "'"$1"'"}'
  expect_status 201
  access=$(field accessToken)
  refresh=$(field refreshToken)
}
# invitation_token EMAIL: the token of the last invitation logged for EMAIL.
invitation_token() {
  grep -F "invitation" "$tmp/server.log" | grep -F "to=$1" | tail -n 1 | sed -n 's/.*token=\([A-Za-z0-9_-]*\).*/\1/p'
}

step "build and start the reference server with the development mailer"
build_server
start_server "$db" -dev-mailer
base="$SERVER_URL"

step "register an owner, two colleagues and an outsider"
register owner; owner=$access
org=$(claim "$owner" org)
register admin; admin=$access; admin_id=$(claim "$admin" sub)
register member; member=$access; member_id=$(claim "$member" sub)
register outsider; outsider=$access; outsider_org=$(claim "$outsider" org)
owner_id=$(claim "$owner" sub)

step "GET /orgs: the owner's own organization"
api GET /orgs "$owner"
expect_status 200
expect_field organizations.0.id "$org"
expect_field organizations.0.role owner

step "the owner invites an admin and a member"
api POST "/orgs/$org/invitations" "$owner" '{"email": "admin-'"$run"'@example.com", "role": "admin"}'
expect_status 201
api POST "/orgs/$org/invitations" "$owner" '{"email": "member-'"$run"'@example.com", "role": "member"}'
expect_status 201
api GET "/orgs/$org/invitations" "$owner"
expect_status 200
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["invitations"]))' "$tmp/body")" = 2 ] || fail "want 2 pending invitations"
admin_token=$(invitation_token "admin-$run@example.com")
member_token=$(invitation_token "member-$run@example.com")
[ -n "$admin_token" ] && [ -n "$member_token" ] || fail "no invitation token in the log"

step "an invitation link used by another logged-in account is refused"
api POST /invitations/accept "$outsider" '{"token": "'"$admin_token"'"}'
expect_error 400 INVALID_INVITATION

step "they accept"
api POST /invitations/accept "$admin" '{"token": "'"$admin_token"'"}'
expect_status 200
expect_field organization.role admin
api POST /invitations/accept "$member" '{"token": "'"$member_token"'"}'
expect_status 200
api POST /invitations/accept "$member" '{"token": "'"$member_token"'"}'
expect_error 400 INVALID_INVITATION

step "every member lists the members"
api GET "/orgs/$org/members" "$member"
expect_status 200
[ "$(python3 -c 'import json,sys; print(sorted(m["role"] for m in json.load(open(sys.argv[1]))["members"]))' "$tmp/body")" = "['admin', 'member', 'owner']" ] || fail "members $(cat "$tmp/body")"

step "privilege escalation is refused"
api PATCH "/orgs/$org/members/$member_id" "$member" '{"role": "admin"}'
expect_error 403 FORBIDDEN
api PATCH "/orgs/$org/members/$member_id" "$admin" '{"role": "owner"}'
expect_error 403 FORBIDDEN
api PATCH "/orgs/$org/members/$owner_id" "$admin" '{"role": "member"}'
expect_error 403 FORBIDDEN
api DELETE "/orgs/$org/members/$owner_id" "$admin"
expect_error 403 FORBIDDEN
api GET "/orgs/$outsider_org/members" "$admin"
expect_error 404 NOT_FOUND

step "the last owner cannot leave"
api POST "/orgs/$org/leave" "$owner"
expect_error 409 LAST_OWNER

step "the admin switches to the organization: /me shows it"
api POST "/orgs/$org/switch" "$admin"
expect_status 200
admin=$(field accessToken)
admin_refresh=$(field refreshToken)
api GET /me "$admin"
expect_field user.organizationId "$org"
expect_field user.role admin

step "a role change reaches the next refresh"
api PATCH "/orgs/$org/members/$admin_id" "$owner" '{"role": "member"}'
expect_status 200
call -X POST "$base/api/v2/auth/refresh" -H "Content-Type: application/json" -d '{"refreshToken": "'"$admin_refresh"'"}'
expect_status 200
admin=$(field accessToken)
[ "$(claim "$admin" role)" = member ] || fail "role after refresh is $(claim "$admin" role)"
api PATCH "/orgs/$org/members/$admin_id" "$owner" '{"role": "admin"}'
expect_status 200

step "ownership is transferred; the former owner can then leave"
api POST "/orgs/$org/transfer" "$owner" '{"userId": "'"$admin_id"'"}'
expect_status 200
api POST "/orgs/$org/leave" "$owner"
expect_status 200

step "a removed member's access token dies at once"
api POST "/orgs/$org/switch" "$member"
expect_status 200
member=$(field accessToken)
api GET /me "$member"
expect_status 200
expect_field user.role member
api DELETE "/orgs/$org/members/$member_id" "$admin"
expect_status 200
api GET /me "$member"
expect_error 401 INVALID_TOKEN

printf '\nPASS: organizations work end to end against the reference server (-db %s)\n' "$(redact_db "$db")"
