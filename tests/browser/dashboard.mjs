// In Debian's headless Chromium, against a running `forloeb demo`:
//  1. /dashboard as the demo's region, ministry and clinician: the figures on the page (read
//     from the DOM) are the ones the GraphQL API answers for the same token and date; a
//     suppressed cell shows "<5" with its reason, never a number; the page breaks none of its
//     Content-Security-Policy and sends no request outside the gateway;
//  2. a region's token reaches no other region's data from the page's origin;
//  3. the HTML status report (`forloeb report --format html`) renders with its charts.
// Screenshots go to SCREENSHOTS (a directory).
//   GATEWAY_BASE=http://127.0.0.1:PORT TOKENS_FILE=demo-tokens.json REPORT=report.html \
//   SCREENSHOTS=target node dashboard.mjs
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const base = process.env.GATEWAY_BASE;
const demo = JSON.parse(readFileSync(process.env.TOKENS_FILE, 'utf8'));
const token = (role) => demo.tokens.find((t) => t.role === role).token;
const shots = process.env.SCREENSHOTS ?? '.';
const failures = [];
const fail = (what) => {
  failures.push(what);
  console.log(`FAIL ${what}`);
};
const check = (ok, what) => (ok ? console.log(`ok ${what}`) : fail(what));

const manifest = JSON.parse(
  readFileSync(new URL('../../schema/operations/manifest.json', import.meta.url), 'utf8'),
);
const documentId = (name) => manifest.operations.find((o) => o.name === name).id;
async function api(role, name, variables) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token(role)}` },
    body: JSON.stringify({ documentId: documentId(name), variables }),
  });
  return res.json();
}
// The page writes counts the Danish way (1.234); back to a number.
const number = (text) => Number(text.trim().replace(/\./g, '').replace(',', '.'));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function signedIn(role, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base || url.protocol === 'blob:') return route.continue();
    fail(`a request left the gateway: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  page.on('pageerror', (e) => fail(`${role}: page error: ${e.message}`));
  await page.goto(`${base}/dashboard`);
  await page.locator('#token').fill(token(role));
  await page.keyboard.press('Enter');
  await page.locator('#area').waitFor({ timeout: 30000 });
  return { context, page };
}
async function violations(page, role) {
  for (const v of await page.evaluate(() => window.violations)) fail(`${role}: CSP violated: ${v}`);
}
const value = (page, id) => page.locator(`#${id} .value`).innerText();

