// The municipality comparison (no browser): district and state are sums of
// their municipalities, ranks count the better ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare } from '../src/compare.js';

const f = (ags, households, hh5g, area, a5g, dead) => ({
  properties: { ags, households, households_5g: hh5g, area_km2: area, area_share_5g: a5g, households_lte: households, dead_spot_area_km2: dead, grey_spot_area_km2: 0 },
});

test('district and state are sums, ranks within the district', () => {
  const fs = [
    f('05162004', 100, 100, 10, 1.0, 0),
    f('05162008', 100, 50, 30, 0.5, 2),
    f('05162012', 200, 100, 10, 0.8, 1),
    f('05111000', 300, 300, 50, 1.0, 0),
  ];
  const rows = Object.fromEntries(compare('05162008', fs).map((r) => [r.key, r]));
  assert.equal(rows.hh5g.value, 0.5);
  assert.equal(rows.hh5g.district, 250 / 400);
  assert.equal(rows.hh5g.state, 550 / 700);
  assert.deepEqual([rows.hh5g.rank, rows.hh5g.of], [2, 3]); // 05162004 has 100 %, 05162012 50 % too (tie)
  assert.equal(rows.area5g.district, (10 + 15 + 8) / 50);
  assert.deepEqual([rows.area5g.rank, rows.area5g.of], [3, 3]);
  // Fewer dead spots rank better.
  assert.equal(rows.dead.value, 2);
  assert.equal(rows.dead.district, 3);
  assert.equal(rows.dead.state, 3);
  assert.deepEqual([rows.dead.rank, rows.dead.of], [3, 3]);
  assert.equal(compare('05999999', fs), null);
});

test('a municipality without a figure has no rank', () => {
  const fs = [f('05162004', 100, 100, 10, 1, 0), { properties: { ags: '05162008', households: 0, area_km2: 5 } }];
  const rows = Object.fromEntries(compare('05162008', fs).map((r) => [r.key, r]));
  assert.equal(rows.hh5g.value, null);
  assert.equal(rows.hh5g.rank, null);
  assert.equal(rows.hh5g.of, 1);
});
