#!/usr/bin/env bash
# The graphql-http server audit against a freshly started gateway. Needs node and npm.
#   tests/conformance/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/forloeb}
source "$root/tests/support/gateway.sh"
work=$(mktemp -d)
trap 'stop_gateway; rm -rf "$work"' EXIT
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
start_gateway "$bin" "$work"
token=$("$bin" token --role clinician --ydernummer 586964)
GATEWAY_URL=$GATEWAY_URL GATEWAY_TOKEN=$token node "$here/audit.mjs"
