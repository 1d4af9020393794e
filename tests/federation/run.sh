#!/usr/bin/env bash
# Federation end to end: compose the subgraphs, start the four subgraph processes and a
# one-process gateway on one database, put Apollo Gateway in front of the subgraphs, and
# compare every named operation with a token of each role, plus the cross-tenant probes.
#   tests/federation/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/forloeb}
source "$root/tests/support/gateway.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_gateway
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
node "$here/compose.mjs" "$work/supergraph.graphql"

# Behind a router every role sends planned documents (trusted documents are the router's
# job); rate limits are off so the comparison is not throttled.
common=(FORLOEB_DOCUMENTS_AD_HOC_ROLES='["patient","clinician","region","ministry","supplier"]'
  FORLOEB_RATE_LIMIT_ENABLED=false)
start_gateway "$bin" "$work" "${common[@]}"
declare -A urls
for sg in plans population clusters rollout; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env "${common[@]}" "$bin" serve --subgraph "$sg" --database "$work/gateway.db" \
    --bind "127.0.0.1:$port" >"$work/$sg.log" 2>&1 &
  pids+=($!)
  urls[$sg]="http://127.0.0.1:$port/graphql"
done
for sg in plans population clusters rollout; do
  base=${urls[$sg]%/graphql}
  for _ in $(seq 100); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.2; done
done
router_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SUPERGRAPH="$work/supergraph.graphql" PORT=$router_port PLANS_URL=${urls[plans]} \
  POPULATION_URL=${urls[population]} CLUSTERS_URL=${urls[clusters]} ROLLOUT_URL=${urls[rollout]} \
  node "$here/router.mjs" >"$work/router.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "router listening" "$work/router.log" && break; sleep 0.2; done

tok() { "$bin" token "$@"; }
TOKENS=$(printf '{"patient":"%s","clinician":"%s","region":"%s","ministry":"%s","supplier":"%s"}' \
  "$(tok --role patient --cpr 2709400129)" "$(tok --role clinician --ydernummer 586964)" \
  "$(tok --role region --region 1083)" "$(tok --role ministry)" "$(tok --role supplier --source PLSP)")
ROUTER_URL="http://127.0.0.1:$router_port/" GATEWAY_URL=$GATEWAY_URL PLANS_URL=${urls[plans]} \
  TOKENS=$TOKENS FOREIGN_CLINICIAN=$(tok --role clinician --ydernummer 831497) \
  node "$here/compare.mjs" || { echo "router log:"; tail -20 "$work/router.log"; exit 1; }
