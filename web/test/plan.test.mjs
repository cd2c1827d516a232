// The plan view (#/plan/ID, issue 23) in headless Chromium: a plan is made
// through the API (needs a staff token: FUNKPLAN_WEB_TEST_TOKEN; without
// one the test is skipped and says why), then the page must show its sites
// numbered by rank on the map and in the table, with the API's gains.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ARTIFACTS, baseUrl, launch, watchedPage } from './browser.mjs';
import { formatCount, formatKm2, formatShare, normSpace } from '../src/format.js';

const BASE = baseUrl();
const TOKEN = process.env.FUNKPLAN_WEB_TEST_TOKEN;
let browser;

before(async () => { if (TOKEN) browser = await launch(); });
after(async () => { await browser?.close(); });

describe('plan view', () => {
  test('a plan: sites numbered by rank on the map, gains and cumulative figures as the API says', { skip: TOKEN ? false : 'FUNKPLAN_WEB_TEST_TOKEN (a staff token) is not set' }, async () => {
    const res = await fetch(new URL('/api/v1/plans', BASE), {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ technology: '5g', budget: 3 }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const kept = await res.json();
    const sites = kept.plan.sites;
    assert.ok(sites.length > 0, 'the demo has 5G dead spots');
    const { page, problems } = await watchedPage(browser.context);
    await page.goto(new URL(`/#/plan/${kept.id}`, BASE).href);
    await page.waitForFunction(() => window.__funkplan?.ready?.plan === true, null, { timeout: 30000 });
    const rows = await page.$$eval('table.plan-sites tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.replace(/[\s\u00a0\u202f]+/g, ' ').trim())));
    assert.equal(rows.length, sites.length);
    sites.forEach((s, i) => {
      assert.equal(rows[i][0], String(s.rank));
      assert.equal(rows[i][1], s.id);
      assert.equal(rows[i][4], normSpace(formatCount(s.households)));
      assert.equal(rows[i][5], normSpace(formatKm2(s.area_km2)));
      assert.equal(rows[i][8], normSpace(formatShare(s.cumulative_share)));
    });
    // One numbered marker per site, in rank order.
    const marks = await page.$$eval('.plan-rank', (ms) => ms.map((m) => m.textContent));
    assert.deepEqual(marks, sites.map((s) => String(s.rank)));
    await page.screenshot({ path: path.join(ARTIFACTS, 'plan.png'), fullPage: true });
    assert.deepEqual(problems, [], problems.join('\n'));
    await page.close();
  });
});
