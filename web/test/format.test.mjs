// Unit tests of the German formatting and the target verdicts (no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatCount, formatShare, formatPercentValue, formatKm2, formatDate, formatGoal, formatMonth, normSpace, monthsBetween,
} from '../src/format.js';
import { progressOf, verdict } from '../src/status.js';
import { fold, match } from '../src/search.js';
import { normalizeHistory, normalizeMunicipalities } from '../src/api.js';
import { attributionParts, ATTR_BKG, ATTR_BNETZA, ATTR_SYNTHETIC } from '../src/attribution.js';

test('numbers in German format', () => {
  assert.equal(formatCount(10300), '10.300');
  assert.equal(formatCount(7499.6), '7.500');
  assert.equal(normSpace(formatPercentValue(90)), '90 %');
  assert.equal(normSpace(formatShare(0.9684)), '96,8 %');
  assert.equal(normSpace(formatKm2(0.4)), '0,4 km²');
  assert.equal(normSpace(formatKm2(217.44)), '217,4 km²');
  assert.equal(formatDate('2024-12-31'), '31.12.2024');
  assert.equal(formatMonth('2023-05-01'), 'Mai 2023');
  assert.equal(formatCount(undefined), '–');
});

test('goals in words', () => {
  assert.equal(formatGoal({ unit: 'count', comparator: 'gt', target_value: 10300 }), 'mehr als 10.300');
  assert.equal(formatGoal({ unit: 'count', comparator: 'ge', target_value: 7500 }), 'mindestens 7.500');
  assert.equal(normSpace(formatGoal({ unit: 'km2', comparator: 'le', target_value: 0 })), '0 km² (keine mehr)');
});

test('months between dates', () => {
  assert.equal(monthsBetween('2024-12-31', '2026-11-23'), 22);
  assert.equal(monthsBetween('2026-01-15', '2026-03-15'), 2);
});

test('verdicts', () => {
  const base = { unit: 'count', comparator: 'gt', target_value: 100, deadline: '2030-12-31', current_value: 50 };
  const now = new Date('2030-01-15T00:00:00Z');
  assert.deepEqual(verdict({ ...base, met: false, forecast: { on_track: true } }, [], now), { kind: 'on_track', text: 'im Plan' });
  // 50 left at 5 a month = 10 months; 11 left → on time, but on_track false says the server disagrees:
  // the words then follow the numbers (at least one month).
  assert.equal(verdict({ ...base, met: false, forecast: { on_track: false, rate_actual_per_month: 2 } }, [], now).text, 'voraussichtlich 14 Monate Verzug');
  assert.equal(verdict({ ...base, met: false, forecast: { on_track: false, rate_actual_per_month: 0 } }, [], now).kind, 'off');
  assert.equal(verdict({ ...base, met: false, forecast: { on_track: false, rate_actual_per_month: 2, expected_met_on: '2031-03-01' } }, [], now).text,
    'voraussichtlich 2 Monate Verzug (Ziel erreicht im März 2031)');
  const hist = [{ month: '2029-10-01', value: 90 }, { month: '2029-11-01', value: 101 }, { month: '2029-12-01', value: 120 }];
  assert.equal(verdict({ ...base, met: true, current_value: 120 }, hist, now).text, 'erreicht im November 2029');
  assert.equal(verdict({ ...base, met: true, met_on: '2029-11-14' }, hist, now).text, 'erreicht am 14.11.2029');
  assert.equal(verdict({ ...base, met: true, met_on: '2029-11-01' }, hist, now).text, 'erreicht im November 2029');
  assert.equal(verdict({ ...base, met: true, met_on: '2029-10-01' }, hist, now).text, 'erreicht (seit Beginn der Aufzeichnung, Oktober 2029)');
  assert.equal(verdict({ ...base, deadline: '2029-06-30', met: true, met_on: '2029-11-01' }, hist, now).text, 'erreicht im November 2029, 5 Monate nach der Frist');
  assert.equal(verdict({ ...base, deadline: '2029-06-30', met: false }, hist, now).text, 'Frist verstrichen, 6 Monate Verzug');
  // Missed at the deadline, met later: read as missed, with the value at the deadline and the catch-up.
  const lteMeasures = {
    unit: 'count', comparator: 'ge', target_value: 7500, deadline: '2024-12-31', current_value: 8397,
    met: true, met_on: '2025-06-01', deadline_passed: true, met_at_deadline: false, forecast: { value_at_deadline: 7033 },
  };
  assert.deepEqual(verdict(lteMeasures, [], new Date('2026-12-07T00:00:00Z')),
    { kind: 'missed', text: 'Frist verfehlt (zur Frist 7.033 statt 7.500), erreicht im Juni 2025, 6 Monate nach der Frist' });
  // Met at the deadline stays met, whenever it is read.
  assert.equal(verdict({ ...lteMeasures, met_on: '2024-09-01', met_at_deadline: true }, [], new Date('2026-12-07T00:00:00Z')).kind, 'met');
  // Still open after the deadline: the value then is named.
  assert.equal(verdict({ ...lteMeasures, met: false, met_on: null }, [], new Date('2026-12-07T00:00:00Z')).text,
    'Frist verstrichen, 23 Monate Verzug (zur Frist 7.033 statt 7.500)');
  // "Bring down to zero" targets: falling values are progress.
  const dead = { unit: 'km2', comparator: 'le', target_value: 0, deadline: '2030-12-31', current_value: 10, met: false };
  assert.equal(verdict({ ...dead, forecast: { on_track: false, rate_actual_per_month: -0.5 } }, [], now).text, 'voraussichtlich 9 Monate Verzug');
});

