#!/usr/bin/env bash
# Runs every client recipe of this folder against a freshly started `forloeb demo` and checks
# what each prints: Apollo Client (MyPlans by manifest id, as the patient), plain fetch with a
# documentId (clinician), graphql-codegen against the URL, Python's gql with schema fetching
# (ministry), and curl per role. Needs node, npm and python3 (a virtualenv in
# target/examples-venv).
#   examples/run.sh [BINARY]   (default: target/debug/forloeb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-$root/target/debug/forloeb}
source "$root/tests/support/gateway.sh"
venv=$root/target/examples-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import gql' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d)
trap 'stop_gateway; rm -rf "$work"' EXIT
start_demo "$bin" "$work"
tokens=$work/demo-tokens.json
token() { node -e 'const t=require(process.argv[1]).tokens.find(t=>t.role===process.argv[2]);process.stdout.write(t.token)' "$tokens" "$1"; }

# expect NAME PATTERN: runs the rest of the line, shows its output, and fails unless the
# output matches PATTERN.
check() {
  local name=$1 pattern=$2 out
  shift 2
  echo "== $name"
  if ! out=$("$@" 2>&1); then
    echo "$out"
    echo "FAILED: $name" >&2
    return 1
  fi
  echo "$out"
  if ! grep -Eq "$pattern" <<<"$out"; then
    echo "FAILED: $name: output does not match /$pattern/" >&2
    return 1
  fi
}

cd "$here"
export GATEWAY_URL
check "Apollo Client, MyPlans by manifest id (patient)" 'plan .*version [0-9]+' \
  env TOKEN="$(token patient)" node apollo-my-plans.mjs
check "fetch with documentId, ClinicPatients (clinician)" ': [0-9]+ patients on the first page' \
  env TOKEN="$(token clinician)" node fetch-document-id.mjs
rm -rf generated
check "graphql-codegen against the URL (clinician)" 'generated/operations.ts' \
  env TOKEN="$(token clinician)" npx graphql-codegen --config codegen.yml
grep -q 'export type MyPlansQuery = ' generated/operations.ts
grep -q 'export type NationalStatusQuery = ' generated/operations.ts
check "Python gql with schema fetching (ministry)" 'Query among them: True' \
  env TOKEN="$(token ministry)" "$venv/bin/python" python/national_status.py
check "curl per role" '"openClinics"' ./curl-per-role.sh "$tokens" "$GATEWAY_URL"
echo "all client recipes ran against the demo"
