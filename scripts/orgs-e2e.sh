#!/usr/bin/env bash
# End-to-end test of organizations on the reference server, over HTTP: an
# owner invites an admin and a member (tokens from the development mailer's
# log), an invitation link used by another logged-in account is refused,
# they accept, list, roles change, the admin cannot touch the owner nor make
# owners, a member cannot promote itself, another organization's id is 404,
# the last owner cannot leave, switching changes /me's organizationId and
# role, a role change reaches the next refresh, ownership is transferred,
# and a removed member's access token dies at once. Then the README's
# "Organizations and members" ```bash block itself, extracted from README.md,
# runs with fresh users (bob invited by it, carol a member), its API base
# pointed at this server, and its answers and the resulting state are checked.
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

step "the README's own \"Organizations and members\" curl lines, run as written (API pointed at this server)"
# The ```bash block of that section, taken from README.md as it is: its
# lines run unchanged in a separate bash, but for the line that sets the
# documented API base, which is pointed at this server. The variables the
# block uses come from fresh users: an owner, bob (invited by the block) and
# carol (made a member here, so that the block's last line can remove her).
# A curl function in that bash keeps each call's body and status.
readme_block="$tmp/readme-orgs.sh"
awk '
  /^## Organizations and members[[:space:]]*$/ { section = 1; next }
  section && /^## / { exit }
  section && !inblock && /^```bash[[:space:]]*$/ { inblock = 1; next }
  inblock && /^```[[:space:]]*$/ { closed = 1; exit }
  inblock { print }
  END { if (!closed) exit 1 }
' README.md >"$readme_block" || fail "README.md: no closed \`\`\`bash block in \"## Organizations and members\""
[ -s "$readme_block" ] || fail "README.md: the \`\`\`bash block of \"## Organizations and members\" is empty"
readme_api_line='API=http://localhost:8080/api/v2/auth'
grep -qxF "$readme_api_line" "$readme_block" || fail "README.md: the block no longer sets $readme_api_line; update scripts/orgs-e2e.sh"
sed -i "s#^$readme_api_line\$#API=$base/api/v2/auth#" "$readme_block"
readme_curls=$(grep -cE '^[[:space:]]*([A-Z_]+=\$\()?curl ' "$readme_block" || true)
[ "$readme_curls" = 8 ] || fail "README.md: the block has $readme_curls curl commands, this script checks 8; update it"

register readme-owner; r_owner=$access; r_org=$(claim "$r_owner" org); r_owner_id=$(claim "$r_owner" sub)
register bob; r_bob=$access; r_bob_id=$(claim "$r_bob" sub)
register carol; r_carol=$access; r_carol_id=$(claim "$r_carol" sub)
api POST "/orgs/$r_org/invitations" "$r_owner" '{"email": "carol-'"$run"'@example.com", "role": "member"}'
expect_status 201
carol_token=$(invitation_token "carol-$run@example.com")
[ -n "$carol_token" ] || fail "no invitation token for carol in the log"
api POST /invitations/accept "$r_carol" '{"token": "'"$carol_token"'"}'
expect_status 200

# The block invites bob by email; his invitation token is read from the log
# in the curl function, before the call that accepts it (the line that uses
# $INVITATION_TOKEN), as a reader would read the mail in between.
readme_out="$tmp/readme-out"
mkdir -p "$readme_out"
(
  export API="$base/api/v2/auth" OWNER="$r_owner" ORG="$r_org" BOB="$r_bob" BOB_ID="$r_bob_id" \
    CAROL_ID="$r_carol_id" BOB_EMAIL="bob-$run@example.com" INVITATION_TOKEN="unset: not mailed yet" \
    README_OUT="$readme_out" SERVER_LOG_FILE="$tmp/server.log"
  # curl [ARG...]: the real curl, its body kept in $README_OUT/N.body, its
  # status in N.status and its arguments in N.args; the body is printed too.
  curl() {
    local n
    n=$(($(find "$README_OUT" -name '*.args' | wc -l) + 1))
    printf '%s\n' "$*" >"$README_OUT/$n.args"
    command curl "$@" -sS -o "$README_OUT/$n.body" -w '%{http_code}' >"$README_OUT/$n.status"
    echo "    [$n] HTTP $(cat "$README_OUT/$n.status") $(sed -E 's/(eyJ[A-Za-z0-9_-]{16})[A-Za-z0-9_.-]*/\1.../g' "$README_OUT/$n.body" | head -c 300)" >&2
    cat "$README_OUT/$n.body" # the answer, as curl -s prints it (the block may read it)
  }
  export -f curl
  # Bob's invitation token is known only once the block's invite has mailed
  # it: the block runs in two parts, split before the first command that
  # uses $INVITATION_TOKEN, and the token is read from the log in between,
  # as a reader would read the mail.
  split=$(grep -n '\$INVITATION_TOKEN' "$readme_block" | grep -v '^[0-9]*:[[:space:]]*#' | head -n 1 | cut -d: -f1)
  [ -n "$split" ] || fail "README.md: the block never uses \$INVITATION_TOKEN"
  while [ "$split" -gt 1 ] && sed -n "$((split - 1))p" "$readme_block" | grep -q '\\$'; do split=$((split - 1)); done
  head -n "$((split - 1))" "$readme_block" >"$tmp/readme-1.sh"
  tail -n "+$split" "$readme_block" >"$tmp/readme-2.sh"
  bash -euo pipefail "$tmp/readme-1.sh" || fail "README.md's orgs block, before the invitation token, failed"
  INVITATION_TOKEN=$(grep -F "invitation" "$SERVER_LOG_FILE" | grep -F "to=$BOB_EMAIL" | tail -n 1 | sed -n 's/.*token=\([A-Za-z0-9_-]*\).*/\1/p')
  [ -n "$INVITATION_TOKEN" ] || fail "no invitation token for $BOB_EMAIL in the log after the README's invite"
  export INVITATION_TOKEN
  bash -euo pipefail "$tmp/readme-2.sh" || fail "README.md's orgs block, from the invitation token on, failed"
)

