// Throughput and latency of the same requests through the router and the one-process
// gateway, in alternating phases (same machine, same run).
//
//   ROUTER_URL=… GATEWAY_URL=… CASES='[{"name","token","query","variables"}]' \
//   SECONDS=5 RUNS=5 CONCURRENCY=8 node bench.mjs

const cases = JSON.parse(process.env.CASES);
const seconds = Number(process.env.SECONDS ?? 5);
const runs = Number(process.env.RUNS ?? 5);
const concurrency = Number(process.env.CONCURRENCY ?? 8);

async function phase(url, c) {
  const body = JSON.stringify({ query: c.query, variables: c.variables ?? {} });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${c.token}` };
  const times = [];
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        const res = await fetch(url, { method: 'POST', headers, body });
        const json = await res.json();
        if (res.status !== 200 || json.errors) failed += 1;
        times.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.round((times.length - 1) * p))];
  return { rps: times.length / elapsed, p50: at(0.5), p99: at(0.99), failed };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${concurrency} concurrent clients, ${seconds} s phases, ${runs} runs, alternating order`);
for (const c of cases) {
  // Warm both (connections, snapshot, query plans).
  await phase(process.env.GATEWAY_URL, { ...c });
  await phase(process.env.ROUTER_URL, { ...c });
  const rows = [];
  for (let r = 0; r < runs; r += 1) {
    const order = r % 2 === 0 ? ['one', 'router'] : ['router', 'one'];
    const got = {};
    for (const which of order) {
      got[which] = await phase(which === 'one' ? process.env.GATEWAY_URL : process.env.ROUTER_URL, c);
      if (got[which].failed) throw new Error(`${c.name} via ${which}: ${got[which].failed} failed requests`);
    }
    rows.push(got);
  }
  console.log(`\n${c.name}`);
  console.log('run  one req/s  one p99   router req/s  router p99  router/one req/s  p99 ratio');
  rows.forEach((g, i) =>
    console.log(
      `${String(i + 1).padEnd(4)} ${g.one.rps.toFixed(0).padStart(9)} ${g.one.p99.toFixed(2).padStart(7)}ms ${g.router.rps
        .toFixed(0)
        .padStart(12)} ${g.router.p99.toFixed(2).padStart(9)}ms ${(g.router.rps / g.one.rps).toFixed(3).padStart(17)} ${(
        g.router.p99 / g.one.p99
      )
        .toFixed(2)
        .padStart(10)}`,
    ),
  );
  console.log(
    `median one ${median(rows.map((g) => g.one.rps)).toFixed(0)} req/s p99 ${median(rows.map((g) => g.one.p99)).toFixed(2)} ms; ` +
      `router ${median(rows.map((g) => g.router.rps)).toFixed(0)} req/s p99 ${median(rows.map((g) => g.router.p99)).toFixed(2)} ms; ` +
      `ratios ${median(rows.map((g) => g.router.rps / g.one.rps)).toFixed(3)} (req/s), ${median(rows.map((g) => g.router.p99 / g.one.p99)).toFixed(2)} (p99)`,
  );
}
