// The target dashboard: one card per target with a burn-up chart.
import uPlot from 'uplot';
import { targets, targetHistory } from './api.js';
import {
  formatDate, formatGoal, formatMonth, formatRate, formatShare, formatValue,
} from './format.js';
import { progressOf, verdict } from './status.js';
import { el, errorBox, loading } from './dom.js';

export function renderDashboard(main) {
  document.title = 'Ziele – Funkplan NRW';
  const section = el('section', { class: 'dashboard', 'aria-labelledby': 'dash-h' },
    el('h1', { id: 'dash-h' }, 'Ausbauziele Mobilfunk NRW'),
    el('p', { class: 'lead' }, 'Stand der Ziele der Digitalstrategie NRW 2.0: aktueller Wert, Ziel, Frist und Prognose.'));
  const grid = el('div', { class: 'cards', 'aria-busy': 'true' }, loading('Ziele werden geladen …'));
  section.append(grid);
  main.append(section);
  const charts = [];
  let alive = true;
  const onResize = () => { for (const c of charts) c.fit(); };
  window.addEventListener('resize', onResize);

  (async () => {
    let list;
    try {
      list = await targets();
    } catch (e) {
      grid.replaceChildren(errorBox(e, () => { main.replaceChildren(); renderDashboard(main); }));
      grid.setAttribute('aria-busy', 'false');
      return;
    }
    if (!alive) return;
    grid.replaceChildren();
    if (list.length === 0) grid.append(el('p', {}, 'Es sind keine Ziele hinterlegt.'));
    const histories = await Promise.all(list.map((t) => targetHistory(t.id).then(
      (h) => ({ ok: true, h }), (e) => ({ ok: false, e }),
    )));
    if (!alive) return;
    list.forEach((t, i) => {
      const card = card_(t, histories[i]);
      grid.append(card.node);
      if (card.chart) charts.push(card.chart);
    });
    grid.setAttribute('aria-busy', 'false');
    window.__funkplan.ready.dashboard = true;
  })();

  return () => {
    alive = false;
    window.__funkplan.ready.dashboard = false;
    window.removeEventListener('resize', onResize);
    for (const c of charts) c.destroy();
  };
}

/** "62 % des Ziels erreicht"; after a passed deadline also the share reached by then. */
function progressLabel(t) {
  const p = el('p', { class: 'progress-label' }, el('span', { 'data-field': 'progress' }, formatShare(t.progress)), ' des Ziels erreicht');
  const atDeadline = t.forecast?.value_at_deadline;
  if (t.deadline_passed && t.met_at_deadline === false && typeof atDeadline === 'number') {
    p.append(' (heute) · zur Frist ', el('span', { 'data-field': 'progress-at-deadline' }, formatShare(progressOf(t, atDeadline))));
  }
  return p;
}

