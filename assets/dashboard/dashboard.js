// The rollout dashboard at /dashboard: plain JavaScript, no library and no build step. It asks
// for a token (kept in this page's memory only: never in a URL, a cookie or storage), then
// calls /graphql with the gateway's named operations by document id, like any client. What a
// token may see is decided by the gateway; the page only chooses which questions to ask.
'use strict';

(function () {
  const settings = JSON.parse(document.getElementById('dashboard-settings').textContent);
  const $ = (id) => document.getElementById(id);
  const main = $('main');
  let token = null;
  let who = null;

  // ---- the API ----------------------------------------------------------------------------
  async function ask(name, variables) {
    const res = await fetch(settings.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: 'Bearer ' + token,
        'apollographql-client-name': 'forloeb-dashboard',
      },
      body: JSON.stringify({ documentId: settings.documents[name], variables }),
    });
    const body = await res.json();
    if (body.errors && body.errors.length && !body.data) {
      throw new Error(body.errors.map((e) => e.message).join('; '));
    }
    return body;
  }

  // The token's claims, to choose the view (the gateway checks them; this only reads them).
  function claims(jwt) {
    const part = jwt.split('.')[1];
    if (!part) throw new Error('not a token: expected header.payload.signature');
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(decodeURIComponent(escape(json)));
  }

  // ---- building the page (DOM only: the page's policy allows no inline script or style) ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'on') for (const [ev, f] of Object.entries(v)) node.addEventListener(ev, f);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  const svgEl = (tag, attrs, ...children) => {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children.flat()) if (c) node.append(c);
    return node;
  };
  const fmt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('da-DK'));
  const pct = (s) =>
    s === null || s === undefined ? '–' : (s * 100).toLocaleString('da-DK', { maximumFractionDigits: 1 }) + ' %';
  const reasons = {
    BELOW_THRESHOLD: 'Skjult: færre end 5 personer (diskretionering; below the disclosure threshold)',
    DERIVED_FROM_SUPPRESSED: 'Skjult: beregnet af et skjult tal (derived from a suppressed count)',
    UNION_OF_CLINICS: 'Skjult: ikke for en udvalgt samling af klinikker (union of clinics)',
  };
  // A person count or rate as shown: "<5" with the reason on hover when suppressed, never a number.
  function cell(count, asShare) {
    if (!count) return el('span', { text: '–' });
    if (count.suppressed) {
      return el('span', {
        class: 'suppressed',
        title: reasons[count.suppressed] || count.suppressed,
        tabindex: '0',
        'data-suppressed': count.suppressed,
        text: '<5',
      });
    }
    return el('span', { text: asShare ? pct(count.value) : fmt(count.value) });
  }
  function card(title, value, sub, id) {
    return el('div', { class: 'card', id }, el('div', { class: 'title', text: title }),
      el('div', { class: 'value' }, value), sub ? el('div', { class: 'sub' }, sub) : null);
  }
  function table(id, head, rows, caption) {
    return el('table', { id },
      caption ? el('caption', { text: caption }) : null,
      el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) =>
        el('td', {}, c instanceof Node ? c : document.createTextNode(c)))))));
  }
  function section(title, ...children) {
    return el('section', {}, el('h2', { text: title }), ...children);
  }
  function source() {
    return el('p', { class: 'source', text: 'Kilde: leverandørernes forløbsplaner via forloeb-gateway — pr. ' + $('asof').value });
  }

  // Plans per ISO week: new and maintained stacked.
  function weeklyChart(weeks) {
    const w = 720, h = 220, left = 40, top = 10, bottom = 28;
    const max = Math.max(1, ...weeks.map((x) => x.newPlans + x.maintainedPlans));
    const slot = (w - left) / 53;
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    const svg = svgEl('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', class: 'chart', 'aria-label': 'Planer pr. uge' });
    for (const f of [0, 0.5, 1]) {
      svg.append(svgEl('line', { x1: left, x2: w, y1: y(max * f), y2: y(max * f), stroke: '#ddd' }));
      const t = svgEl('text', { x: left - 4, y: y(max * f) + 4, 'text-anchor': 'end' });
      t.textContent = fmt(Math.round(max * f));
      svg.append(t);
    }
    for (const x of weeks) {
      const n = Number(x.week.split('-W')[1]);
      const x0 = left + (n - 1) * slot;
      const hn = y(0) - y(x.newPlans), hm = y(0) - y(x.maintainedPlans);
      const a = svgEl('rect', { x: x0, y: y(0) - hn, width: slot * 0.8, height: hn, class: 'new' });
      const b = svgEl('rect', { x: x0, y: y(0) - hn - hm, width: slot * 0.8, height: hm, class: 'maintained' });
      const t = svgEl('title');
      t.textContent = `${x.week}: ${x.newPlans} nye, ${x.maintainedPlans} vedligeholdte`;
      a.append(t);
      svg.append(a, b);
    }
    for (const n of [1, 13, 26, 39, 52]) {
      const t = svgEl('text', { x: left + (n - 1) * slot, y: h - 8 });
      t.textContent = 'uge ' + n;
      svg.append(t);
    }
    return el('figure', {}, svg, el('figcaption', { text: 'Nye (mørke) og vedligeholdte (lyse) planer pr. ISO-uge' }));
  }

  // OK22: clinics by new plans in 12 months; the buckets that meet OK22 dark.
  function histogram(distribution, met, share, targets) {
    const w = 420, h = 180, bottom = 24;
    const max = Math.max(1, ...distribution.map((d) => d.clinics));
    const slot = w / distribution.length;
    const svg = svgEl('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', class: 'chart narrow', 'aria-label': 'OK22-fordeling' });
    distribution.forEach((d, i) => {
      const bh = (h - bottom - 16) * (d.clinics / max);
      const meets = /^(5|10|20|50)/.test(d.bucket);
      svg.append(svgEl('rect', { x: i * slot + 6, y: h - bottom - bh, width: slot - 12, height: bh, class: meets ? 'new' : 'maintained' }));
      const v = svgEl('text', { x: i * slot + slot / 2, y: h - bottom - bh - 4, 'text-anchor': 'middle', class: 'bucket-count' });
      v.textContent = d.clinics;
      const l = svgEl('text', { x: i * slot + slot / 2, y: h - 6, 'text-anchor': 'middle' });
      l.textContent = d.bucket;
      svg.append(v, l);
    });
    const goal = (targets || []).map((t) => `${Math.round(t.value * 100)} % pr. ${t.due}`).join(', ');
    return el('figure', {}, svg, el('figcaption', {
      text: `Klinikker efter nye planer i 12 måneder; OK22 opfyldt: ${fmt(met)} (${pct(share)})` + (goal ? `; mål ${goal}` : ''),
    }));
  }

  function csv(rows) {
    return rows.map((r) => r.map((c) => '"' + String(c).replace(/"/g, '""') + '"').join(',')).join('\r\n') + '\r\n';
  }
  function download(name, text) {
    const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' })), download: name });
    document.body.append(a);
    a.click();
    a.remove();
  }

  // ---- views ------------------------------------------------------------------------------
  async function regionView(region) {
    const asOf = $('asof').value;
    const [dash, clusters] = await Promise.all([
      ask('RegionalDashboard', { region, asOf }),
      ask('RegionClusters', { region, asOf }),
    ]);
    const r = dash.data && dash.data.rollout;
    if (!r) throw new Error((dash.errors || []).map((e) => e.message).join('; ') || 'no data');
    const name = (settings.regions.find((x) => x.code === region) || {}).name || region;
    const calls = r.inactiveClinics.clinics || [];
    const callRows = calls.map((c) => [c.ydernummer, c.name, c.cluster ? c.cluster.name : '']);
    const out = [
      el('h2', { id: 'area', text: name }),
      el('div', { class: 'cards' },
        card('Planer i år (plans this year)', fmt(r.yearToDate.plans), String(r.yearToDate.year), 'ytd'),
        card('Åbne klinikker (open clinics)', fmt(r.openClinics), null, 'open'),
        card('OK22 opfyldt', fmt(r.ok22.met), pct(r.ok22.share), 'ok22'),
        card('Klinikker med hjerteplaner', fmt(r.heartPlanClinics.clinics), pct(r.heartPlanClinics.share), 'heart'),
        card('Aktive app-brugere', cell(r.appUsers.active), el('span', {}, 'af ', cell(r.appUsers.withPlan)), 'app'),
        card('Klinikker uden planer (to call)', fmt(r.inactiveClinics.count), null, 'inactive')),
      section('Planer pr. uge (plans per week)', weeklyChart(r.weekly), source()),
      section('OK22', histogram(r.ok22.distribution, r.ok22.met, r.ok22.share, r.ok22.targets), source()),
    ];
    const clusterRows = (clusters.data && clusters.data.clusters || []).map((k) => {
      const rows = (k.view && k.view.clinics) || [];
      const open = el('button', { type: 'button', class: 'link', text: k.name, 'data-cluster': k.id,
        on: { click: () => clusterView(k.id).catch(show) } });
      return [open, String(rows.length), String(rows.filter((c) => c.ok22Met).length), String(rows.filter((c) => c.inactive).length)];
    });
    out.push(section('Klynger (clusters)', table('clusters', ['klynge', 'klinikker', 'OK22 opfyldt', 'uden planer'], clusterRows), el('div', { id: 'cluster' })));
    out.push(section('Klinikker at ringe til (clinics to call)',
      table('calls', ['ydernummer', 'klinik', 'klynge'], callRows),
      el('button', { type: 'button', id: 'csv', text: 'Hent som CSV',
        on: { click: () => download(`klinikker-uden-planer-${region}-${asOf}.csv`, csv([['ydernummer', 'klinik', 'klynge'], ...callRows])) } })));
    return out;
  }

  async function clusterView(id) {
    const asOf = $('asof').value;
    const [body, quality] = await Promise.all([
      ask('ClusterView', { id, asOf }),
      ask('ClusterQuality', { id, asOf }),
    ]);
    const k = body.data && body.data.cluster;
    const target = $('cluster');
    if (!k) throw new Error((body.errors || []).map((e) => e.message).join('; ') || 'no such cluster');
    const rows = [];
    for (const c of k.view.clinics) {
      for (const cov of c.coverage || []) {
        rows.push([c.clinic.name, cov.type, cell(cov.diagnosed), cell(cov.withPlan), cell(cov.rate, true)]);
      }
    }
    const q = quality.data && quality.data.cluster;
    const qualityRows = [];
    for (const c of (q && q.view && q.view.clinics) || []) {
      for (const i of c.quality || []) {
        qualityRows.push([c.clinic.name, i.indicator, cell(i.numerator), cell(i.denominator), cell(i.rate, true)]);
      }
    }
    const view = el('div', {},
      section(`Klynge ${k.name}: dækning (coverage)`,
        table('coverage', ['klinik', 'type', 'diagnosticeret', 'med plan', 'dækning'], rows), source()),
      section(`Klynge ${k.name}: kvalitetsindikatorer (quality indicators)`,
        table('quality', ['klinik', 'indikator', 'tæller', 'nævner', 'andel'], qualityRows), source()));
    if (target) target.replaceChildren(view); else main.append(view);
    const heading = view.querySelector('h2');
    heading.setAttribute('tabindex', '-1');
    heading.focus();
    return view;
  }

  async function nationView() {
    const body = await ask('NationalStatus', { asOf: $('asof').value });
    const r = body.data.rollout;
    const ms = body.data.milestones || [];
    return [
      el('h2', { id: 'area', text: 'Danmark' }),
      el('div', { class: 'cards' },
        card('Planer i år (plans this year)', fmt(r.yearToDate.plans), r.yearToDate.target ? `af ${fmt(r.yearToDate.target)} (${pct(r.yearToDate.share)})` : null, 'ytd'),
        card('Åbne klinikker (open clinics)', fmt(r.openClinics), null, 'open'),
        card('OK22 opfyldt', fmt(r.ok22.met), pct(r.ok22.share), 'ok22'),
        card('Klinikker med hjerteplaner', fmt(r.heartPlanClinics.clinics), pct(r.heartPlanClinics.share), 'heart'),
        card('Aktive app-brugere', fmt(r.appUsers.active.value), `af ${fmt(r.appUsers.withPlan.value)}`, 'app'),
        card('Klinikker uden planer', fmt(r.inactiveClinics.count), null, 'inactive')),
      section('OK22', histogram(r.ok22.distribution, r.ok22.met, r.ok22.share, r.ok22.targets), source()),
      section('Milepæle (milestones)', table('milestones', ['nr.', 'milepæl', 'planlagt', 'nået', 'status'],
        ms.map((m) => [String(m.number), m.text, m.planned, m.reached || '', m.status]))),
    ];
  }

  async function clinicView(ydernummer) {
    const body = await ask('MyClinic', { ydernummer, asOf: $('asof').value });
    const c = body.data && body.data.clinic;
    if (!c) throw new Error('no such clinic');
    const a = c.activity || {};
    const out = [
      el('h2', { id: 'area', text: `${c.name} (${c.ydernummer})` }),
      el('div', { class: 'cards' },
        card('Nye planer, 12 mdr. (new plans)', fmt(a.newPlans12m), a.ok22Met ? 'OK22 opfyldt' : 'OK22 ikke opfyldt', 'new12m'),
        card('Planer lavet, 12 mdr.', fmt(a.plansMade12m), null, 'made12m'),
        card('Hjerteplaner, 12 mdr.', fmt(a.heartPlans12m), null, 'heart')),
      section('Dækning (coverage)', table('own-coverage', ['type', 'diagnosticeret', 'med plan', 'dækning'],
        (c.population || []).map((p) => [p.type, cell(p.diagnosed), cell(p.withPlan), cell(p.coverage, true)])), source()),
      el('div', { id: 'cluster' }),
    ];
    if (c.cluster) setTimeout(() => clusterView(c.cluster.id).catch(show), 0);
    return out;
  }

  // ---- the page ---------------------------------------------------------------------------
  function show(error) {
    main.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'Fejl: ' + error.message }));
  }

  async function render() {
    main.replaceChildren(el('p', { text: 'Henter…' }));
    try {
      let parts;
      if (who.role === 'region') parts = await regionView(who.region);
      else if (who.role === 'ministry') parts = $('region').value ? await regionView($('region').value) : await nationView();
      else if (who.role === 'clinician') parts = await clinicView(who.ydernummer);
      else throw new Error(`the ${who.role} role has no dashboard`);
      main.replaceChildren(...parts);
    } catch (e) {
      show(e);
    }
  }

  // The demo offers its tokens (never a real deployment: the list is empty there).
  if (settings.demoTokens && settings.demoTokens.length) {
    for (const t of settings.demoTokens) {
      $('demo-token').append(el('option', { value: t.token, text: `${t.role}: ${t.who}` }));
    }
    $('demo-pick').hidden = false;
    $('demo-token').addEventListener('change', () => {
      if (!$('demo-token').value) return;
      $('token').value = $('demo-token').value;
      $('demo-token').value = '';
      $('login').requestSubmit();
    });
  }
  $('asof').value = settings.asOf;
  for (const r of settings.regions) $('region').append(el('option', { value: r.code, text: r.name }));
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    try {
      token = $('token').value.trim();
      who = claims(token);
    } catch (e) {
      token = null;
      show(new Error('the token cannot be read: ' + e.message));
      return;
    }
    $('token').value = '';
    $('login').hidden = true;
    $('controls').hidden = false;
    $('region-pick').hidden = who.role !== 'ministry';
    $('whoami').textContent = who.role + (who.region ? ' ' + who.region : '') + (who.ydernummer ? ' ' + who.ydernummer : '');
    render();
  });
  $('asof').addEventListener('change', render);
  $('region').addEventListener('change', render);
  $('logout').addEventListener('click', () => {
    token = null;
    who = null;
    main.replaceChildren();
    $('controls').hidden = true;
    $('login').hidden = false;
  });
})();
