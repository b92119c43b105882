// The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against `arbiter demo`: log in with the printed admin key, check
// the headline figures against the ledger's own totals, filter the request log, open
// a request, and take screenshots (desktop and phone, light and dark). They go to
// docs/img/ only when ARBITER_SCREENSHOTS=docs (so a test run leaves the checkout as it
// was); otherwise to a temporary directory that is removed afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startArbiter } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const toDocs = process.env.ARBITER_SCREENSHOTS === 'docs';
const imgDir = toDocs ? path.resolve(here, '../../docs/img') : mkdtempSync(path.join(os.tmpdir(), 'arbiter-shots-'));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

// shoot saves a screenshot of the page from the top, at most maxHeight CSS pixels
// tall (the request log below makes a full page very long).
async function shoot(page, name, maxHeight) {
  const { width, height } = await page.evaluate(() => ({ width: document.documentElement.clientWidth, height: document.documentElement.scrollHeight }));
  await page.screenshot({ path: path.join(imgDir, name), fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(height, maxHeight) } });
}

let arb;
let browser;

before(async () => {
  arb = await startArbiter({ requests: 80 });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  mkdirSync(imgDir, { recursive: true });
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await arb?.stop();
  if (!toDocs) rmSync(imgDir, { recursive: true, force: true });
});

// api calls the analytics API with the admin key as a bearer token.
async function api(p) {
  const res = await fetch(new URL('api/' + p, arb.dashboard), { headers: { Authorization: `Bearer ${arb.adminKey}` } });
  assert.equal(res.status, 200, `GET ${p}: ${res.status}`);
  return res.json();
}

// allRequests walks the request log through its cursor.
async function allRequests(query) {
  const out = [];
  let cursor = '';
  for (;;) {
    const page = await api(`requests?${query}&limit=200&cursor=${encodeURIComponent(cursor)}`);
    out.push(...page.records);
    if (!page.next) return out;
    cursor = page.next;
  }
}

