#!/usr/bin/env bash
# Federation end to end: compose the subgraphs, start the four subgraph processes and a
# one-process gateway on one database, put Apollo Gateway in front of the subgraphs, and
# compare every named operation with a token of each role, plus the cross-tenant probes; then
# follow one trace from the caller through the router into two subgraphs (OTLP/HTTP, to a
# receiver started here).
#   tests/federation/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/forloeb}
source "$root/tests/support/federation.sh"
work=$(mktemp -d)
otlp_port=$(free_port)
node "$here/otlp-receiver.mjs" "$otlp_port" "$work/spans.jsonl" >"$work/otlp.log" 2>&1 &
receiver=$!
trap 'stop_federation; kill "$receiver" 2>/dev/null || true; rm -rf "$work"' EXIT
export OTLP_ENDPOINT="http://127.0.0.1:$otlp_port"
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
  WRITER=$("$bin" token --role patient --cpr 0705353111) \
  node "$here/compare.mjs" || { echo "router log:"; tail -20 "$work/router.log"; exit 1; }
ROUTER_URL=$ROUTER_URL SPANS="$work/spans.jsonl" \
  TOKEN=$("$bin" token --role clinician --ydernummer 586964) \
  node "$here/trace.mjs" || {
    echo "router log:"; tail -20 "$work/router.log"; echo "receiver log:"; tail -20 "$work/otlp.log"; exit 1
  }
