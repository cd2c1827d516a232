// A district (#/kreis/05158) or Regierungsbezirk (#/bezirk/051): its
// figures summed from its municipalities (by the server, counts added and
// shares divided once) and its municipalities in a table sortable by any
// figure.
import { area } from './api.js';
import { formatCount, formatDateTime, formatKm2, formatShare, SOURCE, TECHNOLOGY } from './format.js';
import { el, errorBox, loading, announce, sortableHead } from './dom.js';

/** The columns of the municipality table: label, value, how to show it. */
const COLUMNS = [
  { key: 'name', label: 'Gemeinde', value: (m) => m.name, text: true },
  { key: 'households', label: 'Haushalte', value: (m) => m.households, show: formatCount },
  { key: 'household_share_5g', label: '5G – Haushalte', value: (m) => m.household_share_5g, show: formatShare },
  { key: 'household_share_lte', label: 'LTE – Haushalte', value: (m) => m.household_share_lte, show: formatShare },
  { key: 'area_share_5g', label: '5G – Fläche', value: (m) => m.area_share_5g, show: formatShare },
  { key: 'area_share_lte', label: 'LTE – Fläche', value: (m) => m.area_share_lte, show: formatShare },
  { key: 'dead_spot_area_km2', label: 'LTE-Funklöcher', value: (m) => m.dead_spot_area_km2, show: formatKm2 },
];

/**
 * Rows sorted by column `key` of `columns`, `dir` 1 ascending or -1
 * descending; missing values last, ties by name.
 */
export function sortMembers(rows, key, dir, columns = COLUMNS) {
  const col = columns.find((c) => c.key === key) ?? columns[0];
  return [...rows].sort((a, b) => {
    const va = col.value(a);
    const vb = col.value(b);
    const na = va === null || va === undefined;
    const nb = vb === null || vb === undefined;
    if (na || nb) return na === nb ? a.name.localeCompare(b.name, 'de') : na ? 1 : -1;
    const c = col.text ? String(va).localeCompare(String(vb), 'de') : va - vb;
    return c !== 0 ? dir * c : a.name.localeCompare(b.name, 'de');
  });
}

export function renderArea(main, level, key) {
  const what = level === 'kreis' ? 'Kreis' : 'Regierungsbezirk';
  document.title = `${what} ${key} – Funkplan NRW`;
  const section = el('section', { class: 'gebiet', 'data-key': key, 'aria-busy': 'true' }, loading(`Zahlen (${what}) werden geladen …`));
  main.append(section);
  let alive = true;
  window.__funkplan.ready.gebiet = false;
  (async () => {
    let a;
    try {
      a = await area(level, key);
    } catch (e) {
      if (!alive) return;
      section.setAttribute('aria-busy', 'false');
      section.replaceChildren(el('h1', {}, `${what} ${key}`),
        e.status === 404 || e.status === 400 ? el('p', { class: 'error', role: 'alert' }, `Es gibt keinen ${what} mit dem Schlüssel ${key}.`)
          : errorBox(e, () => { main.replaceChildren(); renderArea(main, level, key); }));
      return;
    }
    if (!alive) return;
    document.title = `${a.name} – Funkplan NRW`;
    const sort = { key: 'name', dir: 1 };
    const tableBox = el('div', { class: 'table-scroll' });
    const drawTable = () => {
      const rows = sortMembers(a.municipalities ?? [], sort.key, sort.dir);
      tableBox.replaceChildren(el('table', { class: 'members' },
        el('caption', {}, `${formatCount(rows.length)} Gemeinden – zum Sortieren eine Spaltenüberschrift wählen`),
        sortableHead(COLUMNS, sort, { redraw: drawTable, container: tableBox, firstDir: (c) => (c.text ? 1 : -1) }),
        el('tbody', {}, rows.map((m) => el('tr', { 'data-ags': m.ags }, COLUMNS.map((c) => (c.key === 'name'
          ? el('th', { scope: 'row' }, el('a', { href: `#/gemeinde/${m.ags}` }, m.name))
          : el('td', { 'data-field': c.key }, c.show(c.value(m))))))))));
    };
    drawTable();
    const cov = (tech, k) => formatShare(a.coverage?.[tech]?.[k]);
    section.replaceChildren(
      el('nav', { class: 'crumbs', 'aria-label': 'Pfad' }, el('a', { href: '#/karte' }, 'Karte'), ' › ', a.name),
      // A Kreis without a name in the data is called by its key already.
      el('h1', {}, a.name, ' ', el('span', { class: 'ags', 'data-field': 'ags' },
        a.name.includes(a.ags) ? '' : `${a.kind} · Schlüssel ${a.ags}`)),
      el('dl', { class: 'figures' },
        el('div', {}, el('dt', {}, 'Haushalte'), el('dd', { 'data-field': 'households' }, formatCount(a.households))),
        el('div', {}, el('dt', {}, 'Fläche'), el('dd', { 'data-field': 'area' }, formatKm2(a.area_km2))),
        ...['5g', 'lte'].map((t) => el('div', {}, el('dt', {}, `${TECHNOLOGY[t]} – Haushalte`), el('dd', { 'data-field': `${t}.household_share` }, cov(t, 'household_share')))),
        el('div', {}, el('dt', {}, 'LTE-Funklöcher'), el('dd', { 'data-field': 'dead-spots' }, formatKm2(a.coverage?.lte?.dead_spot_area_km2)))),
      el('div', { class: 'titled' }, el('h2', { class: 'table-title' }, 'Gemeinden'), tableBox),
      el('p', { class: 'source small' }, 'Summiert aus den Gemeinden (Haushalte und Zellen addiert, Anteile einmal geteilt). Berechnung: ',
        el('span', { 'data-field': 'source' }, SOURCE[a.source] ?? a.source ?? '–'),
        ' · Stand: ', el('span', { 'data-field': 'computed_at' }, formatDateTime(a.computed_at))),
    );
    section.setAttribute('aria-busy', 'false');
    announce(`${a.name} geladen`);
    window.__funkplan.ready.gebiet = true;
  })();
  return () => {
    alive = false;
    window.__funkplan.ready.gebiet = false;
  };
}
