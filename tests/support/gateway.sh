# Sourced by the scripts that test a running gateway from outside (conformance, fuzzing,
# federation, benchmarks).

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_ready BASE_URL LOG [SECONDS]: until /health/ready answers (30 s at most unless
# SECONDS), or fail showing the log.
wait_ready() {
  for _ in $(seq $((${3:-30} * 5))); do
    if curl -sf "$1/health/ready" >/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not become ready; its log:" >&2
  cat "$2" >&2
  return 1
}

# gateway_db BINARY DIR: the database to serve. GATEWAY_DB names an existing one (benchmarks
# at national scale); otherwise the test feed is loaded into a fresh SQLite file in DIR.
gateway_db() {
  local bin=$1 dir=$2 root
  if [ -n "${GATEWAY_DB:-}" ]; then
    echo "$GATEWAY_DB"
    return
  fi
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ ! -f "$dir/gateway.db" ]; then
    # The fixture has invalid lines on purpose: exit 2 (some lines rejected) is expected.
    "$bin" import --quiet --database "$dir/gateway.db" "$root/tests/fixtures/feed" \
      >"$dir/import.log" 2>&1 || [ $? -eq 2 ]
  fi
  echo "$dir/gateway.db"
}

# start_gateway BINARY DIR [ENV=VALUE…]: `forloeb serve` on a free port; sets GATEWAY_PID,
# GATEWAY_BASE and GATEWAY_URL.
start_gateway() {
  local bin=$1 dir=$2 db port
  shift 2
  db=$(gateway_db "$bin" "$dir")
  port=$(free_port)
  env "$@" "$bin" serve --database "$db" --bind "127.0.0.1:$port" >"$dir/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  GATEWAY_BASE="http://127.0.0.1:$port"
  GATEWAY_URL="$GATEWAY_BASE/graphql"
  wait_ready "$GATEWAY_BASE" "$dir/gateway.log"
}

# start_demo BINARY DIR: `forloeb demo` (its default data) on a free port, its tokens in
# DIR/demo-tokens.json; sets GATEWAY_PID, GATEWAY_BASE and GATEWAY_URL.
start_demo() {
  local bin=$1 dir=$2 port
  port=$(free_port)
  "$bin" demo --database "$dir/demo.db" --tokens-file "$dir/demo-tokens.json" \
    --bind "127.0.0.1:$port" >"$dir/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  GATEWAY_BASE="http://127.0.0.1:$port"
  GATEWAY_URL="$GATEWAY_BASE/graphql"
  wait_ready "$GATEWAY_BASE" "$dir/gateway.log" 300
}

stop_gateway() {
  kill "$GATEWAY_PID" 2>/dev/null || true
  wait "$GATEWAY_PID" 2>/dev/null || true
}
