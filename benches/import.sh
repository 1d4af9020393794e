#!/usr/bin/env bash
# Import benchmark: wall time and peak memory of `forloeb import` of a whole feed folder into a
# fresh database, over several runs, with the median. Targets (issue 3, national feedgen set of
# about 1.6 M lines): SQLite ≤ 30 s, PostgreSQL ≤ 60 s, peak memory ≤ 300 MB.
#
#   benches/import.sh FEED_DIR [RUNS]
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres benches/import.sh FEED_DIR
#
# A national feed set: python3 feedgen.py --out FEED_DIR --bad-lines --edge-cases (the feed
# generator that comes with the project's specification). With the PostgreSQL URL set, each
# run also imports into a fresh database created (and dropped) through that URL.
set -euo pipefail
cd "$(dirname "$0")/.."
feed=${1:?usage: benches/import.sh FEED_DIR [RUNS]}
runs=${2:-3}
[ -d "$feed" ] || { echo "no such folder: $feed" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }

cargo build --release --quiet
bin=target/release/forloeb
lines=$(cat "$feed"/*.ndjson | wc -l)
bytes=$(cat "$feed"/*.ndjson | wc -c)
echo "feed: $feed, $lines lines, $((bytes / 1000000)) MB; $runs runs; $(nproc) cores"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

measure() { # url → "seconds peak_kb"; exit status 2 (some lines rejected) is expected
  /usr/bin/time -o "$tmp/time" -f "%e %M" "$bin" import --quiet --database "$1" "$feed" >/dev/null 2>&1 || true
  tail -1 "$tmp/time"
}

bench() { # backend make_url drop_url
  local backend=$1 times=() mems=()
  for i in $(seq "$runs"); do
    local url
    url=$($2 "$i")
    read -r secs kb < <(measure "$url")
    $3 "$i"
    printf '  %-8s run %d: %6.1f s  %5d MB  %8.0f lines/s\n' "$backend" "$i" "$secs" $((kb / 1024)) "$(awk -v l="$lines" -v s="$secs" 'BEGIN{print l/s}')"
    times+=("$secs"); mems+=("$kb")
  done
  local t m
  t=$(printf '%s\n' "${times[@]}" | median)
  m=$(printf '%s\n' "${mems[@]}" | median)
  printf '%-8s median: %.1f s, %d MB peak, %.0f lines/s\n' "$backend" "$t" $((${m%.*} / 1024)) "$(awk -v l="$lines" -v s="$t" 'BEGIN{print l/s}')"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sqlite_url() { echo "$tmp/bench-$1.db"; }
sqlite_drop() { rm -f "$tmp/bench-$1.db"*; }
bench sqlite sqlite_url sqlite_drop

if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  base=${BENCH_POSTGRES_URL}
  prefix=${base%/*}
  pg_url() { psql "$base" -qc "DROP DATABASE IF EXISTS forloeb_bench_$1" -c "CREATE DATABASE forloeb_bench_$1" >/dev/null 2>&1; echo "$prefix/forloeb_bench_$1"; }
  pg_drop() { psql "$base" -qc "DROP DATABASE IF EXISTS forloeb_bench_$1 WITH (FORCE)" >/dev/null 2>&1; }
  bench postgres pg_url pg_drop
fi
