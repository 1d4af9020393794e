#!/usr/bin/env bash
# The browser tests: Debian's headless Chromium (installed here with apt-get when missing),
# driven by playwright-core, against a freshly started `forloeb demo`: GraphiQL and a page on
# another origin (graphiql.mjs), the dashboard and the HTML report (dashboard.mjs). Needs node
# and npm.
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
# The dashboard as region, ministry and clinician, and the HTML report (screenshots in target/).
"$bin" report --as-of 2022-05-18 --format html --database "$work/demo.db" >"$work/report.html"
GATEWAY_BASE=$GATEWAY_BASE TOKENS_FILE=$work/demo-tokens.json REPORT=$work/report.html \
  SCREENSHOTS=$root/target node "$here/dashboard.mjs"
