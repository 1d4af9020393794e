#!/usr/bin/env bash
# The soak benchmark (benches/soak.rs): mixed traffic of the four kinds of users at 80 % of the
# most this machine answers, for MINUTES, with a flood of query bombs beside it; per-minute
# latency, errors, RSS and open file descriptors, and their slopes. Not in CI (it takes
# MINUTES plus a release build).
#
#   benches/soak.sh [DATABASE] [MINUTES] [PROBE_SECONDS]
#
# DATABASE: a SQLite file (the national demo is loaded into it when it is missing) or a
# postgres:// URL of a loaded database; default target/national.db. MINUTES 10, PROBE_SECONDS 20.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/target/national.db}
minutes=${2:-10}
probe=${3:-20}
echo "building (release): forloeb and the soak driver" >&2
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
exec cargo bench --quiet --manifest-path "$root/Cargo.toml" --bench soak -- "$db" "$minutes" "$probe"
