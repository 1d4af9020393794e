// Apollo Client in a patient's app: MyPlans, sent by its id from the persisted-query manifest.
//
// Patients may run only the trusted documents of schema/operations/. Apollo's usual
// persisted-query recipe, createPersistedQueryLink({ sha256 }), hashes the document as Apollo
// prints it (with __typename added), which is not the manifest's id: every call would be
// PERSISTED_QUERY_NOT_FOUND. The manifest-based link below sends the manifest's id for the
// operation's name, so the text never travels. The manifest is `forloeb schema --manifest`
// (the same as schema/operations/manifest.json).
//
//   GATEWAY_URL=http://127.0.0.1:8080/graphql TOKEN=<patient token> node apollo-my-plans.mjs
import { readFileSync } from 'node:fs';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';

const operations = new URL('../schema/operations/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', operations), 'utf8'));

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: createPersistedQueryLink(
    generatePersistedQueryIdsFromManifest({ loadManifest: async () => manifest }),
  ).concat(
    new HttpLink({
      uri: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080/graphql',
      headers: { authorization: `Bearer ${process.env.TOKEN}` },
    }),
  ),
});

const MyPlans = gql(readFileSync(new URL('MyPlans.graphql', operations), 'utf8'));
const { data } = await client.query({ query: MyPlans });
const me = data.me;
console.log(`born ${me.birthDate}, listed at ${me.clinic?.name}`);
for (const plan of me.plans) {
  console.log(
    `${plan.type} plan ${plan.id}: version ${plan.current.version}, next check-up ${plan.current.nextControl ?? 'not set'}`,
  );
}
