# Sourced by the scripts that test a running gateway from outside (conformance, fuzzing).
# start_gateway BINARY DIR [ENV=VALUE…]: a fresh SQLite database in DIR with the test feed
# loaded, `forloeb serve` on a free port; sets GATEWAY_PID, GATEWAY_BASE and GATEWAY_URL.
start_gateway() {
  local bin=$1 dir=$2
  shift 2
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  # The fixture has invalid lines on purpose: exit 2 (some lines rejected) is expected.
  "$bin" import --quiet --database "$dir/gateway.db" "$root/tests/fixtures/feed" \
    >"$dir/import.log" 2>&1 || [ $? -eq 2 ]
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env "$@" "$bin" serve --database "$dir/gateway.db" --bind "127.0.0.1:$port" \
    >"$dir/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  GATEWAY_BASE="http://127.0.0.1:$port"
  GATEWAY_URL="$GATEWAY_BASE/graphql"
  for _ in $(seq 100); do
    if curl -sf "$GATEWAY_BASE/health/ready" >/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "the gateway did not become ready; its log:" >&2
  cat "$dir/gateway.log" >&2
  return 1
}

stop_gateway() {
  kill "$GATEWAY_PID" 2>/dev/null || true
  wait "$GATEWAY_PID" 2>/dev/null || true
}