function card_(t, hist) {
  const history = hist.ok ? hist.h : [];
  const v = verdict(t, history);
  const f = t.forecast;
  const pct = Math.round(Math.max(0, Math.min(1, t.progress ?? 0)) * 1000) / 10;
  const node = el('article', { class: `card verdict-${v.kind}`, 'data-target': t.id, 'aria-labelledby': `t-${t.id}` },
    el('h2', { id: `t-${t.id}` }, t.title),
    el('dl', { class: 'figures' },
      el('div', {}, el('dt', {}, 'Aktuell'), el('dd', { class: 'current', 'data-field': 'current' }, formatValue(t.current_value, t.unit))),
      el('div', {}, el('dt', {}, 'Ziel'), el('dd', { 'data-field': 'goal' }, formatGoal(t))),
      el('div', {}, el('dt', {}, 'Frist'), el('dd', { 'data-field': 'deadline' }, formatDate(t.deadline))),
      // For a passed deadline the server gives the value it had then.
      el('div', {}, el('dt', {}, new Date(`${t.deadline}T23:59:59Z`) < new Date() ? 'Stand zur Frist' : 'Prognose zur Frist'),
        el('dd', { 'data-field': 'forecast' }, f && typeof f.value_at_deadline === 'number' ? formatValue(f.value_at_deadline, t.unit) : 'keine Prognose'))),
    el('div', {
      class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
      'aria-valuenow': String(pct), 'aria-label': `Fortschritt ${t.title}`,
    }, el('span', { style: `width:${pct}%` })),
    progressLabel(t),
    el('p', { class: 'verdict', 'data-field': 'verdict' }, v.text));
  if (f && (typeof f.rate_needed_per_month === 'number' || typeof f.rate_actual_per_month === 'number')) {
    const rates = el('p', { class: 'rates' });
    if (typeof f.rate_actual_per_month === 'number') {
      rates.append('Tempo zuletzt: ', el('span', { 'data-field': 'rate-actual' }, formatRate(f.rate_actual_per_month, t.unit)));
    }
    if (typeof f.rate_needed_per_month === 'number') {
      if (rates.childNodes.length) rates.append(' · ');
      rates.append('nötig bis zur Frist: ', el('span', { 'data-field': 'rate-needed' }, formatRate(f.rate_needed_per_month, t.unit)));
    }
    node.append(rates);
  }
  let chart = null;
  const box = el('figure', { class: 'chart' });
  node.append(box);
  if (!hist.ok) {
    box.append(el('p', { class: 'error small' }, `Verlauf nicht verfügbar: ${hist.e.message}`));
  } else if (history.length === 0) {
    box.append(el('p', { class: 'muted small' }, 'Noch kein Verlauf vorhanden.'));
  } else {
    chart = burnUp(box, t, history);
    box.append(el('figcaption', { class: 'small muted' },
      `Monatlicher Verlauf ${formatMonth(history[0].month)} bis ${formatMonth(history.at(-1).month)}; `
      + `Ziellinie ${formatValue(t.target_value, t.unit)}, Frist ${formatDate(t.deadline)}`
      + `${t.deadline_passed ? '' : ', Prognose gestrichelt'}. Werte per Mauszeiger oder Pfeiltasten.`));
  }
  node.append(el('p', { class: 'source small muted' }, `Quelle: ${t.source ?? '–'} · Stand ${formatDate(String(t.as_of ?? '').slice(0, 10))}`));
  return { node, chart };
}

const DAY = 86400;
const ts = (d) => Date.parse(`${String(d).slice(0, 10)}T00:00:00Z`) / 1000;

