#!/usr/bin/env bash
# One call per role with curl, against the demo: the tokens and the demo's clinic and region
# are read from the demo-tokens.json that `forloeb demo` writes beside its database.
#   examples/curl-per-role.sh [demo-tokens.json] [http://127.0.0.1:8080/graphql]
set -euo pipefail
tokens=${1:-demo-tokens.json}
url=${2:-http://127.0.0.1:8080/graphql}
ops=$(cd "$(dirname "$0")/../schema/operations" && pwd)

# The file is `forloeb demo`'s own pretty JSON: one key per line.
token() { sed -n "/\"role\": \"$1\"/,/\"token\"/s/.*\"token\": \"\(.*\)\".*/\1/p" "$tokens"; }
value() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" "$tokens" | head -n1; }
post() {
  curl -sS --fail-with-body "$url" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' -H 'Accept: application/graphql-response+json' \
    --data-binary "$2"
  echo
}

echo "# patient: MyPlans, a trusted document, by its id (the SHA-256 of its file)"
id=$(sha256sum <"$ops/MyPlans.graphql" | cut -d' ' -f1)
post "$(token patient)" "{\"documentId\": \"sha256:$id\"}"

echo "# clinician: their clinic's population, a document of their own"
post "$(token clinician)" "{\"query\": \"query(\$y: String!) { clinic(ydernummer: \$y) { name population { type diagnosed { value } withPlan { value } } } }\", \"variables\": {\"y\": \"$(value ydernummer)\"}}"

echo "# region: the region's rollout"
post "$(token region)" "{\"query\": \"query(\$r: String!) { rollout(asOf: \\\"2022-05-18\\\", region: \$r) { openClinics ok22 { met share } } }\", \"variables\": {\"r\": \"$(value code)\"}}"

echo "# ministry: the national year to date"
post "$(token ministry)" '{"query": "{ rollout(asOf: \"2022-12-31\") { openClinics yearToDate { year plans target share } } }"}'
