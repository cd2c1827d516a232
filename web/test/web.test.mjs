// End-to-end tests of the web app in headless Chromium against a running
// `funkplan serve` with demo data (FUNKPLAN_WEB_TEST_URL). Every page is
// checked for console errors and failed requests; screenshots go to
// artifacts/web/ on every run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  ARTIFACTS, axeViolations, baseUrl, countPixels, getJson, hexToRgb, launch, watchedPage,
} from './browser.mjs';
import {
  formatCount, formatDate, formatDateTime, formatGoal, formatMonth, formatKm2, formatRate, formatShare, formatValue, normSpace, SOURCE,
} from '../src/format.js';
import { COLORS, BACKGROUND, DIFF_COLORS, LOCALE_DE, NO_DATA, cellId, GRID_MIN_ZOOM } from '../src/mapstyle.js';
import { SITE_MIN_ZOOM } from '../src/map.js';
import { readPdf } from './pdf.mjs';

const BASE = baseUrl();
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const shot = (name) => path.join(ARTIFACTS, `${name}.png`);
const text = async (loc) => normSpace(await loc.innerText());

function assertClean(problems, what) {
  assert.deepEqual(problems, [], `${what}: console errors or failed requests:\n${problems.join('\n')}`);
}

async function waitReady(page, key, timeout = 30000) {
  await page.waitForFunction((k) => window.__funkplan?.ready?.[k] === true, key, { timeout });
}

/** The figures of a municipality as the page must show them. */
function expectedFigures(m) {
  const e = {
    households: formatCount(m.households),
    area: formatKm2(m.area_km2),
    'dead-spots': formatKm2(m.coverage?.lte?.dead_spot_area_km2),
    source: SOURCE[m.source] ?? m.source ?? '–',
    computed_at: formatDateTime(m.computed_at),
  };
  for (const tech of ['5g', 'lte']) {
    const c = m.coverage?.[tech] ?? {};
    e[`${tech}.households_covered`] = formatCount(c.households_covered);
    e[`${tech}.household_share`] = formatShare(c.household_share);
    e[`${tech}.area_share`] = formatShare(c.area_share);
    e[`${tech}.scenario_household_share`] = formatShare(m.scenario?.[tech]?.household_share);
  }
  for (const [st, n] of Object.entries(m.sites ?? {})) e[`site.${st}`] = formatCount(n);
  for (const [k, by] of Object.entries(m.measures ?? {})) {
    for (const [st, n] of Object.entries(by)) e[`measure.${k}.${st}`] = formatCount(n);
  }
  for (const tech of ['5g', 'lte']) {
    for (const [op, v] of Object.entries(m.coverage?.[tech]?.operators ?? {})) {
      e[`op.${tech}.${op}.household_share`] = formatShare(v.household_share);
      e[`op.${tech}.${op}.area_share`] = formatShare(v.area_share);
    }
  }
  for (const k of Object.keys(e)) e[k] = normSpace(e[k]);
  return e;
}

/** The same figures as read from the page. */
async function shownFigures(page) {
  return page.evaluate(() => {
    const t = (n) => (n ? n.textContent.replace(/[\s\u00a0\u202f]+/g, ' ').trim() : null);
    const s = document.querySelector('.gemeinde');
    const out = {};
    for (const f of ['households', 'area', 'dead-spots', 'source', 'computed_at']) out[f] = t(s.querySelector(`[data-field="${f}"]`));
    for (const tr of s.querySelectorAll('table.coverage tr[data-tech]')) {
      for (const td of tr.querySelectorAll('td[data-field]')) out[`${tr.dataset.tech}.${td.dataset.field}`] = t(td);
    }
    for (const tr of s.querySelectorAll('table.sites tr[data-status]')) out[`site.${tr.dataset.status}`] = t(tr.querySelector('td'));
    for (const tr of s.querySelectorAll('table.measures tr[data-kind]')) {
      for (const td of tr.querySelectorAll('td[data-status]')) out[`measure.${tr.dataset.kind}.${td.dataset.status}`] = t(td);
    }
    for (const tb of s.querySelectorAll('table.operators')) {
      for (const tr of tb.querySelectorAll('tr[data-operator]')) {
        for (const td of tr.querySelectorAll('td[data-field]')) out[`op.${tb.dataset.tech}.${tr.dataset.operator}.${td.dataset.field}`] = t(td);
      }
    }
    out.name = t(s.querySelector('h1'));
    return out;
  });
}

function assertFigures(shown, m, where) {
  const want = expectedFigures(m);
  assert.ok(shown.name.startsWith(m.name), `${where}: heading ${shown.name} names ${m.name}`);
  for (const [k, v] of Object.entries(want)) {
    assert.equal(shown[k], v, `${where}: ${k} shows ${shown[k]}, the API says ${v}`);
  }
}

/**
 * A municipality worth looking at: among a sample, one with LTE dead spots
 * if any, then the one with most sites.
 */
async function pickMunicipality() {
  const list = await getJson(`${BASE}/api/v1/municipalities?limit=1000`);
  assert.ok(list.length > 0, 'the server has municipalities');
  const step = Math.max(1, Math.floor(list.length / 40));
  let best = null;
  for (let i = 0; i < list.length; i += step) {
    const m = await getJson(`${BASE}/api/v1/municipalities/${list[i].ags}`);
    const score = ((m.coverage?.lte?.dead_spot_area_km2 ?? 0) > 0 ? 1e9 : 0)
      + Object.values(m.sites ?? {}).reduce((a, b) => a + b, 0);
    if (!best || score > best.score) best = { m, score };
  }
  return best;
}

