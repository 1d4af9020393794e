// A standard federation gateway (Apollo Gateway on Apollo Server) over the four subgraphs,
// from the supergraph that compose.mjs wrote. It forwards the caller's Authorization header
// to every subgraph, which verifies it itself. With OTLP_ENDPOINT set it traces as a router
// in front of instrumented services does: a span per request, continuing the caller's W3C
// `traceparent`, exported over OTLP/HTTP, and handed on in `traceparent` to every subgraph
// fetch, so that one trace runs through the router into the subgraphs.
//
//   SUPERGRAPH=supergraph.graphql PORT=4000 [OTLP_ENDPOINT=http://127.0.0.1:4318] \
//   PLANS_URL=… POPULATION_URL=… CLUSTERS_URL=… ROLLOUT_URL=… node router.mjs

import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { readFileSync } from 'node:fs';
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

const endpoint = process.env.OTLP_ENDPOINT;
let tracer = null;
const propagation = new W3CTraceContextPropagator();
if (endpoint) {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'router' }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }),
        scheduledDelayMillis: 200,
      }),
    ],
  });
  // The provider's own tracer and a propagator of our own, rather than the global ones:
  // another copy of the API (Apollo's) may have taken the global slots.
  tracer = provider.getTracer('router');
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => provider.shutdown().finally(() => process.exit(0)));
  }
}

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
        if (context.trace) {
          propagation.inject(context.trace, request.http.headers, {
            set: (headers, key, value) => headers.set(key, value),
          });
        }
      },
    }),
});

// The request's span ends when its response is sent.
const endSpan = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, response }) {
        const span = contextValue.span;
        if (!span) return;
        const errors = response.body.kind === 'single' ? response.body.singleResult.errors : null;
        if (errors?.length) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  },
};

const server = new ApolloServer({
  gateway,
  introspection: false,
  includeStacktraceInErrorResponses: false,
  plugins: [endSpan],
});
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' },
  context: async ({ req }) => {
    if (!tracer) return { authorization: req.headers.authorization };
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const span = tracer.startSpan('router request', { kind: SpanKind.SERVER }, parent);
    return { authorization: req.headers.authorization, span, trace: trace.setSpan(parent, span) };
  },
});
console.log(`router listening on ${url}`);
