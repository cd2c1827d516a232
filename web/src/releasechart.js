// The municipality's 5G and LTE household share at each coverage release
// (issue 16), from /api/v1/municipalities/{ags}/releases: a step chart (a
// release holds until the next one) and the same values as a table, for
// keyboards and screen readers.
import uPlot from 'uplot';
import { municipalityReleases } from './api.js';
import { el, loading } from './dom.js';
import { formatDate, formatShare } from './format.js';

const DAY = 86400;
const ts = (d) => Date.parse(`${d}T00:00:00Z`) / 1000;

export function releaseChart(ags, isAlive) {
  const body = el('div', { class: 'release-chart-body' }, loading('Verlauf über die Versorgungsstände wird geladen …'));
  const box = el('div', { class: 'titled release-chart', 'data-section': 'release-chart' },
    el('h2', { class: 'table-title' }, 'Versorgung über die Versorgungsstände'), body);
  municipalityReleases(ags).then((s) => {
    if (!isAlive()) return;
    const rs = s.releases ?? [];
    if (rs.length < 2) {
      body.replaceChildren(el('p', { class: 'muted', 'data-field': 'release-chart-note' }, rs.length === 0
        ? 'Noch kein Versorgungsstand der Bundesnetzagentur eingelesen.'
        : `Ein Versorgungsstand (${formatDate(rs[0].date)}): noch kein Verlauf.`));
      return;
    }
    const xs = rs.map((r) => ts(r.date));
    const nr = rs.map((r) => r.coverage?.['5g']?.household_share ?? null);
    const lte = rs.map((r) => r.coverage?.lte?.household_share ?? null);
    const holder = el('div', {
      class: 'chart-canvas', role: 'img',
      'aria-label': `Anteil der Haushalte mit 5G und LTE je Versorgungsstand, ${formatDate(rs[0].date)} bis ${formatDate(rs.at(-1).date)}; Werte in der Tabelle darunter`,
    });
    const pct = (v) => (v == null ? '–' : formatShare(v));
    const table = el('table', { class: 'release-table', 'data-table': 'release-chart' },
      el('caption', { class: 'sr-only' }, 'Anteil der Haushalte je Versorgungsstand'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Stand'), el('th', { scope: 'col' }, '5G'), el('th', { scope: 'col' }, 'LTE'))),
      el('tbody', {}, ...rs.map((r, i) => el('tr', { 'data-date': r.date },
        el('th', { scope: 'row' }, formatDate(r.date)),
        el('td', { 'data-field': 'share-5g', 'data-value': String(nr[i]) }, pct(nr[i])),
        el('td', { 'data-field': 'share-lte', 'data-value': String(lte[i]) }, pct(lte[i]))))));
    body.replaceChildren(holder, el('details', { class: 'release-values' }, el('summary', {}, 'Werte als Tabelle'), table));
    const stepped = uPlot.paths.stepped({ align: 1 });
    const opts = {
      width: Math.max(260, box.clientWidth || 320),
      height: 170,
      legend: { show: true, live: true },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: () => [0, 1] } },
      axes: [
        {
          stroke: '#333', grid: { stroke: '#e4e4e4' }, space: 50,
          values: (u, vals) => {
            const span = (u.scales.x.max - u.scales.x.min) / DAY;
            const f = new Intl.DateTimeFormat('de-DE', span > 730 ? { year: 'numeric', timeZone: 'UTC' } : { month: 'short', year: '2-digit', timeZone: 'UTC' });
            return vals.map((v) => f.format(new Date(v * 1000)));
          },
        },
        { stroke: '#333', grid: { stroke: '#e4e4e4' }, size: 56, values: (u, vals) => vals.map((v) => formatShare(v)) },
      ],
      series: [
        { label: 'Stand', value: (u, v) => (v == null ? '–' : formatDate(new Date(v * 1000).toISOString().slice(0, 10))) },
        { label: '5G', stroke: '#0b5cad', width: 2, paths: stepped, value: (u, v) => pct(v) },
        { label: 'LTE', stroke: '#1a7f37', width: 2, paths: stepped, value: (u, v) => pct(v) },
      ],
    };
    const u = new uPlot(opts, [xs, nr, lte], holder);
    (window.__funkplan.charts ??= {})[`releases-${ags}`] = u;
  }).catch((e) => {
    if (!isAlive()) return;
    // Without the engine (503) or releases there is no series to draw.
    body.replaceChildren(el('p', { class: 'muted', 'data-field': 'release-chart-note' },
      e?.status === 503 ? 'Der Verlauf braucht die Versorgungsberechnung des Servers; sie ist gerade nicht verfügbar.'
        : `Der Verlauf konnte nicht geladen werden: ${e?.message ?? e}`));
  });
  return box;
}
