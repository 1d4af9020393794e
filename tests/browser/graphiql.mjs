// In Debian's headless Chromium, against a running `forloeb demo`:
//  1. /graphiql loads with nothing from any other host (every other request is aborted and
//     fails the test), breaks none of its Content-Security-Policy, runs the demo's first tab
//     (the patient's MyPlans, with the token the demo put in the headers editor) and shows
//     the schema in the Docs pane;
//  2. a page on another origin that the demo allows (http://localhost:<port>) calls /graphql
//     with a token; the same page on an origin not listed (http://127.0.0.2:<port>) cannot.
//   GATEWAY_BASE=http://127.0.0.1:PORT TOKENS_FILE=demo-tokens.json node graphiql.mjs
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const base = process.env.GATEWAY_BASE;
const tokens = JSON.parse(readFileSync(process.env.TOKENS_FILE, 'utf8')).tokens;
const token = (role) => tokens.find((t) => t.role === role).token;
const failures = [];
const fail = (what) => {
  failures.push(what);
  console.log(`FAIL ${what}`);
};

// The page of another application: it asks the gateway for the national rollout.
const app = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>dashboard</title><pre id="out">…</pre><script>
    fetch(${JSON.stringify(base + '/graphql')}, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ${token('ministry')}',
                 'apollographql-client-name': 'dashboard' },
      body: JSON.stringify({ query: '{ rollout(asOf: "2022-05-18") { openClinics } }' }),
    }).then((r) => r.json()).then((b) => { out.textContent = JSON.stringify(b); },
            (e) => { out.textContent = 'refused: ' + e; });
  </script>`);
});
await new Promise((ok) => app.listen(0, ok));
const appPort = app.address().port;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const context = await browser.newContext();
  const allowed = new Set([base, `http://localhost:${appPort}`, `http://127.0.0.2:${appPort}`]);
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (allowed.has(url.origin)) return route.continue();
    fail(`a request left the gateway: ${url}`);
    return route.abort();
  });

  // 1. GraphiQL.
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  await page.goto(`${base}/graphiql`);
  await page.locator('.graphiql-container').waitFor({ timeout: 30000 });
  const headers = await page.locator('.graphiql-editor-tool').innerText();
  if (!headers.includes('Authorization')) fail(`no token in the headers editor: ${headers}`);
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.result-window');
  await result.filter({ hasText: '"plans"' }).waitFor({ timeout: 30000 });
  const answer = await result.innerText();
  if (answer.includes('"errors"')) fail(`MyPlans answered with errors: ${answer.slice(0, 400)}`);
  await page.getByRole('button', { name: /documentation explorer/i }).click();
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.filter({ hasText: 'Query' }).waitFor({ timeout: 30000 });
  // Into the root type: its fields are listed, so the whole schema came back.
  await docs.getByRole('link', { name: 'Query' }).first().click();
  await docs.filter({ hasText: 'rollout' }).waitFor({ timeout: 30000 });
  await page.screenshot({ path: process.env.SCREENSHOT ?? 'graphiql.png' });
  const violations = await page.evaluate(() => window.violations);
  for (const v of violations) fail(`Content-Security-Policy violated: ${v}`);
  console.log('GraphiQL: ran MyPlans as the demo patient; the Docs pane lists Query and its fields');

  // 2. Cross-origin calls.
  for (const [origin, allowedOrigin] of [
    [`http://localhost:${appPort}`, true],
    [`http://127.0.0.2:${appPort}`, false],
  ]) {
    const p = await context.newPage();
    await p.goto(`${origin}/`);
    const out = p.locator('#out');
    await out.filter({ hasNotText: '…' }).waitFor({ timeout: 30000 });
    const text = await out.innerText();
    const answered = text.includes('"openClinics"');
    if (answered !== allowedOrigin) {
      fail(`a page on ${origin} ${allowedOrigin ? 'could not call' : 'called'} the API: ${text}`);
    } else {
      console.log(`a page on ${origin}: ${allowedOrigin ? 'answered' : 'refused by the browser'}`);
    }
  }
} finally {
  await browser.close();
  app.close();
}
if (failures.length) {
  console.log(`${failures.length} failure(s)`);
  process.exit(1);
}
