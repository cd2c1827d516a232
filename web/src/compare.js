// A municipality beside its district and the state: the figures, the rank
// among the district's municipalities and the state target. Pure functions
// over the municipalities collection (which every page loads anyway for the
// search), so district and state are sums of the same municipalities the
// map shows: district = Σ its municipalities, state = Σ all of them.

/** The rows compared: how a municipality's value is read and summed. */
export const COMPARED = [
  { key: 'hh5g', label: '5G, Anteil Haushalte', kind: 'share', num: (p) => p.households_5g ?? (p.household_share_5g ?? NaN) * p.households, den: (p) => p.households, higherIsBetter: true, metric: 'household_share' },
  { key: 'area5g', label: '5G, Anteil Fläche', kind: 'share', num: (p) => p.area_share_5g * p.area_km2, den: (p) => p.area_km2, higherIsBetter: true, metric: 'area_share' },
  { key: 'hhlte', label: 'LTE, Anteil Haushalte', kind: 'share', num: (p) => p.households_lte ?? (p.household_share_lte ?? NaN) * p.households, den: (p) => p.households, higherIsBetter: true },
  { key: 'dead', label: 'LTE-Funklöcher', kind: 'km2', num: (p) => p.dead_spot_area_km2, den: () => 1, higherIsBetter: false, metric: 'dead_spot_area_km2' },
  { key: 'grey', label: 'LTE, nur ein Netzbetreiber', kind: 'km2', num: (p) => p.grey_spot_area_km2, den: () => 1, higherIsBetter: false },
];

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** Σ num / Σ den over the features that have both (shares), or Σ num (areas). */
function sum(row, props) {
  let n = 0;
  let d = 0;
  let used = 0;
  for (const p of props) {
    const a = row.num(p);
    const b = row.den(p);
    if (!finite(a) || !finite(b)) continue;
    n += a;
    d += b;
    used += 1;
  }
  if (used === 0) return null;
  return row.kind === 'share' ? (d > 0 ? n / d : null) : n;
}

/** The value of one municipality for a row (a share 0..1 or km²). */
export function valueOf(row, p) {
  const a = row.num(p);
  const b = row.den(p);
  if (!finite(a) || !finite(b)) return null;
  return row.kind === 'share' ? (b > 0 ? a / b : null) : a;
}

/**
 * @param ags the municipality's AGS (8 digits)
 * @param features the municipalities collection's features
 * @returns rows {key, label, kind, value, district, state, rank, of} where
 *   rank 1 is the best of the `of` municipalities of the district (ties share
 *   the better rank), or null when the municipality is not in the features.
 */
export function compare(ags, features) {
  const props = features.map((f) => f.properties ?? {});
  const me = props.find((p) => p.ags === ags);
  if (!me) return null;
  const dkey = ags.slice(0, 5);
  const district = props.filter((p) => String(p.ags).startsWith(dkey));
  return COMPARED.map((row) => {
    const value = valueOf(row, me);
    const others = district.map((p) => valueOf(row, p)).filter((v) => v !== null);
    const better = (v) => (row.higherIsBetter ? v > value : v < value);
    return {
      key: row.key,
      label: row.label,
      kind: row.kind,
      metric: row.metric,
      value,
      district: sum(row, district),
      state: sum(row, props),
      rank: value === null ? null : 1 + others.filter(better).length,
      of: others.length,
    };
  });
}
