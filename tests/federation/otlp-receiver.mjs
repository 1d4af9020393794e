// An OTLP/HTTP receiver for the federation trace test, in OTLP's JSON encoding: every span
// exported to it is appended to FILE as one JSON line ({ service, traceId, spanId,
// parentSpanId, name, kind }).
//
//   node otlp-receiver.mjs PORT FILE

import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';

const [port, file] = process.argv.slice(2);

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    console.log(`${req.method} ${req.url} ${req.headers['content-type']} ${Buffer.concat(chunks).length} bytes`);
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      res.writeHead(415).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const lines = [];
    for (const rs of body.resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue;
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          lines.push(JSON.stringify({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind,
          }));
        }
      }
    }
    if (lines.length) appendFileSync(file, lines.join('\n') + '\n');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}).listen(Number(port), '127.0.0.1', () => console.log(`otlp receiver listening on ${port}`));