# readme_call N METHOD PATH STATUS [CODE]: the block's Nth curl was METHOD
# $API PATH and answered STATUS (and error.code CODE); its body becomes the
# last body, for field.
readme_call() {
  local n="$1" method="$2" path="$3" want="$4" args
  [ -f "$readme_out/$n.args" ] || fail "the README's block made no call $n"
  args=$(cat "$readme_out/$n.args")
  case "$args" in *"$base/api/v2/auth$path"*) ;; *) fail "README call $n is \"$args\", want $method $path" ;; esac
  if [ "$method" = GET ]; then
    case "$args" in *"-X "*) fail "README call $n is \"$args\", want GET $path" ;; esac
  else
    case "$args" in *"-X $method "*) ;; *) fail "README call $n is \"$args\", want $method $path" ;; esac
  fi
  cp "$readme_out/$n.body" "$tmp/body"
  status=$(cat "$readme_out/$n.status")
  [ "$status" = "$want" ] || fail "README call $n ($method $path) answered HTTP $status, want $want: $(cat "$tmp/body")"
  [ -z "${5:-}" ] || expect_field error.code "$5"
}
# member_roles: "userId:role ..." of the last body's members, sorted.
member_roles() {
  python3 -c 'import json,sys; print(" ".join(sorted(m["userId"]+":"+m["role"] for m in json.load(open(sys.argv[1]))["members"])))' "$tmp/body"
}

step "the README's calls answered as documented"
[ "$(find "$readme_out" -name '*.args' | wc -l)" = 8 ] || fail "the README's block made $(find "$readme_out" -name '*.args' | wc -l) calls, want 8"
readme_call 1 POST "/orgs/$r_org/invitations" 201
expect_field invitation.email "bob-$run@example.com"
expect_field invitation.role admin
readme_call 2 POST /invitations/accept 200
expect_field organization.id "$r_org"
expect_field organization.role admin
readme_call 3 GET "/orgs/$r_org/members" 200
[ "$(member_roles)" = "$(printf '%s\n' "$r_owner_id:owner" "$r_bob_id:admin" "$r_carol_id:member" | sort | tr '\n' ' ' | sed 's/ $//')" ] ||
  fail "members after bob accepted: $(member_roles)"
readme_call 4 POST "/orgs/$r_org/switch" 200
r_bob_switched=$(field accessToken)
[ -n "$(field refreshToken)" ] || fail "bob's switch returned no refresh token"
[ "$(claim "$r_bob_switched" org)" = "$r_org" ] || fail "bob's switched access token is for organization $(claim "$r_bob_switched" org), want $r_org"
readme_call 5 PATCH "/orgs/$r_org/members/$r_bob_id" 200
readme_call 6 POST "/orgs/$r_org/leave" 409 LAST_OWNER
readme_call 7 POST "/orgs/$r_org/transfer" 200
readme_call 8 DELETE "/orgs/$r_org/members/$r_carol_id" 200

step "the state after the README's calls, read through the API"
api GET /me "$r_bob_switched"
expect_status 200
expect_field user.organizationId "$r_org"
api GET "/orgs/$r_org/members" "$r_bob_switched"
expect_status 200
[ "$(member_roles)" = "$(printf '%s\n' "$r_owner_id:admin" "$r_bob_id:owner" | sort | tr '\n' ' ' | sed 's/ $//')" ] ||
  fail "members after the README's calls: $(member_roles); want bob owner, the former owner admin, carol gone"
api GET /orgs "$r_carol"
expect_status 200
python3 -c 'import json,sys; sys.exit(any(o["id"]==sys.argv[2] for o in json.load(open(sys.argv[1]))["organizations"]))' "$tmp/body" "$r_org" ||
  fail "carol still lists the organization: $(cat "$tmp/body")"
api POST "/orgs/$r_org/leave" "$r_owner"
expect_status 200

printf '\nPASS: organizations work end to end against the reference server (-db %s)\n' "$(redact_db "$db")"
