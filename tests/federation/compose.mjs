// Composes schema/subgraphs/*.graphql with Apollo's composition library. Fails on any error
// and on any hint not listed as expected, and checks that the composed API schema is the
// one-process schema (schema/schema.graphql), type for type, field for field, description
// for description. Writes the supergraph SDL to the path given as the first argument.
//
//   node compose.mjs [SUPERGRAPH_OUT]

import { composeServices } from '@apollo/composition';
import { buildSchema, lexicographicSortSchema, parse, printSchema } from 'graphql';
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const names = ['plans', 'population', 'clusters', 'rollout'];
const services = names.map((name) => ({
  name,
  url: `http://${name}.invalid/graphql`,
  typeDefs: parse(readFileSync(new URL(`schema/subgraphs/${name}.graphql`, root), 'utf8')),
}));

const result = composeServices(services);
if (result.errors) {
  for (const e of result.errors) console.error(`composition error: ${e.message}`);
  process.exit(1);
}
const hints = result.hints ?? [];
for (const h of hints) console.error(`composition hint [${h.definition.code}]: ${h.message}`);
if (hints.length > 0) process.exit(1);

const sorted = (schema) => printSchema(lexicographicSortSchema(schema));
const composed = sorted(result.schema.toAPISchema().toGraphQLJSSchema());
const single = sorted(buildSchema(readFileSync(new URL('schema/schema.graphql', root), 'utf8')));
if (composed !== single) {
  const a = composed.split('\n');
  const b = single.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  console.error('the composed API schema differs from schema/schema.graphql at line', at + 1);
  console.error('composed:   ', a.slice(Math.max(0, at - 3), at + 4).join('\n             '));
  console.error('one-process:', b.slice(Math.max(0, at - 3), at + 4).join('\n             '));
  process.exit(1);
}
if (process.argv[2]) writeFileSync(process.argv[2], result.supergraphSdl);
console.log(`composed ${names.length} subgraphs without errors or hints; the API schema equals schema/schema.graphql`);
