// The smallest client: plain fetch, a trusted document by its id (GraphQL-over-HTTP's
// persisted documents: {"documentId": "sha256:<id>"}). Works the same in a browser page on an
// origin listed in server.cors_origins.
//
//   GATEWAY_URL=http://127.0.0.1:8080/graphql TOKEN=<clinician token> node fetch-document-id.mjs
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(
  readFileSync(new URL('../schema/operations/manifest.json', import.meta.url), 'utf8'),
);
const op = manifest.operations.find((o) => o.name === 'ClinicPatients');
// The example's own variables, from its header: they name the default demo's clinic.
const variables = JSON.parse(op.body.match(/^# variables: (.*)$/m)[1]);

const response = await fetch(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080/graphql', {
  method: 'POST',
  headers: {
    accept: 'application/graphql-response+json',
    'content-type': 'application/json',
    authorization: `Bearer ${process.env.TOKEN}`,
  },
  body: JSON.stringify({ documentId: `sha256:${op.id}`, variables }),
});
const body = await response.json();
if (body.errors) {
  console.error(response.status, JSON.stringify(body.errors));
  process.exit(1);
}
const clinic = body.data.clinic;
console.log(`${clinic.name}: ${clinic.patients.edges.length} patients on the first page`);
