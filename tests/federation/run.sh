#!/usr/bin/env bash
# Federation end to end: compose the subgraphs, start the four subgraph processes and a
# one-process gateway on one database, put Apollo Gateway in front of the subgraphs, and
# compare every named operation with a token of each role, plus the cross-tenant probes.
#   tests/federation/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/forloeb}
source "$root/tests/support/federation.sh"
work=$(mktemp -d)
trap 'stop_federation; rm -rf "$work"' EXIT
# Behind a router every role sends planned documents (trusted documents are the router's
# job), so the subgraphs would charge even the named operations to the disclosure budget
# (README, Deployment); budget and rate limits are lifted so the comparison is not throttled.
start_federation "$bin" "$work" \
  FORLOEB_DOCUMENTS_AD_HOC_ROLES='["patient","clinician","region","ministry","supplier"]' \
  FORLOEB_ACCESS_CELL_BUDGET='{ clinician = 1000000, region = 1000000, ministry = 1000000 }' \
  FORLOEB_RATE_LIMIT_ENABLED=false
ROUTER_URL=$ROUTER_URL GATEWAY_URL=$GATEWAY_URL PLANS_URL=$PLANS_URL \
  TOKENS=$(federation_tokens "$bin") \
  FOREIGN_CLINICIAN=$("$bin" token --role clinician --ydernummer 831497) \
  node "$here/compare.mjs" || { echo "router log:"; tail -20 "$work/router.log"; exit 1; }
