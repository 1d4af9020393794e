// A standard federation gateway (Apollo Gateway on Apollo Server) over the four subgraphs,
// from the supergraph that compose.mjs wrote. It forwards the caller's Authorization header
// to every subgraph, which verifies it itself.
//
//   SUPERGRAPH=supergraph.graphql PORT=4000 \
//   PLANS_URL=… POPULATION_URL=… CLUSTERS_URL=… ROLLOUT_URL=… node router.mjs

import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { readFileSync } from 'node:fs';

const urls = {
  plans: process.env.PLANS_URL,
  population: process.env.POPULATION_URL,
  clusters: process.env.CLUSTERS_URL,
  rollout: process.env.ROLLOUT_URL,
};

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH, 'utf8'),
  buildService: ({ name }) =>
    new RemoteGraphQLDataSource({
      url: urls[name],
      willSendRequest({ request, context }) {
        if (context.authorization) request.http.headers.set('authorization', context.authorization);
      },
    }),
});

const server = new ApolloServer({ gateway, introspection: false, includeStacktraceInErrorResponses: false });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`router listening on ${url}`);
