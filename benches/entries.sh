#!/usr/bin/env bash
# The patient-writes benchmark (benches/entries.rs, issue 19): home measurements added through
# HTTP by 6 clients (writes/s, p50, p99), and MyPlans for a patient with 20 entries against one
# with none, alternating in the same run. The writes go to a copy of a SQLite database.
#
#   benches/entries.sh [DATABASE] [SECONDS] [ROUNDS]
#
# DATABASE: a SQLite file (the national demo is loaded into it when it is missing) or a
# postgres:// URL of a loaded database (written to); default target/national.db. SECONDS of
# writes 20, ROUNDS of reads 5.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/target/national.db}
secs=${2:-20}
rounds=${3:-5}
echo "building (release): forloeb and the benchmark" >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin forloeb
case $db in
  postgres://* | postgresql://*) ;;
  *)
    if [ ! -e "$db" ]; then
      echo "no database at $db: loading the national demo into it (about 20 s)" >&2
      "$root/target/release/forloeb" demo --no-serve --clinics 1693 --database "$db" >/dev/null
    fi
    ;;
esac
exec cargo bench --quiet --manifest-path "$root/Cargo.toml" --bench entries -- "$db" "$secs" "$rounds"
