#!/usr/bin/env bash
# End-to-end tests of the API Keys page (/ui/) in a real browser: Debian's
# Chromium driven by playwright-core, against a keymint the tests start.
#
# Works on a fresh machine, as root, without stdin (CI): installs chromium
# with apt-get when /usr/bin/chromium is missing, runs `npm ci` when
# node_modules is missing, and builds the debug binary with
# `cargo build --locked` unless KEYMINT_BIN names one.
#
#   bash tests/e2e/run.sh                       # everything
#   KEYMINT_BIN=target/debug/keymint bash tests/e2e/run.sh
#   UPDATE_SCREENSHOTS=1 bash tests/e2e/run.sh  # refresh screenshots/ for the README
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS

if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: installing chromium" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq </dev/null
  "${sudo[@]}" apt-get install -y -qq chromium </dev/null >/dev/null
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "e2e: node and npm are needed (apt-get install nodejs npm)" >&2
  exit 1
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "e2e: npm ci" >&2
  # playwright-core downloads no browser; the tests use /usr/bin/chromium.
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund </dev/null)
fi

if [ -z "${KEYMINT_BIN:-}" ]; then
  echo "e2e: cargo build --locked" >&2
  (cd "$root" && cargo build --locked --bin keymint </dev/null)
  export KEYMINT_BIN="$root/target/debug/keymint"
else
  KEYMINT_BIN="$(cd "$(dirname "$KEYMINT_BIN")" && pwd)/$(basename "$KEYMINT_BIN")"
  export KEYMINT_BIN
fi

cd "$here"
status=0
node --test --test-concurrency=1 --test-reporter=spec api-keys.test.mjs </dev/null || status=$?
echo "e2e: finished in $((SECONDS - started)) s (exit $status)" >&2
exit "$status"
