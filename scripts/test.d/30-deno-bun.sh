#!/usr/bin/env bash
# stage: @switchyard/deno-bun inside Deno and Bun (runtime tests, interop, conformance of examples/echo)
# Runs the adapter's own tests in the real runtimes, then the shared conformance suite against
# examples/echo on Deno and on Bun, with and without permessage-deflate. Every server is started
# in its own process group and killed on exit; every step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DENO=$ROOT/node_modules/.bin/deno
BUN=$ROOT/node_modules/.bin/bun
SHARED=${SWITCHYARD_SHARED:-$ROOT/../shared}
LOGS=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  rm -rf "$LOGS"
}
trap cleanup EXIT

banner() { printf '\n-- %s\n' "$*"; }

# The sources run as they are: Deno through test/deno/deno.json (an import map onto the
# workspace's TypeScript sources, with sloppy imports for their `.js` specifiers), Bun through
# the `source` export condition.
banner "deno test (packages/deno-bun/test/deno)"
timeout 240 "$DENO" test -A --no-check --config packages/deno-bun/test/deno/deno.json packages/deno-bun/test/deno/*.deno.ts

banner "bun test (packages/deno-bun/test/bun)"
timeout 240 "$BUN" --conditions=@switchyard/source test $(printf './%s ' packages/deno-bun/test/bun/*.bun.ts)

# Starts examples/echo on the runtime, on a free port, from the TypeScript sources (the same
# files `pnpm run echo --runtime deno|bun` runs, without depending on a build of dist/ that
# other packages' builds may be rewriting at the same moment); sets ECHO_PORT.
start_echo() {
  local runtime=$1 log=$LOGS/echo-$1-$RANDOM.log
  shift
  # Job control gives the background job its own process group (PGID = its PID), so the
  # runtime and any child of its launcher are stopped together.
  set -m
  if [ "$runtime" = deno ]; then
    "$DENO" run -A --config packages/deno-bun/test/deno/deno.json examples/echo/src/deno.ts --port 0 "$@" >"$log" 2>&1 &
  else
    "$BUN" --conditions=@switchyard/source examples/echo/src/bun.ts --port 0 "$@" >"$log" 2>&1 &
  fi
  PIDS+=("$!")
  set +m
  for _ in $(seq 1 300); do
    if grep -q 'ready' "$log"; then
      ECHO_PORT=$(sed -n 's/.*ready on ws:\/\/[^:]*:\([0-9]*\)\/.*/\1/p' "$log" | head -1)
      return 0
    fi
    sleep 0.1
  done
  echo "echo server ($runtime $*) did not start:" >&2
  cat "$log" >&2
  return 1
}

stop_last() {
  local pid=${PIDS[-1]}
  kill -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}

if [ ! -f "$SHARED/conformance/run.mjs" ]; then
  echo "notice: $SHARED/conformance not found (set SWITCHYARD_SHARED): conformance of examples/echo on Deno and Bun skipped"
  exit 0
fi

failed=0
for runtime in deno bun; do
  for flags in "" "--deflate"; do
    banner "conformance: examples/echo --runtime $runtime $flags"
    start_echo "$runtime" $flags
    out=$LOGS/conformance-$runtime$flags.txt
    if ! timeout 600 node "$SHARED/conformance/run.mjs" --url "ws://127.0.0.1:$ECHO_PORT/" >"$out" 2>&1; then
      failed=1
      grep -E '^\[FAIL' "$out" || true
    fi
    tail -2 "$out"
    stop_last
  done
done
exit $failed
