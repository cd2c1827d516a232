// The municipality beside its neighbours (issue 22): the municipalities it
// shares a border with, from /api/v1/municipalities/{ags}/neighbours, with
// their figures from the municipalities collection the page has already; a
// table sortable by any column, the municipality itself marked among them.
import { municipalities, neighbours } from './api.js';
import { sortMembers } from './area.js';
import { formatKm2, formatShare } from './format.js';
import { el, loading, sortableHead } from './dom.js';

const km = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 1 });

export const NEIGHBOUR_COLUMNS = [
  { key: 'name', label: 'Gemeinde', value: (m) => m.name, text: true },
  { key: 'border_km', label: 'Gemeinsame Grenze', value: (m) => m.border_km, show: (v) => (v == null ? '–' : `${km.format(v)} km`) },
  { key: 'household_share_5g', label: '5G – Haushalte', value: (m) => m.household_share_5g, show: formatShare },
  { key: 'area_share_5g', label: '5G – Fläche', value: (m) => m.area_share_5g, show: formatShare },
  { key: 'household_share_lte', label: 'LTE – Haushalte', value: (m) => m.household_share_lte, show: formatShare },
  { key: 'dead_spot_area_km2', label: 'LTE-Funklöcher', value: (m) => m.dead_spot_area_km2, show: formatKm2 },
];

export function neighboursTable(ags, isAlive) {
  // On a phone the table scrolls sideways on its own, as the site and measure lists do.
  const body = el('div', { class: 'table-scroll list-scroll' }, loading('Nachbargemeinden werden geladen …'));
  const box = el('div', { class: 'titled neighbours', 'data-section': 'neighbours' },
    el('h2', { class: 'table-title' }, 'Nachbargemeinden'), body);
  Promise.all([neighbours(ags), municipalities()]).then(([n, fc]) => {
    if (!isAlive()) return;
    const props = new Map((fc.features ?? []).map((f) => [f.properties.ags, f.properties]));
    const self = props.get(ags);
    const rows = (n.neighbours ?? []).map((x) => ({ ...props.get(x.ags), ags: x.ags, name: x.name, border_km: x.border_km }));
    if (rows.length === 0) {
      body.replaceChildren(el('p', { class: 'muted', 'data-field': 'neighbours-note' }, 'Keine Nachbargemeinde mit gemeinsamer Grenze in den Daten.'));
      return;
    }
    if (self) rows.push({ ...self, border_km: null, self: true });
    const sort = { key: 'border_km', dir: -1 };
    const draw = () => {
      const shown = sortMembers(rows, sort.key, sort.dir, NEIGHBOUR_COLUMNS);
      body.replaceChildren(el('table', { class: 'members neighbours-table' },
        el('caption', { class: 'sr-only' }, 'Die Gemeinde und ihre Nachbargemeinden; Spaltenköpfe sortieren'),
        sortableHead(NEIGHBOUR_COLUMNS, sort, { redraw: draw, container: body, firstDir: (c) => (c.text ? 1 : -1) }),
        el('tbody', {}, shown.map((m) => el('tr', { 'data-ags': m.ags, class: m.self ? 'self' : '' }, NEIGHBOUR_COLUMNS.map((c) => (c.key === 'name'
          ? el('th', { scope: 'row' }, m.self ? el('span', {}, m.name, ' (diese Gemeinde)') : el('a', { href: `#/gemeinde/${m.ags}` }, m.name))
          : el('td', { 'data-field': c.key }, m.self && c.key === 'border_km' ? '–' : c.show(c.value(m))))))))));
    };
    draw();
  }).catch((e) => {
    if (isAlive()) body.replaceChildren(el('p', { class: 'error' }, `Nachbargemeinden nicht geladen: ${e.message}`));
  });
  return box;
}