/** Burn-up chart: history, target line, deadline marker, dashed forecast. */
function burnUp(box, t, history) {
  const xs = history.map((p) => ts(p.month));
  const ys = history.map((p) => p.value);
  const last = xs.at(-1);
  const lastV = ys.at(-1);
  const dl = ts(t.deadline);
  const f = t.forecast ?? {};
  // The forecast runs from the last point to a deadline still ahead; once
  // the deadline has passed there is nothing to forecast against it (the
  // history shows what happened).
  const fx = [];
  const fy = [];
  if (dl > last && !t.deadline_passed && typeof f.value_at_deadline === 'number') {
    fx.push(last, dl); fy.push(lastV, f.value_at_deadline);
  }
  const allX = [...new Set([...xs, ...fx, dl])].sort((a, b) => a - b);
  const at = (x, px, py) => { const i = px.indexOf(x); return i < 0 ? null : py[i]; };
  const data = [
    allX,
    allX.map((x) => at(x, xs, ys)),
    allX.map(() => t.target_value),
    allX.map((x) => at(x, fx, fy)),
  ];
  const fmt = (v) => formatValue(v, t.unit);
  const opts = {
    width: Math.max(260, box.clientWidth || 320),
    height: 180,
    // The legend follows the cursor (mouse or arrow keys): the values of the month under it.
    legend: { show: true, live: true },
    cursor: { show: true, drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      // From zero: an axis starting at 90 % would make small gaps look large.
      y: {
        range: (u, min, max) => {
          const top = Math.max(max ?? 0, t.target_value ?? 0);
          return [0, t.unit === 'percent' ? 100 : top * 1.08 || 1];
        },
      },
    },
    axes: [
      {
        stroke: '#333',
        grid: { stroke: '#e4e4e4' },
        space: 50,
        // Years when the chart spans years, else months.
        values: (u, vals) => {
          const span = (u.scales.x.max - u.scales.x.min) / DAY;
          const f = new Intl.DateTimeFormat('de-DE', span > 730 ? { year: 'numeric', timeZone: 'UTC' } : { month: 'short', year: '2-digit', timeZone: 'UTC' });
          return vals.map((v) => f.format(new Date(v * 1000)));
        },
      },
      { stroke: '#333', grid: { stroke: '#e4e4e4' }, size: 78, values: (u, vals) => vals.map(fmt) },
    ],
    series: [
      { label: 'Monat', value: (u, v) => (v == null ? '–' : formatMonth(new Date(v * 1000).toISOString())) },
      { label: 'Verlauf', stroke: '#0b5cad', width: 2, value: (u, v) => (v == null ? '–' : fmt(v)) },
      { label: 'Ziel', stroke: '#1a7f37', width: 1.5, value: (u, v) => (v == null ? '–' : fmt(v)) },
      { label: 'Prognose', stroke: '#b35900', width: 2, dash: [6, 4], spanGaps: true, value: (u, v) => (v == null ? '–' : fmt(v)) },
    ],
    hooks: {
      draw: [(u) => {
        // The deadline as a vertical marker.
        const x = u.valToPos(dl, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        const c = u.ctx;
        c.save();
        c.strokeStyle = '#b00020';
        c.lineWidth = 1.5 * devicePixelRatio;
        c.setLineDash([3 * devicePixelRatio, 3 * devicePixelRatio]);
        c.beginPath();
        c.moveTo(x, u.bbox.top);
        c.lineTo(x, u.bbox.top + u.bbox.height);
        c.stroke();
        // The label on a white box at the foot of the marker, on whichever
        // side has room, so no line runs through it.
        const px = devicePixelRatio;
        c.font = `${11 * px}px system-ui, sans-serif`;
        const w = c.measureText('Frist').width;
        const right = x + 4 * px + w + 4 * px <= u.bbox.left + u.bbox.width;
        const lx = right ? x + 4 * px : x - 4 * px - w;
        const ly = u.bbox.top + u.bbox.height - 6 * px;
        c.setLineDash([]);
        c.fillStyle = 'rgba(255,255,255,0.92)';
        c.fillRect(lx - 2 * px, ly - 11 * px, w + 4 * px, 14 * px);
        c.fillStyle = '#b00020';
        c.fillText('Frist', lx, ly);
        c.restore();
      }],
    },
  };
  // Focusable: the arrow keys step the cursor month by month and the month's
  // values are read out (the legend shows them too).
  const readout = el('p', { class: 'sr-only', 'aria-live': 'polite', 'data-field': 'chart-readout' });
  const holder = el('div', {
    class: 'chart-canvas', role: 'group', tabindex: '0',
    'aria-label': `Burn-up-Diagramm ${t.title}: Pfeiltasten links und rechts zeigen die Werte der einzelnen Monate`,
  });
  box.append(holder, readout);
  const u = new uPlot(opts, data, holder);
  // For the browser tests, like the maps.
  (window.__funkplan.charts ??= {})[t.id] = u;
  let idx = null;
  holder.addEventListener('keydown', (e) => {
    const n = allX.length;
    // Home and End: the first and the latest month of the history; the
    // arrows step on into the forecast too.
    const lastHist = allX.indexOf(last);
    if (e.key === 'Home') idx = 0;
    else if (e.key === 'End') idx = lastHist;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      idx = idx === null ? lastHist : Math.max(0, Math.min(n - 1, idx + (e.key === 'ArrowLeft' ? -1 : 1)));
    } else return;
    e.preventDefault();
    u.setCursor({ left: u.valToPos(allX[idx], 'x'), top: u.bbox.height / devicePixelRatio / 2 });
    const parts = [formatMonth(new Date(allX[idx] * 1000).toISOString())];
    if (data[1][idx] != null) parts.push(`Verlauf ${fmt(data[1][idx])}`);
    if (data[3][idx] != null) parts.push(`Prognose ${fmt(data[3][idx])}`);
    parts.push(`Ziel ${fmt(t.target_value)}`);
    readout.textContent = parts.join(', ');
  });
  return {
    fit: () => u.setSize({ width: Math.max(260, box.clientWidth || 320), height: 180 }),
    destroy: () => { delete window.__funkplan.charts?.[t.id]; u.destroy(); },
  };
}
