#!/usr/bin/env bash
# The gateway over real HTTP against a floor, in one run and alternating (issue 15):
#   - the floor: a static-body actix-web route answering what MyPlans answers (benches/http/floor.rs);
#   - MyPlans, a patient's own plans by trusted document id, with 200 patients' tokens in
#     rotation, at 16 and 64 connections; and the floor at the same;
#   - every named dashboard operation at one connection, by trusted document id (with the
#     quality indicators: a cluster meeting's, a region's overview, the national totals).
# Each round runs every case once, in that order; the table has the medians over rounds of
# requests/s, p50 and p99, and MyPlans' rate as a share of the floor's in the same rounds.
#
#   benches/http.sh [DATABASE] [SECONDS] [ROUNDS]
#
# DATABASE: a SQLite file (made with `forloeb demo --no-serve --clinics 1693` when missing) or a
# postgres:// URL of a loaded database; default target/national.db. SECONDS per case (5),
# ROUNDS (3). Needs wrk (installed from Debian's packages when missing and run as root), curl
# and python3. All load comes from one address, so rate limits are off and
# server.max_requests_per_address is raised above the connections; nothing else is changed from
# the defaults. Every case is asked once before the rounds (until the snapshot the gateway
# builds at start is ready), and a request may take up to 30 s before wrk counts it as failed.
# GATEWAY_BIN=path/to/forloeb measures another build of the gateway (e.g. the commit before a
# change, built in a `git worktree`) against the same floor. CASES="RegionalDashboard
# ClusterView" measures only the cases named (MyPlans brings the floor with it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/target/national.db}
secs=${2:-5}
rounds=${3:-3}
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing wrk (apt-get)" >&2
    apt-get install -y -qq wrk >/dev/null
  else
    echo "benches/http.sh needs wrk: apt-get install wrk" >&2
    exit 1
  fi
fi
echo "building (release): forloeb and the floor" >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin forloeb --example floor
bin=${GATEWAY_BIN:-$root/target/release/forloeb}
floor=$root/target/release/examples/floor
case $db in
  postgres://* | postgresql://*) sql() { psql "$db" -AtF ' ' -c "$1"; } ;;
  *)
    if [ ! -e "$db" ]; then
      echo "no database at $db: loading the national demo into it (about 20 s)" >&2
      "$bin" demo --no-serve --clinics 1693 --database "$db" >/dev/null
    fi
    sql() { python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print(*row)' "$db" "$1"; }
    ;;
esac
source "$root/tests/support/gateway.sh"
work=$(mktemp -d)
floor_pid=
cleanup() {
  [ -n "$floor_pid" ] && kill "$floor_pid" 2>/dev/null
  [ -n "${GATEWAY_PID:-}" ] && stop_gateway
  rm -rf "$work"
}
trap cleanup EXIT

# Who asks: 200 patients with plans, a clinic in a cluster, and its region.
sql "SELECT cpr FROM plan_versions GROUP BY cpr ORDER BY min(plan_id) LIMIT 200" >"$work/cprs"
read -r clinic cluster region < <(sql "SELECT ydernummer, cluster_id, region_code FROM clinics
  WHERE cluster_id IS NOT NULL ORDER BY ydernummer LIMIT 1")
while read -r cpr; do "$bin" token --role patient --cpr "$cpr"; done <"$work/cprs" >"$work/patients"
"$bin" token --role region --region "$region" >"$work/region"
"$bin" token --role ministry >"$work/ministry"
"$bin" token --role clinician --ydernummer "$clinic" >"$work/clinician"

# The requests: trusted document ids from the manifest, variables for this database.
python3 - "$root/schema/operations/manifest.json" "$work" "$clinic" "$cluster" "$region" <<'PY'
import json, sys
manifest, work, clinic, cluster, region = sys.argv[1:]
ids = {op["name"]: op["id"] for op in json.load(open(manifest))["operations"]}
as_of, year = "2022-12-31", {"from": "2022-01-01", "to": "2022-12-31"}
cases = [
    ("MyPlans", "patients", {}),
    ("RegionalDashboard", "region", {"region": region, "asOf": as_of}),
    ("RegionClusters", "region", {"region": region, "asOf": as_of}),
    ("NationalStatus", "ministry", {"asOf": as_of}),
    ("PlansByRegionTypeMonth", "ministry", year),
    ("QuietClinics", "ministry", {"region": region, **year}),
    ("HeartPlansBySource", "ministry", {"from": "2022-01-03", "to": "2022-06-30"}),
    ("ClusterView", "clinician", {"id": cluster, "asOf": as_of}),
    ("ClusterQuality", "clinician", {"id": cluster, "asOf": as_of}),
    ("RegionalQuality", "region", {"region": region, "asOf": as_of}),
    ("NationalQuality", "ministry", {"asOf": as_of}),
]
with open(f"{work}/cases", "w") as out:
    for name, who, variables in cases:
        body = json.dumps({"documentId": f"sha256:{ids[name]}", "variables": variables})
        open(f"{work}/{name}.json", "w").write(body)
        out.write(f"{name} {who}\n")
PY

echo "starting the gateway on $db" >&2
GATEWAY_DB=$db start_gateway "$bin" "$work" FORLOEB_RATE_LIMIT_ENABLED=false \
  FORLOEB_SERVER_MAX_REQUESTS_PER_ADDRESS=1000 FORLOEB_LOG_FILTER=warn
answer=$(curl -s -H "Authorization: Bearer $(head -1 "$work/patients")" \
  -H 'Content-Type: application/json' --data @"$work/MyPlans.json" "$GATEWAY_URL")
case $answer in
  '{"data":{"me":'*) printf '%s' "$answer" >"$work/floor-body.json" ;;
  *) echo "MyPlans did not answer as expected: $answer" >&2; exit 1 ;;
