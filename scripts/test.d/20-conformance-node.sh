#!/usr/bin/env bash
# stage: RFC 6455/7692 conformance suite against the Node echo server (plain, then permessage-deflate)
# Runs the shared black-box suite (../shared/conformance, or $SWITCHYARD_SHARED/conformance)
# against examples/echo on Node. Every case must pass (0 failed), with and without --deflate.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SHARED=${SWITCHYARD_SHARED:-$ROOT/../shared}
SUITE="$SHARED/conformance/run.mjs"
if [ ! -f "$SUITE" ]; then
  echo "notice: the shared conformance suite is not at $SUITE (set SWITCHYARD_SHARED to its parent folder); stage skipped"
  exit 0
fi

SERVER_PID=""
LOG=$(mktemp)
OUT=$(mktemp)
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap 'stop_server; rm -f "$LOG" "$OUT"' EXIT

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

run_suite() {
  local label=$1; shift
  local port
  port=$(free_port)
  : > "$LOG"
  # The server is started directly (not through pnpm) so that its pid is the echo process itself.
  node examples/echo/run.mjs --port "$port" "$@" > "$LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -q ready "$LOG" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "echo server ($label) exited before it was ready"; return 1; }
    sleep 0.1
  done
  grep -q ready "$LOG" || { cat "$LOG"; echo "echo server ($label) not ready after 60 s"; return 1; }
  echo "-- conformance, node echo server, $label (port $port)"
  local status=0
  timeout 600 node "$SUITE" --url "ws://127.0.0.1:$port/" --pid "$SERVER_PID" > "$OUT" 2>&1 || status=$?
  grep -v '^\[PASS\]\|^\[SKIP\]' "$OUT" || true
  stop_server
  if [ "$status" -ne 0 ]; then echo "conformance ($label): failures reported"; return 1; fi
}

run_suite "plain"
run_suite "permessage-deflate" --deflate
