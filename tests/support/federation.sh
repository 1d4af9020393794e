# Sourced: the whole graph in one process beside the same graph as four subgraph processes
# behind Apollo Gateway, all on one database (tests/federation/run.sh, benches/federation.sh).
source "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

# start_federation BINARY DIR [ENV=VALUE…]: sets GATEWAY_URL, ROUTER_URL, PLANS_URL,
# POPULATION_URL, CLUSTERS_URL, ROLLOUT_URL; stop with stop_federation. With OTLP_ENDPOINT
# set, the router and the subgraphs (each its own service.name, forloeb-<subgraph>) export
# traces there over OTLP/HTTP JSON.
start_federation() {
  local bin=$1 dir=$2 here
  shift 2
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../federation" && pwd)
  FEDERATION_PIDS=()
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  node "$here/compose.mjs" "$dir/supergraph.graphql"
  start_gateway "$bin" "$dir" "$@"
  local db sg port
  db=$(gateway_db "$bin" "$dir")
  for sg in plans population clusters rollout; do
    port=$(free_port)
    env "$@" FORLOEB_TELEMETRY_OTLP_ENDPOINT="${OTLP_ENDPOINT:-}" \
      FORLOEB_TELEMETRY_OTLP_PROTOCOL=http/json FORLOEB_TELEMETRY_SERVICE_NAME="forloeb-$sg" \
      "$bin" serve --subgraph "$sg" --database "$db" --bind "127.0.0.1:$port" \
      >"$dir/$sg.log" 2>&1 &
    FEDERATION_PIDS+=($!)
    wait_ready "http://127.0.0.1:$port" "$dir/$sg.log"
    printf -v "${sg^^}_URL" '%s' "http://127.0.0.1:$port/graphql"
  done
  port=$(free_port)
  SUPERGRAPH="$dir/supergraph.graphql" PORT=$port OTLP_ENDPOINT="${OTLP_ENDPOINT:-}" PLANS_URL=$PLANS_URL \
    POPULATION_URL=$POPULATION_URL CLUSTERS_URL=$CLUSTERS_URL ROLLOUT_URL=$ROLLOUT_URL \
    node "$here/router.mjs" >"$dir/router.log" 2>&1 &
  FEDERATION_PIDS+=($!)
  ROUTER_URL="http://127.0.0.1:$port/"
  for _ in $(seq 150); do grep -q "router listening" "$dir/router.log" && return 0; sleep 0.2; done
  echo "the router did not start:" >&2
  cat "$dir/router.log" >&2
  return 1
}

stop_federation() {
  for p in "${FEDERATION_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_gateway
}

# Demo tokens for the roles, as the test feed's people and clinics.
federation_tokens() {
  local bin=$1
  printf '{"patient":"%s","clinician":"%s","region":"%s","ministry":"%s","supplier":"%s"}' \
    "$("$bin" token --role patient --cpr 2709400129)" \
    "$("$bin" token --role clinician --ydernummer 586964)" \
    "$("$bin" token --role region --region 1083)" "$("$bin" token --role ministry)" \
    "$("$bin" token --role supplier --source PLSP)"
}
