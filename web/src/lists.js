// Lists of sites and measures of one municipality: sortable by any column,
// filterable by status, operator and kind, with the rows' ids as buttons
// that show the object on the map. Pure parts (`filterRows`, `sortRows`,
// the column definitions) are exported for the tests.
import {
  formatDate, MEASURE_KIND, MEASURE_STATUS, operatorName, SITE_STATUS, TECHNOLOGY,
} from './format.js';
import { el, sortableHead } from './dom.js';

const techs = (ts) => (ts ?? []).map((t) => TECHNOLOGY[t] ?? t).join(', ') || '–';

/** Columns of the site list: key, label, the value sorted by, the text shown. */
export const SITE_COLUMNS = [
  { key: 'site_id', label: 'Standort', value: (p) => p.site_id, text: true },
  { key: 'operator', label: 'Netzbetreiber', value: (p) => operatorName(p.operator), text: true },
  { key: 'status', label: 'Status', value: (p) => Object.keys(SITE_STATUS).indexOf(p.status), show: (p) => SITE_STATUS[p.status] ?? p.status },
  { key: 'technologies', label: 'Technik', value: (p) => techs(p.technologies), text: true },
  { key: 'planned_date', label: 'geplant für', value: (p) => p.planned_date, date: true },
  { key: 'on_air_date', label: 'in Betrieb seit', value: (p) => p.on_air_date, date: true },
];

/** Columns of the measure list. */
export const MEASURE_COLUMNS = [
  { key: 'measure_id', label: 'Maßnahme', value: (p) => p.measure_id, text: true },
  { key: 'kind', label: 'Art', value: (p) => MEASURE_KIND[p.kind] ?? p.kind, text: true },
  { key: 'status', label: 'Status', value: (p) => Object.keys(MEASURE_STATUS).indexOf(p.status), show: (p) => MEASURE_STATUS[p.status] ?? p.status },
  { key: 'site_id', label: 'Standort', value: (p) => p.site_id, text: true },
  { key: 'operator', label: 'Netzbetreiber', value: (p) => operatorName(p.operator), text: true },
  { key: 'planned_date', label: 'geplant für', value: (p) => p.planned_date, date: true },
  { key: 'completed_date', label: 'abgeschlossen am', value: (p) => p.completed_date, date: true },
];

const shown = (c, p) => {
  if (c.show) return c.show(p);
  const v = c.value(p);
  if (v === null || v === undefined || v === '') return '–';
  return c.date ? formatDate(v) : String(v);
};

/** Rows whose every filter matches (`filters`: {field: value or ''}). */
export function filterRows(rows, filters) {
  return rows.filter((p) => Object.entries(filters).every(([k, v]) => !v || p[k] === v));
}

/** Rows sorted by column `key` of `columns`, `dir` 1 or -1; empty values last, ties by the first column. */
export function sortRows(rows, columns, key, dir) {
  const col = columns.find((c) => c.key === key) ?? columns[0];
  const first = columns[0];
  return [...rows].sort((a, b) => {
    const va = col.value(a);
    const vb = col.value(b);
    const na = va === null || va === undefined || va === '' || va === -1;
    const nb = vb === null || vb === undefined || vb === '' || vb === -1;
    if (na || nb) return na === nb ? String(first.value(a)).localeCompare(String(first.value(b)), 'de') : na ? 1 : -1;
    const c = col.text || col.date ? String(va).localeCompare(String(vb), 'de') : va - vb;
    return c !== 0 ? dir * c : String(first.value(a)).localeCompare(String(first.value(b)), 'de');
  });
}

/**
 * A sortable, filterable table of `rows` (the properties of OGC features).
 * `filters`: [{key, label, options: {value: label}}]; `initial`: the
 * starting filter values and sort; `onPick(row)`: called when a row's id
 * button is pressed.
 */
export function listTable({ kind, title, columns, rows, filters, initial = {}, onPick }) {
  const sorting = { key: initial.sort ?? columns[0].key, dir: initial.dir ?? 1 };
  const state = { filters: { ...(initial.filters ?? {}) } };
  const count = el('p', { class: 'small muted', 'aria-live': 'polite', 'data-field': `${kind}-count` });
  const box = el('div', { class: 'table-scroll list-scroll' });
  const selects = filters.map((f) => {
    const sel = el('select', { 'data-filter': f.key, 'aria-label': `${title}: ${f.label}` },
      el('option', { value: '' }, `${f.label}: alle`),
      Object.entries(f.options).filter(([v]) => rows.some((r) => r[f.key] === v)).map(([v, l]) => el('option', { value: v }, l)));
    sel.value = state.filters[f.key] ?? '';
    sel.addEventListener('change', () => { state.filters[f.key] = sel.value; draw(); });
    return el('label', { class: 'list-filter' }, sel);
  });
  const draw = () => {
    const list = sortRows(filterRows(rows, state.filters), columns, sorting.key, sorting.dir);
    count.textContent = list.length === rows.length ? `${list.length} Einträge` : `${list.length} von ${rows.length} Einträgen`;
    box.replaceChildren(el('table', { class: `list ${kind}-list` },
      sortableHead(columns, sorting, { redraw: draw, container: box }),
      el('tbody', {}, list.map((p) => el('tr', { 'data-id': p[columns[0].key] }, columns.map((c, i) => (i === 0
        ? el('th', { scope: 'row' }, onPick
          ? el('button', { type: 'button', class: 'linkish', title: 'Auf der Karte zeigen', onclick: () => onPick(p) }, shown(c, p))
          : shown(c, p))
        : el('td', { 'data-field': c.key }, shown(c, p)))))))));
  };
  draw();
  const id = `list-${kind}`;
  return el('div', { class: 'titled list-box', 'data-list': kind },
    el('h2', { class: 'table-title', id }, title),
    el('div', { class: 'list-filters', role: 'group', 'aria-labelledby': id }, selects),
    count, box);
}