try {
  // 1a. Region.
  const region = demo.cast.region.code;
  {
    const { context, page } = await signedIn('region');
    const asOf = await page.locator('#asof').inputValue();
    const answer = await api('region', 'RegionalDashboard', { region, asOf });
    const r = answer.data.rollout;
    check((await page.locator('#area').innerText()) === demo.cast.region.name, 'region: its name');
    check(number(await value(page, 'ytd')) === r.yearToDate.plans, `region: plans this year ${r.yearToDate.plans}`);
    check(number(await value(page, 'open')) === r.openClinics, `region: open clinics ${r.openClinics}`);
    check(number(await value(page, 'ok22')) === r.ok22.met, `region: OK22 met ${r.ok22.met}`);
    check(number(await value(page, 'inactive')) === r.inactiveClinics.count, 'region: inactive clinics');
    const calls = await page.locator('#calls tbody tr').count();
    check(calls === r.inactiveClinics.clinics.length, `region: ${calls} clinics to call`);
    const bars = await page.locator('svg.chart rect.new').count();
    check(bars > 0, `region: the charts drew ${bars} bars`);
    // The CSV download holds the clinics to call.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    check(csv.split('\r\n').filter(Boolean).length === calls + 1, 'region: the CSV has every clinic to call');
    await page.screenshot({ path: `${shots}/dashboard-region.png`, fullPage: true });
    // Drill down into the clusters until a suppressed cell shows: "<5", never a number.
    const clusters = await api('region', 'RegionClusters', { region, asOf });
    let suppressedSeen = false;
    for (const k of clusters.data.clusters) {
      await page.locator(`button[data-cluster="${k.id}"]`).click();
      await page.locator('#coverage').waitFor({ timeout: 30000 });
      const view = await api('region', 'ClusterView', { id: k.id, asOf });
      const cells = view.data.cluster.view.clinics.flatMap((c) =>
        c.coverage.flatMap((cov) => [cov.diagnosed, cov.withPlan, cov.rate]));
      const hidden = cells.filter((c) => c.suppressed).length;
      const shown = await page.locator('#coverage .suppressed').count();
      if (shown !== hidden) fail(`cluster ${k.id}: ${shown} cells show "<5", the API suppressed ${hidden}`);
      // The quality indicators beside the coverage, suppressed alike.
      const quality = await api('region', 'ClusterQuality', { id: k.id, asOf });
      const parts = quality.data.cluster.view.clinics.flatMap((c) =>
        c.quality.flatMap((i) => [i.numerator, i.denominator, i.rate]));
      const qualityRows = await page.locator('#quality tbody tr').count();
      const indicators = quality.data.cluster.view.clinics.flatMap((c) => c.quality).length;
      if (qualityRows !== indicators) fail(`cluster ${k.id}: ${qualityRows} quality rows, the API ${indicators}`);
      const qualityHidden = await page.locator('#quality .suppressed').count();
      if (qualityHidden !== parts.filter((p) => p.suppressed).length) {
        fail(`cluster ${k.id}: quality cells shown as "<5" differ from the API's suppressed ones`);
      }
      if (hidden > 0) {
        const first = page.locator('#coverage .suppressed').first();
        check((await first.innerText()) === '<5', `cluster ${k.id}: a suppressed cell reads "<5"`);
        check((await first.getAttribute('title')).includes('færre end 5'), 'the reason on hover');
        suppressedSeen = true;
        await page.screenshot({ path: `${shots}/dashboard-cluster.png`, fullPage: true });
        break;
      }
    }
    check(suppressedSeen, 'region: some cluster has a suppressed cell to show');
    // 2. Another region's data, asked from the page's origin with the region's token.
    const other = demo.cast.region.code === '1081' ? '1082' : '1081';
    const leak = await page.evaluate(async ([t, id, r, d]) => {
      const res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
        body: JSON.stringify({ documentId: id, variables: { region: r, asOf: d } }),
      });
      return res.json();
    }, [token('region'), documentId('RegionalDashboard'), other, asOf]);
    check(!leak.data || leak.data.rollout === null, `region: region ${other} is refused (${JSON.stringify(leak.errors?.[0]?.extensions)})`);
    // The token is nowhere but the page's memory.
    const stored = await page.evaluate(() => [document.cookie, location.href, JSON.stringify(sessionStorage), JSON.stringify(localStorage)].join(' '));
    check(!stored.includes(token('region').slice(0, 20)), 'region: the token is in no URL, cookie or storage');
    await violations(page, 'region');
    // Narrow screen: the page still fits.
    await page.setViewportSize({ width: 390, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `region: no sideways scrolling on a narrow screen (${overflow}px)`);
    await context.close();
  }

  // 1b. Ministry: the nation, then a region through the switch.
  {
    const { context, page } = await signedIn('ministry');
    const asOf = await page.locator('#asof').inputValue();
    const n = (await api('ministry', 'NationalStatus', { asOf })).data.rollout;
    check((await page.locator('#area').innerText()) === 'Danmark', 'ministry: the nation');
    check(number(await value(page, 'ytd')) === n.yearToDate.plans, `ministry: plans this year ${n.yearToDate.plans}`);
    check(number(await value(page, 'ok22')) === n.ok22.met, 'ministry: OK22 met');
    check((await page.locator('#milestones tbody tr').count()) > 0, 'ministry: milestones');
    await page.screenshot({ path: `${shots}/dashboard-ministry.png`, fullPage: true });
    await page.locator('#region').selectOption('1084');
    await page.locator('#area', { hasText: 'Region Hovedstaden' }).waitFor({ timeout: 30000 });
    const r = (await api('ministry', 'RegionalDashboard', { region: '1084', asOf })).data.rollout;
    check(number(await value(page, 'open')) === r.openClinics, 'ministry: Region Hovedstaden through the switch');
    await violations(page, 'ministry');
    await context.close();
  }

  // 1c. Clinician: the clinic and its cluster, signed in with the token the demo's page
  // offers (region, ministry and clinician; never the patient's).
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => fail(`clinician: page error: ${e.message}`));
    await page.goto(`${base}/dashboard`);
    const offered = await page.locator('#demo-token option').allInnerTexts();
    check(offered.length === 4 && !offered.some((o) => o.startsWith('patient')), `the demo offers ${offered.length - 1} tokens`);
    const clinicianOption = await page.locator('#demo-token option', { hasText: 'clinician' }).getAttribute('value');
    await page.locator('#demo-token').selectOption(clinicianOption);
    await page.locator('#area').waitFor({ timeout: 30000 });
    check((await page.locator('#token').inputValue()) === '', 'the token field is emptied once read');
    const asOf = await page.locator('#asof').inputValue();
    const c = (await api('clinician', 'MyClinic', { ydernummer: demo.cast.clinic.ydernummer, asOf })).data.clinic;
    check((await page.locator('#area').innerText()).startsWith(c.name), 'clinician: the clinic');
    check(number(await value(page, 'new12m')) === c.activity.newPlans12m, 'clinician: new plans in 12 months');
    await page.locator('#coverage').waitFor({ timeout: 30000 });
    check((await page.locator('#coverage tbody tr').count()) > 0, 'clinician: the cluster view');
    await context.close();
  }

  // 3. The HTML report.
  if (process.env.REPORT) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
    const page = await context.newPage();
    await page.route('**/*', (route) => {
      if (route.request().url().startsWith('file:')) return route.continue();
      fail(`the report fetched ${route.request().url()}`);
      return route.abort();
    });
    await page.goto(pathToFileURL(process.env.REPORT).href);
    const charts = await page.locator('svg').evaluateAll((svgs) =>
      svgs.filter((s) => s.getBoundingClientRect().width > 100).length);
    check(charts >= 5, `report: ${charts} charts drawn`);
    check((await page.locator('#milestones tbody tr').count()) > 0, 'report: milestones');
    await page.screenshot({ path: `${shots}/report.png` });
    await context.close();
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log('dashboard and report: every check passed');