test('progress as the server computes it', () => {
  assert.equal(progressOf({ comparator: 'ge', target_value: 7500 }, 7033), 7033 / 7500);
  assert.equal(progressOf({ comparator: 'gt', target_value: 10 }, 20), 1);
  assert.equal(progressOf({ comparator: 'le', target_value: 0, baseline: 10 }, 4), 0.6);
  assert.equal(progressOf({ comparator: 'le', target_value: 0 }, 4), 0);
});

test('search matches names without accents and AGS prefixes', () => {
  const items = [
    { ags: '05111000', name: 'Düsseldorf' }, { ags: '05113000', name: 'Essen' }, { ags: '05315000', name: 'Köln' },
    { ags: '05158004', name: 'Erkrath' }, { ags: '05370004', name: 'Bad Münstereifel' },
  ].map((m) => ({ ...m, key: fold(m.name) }));
  assert.deepEqual(match(items, 'dusseld').map((m) => m.ags), ['05111000']);
  assert.deepEqual(match(items, 'koln').map((m) => m.ags), ['05315000']);
  assert.deepEqual(match(items, 'e').map((m) => m.name), ['Erkrath', 'Essen', 'Bad Münstereifel', 'Düsseldorf']);
  assert.deepEqual(match(items, '0511').map((m) => m.ags), ['05111000', '05113000']);
  assert.deepEqual(match(items, 'münster').map((m) => m.ags), ['05370004']);
});

test('attribution: synthetic data labelled, real data credited', () => {
  const fc = (props) => ({ features: [{ properties: props }] });
  assert.ok(attributionParts(fc({ synthetic: true })).includes(ATTR_SYNTHETIC));
  assert.ok(attributionParts(fc({})).includes(ATTR_SYNTHETIC), 'unknown origin counts as demo data');
  const real = attributionParts(fc({ synthetic: false, source: 'union' }));
  assert.ok(real.includes(ATTR_BKG) && real.includes(ATTR_BNETZA) && !real.includes(ATTR_SYNTHETIC));
  assert.ok(!attributionParts(fc({ synthetic: false, source: 'modelled' })).includes(ATTR_BNETZA));
});

test('municipality shares are read by the server\'s property names', () => {
  const fc = normalizeMunicipalities({ features: [
    { id: '05315000', properties: { ags: '05315000', name: 'Köln', household_share_5g: 0.93, area_share_lte: 1, household_share_5g_scenario: 0.97 } },
    { id: '05111000', properties: { ags: '05111000', name: 'Düsseldorf', household_share_5g: null } },
  ] });
  const [k, d] = fc.features.map((f) => f.properties);
  assert.equal(k.m_5g_hh, 0.93);
  assert.equal(k.m_lte_area, 1);
  assert.equal(k.m_sc_5g_hh, 0.97);
  assert.equal('m_lte_hh' in k, false);
  assert.equal('m_5g_hh' in d, false, 'no figure → no property, not 0');
});

test('target history keeps well-formed points, oldest first', () => {
  const h = normalizeHistory([
    { month: '2024-02-29', value: 5 }, { month: '2023-12-31', value: 3 }, { month: 'x', value: 1 }, { month: '2024-01-31', value: 'NaN' },
  ]);
  assert.deepEqual(h, [{ month: '2023-12-31', value: 3 }, { month: '2024-02-29', value: 5 }]);
  assert.deepEqual(normalizeHistory({ series: [] }), []);
});
