// German number, date and label formatting (Intl, locale de-DE).
// Pure functions without DOM access, so the browser tests can import them
// and compare what the page shows with what the API says.

const nf = (min, max) => new Intl.NumberFormat('de-DE', { minimumFractionDigits: min, maximumFractionDigits: max });
const INT = nf(0, 0);
const ONE = nf(0, 1);
const TWO = nf(0, 2);
const PCT = new Intl.NumberFormat('de-DE', { style: 'percent', maximumFractionDigits: 1 });
const DATE = new Intl.DateTimeFormat('de-DE', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' });
const MONTH = new Intl.DateTimeFormat('de-DE', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const DATETIME = new Intl.DateTimeFormat('de-DE', {
  day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin',
});

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** Whole number with German grouping: 10300 → "10.300". */
export function formatCount(v) {
  return finite(v) ? INT.format(v) : '–';
}

/** A plain number with up to `digits` decimals: 217.4 → "217,4". */
export function formatNumber(v, digits = 1) {
  if (!finite(v)) return '–';
  return (digits === 0 ? INT : digits === 1 ? ONE : digits === 2 ? TWO : nf(0, digits)).format(v);
}

/** A fraction 0..1 as percent: 0.9 → "90 %", 0.9684 → "96,8 %". */
export function formatShare(v) {
  return finite(v) ? PCT.format(v) : '–';
}

/** A value already in percent (unit "percent"): 90 → "90 %". */
export function formatPercentValue(v) {
  return finite(v) ? PCT.format(v / 100) : '–';
}

/** Square kilometres: below 10 with two decimals, else one. */
export function formatKm2(v) {
  if (!finite(v)) return '–';
  return `${(Math.abs(v) < 10 ? TWO : ONE).format(v)}\u00a0km²`;
}

/** A target value in its unit (`count`, `percent`, `km2`). */
export function formatValue(v, unit) {
  switch (unit) {
    case 'percent': return formatPercentValue(v);
    case 'km2': return formatKm2(v);
    default: return formatCount(v);
  }
}

/** A rate per month in the target's unit, e.g. "+120 pro Monat". */
export function formatRate(v, unit) {
  if (!finite(v)) return '–';
  const abs = unit === 'count' ? formatCount(Math.abs(v))
    : unit === 'percent' ? `${TWO.format(Math.abs(v))}\u00a0Prozentpunkte`
      : formatKm2(Math.abs(v));
  const sign = v > 0 ? '+' : v < 0 ? '−' : '';
  return `${sign}${abs} pro Monat`;
}

function toDate(d) {
  if (d instanceof Date) return d;
  if (typeof d !== 'string') return null;
  // Plain dates ("2024-12-31") are calendar days, read them as UTC.
  const x = new Date(/^\d{4}-\d{2}-\d{2}$/.test(d) ? `${d}T00:00:00Z` : d);
  return Number.isNaN(x.getTime()) ? null : x;
}

/** "2024-12-31" → "31.12.2024". */
export function formatDate(d) {
  const x = toDate(d);
  return x ? DATE.format(x) : '–';
}

/** "2023-05-01" → "Mai 2023". */
export function formatMonth(d) {
  const x = toDate(d);
  return x ? MONTH.format(x) : '–';
}

/** A timestamp in Berlin time: "23.11.2026, 11:00 Uhr". */
export function formatDateTime(d) {
  const x = toDate(d);
  return x ? `${DATETIME.format(x)}\u00a0Uhr` : '–';
}

/** How the goal is phrased for a comparator: gt → "mehr als 10.300". */
export function formatGoal(t) {
  const v = formatValue(t.target_value, t.unit);
  switch (t.comparator) {
    case 'gt': return `mehr als ${v}`;
    case 'ge': return `mindestens ${v}`;
    case 'lt': return `weniger als ${v}`;
    case 'le': return t.target_value === 0 ? `${v} (keine mehr)` : `höchstens ${v}`;
    default: return v;
  }
}

export const SITE_STATUS = {
  planned: 'geplant',
  permitting: 'im Genehmigungsverfahren',
  construction: 'im Bau',
  on_air: 'in Betrieb',
  decommissioned: 'stillgelegt',
};

export const MEASURE_KIND = {
  '5g_upgrade': '5G-Erweiterung',
  lte_new_site: 'LTE-Neubau',
  lte_upgrade: 'LTE-Erweiterung',
};

export const MEASURE_STATUS = {
  planned: 'geplant',
  in_progress: 'in Arbeit',
  completed: 'abgeschlossen',
};

export const TECHNOLOGY = { '5g': '5G', lte: 'LTE' };

export const OPERATOR = {
  telekom: 'Telekom',
  vodafone: 'Vodafone',
  telefonica: 'Telefónica',
  '1und1': '1&1',
};

export const SOURCE = {
  modelled: 'modelliert (aus Standorten in Betrieb)',
  reported: 'gemeldet (Versorgungsdaten)',
  union: 'gemeldet und modelliert vereinigt',
};

export function operatorName(id) {
  return OPERATOR[id] ?? id;
}

/** Whole months from a to b (b later → positive), by calendar month. */
export function monthsBetween(a, b) {
  const x = toDate(a);
  const y = toDate(b);
  if (!x || !y) return NaN;
  let m = (y.getUTCFullYear() - x.getUTCFullYear()) * 12 + (y.getUTCMonth() - x.getUTCMonth());
  if (y.getUTCDate() < x.getUTCDate()) m -= 1;
  return m;
}

export function plural(n, one, many) {
  return `${formatCount(n)}\u00a0${n === 1 ? one : many}`;
}

/** Text equality that ignores the kind of space (Intl uses no-break spaces). */
export function normSpace(s) {
  return String(s).replace(/[\s\u00a0\u202f]+/g, ' ').trim();
}
