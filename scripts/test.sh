#!/usr/bin/env bash
# The README's test command: sets the machine up, type-checks, lints and checks the formatting
# (Biome), runs every jest project (unit, template, layer, integration) and the demo, then prints
# one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
npx tsc --noEmit -p tsconfig.json
npx biome ci .

mkdir -p .cache
status=0
npx jest --runInBand --json --outputFile=.cache/jest-results.json "$@" || status=$?

if [ $# -eq 0 ]; then
  echo "== demo"
  npx media-probe demo || status=$?
fi

node -e '
  const r = require("./.cache/jest-results.json");
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
'
exit $status
