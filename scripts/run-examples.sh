#!/usr/bin/env bash
# Runs every example and the demo against the simulator (non-TTY), failing if any exits non-zero
# or leaves a model loaded.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
node dist/bin/lmstudio-simulator.js --port 0 --load-ms 100 >"$log" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  url=$(head -n 1 "$log" || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "the simulator did not start"; exit 1; }
export LMSTUDIO_BASE_URL="$url"
echo "simulator: $url"

for example in examples/*.ts; do
  echo "── $example"
  timeout 60 npx tsx "$example" | cat
  timeout 30 node scripts/assert-nothing-loaded.mjs
done

echo "── npm run demo (built-in simulator, no LMSTUDIO_BASE_URL)"
env -u LMSTUDIO_BASE_URL timeout 60 npm run --silent demo | cat
echo "examples: all passed, nothing left loaded"