esac
floor_port=$(free_port)
"$floor" "127.0.0.1:$floor_port" "$work/floor-body.json" >"$work/floor.log" 2>&1 &
floor_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null -X POST "http://127.0.0.1:$floor_port/graphql" && break; sleep 0.1; done

# Warm-up: every case once, each required to answer 200 with data. The gateway builds its
# snapshot at start (seconds nationally, longer at many times that): a 504 while it does is
# asked again, for up to three minutes.
while read -r name who; do
  for _ in $(seq 90); do
    status=$(curl -s -o "$work/warm.json" -w '%{http_code}' -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $(head -1 "$work/$who")" --data @"$work/$name.json" "$GATEWAY_URL")
    [ "$status" = 504 ] || break
    sleep 2
  done
  if [ "$status" != 200 ] || ! grep -q '^{"data":{' "$work/warm.json" ||
    grep -q '"errors"' "$work/warm.json"; then
    echo "$name answered $status: $(head -c 400 "$work/warm.json")" >&2
    exit 1
  fi
done <"$work/cases"

# run LABEL URL TOKENS BODY CONNECTIONS: one wrk run, its result line appended to results.
run() {
  local label=$1 url=$2 tokens=$3 body=$4 conns=$5 threads=2 line
  [ "$conns" -lt 2 ] && threads=1
  line=$(TOKENS_FILE=$tokens BODY=$(cat "$body") wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 30s \
    -s "$root/benches/http/post.lua" "$url" | grep '^RESULT')
  echo "$label $conns ${line#RESULT }" >>"$work/results"
}

wanted() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; }
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for conns in 16 64; do
    wanted MyPlans || continue
    run floor "http://127.0.0.1:$floor_port/graphql" "$work/patients" "$work/MyPlans.json" "$conns"
    run MyPlans "$GATEWAY_URL" "$work/patients" "$work/MyPlans.json" "$conns"
  done
  while read -r name who; do
    [ "$name" = MyPlans ] && continue
    wanted "$name" || continue
    run "$name" "$GATEWAY_URL" "$work/$who" "$work/$name.json" 1
  done <"$work/cases"
done

python3 - "$work/results" "$rounds" "$db" <<'PY'
import statistics, sys
path, rounds, db = sys.argv[1], sys.argv[2], sys.argv[3]
runs = {}
for line in open(path):
    label, conns, rps, p50, p99, non200, errors = line.split()
    runs.setdefault((label, int(conns)), []).append(
        (float(rps), float(p50), float(p99), int(non200), int(errors)))
med = lambda rows, i: statistics.median(r[i] for r in rows)
print(f"{'case':<24} {'conns':>5} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>9}"
      f"   (medians of {rounds} alternating rounds; {db})")
failed = False
for (label, conns), rows in runs.items():
    ratio = ""
    if label == "MyPlans":
        floor = runs.get(("floor", conns))
        if floor:
            shares = [g[0] / f[0] for g, f in zip(rows, floor)]
            ratio = f"{statistics.median(shares) * 100:.1f} %"
    bad = sum(r[3] + r[4] for r in rows)
    failed |= bad > 0
    print(f"{label:<24} {conns:>5} {med(rows, 0):>10.0f} {med(rows, 1):>8.2f} {med(rows, 2):>8.2f}"
          f" {ratio:>9}" + (f"   {bad} answers not 200 or failed" if bad else ""))
sys.exit(1 if failed else 0)
PY
