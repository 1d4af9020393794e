#!/usr/bin/env bash
# Through the router or not: a patient's own plans and a regional dashboard query, sent to
# Apollo Gateway over the four subgraph processes and to the one-process gateway, in
# alternating phases. Needs node and npm.
#
#   benches/federation.sh [SECONDS] [RUNS]
#   GATEWAY_DB=nat.db PATIENT_CPR=… benches/federation.sh     # an existing (national) database
#
# Without GATEWAY_DB the test feed is served. Build first: cargo build --release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${GATEWAY_BIN:-$root/target/release/forloeb}
export SECONDS_PER_PHASE=${1:-5} RUNS=${2:-5}
source "$root/tests/support/federation.sh"
work=$(mktemp -d)
trap 'stop_federation; rm -rf "$work"' EXIT
cpr=${PATIENT_CPR:-2709400129}
if [ -n "${GATEWAY_DB:-}" ] && [ -z "${PATIENT_CPR:-}" ]; then
  cpr=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select cpr from plan_versions where version = 3 limit 1").fetchone()[0])' "$GATEWAY_DB")
fi
region=${REGION:-1083}
start_federation "$bin" "$work" \
  FORLOEB_DOCUMENTS_AD_HOC_ROLES='["patient","clinician","region","ministry","supplier"]' \
  FORLOEB_ACCESS_CELL_BUDGET='{ clinician = 1000000, region = 1000000, ministry = 1000000 }' \
  FORLOEB_RATE_LIMIT_ENABLED=false FORLOEB_LOG_FILTER=warn
ops=$root/schema/operations
cases=$(python3 - "$ops" "$("$bin" token --role patient --cpr "$cpr")" \
  "$("$bin" token --role region --region "$region")" "$region" <<'PY'
import json, sys
ops, patient, region_token, region = sys.argv[1:]
read = lambda name: open(f"{ops}/{name}.graphql", encoding="utf-8").read()
print(json.dumps([
    {"name": "MyPlans (patient)", "token": patient, "query": read("MyPlans")},
    {"name": "RegionalDashboard (region)", "token": region_token, "query": read("RegionalDashboard"),
     "variables": {"region": region, "asOf": "2022-12-31"}},
]))
PY
)
ROUTER_URL=$ROUTER_URL GATEWAY_URL=$GATEWAY_URL CASES=$cases SECONDS=$SECONDS_PER_PHASE \
  RUNS=$RUNS node "$root/tests/federation/bench.mjs"
