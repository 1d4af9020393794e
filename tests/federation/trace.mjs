// One trace through the router and the subgraphs: a clinician's cluster-quality question (the
// clusters subgraph answers the cluster, the population subgraph each clinic's indicators)
// sent to the router with a W3C `traceparent`; the spans the router and the subgraphs
// exported (otlp-receiver.mjs wrote them to SPANS) must share the caller's trace id, the
// router's span a child of the caller's, and each subgraph's request span a child of the
// router's.
//
//   ROUTER_URL=… SPANS=spans.jsonl TOKEN=<clinician> node trace.mjs

import { readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const traceId = randomBytes(16).toString('hex');
const callerSpan = randomBytes(8).toString('hex');
const text = readFileSync(new URL('../../schema/operations/ClusterQuality.graphql', import.meta.url), 'utf8');
const res = await fetch(process.env.ROUTER_URL, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    authorization: `Bearer ${process.env.TOKEN}`,
    traceparent: `00-${traceId}-${callerSpan}-01`,
  },
  body: JSON.stringify({ query: text, variables: { id: 'K1083-01', asOf: '2022-05-18' } }),
});
const body = await res.json();
if (!body.data?.cluster?.view?.clinics?.length || body.errors) {
  console.log(`the traced question was not answered: ${JSON.stringify(body).slice(0, 400)}`);
  process.exit(1);
}

// Spans arrive in batches (every 200-500 ms); wait for the subgraphs' and the router's.
const read = () =>
  existsSync(process.env.SPANS)
    ? readFileSync(process.env.SPANS, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse)
    : [];
let spans = [];
let verdict = 'no spans';
for (let i = 0; i < 50; i += 1) {
  await new Promise((r) => setTimeout(r, 200));
  spans = read().filter((s) => s.traceId === traceId);
  const router = spans.find((s) => s.service === 'router' && s.name === 'router request');
  const served = router
    ? spans.filter((s) => s.name === 'POST /graphql' && s.parentSpanId === router.spanId)
    : [];
  const services = [...new Set(served.map((s) => s.service))].sort();
  if (!router) {
    verdict = 'no router span in the trace';
  } else if (router.parentSpanId !== callerSpan) {
    verdict = `the router's span is not the caller's child (parent ${router.parentSpanId})`;
  } else if (services.length < 2 || !services.includes('forloeb-clusters') || !services.includes('forloeb-population')) {
    verdict = `subgraph request spans under the router's: ${services.join(', ') || 'none'}`;
  } else {
    const processes = new Set(spans.map((s) => s.service));
    console.log(`trace ${traceId}: ${spans.length} spans from ${[...processes].sort().join(', ')}; ` +
      `the router's span under the caller's, ${served.length} subgraph requests under the router's`);
    process.exit(0);
  }
}
console.log(`FAILED: ${verdict}`);
const seen = {};
for (const s of read()) seen[`${s.service} ${s.name}`] = (seen[`${s.service} ${s.name}`] ?? 0) + 1;
console.log(`every span received, by service and name: ${JSON.stringify(seen)}`);
console.log(JSON.stringify(spans, null, 1).slice(0, 3000));
process.exit(1);
