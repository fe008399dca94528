# shellcheck shell=bash
# Helpers shared by the scripts in this directory. Source it right after
# `set -euo pipefail` and `cd` to the repository root:
#
#   source "$(dirname "$0")/lib.sh"
#
# Sourcing it makes a temporary directory, $tmp, and sets traps: on exit
# every server started here is stopped, the script's own script_cleanup
# function runs if it defines one, the server logs are shown when the exit
# status is not zero, and $tmp is removed. Ctrl-C exits with status 130.
#
# Settings a script may change before using the functions:
#   SERVER_ADDR        the -addr of start_server (default 127.0.0.1:0, a free
#                      port, read back from the server's log).
#   SERVER_WAIT        how many seconds start_server waits for GET /healthz
#                      (default 30).
#   FAILURE_LOG_LINES  how many last lines of each server log to show on
#                      failure (default 40; "all" shows the whole log).

tmp="$(mktemp -d)"
SERVER_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" # AUTH_SECRET of every server started here
SERVER_PID=""
SERVER_URL=""
SERVER_LOG=""
_lib_pids=() # servers that may still run
_lib_logs=() # server logs to show on failure

_lib_cleanup() {
  local status=$? pid log label
  if declare -F script_cleanup >/dev/null; then
    script_cleanup || true
  fi
  for pid in ${_lib_pids[@]+"${_lib_pids[@]}"}; do
    stop_server "$pid"
  done
  if [ "$status" -ne 0 ]; then
    for log in ${_lib_logs[@]+"${_lib_logs[@]}"}; do
      [ -s "$log" ] || continue
      label=$(basename "$log" .log) # server.log -> "server", server-a.log -> "server a"
      label=${label//-/ }
      if [ "${FAILURE_LOG_LINES:-40}" = all ]; then
        echo "--- $label log ---" >&2
        cat "$log" >&2
      else
        echo "--- last lines of the $label log ---" >&2
        tail -n "${FAILURE_LOG_LINES:-40}" "$log" >&2
      fi
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM

# fail prints its arguments as the reason and exits with status 1.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# step prints the heading of a step.
step() { printf '\n==> %s\n' "$*"; }

# build_server builds examples/server into $tmp/server.
build_server() {
  go build -o "$tmp/server" ./examples/server
}

# redact_db prints a -db value without its password, for the output.
redact_db() {
  printf '%s' "$1" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:xxxxx@#'
}

# something_listens ADDR succeeds when anything answers HTTP on ADDR.
something_listens() {
  curl -s -o /dev/null "http://$1/healthz"
}

# launch_server ADDR LOG DB [FLAG...] starts $tmp/server in the background,
# logging to LOG, and sets SERVER_PID and SERVER_LOG; it does not wait. It
# runs in this shell, not in a command substitution, so that the server is
# this shell's child and can be waited for.
launch_server() {
  local addr="$1" log="$2" db="$3"
  shift 3
  : >"$log"
  AUTH_SECRET="$SERVER_SECRET" "$tmp/server" -addr "$addr" -db "$db" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  SERVER_LOG="$log"
  _lib_pids+=("$SERVER_PID")
  case " ${_lib_logs[*]-} " in *" $log "*) ;; *) _lib_logs+=("$log") ;; esac
}

# wait_healthy PID LOG ADDR SECONDS [WHO] polls GET /healthz until the
# server answers 200, for at most about SECONDS, failing early when the
# process exits; WHO names it in the failure (default "the server"). When
# ADDR ends in :0 the address is read from the "msg=listening" line of LOG.
# Sets SERVER_URL to http://ADDR.
wait_healthy() {
  local pid="$1" log="$2" addr="$3" secs="$4" who="${5:-the server}" a=""
  for _ in $(seq 1 $((secs * 5))); do
    kill -0 "$pid" 2>/dev/null || fail "$who exited at start"
    case "$addr" in
    *:0) a=$(sed -n 's/.*msg=listening addr=\([^ ]*\).*/\1/p' "$log" | head -n 1) || true ;;
    *) a="$addr" ;;
    esac
    if [ -n "$a" ] && curl -fsS -o /dev/null "http://$a/healthz" 2>/dev/null; then
      SERVER_URL="http://$a"
      return 0
    fi
    sleep 0.2
  done
  fail "$who did not answer GET /healthz within $secs seconds"
}

# start_server DB [FLAG...] starts $tmp/server on $SERVER_ADDR with -db DB
# and the flags, logging to $tmp/server.log, and waits until it is healthy.
# Sets SERVER_PID, SERVER_URL and SERVER_LOG.
start_server() {
  local addr="${SERVER_ADDR:-127.0.0.1:0}"
  launch_server "$addr" "$tmp/server.log" "$@"
  wait_healthy "$SERVER_PID" "$SERVER_LOG" "$addr" "${SERVER_WAIT:-30}"
}

# stop_server [PID] stops a server (default $SERVER_PID) with SIGTERM and
# waits for it, whatever its exit status.
stop_server() {
  local pid="${1:-$SERVER_PID}"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true # the server shuts down gracefully
  fi
  _lib_forget "$pid"
}

# stop_server_cleanly stops $SERVER_PID with SIGTERM and fails unless it
# exits with status 0.
stop_server_cleanly() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || fail "the server exited with status $? on SIGTERM"
  _lib_forget "$SERVER_PID"
}

# _lib_forget PID drops a stopped server from the ones cleanup stops (its pid
# may be reused); it clears SERVER_PID when that is the one.
_lib_forget() {
  local p kept=()
  for p in ${_lib_pids[@]+"${_lib_pids[@]}"}; do
    [ "$p" = "$1" ] || kept+=("$p")
  done
  _lib_pids=(${kept[@]+"${kept[@]}"})
  if [ "$SERVER_PID" = "$1" ]; then SERVER_PID=""; fi
}

# json_field FILE PATH prints a field of the JSON in FILE, named by a dotted
# path such as user.email; it fails when the field is missing.
json_field() {
  python3 - "$1" "$2" <<'EOF' || fail "the body has no field $2"
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)
EOF
}

# call runs curl with the given arguments, keeping the body in $tmp/body and
# the status in $status, and prints both (tokens shortened, the body cut to
# CALL_SHOW_CHARS characters, default 400).
call() {
  status=$(curl -sS -o "$tmp/body" -w '%{http_code}' "$@") || fail "curl $*"
  echo "    HTTP $status $(sed -E 's/(eyJ[A-Za-z0-9_-]{16})[A-Za-z0-9_.-]*/\1.../g' "$tmp/body" | head -c "${CALL_SHOW_CHARS:-400}")"
}

# expect_status checks the status of the last call.
expect_status() {
  [ "$status" = "$1" ] || fail "HTTP $status, want $1"
}