async function login(page) {
  await page.goto(arb.dashboard);
  assert.match(page.url(), /\/dashboard\/login$/, 'the page redirects to the login form without a session');
  await page.fill('#key', arb.adminKey);
  await Promise.all([page.waitForURL(/\/dashboard\/$/), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
}

test('nothing of the dashboard answers without the admin key', async () => {
  for (const p of ['api/summary', 'api/requests', 'api/health']) {
    const res = await fetch(new URL(p, arb.dashboard));
    assert.equal(res.status, 401, p);
    assert.equal((await res.json()).error.type, 'authentication_error');
  }
  for (const p of ['', 'assets/app.js']) {
    const res = await fetch(new URL(p, arb.dashboard), { redirect: 'manual' });
    assert.equal(res.status, 303, p);
    assert.match(res.headers.get('location'), /\/dashboard\/login$/);
  }
  const wrong = await fetch(new URL('login', arb.dashboard), {
    method: 'POST', body: new URLSearchParams({ key: 'arb-admin-wrong' }), redirect: 'manual',
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
});

test('the dashboard shows the ledger\'s figures, filters the log and opens a request', { timeout: 180_000 }, async () => {
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e));
  // A blocked script or style (the page's Content-Security-Policy) is a console error.
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await login(page);

  const [cookie] = (await context.cookies()).filter((c) => c.name === 'arbiter_dashboard');
  assert.ok(cookie, 'a session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/dashboard');
  assert.ok(!cookie.value.includes(arb.adminKey));

  // The ledger's own totals: the summary API, checked against the sum of every
  // request in the log, to the nanodollar.
  const summary = await api('summary?range=24h&interval=none');
  const t = summary.totals;
  const log = await allRequests('range=24h');
  assert.ok(t.requests > 0, 'the demo workload reached the ledger');
  assert.equal(log.length, t.requests, 'the log holds every request the totals count');
  const sum = (k) => log.reduce((a, r) => a + BigInt(r[k]), 0n);
  assert.equal(sum('cost_nanousd'), BigInt(t.cost.nanousd));
  assert.equal(sum('baseline_cost_nanousd'), BigInt(t.baseline_cost.nanousd));
  assert.equal(sum('saved_nanousd'), BigInt(t.saved.nanousd));

  // The headline figures on the page are those totals.
  const kpi = async (id, attr) => page.getAttribute(id, attr);
  assert.equal(await kpi('#kpi-spend', 'data-usd'), t.cost.usd);
  assert.equal(await kpi('#kpi-baseline', 'data-usd'), t.baseline_cost.usd);
  assert.equal(await kpi('#kpi-saved', 'data-usd'), t.saved.usd);
  assert.equal(Number(await kpi('#kpi-requests', 'data-value')), t.requests);
  assert.equal(Number(await kpi('#kpi-cache', 'data-value')), t.cache_hit_rate);
  assert.equal(Number(await kpi('#kpi-errors', 'data-value')), t.error_rate);
  assert.equal(Number(await kpi('#kpi-latency', 'data-p99')), t.latency_p99_ms);
  assert.equal((await page.textContent('#kpi-requests')).replace(/\D/g, ''), String(t.requests));
  assert.equal(await page.textContent('#kpi-cache'), (t.cache_hit_rate * 100).toFixed(1) + '%');
  assert.equal(await page.textContent('#kpi-saved-pct'), t.saved_percent.toFixed(1) + '% of the baseline');
  // Every chart was drawn.
  for (const id of ['chart-spend', 'chart-savings', 'chart-models', 'chart-reasons', 'chart-cache', 'chart-latency']) {
    assert.ok(await page.evaluate((i) => !!window.Chart.getChart(i), id), `${id} is drawn`);
  }
  assert.ok(await page.locator('#health tbody tr').count() > 0, 'provider health rows');

  await shoot(page, 'dashboard-desktop-light.png', 2100);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor !== 'rgb(245, 246, 248)');
  await shoot(page, 'dashboard-desktop-dark.png', 2100);
  await page.emulateMedia({ colorScheme: 'light' });

  // Filter the log by the most used model: every row shows it and the count is the
  // ledger's.
  const byModel = await api('summary?range=24h&interval=none&by=model');
  const model = byModel.groups.slice().sort((a, b) => b.totals.requests - a.totals.requests)[0].key;
  const want = await allRequests(`range=24h&model=${encodeURIComponent(model)}`);
  await page.selectOption('#f-model', model);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/requests?') && r.url().includes('model=')),
    page.click('#log-filter button[type=submit]'),
  ]);
  await page.waitForSelector('#log[data-state="ready"]');
  while (await page.isVisible('#log-more')) {
    await page.click('#log-more');
    await page.waitForSelector('#log[data-state="ready"]');
  }
  const rows = page.locator('#log tbody tr');
  assert.equal(await rows.count(), want.length, `rows for model ${model}`);
  for (const text of await rows.locator('td:nth-child(2)').allTextContents()) {
    assert.ok(text.endsWith(model), `row model ${text} is ${model}`);
  }

  // Open the first request: its route decision, attempts, tokens, cost and cache
  // status are shown, and no key is.
  const id = await rows.first().getAttribute('data-id');
  await rows.first().click();
  await page.waitForSelector(`#detail[open][data-id="${id}"]`);
  const detail = await page.textContent('#detail');
  const rec = await api(`requests/${encodeURIComponent(id)}`);
  for (const s of ['Route decision', 'Attempts', 'Tokens', 'Cost', 'Cache', rec.served_model, rec.cache, '$' + rec.cost_usd, '$' + rec.baseline_cost_usd]) {
    assert.ok(detail.includes(s), `the details show ${s}`);
  }
  assert.ok(!detail.includes(arb.adminKey) && !detail.includes('emulator-key'), 'no key in the details');
  await page.screenshot({ path: path.join(imgDir, 'dashboard-request-details.png') });
  await page.click('#detail-close');

  // Phone width, light and dark, with the same session.
  const phone = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'light' });
  await phone.addCookies(await context.cookies());
  const pp = await phone.newPage();
  pp.on('pageerror', (e) => pageErrors.push(e));
  await pp.goto(arb.dashboard);
  await pp.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
  assert.equal(await pp.getAttribute('#kpi-spend', 'data-usd'), t.cost.usd);
  const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the phone layout does not scroll sideways (${overflow}px too wide)`);
  await shoot(pp, 'dashboard-phone-light.png', 3400);
  await pp.emulateMedia({ colorScheme: 'dark' });
  await pp.waitForFunction(() => getComputedStyle(document.body).backgroundColor !== 'rgb(245, 246, 248)');
  await shoot(pp, 'dashboard-phone-dark.png', 3400);
  await phone.close();

  // Signing out ends the session on the server.
  await Promise.all([page.waitForURL(/\/dashboard\/login$/), page.click('.logout button')]);
  const after = await fetch(new URL('api/health', arb.dashboard), { headers: { Cookie: `arbiter_dashboard=${cookie.value}` } });
  assert.equal(after.status, 401, 'the old session cookie no longer works');
  await context.close();
  assert.deepEqual(pageErrors.map(String), [], 'no script or policy errors on the page');
});
