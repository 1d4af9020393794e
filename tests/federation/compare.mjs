// Every named operation of schema/operations/ with a token of every role, through the router
// and through the one-process gateway: the data must be identical and the errors the same
// (field and code). Then the cross-tenant probes, and `_entities` sent straight to the plans
// subgraph with a foreign clinician's token.
//
// Then a patient's write through the router.
//
//   ROUTER_URL=… GATEWAY_URL=… PLANS_URL=… TOKENS='{"patient":"…",…}' FOREIGN_CLINICIAN=… \
//   WRITER=… node compare.mjs

import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const root = new URL('../../', import.meta.url);
const tokens = JSON.parse(process.env.TOKENS);
let failures = 0;
let checks = 0;

async function post(url, token, query, variables = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

// Errors as the client can rely on them: which field, and what kind. The gateway writes
// entity paths its own way (["clinic", "_entities", "patients"], "@" for list items), so
// paths are compared by their field names.
const errorKeys = (body) => [
  ...new Set(
    (body.errors ?? []).map((e) => {
      const path = (e.path ?? []).filter((p) => typeof p === 'string' && p !== '@' && p !== '_entities');
      return `${path.join('.')} ${e.extensions?.code ?? ''}`;
    }),
  ),
].sort();

function expectSame(what, direct, routed) {
  checks += 1;
  const same =
    isDeepStrictEqual(direct.body.data ?? null, routed.body.data ?? null) &&
    isDeepStrictEqual(errorKeys(direct.body), errorKeys(routed.body));
  if (!same) {
    failures += 1;
    console.log(`DIFFERENT ${what}`);
    console.log(`  one process: ${JSON.stringify(direct.body).slice(0, 600)}`);
    console.log(`  router:      ${JSON.stringify(routed.body).slice(0, 600)}`);
  }
}

// The headers' variables name the default demo's people and places; these are the test
// feed's (tests/fixtures/feed), which the gateways here serve.
function onTestFeed(variables) {
  const fixture = { ydernummer: '586964', cpr: '2709400129', id: 'K1083-01', region: '1083' };
  for (const [key, value] of Object.entries(fixture)) {
    if (key in variables) variables[key] = value;
  }
  return variables;
}

const dir = new URL('schema/operations/', root);
const operations = readdirSync(dir)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => {
    const text = readFileSync(new URL(f, dir), 'utf8');
    const variables = onTestFeed(JSON.parse(text.match(/^# variables: (.*)$/m)[1]));
    return { name: f.replace('.graphql', ''), text, variables };
  });

for (const op of operations) {
  for (const [role, token] of Object.entries(tokens)) {
    const direct = await post(process.env.GATEWAY_URL, token, op.text, op.variables);
    const routed = await post(process.env.ROUTER_URL, token, op.text, op.variables);
    expectSame(`${op.name} as ${role}`, direct, routed);
  }
}

// Cross-tenant probes: the same refusals, whichever way the question travels.
const probes = [
  ['clinician', '{ patient(cpr: "0908550520") { cpr birthDate plans { id } } }'],
  ['clinician', '{ clinic(ydernummer: "831497") { name patients(first: 5) { edges { node { cpr } } } population { diagnosed { value } } } }'],
  ['patient', '{ patient(cpr: "2709400129") { cpr } clinic(ydernummer: "586964") { patients(first: 1) { edges { node { cpr } } } } }'],
  ['region', '{ clinic(ydernummer: "586964") { name population { diagnosed { value suppressed } } patients(first: 1) { edges { node { cpr } } } } }'],
  ['region', '{ planActivity(from: "2022-01-01", to: "2022-12-31", groupBy: [CLINIC], filter: { regions: ["1084"] }) { total { plans } } }'],
  ['ministry', '{ regions { code rollout(asOf: "2022-05-18") { openClinics } clinics { ydernummer patients(first: 1) { edges { node { cpr } } } } } }'],
  ['supplier', '{ apiVersion regions { name } me { cpr } }'],
];
for (const [role, query] of probes) {
  const direct = await post(process.env.GATEWAY_URL, tokens[role], query);
  const routed = await post(process.env.ROUTER_URL, tokens[role], query);
  expectSame(`probe as ${role}: ${query.slice(0, 60)}`, direct, routed);
}

// `_entities` straight at the plans subgraph: a clinician of another clinic names this
// clinic's patient (by the id the patient's own clinician sees) and the clinic.
const own = await post(process.env.GATEWAY_URL, tokens.clinician, '{ patient(cpr: "2709400129") { id } }');
const patientId = own.body.data.patient.id;
const entities = await post(
  process.env.PLANS_URL,
  process.env.FOREIGN_CLINICIAN,
  'query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { cpr plans { id } } ... on Clinic { patients(first: 5) { edges { node { cpr } } } } } }',
  { r: [{ __typename: 'Patient', id: patientId }, { __typename: 'Clinic', ydernummer: '586964' }] },
);
checks += 1;
const leaked = JSON.stringify(entities.body.data ?? {}).match(/\d{10}/);
const refused = (entities.body.errors ?? []).some((e) => e.extensions?.code === 'FORBIDDEN');
if (leaked || entities.body.data?._entities?.[0] !== null || !refused) {
  failures += 1;
  console.log(`_entities let a foreign clinician read: ${JSON.stringify(entities.body)}`);
}

// A patient's write through the router (the plans subgraph owns Mutation), sent again to the
// one-process gateway: the same stored entry answers both, and the plan shows it.
const write = operations.find((op) => op.name === 'WriteNote');
const note = {
  id: '7f1c0de0-0000-4000-8000-00000000fed1',
  plan: 'KIAP:KIAP-2d418bfbb0',
  text: 'Skrevet gennem routeren.',
};
const routedWrite = await post(process.env.ROUTER_URL, process.env.WRITER, write.text, note);
const directWrite = await post(process.env.GATEWAY_URL, process.env.WRITER, write.text, note);
expectSame('WriteNote through the router, then again directly', directWrite, routedWrite);
const mine = operations.find((op) => op.name === 'MyPlans');
const read = await post(process.env.ROUTER_URL, process.env.WRITER, mine.text);
checks += 1;
const stored = (read.body.data?.me?.plans ?? []).flatMap((p) => p.entries ?? []);
if (routedWrite.body.data?.writeNote?.id !== note.id || !stored.some((e) => e.id === note.id)) {
  failures += 1;
  console.log(`the routed write: ${JSON.stringify(routedWrite.body)}; read back: ${JSON.stringify(read.body).slice(0, 600)}`);
}

console.log(`${checks} comparisons, ${failures} failed (${operations.length} operations × ${Object.keys(tokens).length} roles, ${probes.length} probes, 1 _entities probe, a write)`);
process.exit(failures > 0 ? 1 : 0);
