#!/usr/bin/env bash
# Fuzzing against a freshly started gateway: Schemathesis generates GraphQL operations from
# schema/schema.graphql and sends them with a token of each role, for FUZZ_SECONDS per role
# (default 20). The checks in forloeb_checks.py fail the run on any 5xx or any answer that
# breaks the access rules. Needs python3 (a virtualenv is made in target/fuzz-venv).
#   tests/fuzz/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/forloeb}
seconds=${FUZZ_SECONDS:-20}
source "$root/tests/support/gateway.sh"
venv=$root/target/fuzz-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
work=$(mktemp -d)
trap 'stop_gateway; rm -rf "$work"' EXIT
# Every role may send its own documents here, so that generated queries reach the resolvers
# and the access rules (the trusted-document gate is tested in the Rust suite). No rate limits,
# and a disclosure budget that generated questions do not exhaust (tested in the Rust suite).
start_gateway "$bin" "$work" \
  FORLOEB_DOCUMENTS_AD_HOC_ROLES='["patient","clinician","region","ministry","supplier"]' \
  FORLOEB_RATE_LIMIT_ENABLED=false \
  FORLOEB_ACCESS_CELL_BUDGET='{ clinician = 1000000, region = 1000000, ministry = 1000000 }'
status=0
while read -r role claim args; do
  # shellcheck disable=SC2086
  token=$("$bin" token --role "$role" $args)
  echo "== fuzzing as $role ${claim:+($claim)} for ${seconds}s"
  if ! (cd "$here" && FUZZ_ROLE=$role FUZZ_CLAIM=$claim SCHEMATHESIS_HOOKS=forloeb_checks \
    "$venv/bin/schemathesis" run "$root/schema/schema.graphql" --url "$GATEWAY_URL" \
      -H "Authorization: Bearer $token" --checks no_server_error,access_rules \
      --max-time "$seconds" --workers 2 --no-color); then
    status=1
  fi
done <<'ROLES'
patient 2709400129 --cpr 2709400129
clinician 586964 --ydernummer 586964
region 1083 --region 1083
ministry - 
supplier PLSP --source PLSP
ROLES
if grep -q 'panicked' "$work/gateway.log"; then
  echo "the gateway panicked:" >&2
  grep -A5 'panicked' "$work/gateway.log" >&2
  status=1
fi
exit $status
