#!/usr/bin/env bash
# The browser test: Debian's headless Chromium (installed here with apt-get when missing),
# driven by playwright-core, against a freshly started `forloeb demo`. Needs node and npm.
#   tests/browser/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/forloeb}
source "$root/tests/support/gateway.sh"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d)
trap 'stop_gateway; rm -rf "$work"' EXIT
start_demo "$bin" "$work"
GATEWAY_BASE=$GATEWAY_BASE TOKENS_FILE=$work/demo-tokens.json \
  SCREENSHOT=$root/target/graphiql.png node "$here/graphiql.mjs"
