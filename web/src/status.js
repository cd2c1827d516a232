// Verdict of a target in words: "im Plan", "N Monate Verzug", "erreicht im …".
// Pure, so the tests can use it to check the cards.
import { formatDate, formatMonth, formatValue, monthsBetween } from './format.js';

export function meets(comparator, value, goal) {
  switch (comparator) {
    case 'gt': return value > goal;
    case 'ge': return value >= goal;
    case 'lt': return value < goal;
    case 'le': return value <= goal;
    default: return value >= goal;
  }
}

export function higherIsBetter(comparator) {
  return comparator !== 'lt' && comparator !== 'le';
}

const monthIndex = (d) => Number(d.slice(0, 4)) * 12 + Number(d.slice(5, 7)) - 1;
const months = (n) => (n === 1 ? '1 Monat' : `${n} Monate`);

/**
 * @param t target object of /api/v1/targets
 * @param history [{month: 'YYYY-MM-DD', value}] sorted by month
 * @param now Date
 * @returns {{kind: 'met'|'missed'|'on_track'|'late'|'off', text: string}}
 *   `missed`: the deadline passed unmet and the goal was reached later.
 */
export function verdict(t, history, now = new Date()) {
  const cmp = t.comparator ?? (t.unit === 'km2' ? 'le' : 'ge');
  const deadline = new Date(`${t.deadline}T23:59:59Z`);
  const passed = t.deadline_passed ?? now > deadline;
  // A passed deadline is judged by the value at the deadline (the server's
  // forecast.value_at_deadline is that value once the deadline has passed):
  // a later catch-up does not turn a missed deadline into a met one.
  const atDeadline = t.forecast?.value_at_deadline;
  const then = typeof atDeadline === 'number'
    ? ` (zur Frist ${formatValue(atDeadline, t.unit)} statt ${cmp === 'gt' ? 'mehr als ' : ''}${formatValue(t.target_value, t.unit)})` : '';
  if (passed && t.met_at_deadline === false && t.met) {
    const when = typeof t.met_on === 'string'
      ? (t.met_on.endsWith('-01') ? `im ${formatMonth(t.met_on)}` : `am ${formatDate(t.met_on)}`) : 'inzwischen';
    const late = typeof t.met_on === 'string' ? monthIndex(t.met_on) - monthIndex(t.deadline) : 0;
    return { kind: 'missed', text: `Frist verfehlt${then}, erreicht ${when}${late > 0 ? `, ${months(late)} nach der Frist` : ''}` };
  }
  if (passed && t.met_at_deadline === true && t.met === false) {
    return { kind: 'late', text: `zur Frist erreicht, derzeit nicht mehr erfüllt` };
  }
  if (t.met && typeof t.met_on === 'string') {
    // The server derives met_on from the monthly history: a first of the
    // month stands for that month.
    const monthly = t.met_on.endsWith('-01');
    if (monthly && history.length > 0 && history[0].month === t.met_on) {
      return { kind: 'met', text: `erreicht (seit Beginn der Aufzeichnung, ${formatMonth(t.met_on)})` };
    }
    const when = monthly ? `im ${formatMonth(t.met_on)}` : `am ${formatDate(t.met_on)}`;
    const late = monthIndex(t.met_on) - monthIndex(t.deadline);
    return { kind: 'met', text: `erreicht ${when}${late > 0 ? `, ${months(late)} nach der Frist` : ''}` };
  }
  if (t.met) {
    // The first month of the latest unbroken run of months meeting the goal.
    let since = null;
    for (let i = history.length - 1; i >= 0; i--) {
      if (meets(cmp, history[i].value, t.target_value)) since = history[i].month;
      else break;
    }
    return { kind: 'met', text: since ? `erreicht im ${formatMonth(since)}` : 'erreicht' };
  }
  if (passed) {
    const late = Math.max(1, monthsBetween(t.deadline, now.toISOString()));
    const eta = t.forecast?.expected_met_on;
    return {
      kind: 'late',
      text: `Frist verstrichen, ${months(late)} Verzug${then}${eta ? ` – Ziel voraussichtlich erreicht im ${formatMonth(eta)}` : ''}`,
    };
  }
  const f = t.forecast ?? {};
  if (f.on_track === true) return { kind: 'on_track', text: 'im Plan' };
  if (typeof f.expected_met_on === 'string') {
    const late = Math.max(1, monthsBetween(t.deadline, f.expected_met_on));
    return { kind: 'late', text: `voraussichtlich ${months(late)} Verzug (Ziel erreicht im ${formatMonth(f.expected_met_on)})` };
  }
  // Months until the goal at the rate achieved, compared with the months left.
  const rate = f.rate_actual_per_month;
  const remaining = higherIsBetter(cmp) ? t.target_value - t.current_value : t.current_value - t.target_value;
  const progressPerMonth = typeof rate === 'number' ? (higherIsBetter(cmp) ? rate : -rate) : NaN;
  if (!(progressPerMonth > 0)) {
    return { kind: 'off', text: 'nicht im Plan – beim bisherigen Tempo nicht erreichbar' };
  }
  const need = Math.ceil(remaining / progressPerMonth);
  const left = Math.max(0, monthsBetween(now.toISOString(), t.deadline));
  const late = Math.max(1, need - left);
  return { kind: 'late', text: `voraussichtlich ${months(late)} Verzug` };
}

/**
 * Progress 0..1 of `value` towards the goal, as the server computes it
 * (value / goal; for "bring down to" targets (baseline − value) / (baseline − goal)).
 */
export function progressOf(t, value) {
  const cmp = t.comparator ?? (t.unit === 'km2' ? 'le' : 'ge');
  let p;
  if (higherIsBetter(cmp)) p = t.target_value <= 0 ? 1 : value / t.target_value;
  else if (value <= t.target_value) p = 1;
  else if (typeof t.baseline === 'number' && t.baseline > t.target_value) p = (t.baseline - value) / (t.baseline - t.target_value);
  else p = 0;
  return Math.max(0, Math.min(1, p));
}
