#!/usr/bin/env bash
# The query benchmark of two builds against each other, on one database, in alternating rounds
# (this machine is shared and noisy: a round of A, then a round of B, ROUNDS times), and the
# median over rounds of each operation's p50 with the ratio B/A.
#
#   benches/compare-queries.sh A_BENCH B_BENCH DATABASE [ROUNDS] [RUNS]
#
# A_BENCH and B_BENCH are `queries` bench executables, e.g. of the commit before a change and
# of the change: `cargo bench --bench queries --no-run` prints where it put the executable
# (target/release/deps/queries-…); build the other in a `git worktree` of the other commit.
# DATABASE is a loaded database, e.g. `forloeb demo --no-serve --clinics 1693 --database
# national.db` (the national scale). ROUNDS defaults to 5, RUNS (per operation and round) to 200.
set -euo pipefail
a=${1:?usage: benches/compare-queries.sh A_BENCH B_BENCH DATABASE [ROUNDS] [RUNS]}
b=${2:?usage: benches/compare-queries.sh A_BENCH B_BENCH DATABASE [ROUNDS] [RUNS]}
db=${3:?usage: benches/compare-queries.sh A_BENCH B_BENCH DATABASE [ROUNDS] [RUNS]}
rounds=${4:-5}
runs=${5:-200}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$rounds"); do
  echo "round $i of $rounds: A" >&2
  "$a" "$db" "$runs" > "$out/a-$i.txt"
  echo "round $i of $rounds: B" >&2
  "$b" "$db" "$runs" > "$out/b-$i.txt"
done
# The operation table: the rows between its "operation" header and the blank line after it;
# the name is the first 26 characters, p50 the fourth column from the right.
awk '
  FNR == 1 { side = (FILENAME ~ /\/a-/) ? "a" : "b"; in_table = 0 }
  /^operation / { in_table = 1; next }
  in_table && NF == 0 { in_table = 0 }
  in_table {
    name = substr($0, 1, 26); sub(/ +$/, "", name)
    p50 = $(NF - 3)
    n = ++count[side, name]; value[side, name, n] = p50
    if (!(name in seen)) { seen[name] = 1; order[++ops] = name }
  }
  function median(side, name,   n, i, j, t, v) {
    n = count[side, name]
    for (i = 1; i <= n; i++) v[i] = value[side, name, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  END {
    printf "%-26s %10s %10s %8s   (p50 ms, median of %d alternating rounds)\n", "operation", "A", "B", "B/A", count["a", order[1]]
    for (k = 1; k <= ops; k++) {
      a = median("a", order[k]); b = median("b", order[k])
      printf "%-26s %10.2f %10.2f %8.2f\n", order[k], a, b, (a > 0 ? b / a : 0)
    }
  }
' "$out"/a-*.txt "$out"/b-*.txt