describe('Funkplan web app', () => {
  test('the served bundle carries no source map (production build)', async () => {
    const js = await fetch(`${BASE}/app.js`);
    assert.equal(js.status, 200);
    assert.ok(!(await js.text()).includes('sourceMappingURL'), 'app.js points to a source map');
    // Unknown paths answer index.html (client routes); a map must not be there.
    const map = await fetch(`${BASE}/app.js.map`);
    const body = await map.text();
    assert.ok(!body.startsWith('{"version":3'), `app.js.map is served (${body.length} bytes)`);
  });

  test('dashboard: one card per target with the API numbers', async () => {
    const { page, problems } = await watchedPage(browser.context);
    await page.goto(`${BASE}/`);
    await waitReady(page, 'dashboard');
    await page.screenshot({ path: shot('dashboard'), fullPage: true });
    const targets = await getJson(`${BASE}/api/v1/targets`);
    assert.ok(targets.length >= 5, `five targets or more, got ${targets.length}`);
    assert.equal(await page.locator('article.card').count(), targets.length);
    for (const t of targets) {
      const card = page.locator(`article.card[data-target="${t.id}"]`);
      const field = (f) => text(card.locator(`[data-field="${f}"]`));
      assert.equal(await text(card.locator('h2')), normSpace(t.title));
      assert.equal(await field('current'), normSpace(formatValue(t.current_value, t.unit)), `${t.id}: current value`);
      assert.equal(await field('goal'), normSpace(formatGoal(t)), `${t.id}: goal`);
      assert.equal(await field('deadline'), formatDate(t.deadline), `${t.id}: deadline`);
      assert.equal(await field('progress'), normSpace(formatShare(t.progress)), `${t.id}: progress`);
      const bar = card.locator('[role=progressbar]');
      assert.equal(Number(await bar.getAttribute('aria-valuenow')), Math.round(t.progress * 1000) / 10, `${t.id}: progress bar`);
      if (t.forecast && typeof t.forecast.value_at_deadline === 'number') {
        assert.equal(await field('forecast'), normSpace(formatValue(t.forecast.value_at_deadline, t.unit)), `${t.id}: forecast`);
      }
      const f = t.forecast ?? {};
      if (typeof f.rate_actual_per_month === 'number') {
        assert.equal(await field('rate-actual'), normSpace(formatRate(f.rate_actual_per_month, t.unit)), `${t.id}: rate achieved`);
      }
      if (typeof f.rate_needed_per_month === 'number') {
        assert.equal(await field('rate-needed'), normSpace(formatRate(f.rate_needed_per_month, t.unit)), `${t.id}: rate needed`);
      }
      const v = await field('verdict');
      assert.match(v, /^(im Plan|erreicht|Frist verfehlt|zur Frist erreicht|Frist verstrichen, \d+ Monate? Verzug|voraussichtlich \d+ Monate? Verzug|nicht im Plan)/, `${t.id}: verdict "${v}"`);
      if (t.met && t.met_on) assert.match(v, new RegExp(`${formatMonth(t.met_on)}|${formatDate(t.met_on)}`), `${t.id}: verdict names when it was met`);
      if (!t.met && t.deadline < new Date().toISOString().slice(0, 10)) assert.match(v, /^(Frist verstrichen, \d+ Monate? Verzug|zur Frist erreicht)/, `${t.id}: late`);
      const missed = t.deadline_passed && t.met_at_deadline === false;
      const cls = await card.getAttribute('class');
      const colour = await card.locator('[data-field="verdict"]').evaluate((n) => getComputedStyle(n).color);
      if (missed) {
        // Missed at the deadline reads as missed, in words and colour, whatever happened later.
        assert.match(v, t.met ? /^Frist verfehlt \(zur Frist / : /^Frist verstrichen, .*\(zur Frist /, `${t.id}: missed at the deadline`);
        assert.ok(v.includes(normSpace(formatValue(t.forecast.value_at_deadline, t.unit))), `${t.id}: value at the deadline named in "${v}"`);
        assert.match(cls, t.met ? /verdict-missed/ : /verdict-late/);
        assert.notEqual(colour, 'rgb(26, 127, 55)', `${t.id}: a missed deadline is not green`);
        if (t.met) assert.match(v, /erreicht (im|am) .* nach der Frist$/, `${t.id}: the catch-up shown as such`);
        assert.match(await field('progress-at-deadline'), /%$/);
      } else if (t.met) {
        assert.match(v, /^erreicht/, `${t.id} is met`);
        assert.equal(colour, 'rgb(26, 127, 55)', `${t.id}: met is green`);
      } else assert.doesNotMatch(v, /^erreicht/, `${t.id} is not met`);
      // The burn-up chart is drawn when there is history.
      const hist = await getJson(`${BASE}/api/v1/targets/${t.id}/history`);
      const points = Array.isArray(hist) ? hist : hist.series ?? hist.history ?? [];
      if (points.length > 0) {
        assert.equal(await card.locator('.chart canvas').count(), 1, `${t.id}: chart`);
        const chart = await page.evaluate((id) => {
          const u = window.__funkplan.charts[id];
          return { yMin: u.scales.y.min, forecast: u.data[3].filter((v) => v != null).length };
        }, t.id);
        assert.equal(chart.yMin, 0, `${t.id}: the value axis starts at zero`);
        if (t.deadline_passed) assert.equal(chart.forecast, 0, `${t.id}: no forecast drawn after a passed deadline`);
        // The values can be read by keyboard: End jumps to the last month.
        await card.locator('.chart-canvas').focus();
        await page.keyboard.press('End');
        const said = await field('chart-readout');
        const last = [...points].sort((a, b) => a.month.localeCompare(b.month)).at(-1);
        assert.match(said, new RegExp(`^${formatMonth(last.month)}, Verlauf ${normSpace(formatValue(last.value, t.unit)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${t.id}: keyboard readout "${said}"`);
      }
    }
    assertClean(problems, 'dashboard');
    await page.close();
  });

  test('map: municipalities drawn as a choropleth, hover and click open a municipality', async () => {
    const { page, problems } = await watchedPage(browser.context);
    await page.goto(`${BASE}/#/karte`);
    await waitReady(page, 'map', 60000);
    const mapBox = page.locator('#map');
    await page.screenshot({ path: shot('map') });
    const png = await mapBox.screenshot();
    // The state fills a good part of the frame with polygons in the
    // choropleth's colours (grey where a municipality has no figure).
    const px = await countPixels(page, png, [...COLORS, NO_DATA].map(hexToRgb), hexToRgb(BACKGROUND));
    assert.ok(px.matching / px.total > 0.15, `polygon pixels: ${px.matching} of ${px.total}`);
    const muni = await getJson(`${BASE}/ogc/collections/municipalities/items?limit=1000`);
    const withShare = muni.features.filter((f) => typeof f.properties.household_share_5g === 'number').length;
    if (withShare > 0) {
      const coloured = await countPixels(page, png, COLORS.map(hexToRgb), hexToRgb(BACKGROUND));
      assert.ok(coloured.matching / coloured.total > 0.15 * (withShare / muni.features.length),
        `${withShare} municipalities have a 5G share; choropleth pixels: ${coloured.matching} of ${coloured.total}`);
    }
    const rendered = await page.evaluate(() => {
      const m = window.__funkplan.maps.main;
      return new Set(m.queryRenderedFeatures({ layers: ['muni-fill'] }).map((f) => f.properties.ags)).size;
    });
    assert.ok(rendered >= Math.min(muni.features.length, 10), `rendered ${rendered} of ${muni.features.length} municipalities`);
    // Legend and a switch of the measure.
    assert.match(await text(page.locator('.legend')), /5G – Haushalte/);
    const withLte = muni.features.some((f) => typeof f.properties.household_share_lte === 'number');
    const lteOption = page.locator('#map-measure option[value="lte_hh"]');
    assert.equal(await lteOption.isDisabled(), !withLte, 'the LTE switch is offered exactly when there are LTE figures');
    if (withLte) {
      await page.selectOption('#map-measure', 'lte_hh');
      assert.match(await text(page.locator('.legend')), /LTE – Haushalte/);
      await page.selectOption('#map-measure', '5g_hh');
    }
    // Sites by status, filtered by status and operator.
    const siteStats = () => page.evaluate(() => {
      const fs = window.__funkplan.maps.main.queryRenderedFeatures({ layers: ['sites'] });
      const by = (k) => fs.reduce((a, f) => { a[f.properties[k]] = (a[f.properties[k]] ?? 0) + 1; return a; }, {});
      return { n: fs.length, status: by('status'), operator: by('operator') };
    });
    const sites = await getJson(`${BASE}/ogc/collections/sites/items?limit=1`);
    // At state zoom no site is drawn (they would hide the colouring); the note says to zoom in.
    if ((await page.evaluate(() => window.__funkplan.maps.main.getZoom())) < SITE_MIN_ZOOM) {
      assert.equal((await siteStats()).n, 0, 'no sites at state zoom');
      assert.match(await text(page.locator('#map-note')), /hineinzoomen/);
    }
    // Zoom to a municipality with sites: they load for that view.
    const home = await page.evaluate(() => { const m = window.__funkplan.maps.main; return { center: m.getCenter().toArray(), zoom: m.getZoom() }; });
    if (sites.numberMatched > 0) {
      const [lon, lat] = sites.features[0].geometry.coordinates;
      await page.evaluate(([x, y]) => window.__funkplan.maps.main.jumpTo({ center: [x, y], zoom: 11 }), [lon, lat]);
      await page.locator('#map-note', { hasText: /Standorte im Ausschnitt/ }).waitFor({ timeout: 30000 });
      await page.evaluate(() => new Promise((r) => { const m = window.__funkplan.maps.main; m.once('idle', r); m.triggerRepaint(); }));
    }
    const all = await siteStats();
    if (sites.numberMatched > 0) {
      assert.ok(all.n > 0, 'sites are drawn');
      assert.ok((all.status.on_air ?? 0) > 0, `sites on air are drawn: ${JSON.stringify(all.status)}`);
      // Wait until the map has applied the filter (fails by timeout if never).
      const settled = (pred) => page.waitForFunction(pred, null, { timeout: 15000 });
      await page.locator('#filter-status label', { hasText: 'in Betrieb' }).locator('input').uncheck();
      await settled(() => window.__funkplan.maps.main.queryRenderedFeatures({ layers: ['sites'] }).every((f) => f.properties.status !== 'on_air'));
      const noOnAir = await siteStats();
      assert.equal(noOnAir.status.on_air ?? 0, 0, 'status filter hides sites on air');
      assert.ok(noOnAir.n > 0 && noOnAir.n < all.n, `other statuses stay: ${JSON.stringify(noOnAir.status)}`);
      await page.locator('#filter-operator label', { hasText: 'Telekom' }).locator('input').uncheck();
      await settled(() => window.__funkplan.maps.main.queryRenderedFeatures({ layers: ['sites'] }).every((f) => f.properties.operator !== 'telekom'));
      const noTelekom = await siteStats();
      assert.equal(noTelekom.operator.telekom ?? 0, 0, 'operator filter hides Telekom');
      await page.screenshot({ path: shot('map-filtered') });
      await page.locator('#filter-status label', { hasText: 'in Betrieb' }).locator('input').check();
      await page.locator('#filter-operator label', { hasText: 'Telekom' }).locator('input').check();
    }
    // Back to the whole view.
    await page.evaluate((h) => window.__funkplan.maps.main.jumpTo(h), home);
    await page.evaluate(() => new Promise((r) => { const m = window.__funkplan.maps.main; m.once('idle', r); m.triggerRepaint(); }));
    assert.match(await text(page.locator('.legend')), /LTE-Funkloch/, 'dead spots in the legend');
    // LTE dead spots as a layer.
    const dead = await getJson(`${BASE}/ogc/collections/dead-spots/items?limit=1`);
    if (dead.numberMatched > 0) {
      const n = await page.evaluate(() => window.__funkplan.maps.main.queryRenderedFeatures({ layers: ['dead-fill'] }).length);
      assert.ok(n > 0, 'dead spots are drawn');
    }
    // The scenario (every planned measure completed) from the municipality figures.
    await page.selectOption('#map-measure', 'sc_5g_hh');
    await page.locator('.legend', { hasText: 'Szenario 5G – Haushalte' }).waitFor();
    await page.locator('#map-note', { hasText: /Szenario:|keine Zahlen/ }).waitFor();
    const one = await getJson(`${BASE}/api/v1/municipalities/${muni.features[0].id}`);
    if (typeof one.scenario?.['5g']?.household_share === 'number') {
      await page.waitForFunction(() => window.__funkplan.maps.main.loaded());
      const sc = await countPixels(page, await mapBox.screenshot({ path: shot('map-scenario') }), COLORS.map(hexToRgb), hexToRgb(BACKGROUND));
      assert.ok(sc.matching / sc.total > 0.1, `scenario choropleth pixels: ${sc.matching} of ${sc.total}`);
    }
    // The scenario's gain over today: one colour class per step of percentage points.
    if (typeof one.scenario?.['5g']?.household_share === 'number') {
      await page.locator('#map-diff').check();
      await page.locator('.legend', { hasText: 'Zuwachs gegenüber heute' }).waitFor();
      await page.waitForFunction(() => JSON.stringify(window.__funkplan.maps.main.getPaintProperty('muni-fill', 'fill-color')).includes('d_sc_5g_hh'));
      await page.evaluate(() => new Promise((r) => { const m = window.__funkplan.maps.main; m.once('idle', r); m.triggerRepaint(); }));
      const shown = await page.evaluate((ags) => window.__funkplan.maps.main.querySourceFeatures('municipalities').find((f) => f.properties.ags === ags)?.properties.d_sc_5g_hh, one.ags);
      assert.ok(Math.abs(shown - Math.max(0, one.scenario['5g'].household_share - one.coverage['5g'].household_share)) < 1e-9, `difference of ${one.ags}: ${shown}`);
      const px = await countPixels(page, await mapBox.screenshot({ path: shot('map-scenario-diff') }), DIFF_COLORS.map(hexToRgb), hexToRgb(BACKGROUND));
      assert.ok(px.matching / px.total > 0.1, `difference pixels: ${px.matching} of ${px.total}`);
      await page.locator('#map-diff').uncheck();
    }
    // The date control: a past release recolours the municipalities with
    // the server's figures at that date; without releases it stays hidden.
    const rs = await getJson(`${BASE}/api/v1/releases`);
    if (rs.length === 0) {
      assert.equal(await page.locator('fieldset.date-filter').isHidden(), true);
    } else {
      await page.selectOption('#map-measure', '5g_hh');
      await page.locator('fieldset.date-filter').waitFor();
      const first = rs[0].as_of;
      const at = await getJson(`${BASE}/api/v1/coverage?as_of=${first}`);
      await page.locator('#map-date').evaluate((e) => { e.value = '0'; e.dispatchEvent(new Event('input', { bubbles: true })); });
      await page.locator('#map-note', { hasText: `Stand ${formatDate(first)}` }).waitFor();
      await page.evaluate(() => new Promise((r) => { const m = window.__funkplan.maps.main; m.once('idle', r); m.triggerRepaint(); }));
      const probe = at.municipalities.find((m) => typeof m.household_share_5g === 'number');
      const shown = await page.evaluate((ags) => window.__funkplan.maps.main.querySourceFeatures('municipalities').find((f) => f.properties.ags === ags)?.properties.m_5g_hh, probe.ags);
      assert.ok(Math.abs(shown - probe.household_share_5g) < 1e-9, `5G share of ${probe.ags} at ${first}: ${shown} vs ${probe.household_share_5g}`);
      await page.screenshot({ path: shot('map-date') });
      // Back to today.
      await page.locator('#map-date').evaluate((e) => { e.value = e.max; e.dispatchEvent(new Event('input', { bubbles: true })); });
      await page.locator('#map-note', { hasText: 'Stand heute' }).waitFor();
    }
    // Back to 5G households (without figures yet the option is disabled:
    // set it as the page would).
    await page.evaluate(() => {
      const sel = document.getElementById('map-measure');
      sel.value = '5g_hh';
      sel.dispatchEvent(new Event('change'));
    });
    await page.locator('.legend', { hasText: /^5G – Haushalte/ }).waitFor();
    // Hover over the middle of a municipality shows its name and share.
    const target = await page.evaluate(() => {
      const m = window.__funkplan.maps.main;
      const c = m.getCanvas();
      const f = m.queryRenderedFeatures([c.clientWidth / 2, c.clientHeight / 2], { layers: ['muni-fill'] })[0];
      return f ? { ags: f.properties.ags, name: f.properties.name } : null;
    });
    assert.ok(target, 'a municipality in the middle of the map');
    const box = await mapBox.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('.hover-popup').waitFor();
    await page.screenshot({ path: shot('map-hover') });
    assert.match(await text(page.locator('.hover-popup')), new RegExp(`${target.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*5G – Haushalte: (\\d[\\d.,]* %|keine Angabe)`));
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForURL(`**/#/gemeinde/${target.ags}`);
    await waitReady(page, 'gemeinde');
    assertClean(problems, 'map');
    await page.close();
  });

  test('map: the 100 m grid from vector tiles, LTE/5G switch, hover shows a cell and its operators', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const tiles = [];
    page.on('response', (r) => { if (r.url().includes('/tiles/coverage/')) tiles.push(r.status()); });
    await page.goto(`${BASE}/#/karte`);
    await waitReady(page, 'map', 60000);
    // No grid tiles are asked for below the grid's zoom.
    assert.deepEqual(tiles, [], 'coverage tiles requested below zoom 12');
    // Düsseldorf's centre, zoomed in to where the cells are readable.
    await page.evaluate((z) => window.__funkplan.maps.main.jumpTo({ center: [6.78, 51.225], zoom: z + 1 }), GRID_MIN_ZOOM);
    await page.waitForFunction(() => {
      const m = window.__funkplan.maps.main;
      return m.loaded() && m.queryRenderedFeatures({ layers: ['grid-fill'] }).length > 100;
    }, null, { timeout: 60000 });
    assert.ok(tiles.length > 0 && tiles.every((s) => s === 200 || s === 204), `tile answers ${tiles}`);
    await page.screenshot({ path: shot('map-grid') });
    const cell = await page.evaluate(() => {
      const m = window.__funkplan.maps.main;
      const c = m.getCanvas();
      const f = m.queryRenderedFeatures([c.clientWidth / 2, c.clientHeight / 2], { layers: ['grid-fill'] })[0];
      return f ? { id: f.id, lte: f.properties.lte, nr: f.properties['5g'] } : null;
    });
    assert.ok(cell, 'a grid cell in the middle of the map');
    const mapBox = page.locator('#map');
    const box = await mapBox.boundingBox();
    await page.mouse.move(box.x + box.width / 2 + 1, box.y + box.height / 2);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const popup = page.locator('.hover-popup', { hasText: 'Rasterzelle' });
    await popup.waitFor();
    const shown = await text(popup);
    assert.ok(shown.includes(`Rasterzelle ${cellId(cell.id)}`), shown);
    const say = (n) => (n === 0 ? 'Funkloch' : n === 1 ? 'nur ein Netzbetreiber' : `${n} Netzbetreiber`);
    assert.ok(shown.includes(`LTE: ${say(cell.lte)}`) && shown.includes(`5G: ${say(cell.nr)}`), shown);
    // The LTE/5G switch recolours the cells and the legend says which.
    await page.locator('#grid-legend', { hasText: 'Versorgung im 100-m-Raster: LTE' }).waitFor();
    await page.selectOption('#grid-tech', '5g');
    await page.locator('#grid-legend', { hasText: 'Versorgung im 100-m-Raster: 5G' }).waitFor();
    const paint = await page.evaluate(() => JSON.stringify(window.__funkplan.maps.main.getPaintProperty('grid-fill', 'fill-color')));
    assert.ok(paint.includes('"5g"'), paint);
    // Names to orient by, drawn as HTML (no glyphs fetched from outside).
    assert.ok(await page.locator('.map-label.label-muni', { hasText: 'Düsseldorf' }).count() > 0, 'Düsseldorf labelled');
    await page.screenshot({ path: shot('map-grid-5g') });
    assertClean(problems, 'map grid');
    await page.close();
  });

  let chosen;
  let shownViaSearch;
  test('search by name with the keyboard opens the municipality with its API figures', async () => {
    const best = await pickMunicipality();
    chosen = best.m;
    const { page, problems } = await watchedPage(browser.context);
    await page.goto(`${BASE}/`);
    await waitReady(page, 'dashboard');
    const input = page.locator('#search-input');
    await input.focus();
    await input.pressSequentially(chosen.name.slice(0, Math.max(3, chosen.name.length - 2)), { delay: 20 });
    const options = page.locator('#search-list [role=option][data-ags]');
    await options.first().waitFor();
    const agsList = await options.evaluateAll((els) => els.map((e) => e.dataset.ags));
    const idx = agsList.indexOf(chosen.ags);
    assert.ok(idx >= 0, `${chosen.name} (${chosen.ags}) among the suggestions ${agsList.join(', ')}`);
    for (let i = 0; i <= idx; i++) await input.press('ArrowDown');
    assert.equal(await input.getAttribute('aria-activedescendant'), `search-opt-${idx}`);
    await input.press('Enter');
    await page.waitForURL(`**/#/gemeinde/${chosen.ags}`);
    await waitReady(page, 'gemeinde');
    // The small map has drawn the municipality and its sites.
    await page.waitForFunction(() => {
      const m = window.__funkplan.maps.gemeinde;
      return m && m.getLayer('sites') && m.loaded() && m.queryRenderedFeatures({ layers: ['muni-fill'] }).length > 0;
    }, null, { timeout: 30000 });
    if ((chosen.coverage?.lte?.dead_spot_area_km2 ?? 0) > 0) {
      await page.waitForFunction(() => window.__funkplan.maps.gemeinde.queryRenderedFeatures({ layers: ['dead-fill'] }).length > 0,
        null, { timeout: 15000 });
    }
    await page.screenshot({ path: shot('municipality'), fullPage: true });
    shownViaSearch = await shownFigures(page);
    assertFigures(shownViaSearch, chosen, 'after search');
    // Search by AGS prefix too; Escape closes the suggestions.
    await input.fill(chosen.ags);
    await page.locator(`#search-list [data-ags="${chosen.ags}"]`).waitFor();
    assert.equal(await input.getAttribute('aria-expanded'), 'true');
    await input.press('Escape');
    assert.equal(await input.getAttribute('aria-expanded'), 'false');
    assert.ok(await page.locator('#search-list').isHidden(), 'suggestions closed');
    // A query matching nothing says so.
    await input.fill('zzzz-keine-gemeinde');
    await page.locator('#search-list li.none', { hasText: 'Keine Gemeinde gefunden' }).waitFor();
    assertClean(problems, 'search');
    await page.close();
  });

  test('a deep link opens the same municipality view', async () => {
    assert.ok(chosen, 'the search test chose a municipality');
    const { page, problems } = await watchedPage(browser.context);
    await page.goto(`${BASE}/#/gemeinde/${chosen.ags}`);
    await waitReady(page, 'gemeinde');
    const shown = await shownFigures(page);
    assertFigures(shown, chosen, 'deep link');
    assert.deepEqual(shown, shownViaSearch);
    assert.match(await page.title(), new RegExp(chosen.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assertClean(problems, 'deep link');
    await page.close();
  });

  test('a district page lists its municipalities, sortable by any figure, and the map colours districts', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const munis = await getJson(`${BASE}/ogc/collections/municipalities/items?limit=1000`);
    // The district with the most municipalities in the demo data.
    const byDistrict = {};
    for (const f of munis.features) byDistrict[f.properties.ags.slice(0, 5)] = (byDistrict[f.properties.ags.slice(0, 5)] ?? 0) + 1;
    const key = Object.entries(byDistrict).sort((a, b) => b[1] - a[1])[0][0];
    const d = await getJson(`${BASE}/api/v1/districts/${key}`);
    await page.goto(`${BASE}/#/kreis/${key}`);
    await waitReady(page, 'gebiet');
    assert.equal(normSpace(await page.locator('h1').innerText()).startsWith(d.name), true);
    assert.equal(await text(page.locator('[data-field="households"]').first()), normSpace(formatCount(d.households)));
    const names = async () => page.locator('table.members tbody th').allInnerTexts();
    assert.equal((await names()).length, d.municipalities.length);
    // Sort by households, largest first, with the keyboard.
    await page.locator('button[data-sort="households"]').focus();
    await page.keyboard.press('Enter');
    const want = [...d.municipalities].sort((a, b) => b.households - a.households).map((m) => m.name);
    assert.deepEqual((await names()).map(normSpace), want.map(normSpace));
    assert.equal(await page.locator('th[aria-sort="descending"] button[data-sort="households"]').count(), 1);
    await page.screenshot({ path: shot('district'), fullPage: true });
    // A municipality links back to its district.
    await page.locator('table.members tbody a').first().click();
    await waitReady(page, 'gemeinde');
    await page.waitForFunction((n) => document.querySelector('[data-field="district"]')?.textContent === n, d.name);
    // The map coloured by district: one feature per district.
    await page.goto(`${BASE}/#/karte`);
    await waitReady(page, 'map', 60000);
    await page.selectOption('#map-level', 'kreise');
    // "… werden geladen" also names the level: wait for the note that says the data is applied.
    await page.waitForFunction(() => /Kreise.*eingefärbt/.test(document.querySelector('#map-note')?.textContent ?? ''));
    const districts = await getJson(`${BASE}/ogc/collections/districts/items?limit=1000`);
    // setData is parsed in a worker: read the rendered features once the map is idle again.
    const renderedCount = () => page.evaluate(() => new Promise((resolve) => {
      const m = window.__funkplan.maps.main;
      m.once('idle', () => resolve(new Set(m.queryRenderedFeatures({ layers: ['muni-fill'] }).map((f) => f.properties.ags)).size));
      m.triggerRepaint();
    }));
    let rendered = await renderedCount();
    for (let i = 0; i < 20 && rendered !== districts.features.length; i++) {
      await page.waitForTimeout(250);
      rendered = await renderedCount();
    }
    assert.equal(rendered, districts.features.length);
    await page.screenshot({ path: shot('map-districts') });
    assertClean(problems, 'district');
    await page.close();
  });

  test('a municipality page compares with its district, the state and the state target', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    const key = m.ags.slice(0, 5);
    const [d, all, targets] = await Promise.all([
      getJson(`${BASE}/api/v1/districts/${key}`),
      getJson(`${BASE}/ogc/collections/municipalities/items?limit=10000`),
      getJson(`${BASE}/api/v1/targets`),
    ]);
    await page.goto(`${BASE}/#/gemeinde/${m.ags}`);
    await waitReady(page, 'gemeinde');
    await page.waitForFunction(() => document.querySelector('table.compare tr[data-row="hh5g"]') !== null);
    const cell = (row, f) => text(page.locator(`table.compare tr[data-row="${row}"] td[data-field="${f}"]`));
    assert.equal(await text(page.locator('table.compare th[data-field="district-name"]')), normSpace(d.name));
    // The municipality's own figures as the API gives them.
    assert.equal(await cell('hh5g', 'value'), normSpace(formatShare(m.coverage['5g'].household_share)));
    assert.equal(await cell('dead', 'value'), normSpace(formatKm2(m.coverage.lte.dead_spot_area_km2)));
    // The district as the district endpoint computes it.
    assert.equal(await cell('hh5g', 'district'), normSpace(formatShare(d.coverage['5g'].household_share)));
    assert.equal(await cell('hhlte', 'district'), normSpace(formatShare(d.coverage.lte.household_share)));
    assert.equal(await cell('area5g', 'district'), normSpace(formatShare(d.coverage['5g'].area_share)));
    assert.equal(await cell('dead', 'district'), normSpace(formatKm2(d.coverage.lte.dead_spot_area_km2)));
    // The state as the sum of all municipalities.
    const ps = all.features.map((f) => f.properties);
    const hh = ps.reduce((a, p) => a + p.households, 0);
    const hh5g = ps.reduce((a, p) => a + p.households_5g, 0);
    assert.equal(await cell('hh5g', 'state'), normSpace(formatShare(hh5g / hh)));
    const target = targets.find((t) => t.metric === 'household_share');
    if (target) assert.equal(await cell('hh5g', 'goal'), normSpace(formatGoal(target)));
    // Rank among the district's municipalities (1 = best), by the district endpoint's list.
    const mine = m.coverage['5g'].household_share;
    const better = d.municipalities.filter((x) => x.household_share_5g > mine).length;
    assert.equal(await cell('hh5g', 'rank'), `${better + 1} von ${d.municipalities.length}`);
    assertClean(problems, 'compare');
    await page.close();
  });

  test('a municipality page lists its sites and measures: filter, sort, show on the map', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    const all = async (coll) => {
      const out = [];
      let url = `${BASE}/ogc/collections/${coll}/items?ags=${m.ags}&limit=1000`;
      while (url) {
        const p = await getJson(url);
        out.push(...p.features.map((f) => f.properties));
        url = p.features.length ? p.links.find((l) => l.rel === 'next')?.href : null;
      }
      return out;
    };
    const [sites, measures] = await Promise.all([all('sites'), all('measures')]);
    await page.goto(`${BASE}/#/gemeinde/${m.ags}`);
    await waitReady(page, 'gemeinde');
    await page.locator('table.sites-list').waitFor();
    const ids = (kind) => page.locator(`table.${kind}-list tbody tr`).evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
    // Every site of the municipality, no other.
    assert.deepEqual([...(await ids('sites'))].sort(), sites.map((p) => p.site_id).sort());
    // Filtered by status.
    await page.selectOption('[data-list="sites"] select[data-filter="status"]', 'on_air');
    assert.deepEqual([...(await ids('sites'))].sort(), sites.filter((p) => p.status === 'on_air').map((p) => p.site_id).sort());
    assert.match(await text(page.locator('[data-field="sites-count"]')), new RegExp(`^${sites.filter((p) => p.status === 'on_air').length} von ${sites.length}`));
    // What is coming: planned measures, soonest first.
    const planned = measures.filter((p) => p.status === 'planned')
      .sort((a, b) => (a.planned_date ?? '9').localeCompare(b.planned_date ?? '9') || a.measure_id.localeCompare(b.measure_id, 'de'));
    if (planned.length) assert.deepEqual(await ids('measures'), planned.map((p) => p.measure_id));
    // Sorted by a column with the keyboard.
    await page.locator('[data-list="sites"] button[data-sort="site_id"]').focus();
    await page.keyboard.press('Enter');
    const desc = sites.filter((p) => p.status === 'on_air').map((p) => p.site_id).sort((a, b) => b.localeCompare(a, 'de'));
    assert.deepEqual(await ids('sites'), desc);
    // A site's id shows it on the map, in a popup with its details.
    const first = desc[0];
    await page.locator(`table.sites-list tr[data-id="${first}"] button`).click();
    await page.locator(`.site-popup[data-site="${first}"]`).waitFor();
    assert.match(await text(page.locator('.site-popup')), /in Betrieb/);
    assert.equal(await page.locator(`table.sites-list tr.picked[data-id="${first}"]`).count(), 1);
    await page.screenshot({ path: shot('municipality-lists'), fullPage: true });
    assertClean(problems, 'lists');
    await page.close();
  });

  test('a municipality report prints on one A4 page: name, figures, comparison, a map that is not blank', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    await page.goto(`${BASE}/#/gemeinde/${m.ags}`);
    await waitReady(page, 'gemeinde');
    await page.locator('table.compare td[data-field="state"]').first().waitFor();
    await page.waitForFunction(() => /\d/.test(document.querySelector('table.compare td[data-field="state"]')?.textContent ?? ''));
    // The map's last frame is the print picture: wait until it holds one.
    await page.waitForFunction(() => window.__funkplan.maps.gemeinde?.getSource('sites') !== undefined);
    await page.evaluate(() => new Promise((r) => { const map = window.__funkplan.maps.gemeinde; map.once('idle', r); map.triggerRepaint(); }));
    await page.waitForFunction(() => { const i = document.querySelector('[data-field="map-print"]'); return i?.complete && i.naturalWidth > 0; });
    assert.equal(await page.locator('button[data-action="print"]').count(), 1);
    const pdf = await page.pdf({ format: 'A4', printBackground: true, path: path.join(ARTIFACTS, `report-${m.ags}.pdf`) });
    const r = await readPdf(pdf);
    writeFileSync(shot('report-page1'), r.png);
    assert.equal(r.pages, 1, `the report takes ${r.pages} pages`);
    assert.ok(r.text.includes(m.name), `name missing in: ${r.text.slice(0, 200)}`);
    assert.ok(r.text.includes(`AGS ${m.ags}`));
    for (const words of ['Haushalte', 'Im Vergleich', 'Landesziel', 'Datenstand', 'GeoBasis-DE']) assert.ok(r.text.includes(words), `"${words}" missing`);
    assert.ok(r.text.includes(normSpace(formatCount(m.households))), 'households figure missing');
    // Navigation and search are not printed.
    assert.ok(!r.text.includes('Gemeinde oder AGS suchen') && !r.text.includes('Bericht als PDF'));
    const map = r.images.find((i) => i.width >= 200 && i.height >= 150);
    assert.ok(map, `no map picture in the PDF (${JSON.stringify(r.images)})`);
    assert.ok(map.colours > 20 && map.share > 0.05, `the map picture looks blank: ${JSON.stringify(map)}`);
    assertClean(problems, 'report');
    await page.close();
  });

  test('a municipality page shows what changed between two coverage releases', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    const rs = await getJson(`${BASE}/api/v1/releases`);
    await page.goto(`${BASE}/#/gemeinde/${m.ags}`);
    await waitReady(page, 'gemeinde');
    const section = page.locator('[data-section="changes"]');
    if (rs.length < 2) {
      // Nothing to compare: the page says so rather than showing zeros.
      await section.locator('[data-field="changes-note"]').waitFor();
      assert.match(await text(section), rs.length ? /noch nichts zu vergleichen/ : /Noch kein Versorgungsstand/);
    } else {
      const [a, b] = [rs[rs.length - 2].as_of, rs[rs.length - 1].as_of];
      const c = await getJson(`${BASE}/api/v1/municipalities/${m.ags}/changes?from=${a}&to=${b}`);
      await section.locator('table.changes-table').waitFor();
      const cell = (row, tech) => text(section.locator(`tr[data-row="${row}"] td[data-tech="${tech}"]`));
      for (const tech of ['5g', 'lte']) {
        const t = c.technologies[tech];
        assert.equal(await cell('households-after', tech), formatCount(t.households_after));
        assert.equal(await cell('households-change', tech), normSpace(`+${formatCount(t.households_gained)} / −${formatCount(t.households_lost)}`));
      }
      // Another pair of releases: the table follows.
      if (rs.length >= 3) {
        const first = rs[0].as_of;
        const c2 = await getJson(`${BASE}/api/v1/municipalities/${m.ags}/changes?from=${first}&to=${b}`);
        await page.selectOption('#changes-from', first);
        await page.waitForFunction((want) => document.querySelector('[data-section="changes"] caption')?.textContent.includes(want), formatDate(first));
        assert.equal(await cell('households-after', '5g'), formatCount(c2.technologies['5g'].households_after));
      }
      // The changed 5G areas on the map.
      await page.waitForFunction(() => Boolean(window.__funkplan.maps.gemeinde?.getLayer('changes-fill')));
      await page.screenshot({ path: shot('municipality-changes'), fullPage: true });
    }
    assertClean(problems, 'changes');
    await page.close();
  });

  test('municipality: its household shares over the releases, equal to the figures at each release date', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    const rs = await getJson(`${BASE}/api/v1/releases`);
    await page.goto(`${BASE}/#/gemeinde/${m.ags}`);
    await waitReady(page, 'gemeinde');
    const section = page.locator('[data-section="release-chart"]');
    if (rs.length < 2) {
      await section.locator('[data-field="release-chart-note"]').waitFor();
    } else {
      await section.locator('table.release-table').waitFor({ state: 'attached' });
      const series = await getJson(`${BASE}/api/v1/municipalities/${m.ags}/releases`);
      assert.deepEqual(series.releases.map((r) => r.date), rs.map((r) => r.as_of));
      const rows = section.locator('table.release-table tbody tr');
      assert.equal(await rows.count(), rs.length);
      // The engine's walk over the releases equals its figures for a date
      // (first, middle and latest release), and the table shows them.
      for (const i of [0, Math.floor(rs.length / 2), rs.length - 1]) {
        const at = await getJson(`${BASE}/api/v1/municipalities/${m.ags}?as_of=${rs[i].as_of}`);
        for (const tech of ['5g', 'lte']) {
          const want = at.coverage[tech].household_share;
          const got = series.releases[i].coverage[tech].household_share;
          assert.ok(Math.abs(got - want) < 1e-9, `${rs[i].as_of} ${tech}: ${got} vs ${want}`);
          const cell = rows.nth(i).locator(`td[data-field="share-${tech}"]`);
          assert.equal(await cell.getAttribute('data-value'), String(got));
          assert.equal(normSpace(await cell.textContent()), normSpace(formatShare(got)));
        }
      }
      await page.waitForFunction((k) => Boolean(window.__funkplan.charts?.[k]), `releases-${m.ags}`);
      await section.scrollIntoViewIfNeeded();
      await page.screenshot({ path: shot('municipality-release-chart'), fullPage: true });
    }
    assertClean(problems, 'release chart');
    await page.close();
  });

  test('municipality: its neighbours in a sortable table with their figures', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    const n = await getJson(`${BASE}/api/v1/municipalities/${m.ags}/neighbours`);
    const fc = await getJson(`${BASE}/ogc/collections/municipalities/items?limit=1000`);
    const props = new Map(fc.features.map((f) => [f.properties.ags, f.properties]));
    await page.goto(`${BASE}/#/gemeinde/${m.ags}`);
    await waitReady(page, 'gemeinde');
    const section = page.locator('[data-section="neighbours"]');
    if (n.neighbours.length === 0) {
      await section.locator('[data-field="neighbours-note"]').waitFor();
    } else {
      await section.locator('table.neighbours-table').waitFor();
      const order = () => section.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.ags));
      // Longest shared border first, the municipality itself (no border) last.
      assert.deepEqual(await order(), [...n.neighbours.map((x) => x.ags), m.ags]);
      const first = n.neighbours[0];
      const cell = (ags, key) => text(section.locator(`tr[data-ags="${ags}"] td[data-field="${key}"]`));
      assert.equal(normSpace(await cell(first.ags, 'household_share_5g')), normSpace(formatShare(props.get(first.ags).household_share_5g)));
      assert.equal(normSpace(await cell(first.ags, 'dead_spot_area_km2')), normSpace(formatKm2(props.get(first.ags).dead_spot_area_km2)));
      // Sorted by 5G share of households, highest first.
      await section.locator('button[data-sort="household_share_5g"]').click();
      const byShare = await order();
      for (let i = 1; i < byShare.length; i += 1) {
        assert.ok((props.get(byShare[i - 1]).household_share_5g ?? -1) >= (props.get(byShare[i]).household_share_5g ?? -1), `sorted at ${i}`);
      }
      // A neighbour's name leads to its page.
      await section.locator(`tr[data-ags="${first.ags}"] th a`).click();
      await page.waitForFunction((a) => document.querySelector('section.gemeinde')?.dataset.ags === a, first.ags);
    }
    assertClean(problems, 'neighbours');
    await page.close();
  });

  test('all municipalities: one table, filtered by district, sorted, downloadable as XLSX and CSV', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const fc = await getJson(`${BASE}/ogc/collections/municipalities/items?limit=1000`);
    const all = fc.features.map((f) => f.properties);
    await page.goto(`${BASE}/#/gemeinden`);
    await waitReady(page, 'alle');
    const ags = () => page.locator('table.all-members tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.ags));
    assert.deepEqual([...(await ags())].sort(), all.map((p) => p.ags).sort());
    // One district: exactly its municipalities, the Kreis by its name.
    const d = all[0].district;
    const kreis = await getJson(`${BASE}/api/v1/districts/${d}`);
    await page.selectOption('#alle-kreis', d);
    assert.deepEqual([...(await ags())].sort(), all.filter((p) => p.district === d).map((p) => p.ags).sort());
    assert.match(await text(page.locator('[data-field="alle-count"]')), new RegExp(`^${all.filter((p) => p.district === d).length} von ${all.length}`));
    assert.equal(await text(page.locator('table.all-members tbody tr td[data-field="district_name"]').first()), kreis.name);
    // Sorted by dead-spot area, largest first.
    await page.selectOption('#alle-kreis', '');
    await page.locator('button[data-sort="dead_spot_area_km2"]').click();
    const shown = await ags();
    const byAgs = new Map(all.map((p) => [p.ags, p.dead_spot_area_km2 ?? -1]));
    for (let i = 1; i < shown.length; i += 1) assert.ok(byAgs.get(shown[i - 1]) >= byAgs.get(shown[i]), `sorted at ${i}`);
    // The downloads: the browser saves the server's files.
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-download$="municipalities.xlsx"]').click()]);
    assert.match(dl.suggestedFilename(), /^funkplan-municipalities-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const xlsx = await (await fetch(`${BASE}/api/v1/export/municipalities.xlsx`)).arrayBuffer();
    assert.equal(Buffer.from(xlsx).subarray(0, 2).toString(), 'PK', 'an XLSX is a zip');
    const csv = await (await fetch(`${BASE}/api/v1/export/municipalities.csv?locale=de`)).text();
    const lines = csv.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    assert.equal(lines.length, all.length + 1);
    assert.match(lines[0], /^ags;name;district;/);
    // The GeoPackage: an SQLite file, saved under the dataset's name.
    const [gp] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-download$="funkplan.gpkg"]').click()]);
    assert.match(gp.suggestedFilename(), /^funkplan-\d{4}-\d{2}-\d{2}\.gpkg$/);
    const gpkg = Buffer.from(await (await fetch(`${BASE}/api/v1/export/funkplan.gpkg`)).arrayBuffer());
    assert.equal(gpkg.subarray(0, 15).toString(), 'SQLite format 3');
    await page.screenshot({ path: shot('all-municipalities'), fullPage: false });
    assertClean(problems, 'all municipalities');
    await page.close();
  });

  test('numbers: time to a usable map, bytes of the map view, the municipality page (for BENCHMARKS.md)', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    // Bytes as sent over the wire (compressed), with the browser cache off:
    // what a first visit costs. The server is warm (earlier tests).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    let bytes = 0;
    const byType = {};
    const types = new Map();
    cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
    cdp.on('Network.loadingFinished', (e) => {
      bytes += e.encodedDataLength;
      const t = types.get(e.requestId) ?? 'Other';
      byType[t] = (byType[t] ?? 0) + e.encodedDataLength;
    });
    await page.goto(`${BASE}/#/karte`);
    await waitReady(page, 'map', 60000);
    const [mapMs, drawnMs] = await page.evaluate(() => [window.__funkplan.marks.map, window.__funkplan.marks.mapDrawn]);
    const mapBytes = bytes;
    const mapByType = { ...byType };
    // A second visit with the browser cache on (the "warm"): a new
    // page load, the scripts and the unchanged answers revalidated. The map
    // is idle (every source loaded), so leaving it aborts nothing.
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await page.goto('about:blank');
    await page.goto(`${BASE}/#/karte`);
    await waitReady(page, 'map', 60000);
    const [warmMs, warmDrawnMs] = await page.evaluate(() => [window.__funkplan.marks.map, window.__funkplan.marks.mapDrawn]);
    assert.ok(drawnMs > 0 && drawnMs <= mapMs, `first features drawn (${drawnMs} ms) before the map is idle (${mapMs} ms)`);
    const beforeMuni = bytes;
    await page.evaluate((ags) => { location.hash = `#/gemeinde/${ags}`; }, m.ags);
    await waitReady(page, 'gemeinde');
    const muniMs = await page.evaluate(() => window.__funkplan.marks.gemeinde);
    const numbers = {
      measured: new Date().toISOString(),
      map_drawn_ms: Math.round(drawnMs),
      map_usable_ms: Math.round(mapMs),
      map_drawn_warm_ms: Math.round(warmDrawnMs),
      map_usable_warm_ms: Math.round(warmMs),
      map_bytes_compressed: mapBytes,
      map_bytes_by_type: mapByType,
      municipality_page_ms: Math.round(muniMs),
      municipality_bytes_compressed: bytes - beforeMuni,
    };
    writeFileSync(path.join(ARTIFACTS, 'numbers.json'), `${JSON.stringify(numbers, null, 2)}\n`);
    console.log(`web numbers: ${JSON.stringify(numbers)}`);
    // Bytes do not depend on the machine's load: the budget holds.
    assert.ok(mapBytes <= 1024 * 1024, `the map view transferred ${mapBytes} bytes (budget 1 MiB): ${JSON.stringify(mapByType)}`);
    await cdp.detach();
    assertClean(problems, 'numbers');
    await page.close();
  });

  test('every page: no serious accessibility issue (axe), map controls in German', async () => {
    const { page, problems } = await watchedPage(browser.context);
    const { m } = await pickMunicipality();
    const pages = [
      ['Ziele', '/', 'dashboard'],
      ['Karte', '/#/karte', 'map'],
      ['Gemeinde', `/#/gemeinde/${m.ags}`, 'gemeinde'],
      ['Kreis', `/#/kreis/${m.ags.slice(0, 5)}`, 'gebiet'],
      ['Alle Gemeinden', '/#/gemeinden', 'alle'],
    ];
    const german = new Set(Object.values(LOCALE_DE));
    for (const [name, url, ready] of pages) {
      await page.goto(`${BASE}${url}`);
      await waitReady(page, ready, 60000);
      const found = await axeViolations(page);
      assert.deepEqual(found, [], `${name}: axe reports\n${found.join('\n')}`);
      // Every MapLibre control speaks German (MapLibre's defaults are English).
      const labels = await page.locator('.maplibregl-ctrl button, .maplibregl-canvas').evaluateAll((ns) => ns.map((n) => n.getAttribute('aria-label') ?? n.getAttribute('title')).filter(Boolean));
      for (const l of labels) assert.ok(german.has(l) || /Karte/.test(l), `${name}: control label "${l}" is not German`);
      if (ready === 'map' || ready === 'gemeinde') assert.ok(labels.includes(LOCALE_DE['NavigationControl.ZoomIn']), `${name}: zoom buttons labelled`);
      if (ready === 'map') assert.equal(await page.locator('.maplibregl-ctrl-scale').count(), 1, 'the map has a scale bar');
    }
    assertClean(problems, 'accessibility');
    await page.close();
  });

  test('an unknown AGS says so', async () => {
    const { page } = await watchedPage(browser.context);
    await page.goto(`${BASE}/#/gemeinde/05999999`);
    await page.locator('.gemeinde [role=alert]').waitFor();
    assert.match(await text(page.locator('.gemeinde [role=alert]')), /keine Gemeinde mit dem Schlüssel 05999999/);
    await page.close();
  });

  test('phone viewport 360×740: no sideways scrolling, cards, map and municipality usable', async () => {
    const { page, problems } = await watchedPage(browser.context, { width: 360, height: 740 });
    const noOverflow = async (what) => {
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 360, `${what}: page is ${w}px wide at 360px`);
    };
    await page.goto(`${BASE}/`);
    await waitReady(page, 'dashboard');
    await noOverflow('dashboard');
    const first = await page.locator('article.card').first().boundingBox();
    assert.ok(first.width <= 360 && first.width > 300, `card width ${first.width}`);
    await page.screenshot({ path: shot('phone-dashboard'), fullPage: true });
    await page.goto(`${BASE}/#/karte`);
    await waitReady(page, 'map', 60000);
    await noOverflow('map');
    const png = await page.locator('#map').screenshot({ path: shot('phone-map') });
    const px = await countPixels(page, png, [...COLORS, NO_DATA].map(hexToRgb), hexToRgb(BACKGROUND));
    assert.ok(px.matching / px.total > 0.05, `phone map polygon pixels: ${px.matching} of ${px.total}`);
    const ags = chosen?.ags ?? (await getJson(`${BASE}/api/v1/municipalities?limit=1`))[0].ags;
    await page.goto(`${BASE}/#/gemeinde/${ags}`);
    await waitReady(page, 'gemeinde');
    await noOverflow('municipality');
    // Every table's last column is visible without scrolling sideways.
    // (The site and measure lists scroll on their own, by design.)
    const clipped = await page.locator('.gemeinde .table-scroll:not(.list-scroll)').evaluateAll((ns) => ns
      .filter((n) => n.scrollWidth > n.clientWidth + 1)
      .map((n) => `${n.querySelector('table')?.className}: ${n.scrollWidth}px in ${n.clientWidth}px`));
    assert.deepEqual(clipped, [], `tables wider than the phone: ${clipped.join(', ')}`);
    await page.screenshot({ path: shot('phone-municipality'), fullPage: true });
    assertClean(problems, 'phone');
    await page.close();
  });

  test('API unreachable: a clear German message, no endless spinner', async () => {
    const { page } = await watchedPage(browser.context);
    await page.route('**/api/**', (r) => r.abort('connectionrefused'));
    await page.route('**/ogc/**', (r) => r.abort('connectionrefused'));
    await page.goto(`${BASE}/`);
    const alert = page.locator('.cards [role=alert]');
    await alert.waitFor();
    assert.match(await text(alert), /Keine Verbindung zum Server\. Der Funkplan-Server ist nicht erreichbar/);
    assert.equal(await page.locator('.cards button', { hasText: 'Erneut versuchen' }).count(), 1);
    await page.screenshot({ path: shot('error-unreachable') });
    await page.close();
  });
});

