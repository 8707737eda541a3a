#!/usr/bin/env bash
# stage: @switchyard/hub inside Bun (on @switchyard/deno-bun connections, with @switchyard/client)
# The hub's sources run as they are through the `source` export condition; bounded in time,
# the test closes its own server and clients.
set -euo pipefail
cd "$(dirname "$0")/../.."
timeout 120 node_modules/.bin/bun --conditions=@switchyard/source test ./packages/hub/test/bun/hub.bun.ts
