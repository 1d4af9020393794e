// The GraphQL-over-HTTP audit of graphql-http (serverAudits) against a running gateway.
// Every MUST has to pass; SHOULD and MAY results are printed, and the README lists the
// SHOULDs the gateway does not follow and why.
//
//   GATEWAY_URL=http://127.0.0.1:8080/graphql GATEWAY_TOKEN=… node audit.mjs

import { serverAudits } from 'graphql-http';

const url = process.env.GATEWAY_URL;
const token = process.env.GATEWAY_TOKEN;
if (!url || !token) {
  console.error('set GATEWAY_URL and GATEWAY_TOKEN');
  process.exit(2);
}

// Every request carries a token: the gateway answers nothing but `{ __typename }` without one,
// and the audit is about the protocol, not about authentication.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

let failedMust = 0;
const counts = {};
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  const key = `${level} ${result.status}`;
  counts[key] = (counts[key] ?? 0) + 1;
  if (result.status !== 'ok') {
    const mark = level === 'MUST' ? 'FAIL' : 'note';
    console.log(`${mark} [${audit.id}] ${audit.name}: ${result.reason}`);
    if (level === 'MUST') failedMust += 1;
  }
}
console.log(JSON.stringify(counts));
if (failedMust > 0) {
  console.error(`${failedMust} MUST audit(s) failed`);
  process.exit(1);
}
console.log('every MUST audit passed');
