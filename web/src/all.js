// All municipalities (#/gemeinden): one table, sortable by any figure,
// filtered by district or name, and the figures as a download (CSV for any
// spreadsheet, CSV for German Excel, XLSX) from the server's exports.
import { areas, municipalities } from './api.js';
import { sortMembers } from './area.js';
import { formatCount, formatKm2, formatShare } from './format.js';
import { el, errorBox, loading, announce, sortableHead } from './dom.js';

const COLUMNS = [
  { key: 'name', label: 'Gemeinde', value: (m) => m.name, text: true },
  { key: 'district_name', label: 'Kreis', value: (m) => m.district_name, text: true },
  { key: 'households', label: 'Haushalte', value: (m) => m.households, show: formatCount },
  { key: 'household_share_5g', label: '5G – Haushalte', value: (m) => m.household_share_5g, show: formatShare },
  { key: 'area_share_5g', label: '5G – Fläche', value: (m) => m.area_share_5g, show: formatShare },
  { key: 'household_share_lte', label: 'LTE – Haushalte', value: (m) => m.household_share_lte, show: formatShare },
  { key: 'dead_spot_area_km2', label: 'LTE-Funklöcher', value: (m) => m.dead_spot_area_km2, show: formatKm2 },
  { key: 'grey_spot_area_km2', label: 'LTE, nur ein Netzbetreiber', value: (m) => m.grey_spot_area_km2, show: formatKm2 },
];

/** The downloads of the server's export, as offered on the page. */
export const DOWNLOADS = [
  { href: '/api/v1/export/municipalities.xlsx', label: 'Excel (XLSX)' },
  { href: '/api/v1/export/municipalities.csv?locale=de', label: 'CSV für Excel (deutsch: ; und Komma)' },
  { href: '/api/v1/export/municipalities.csv', label: 'CSV (Komma, Dezimalpunkt)' },
  { href: '/api/v1/export/funkplan.gpkg', label: 'GeoPackage (alle Daten mit Geometrie, für QGIS)' },
];

/** The rows whose district is `district` (all for '') and whose name contains `text`. */
export function filterRows(rows, district, text) {
  const q = text.trim().toLocaleLowerCase('de');
  return rows.filter((m) => (!district || m.district === district) && (!q || m.name.toLocaleLowerCase('de').includes(q)));
}

export function renderAll(main) {
  document.title = 'Alle Gemeinden – Funkplan NRW';
  const section = el('section', { class: 'alle', 'aria-busy': 'true' }, loading('Gemeinden werden geladen …'));
  main.append(section);
  let alive = true;
  window.__funkplan.ready.alle = false;
  (async () => {
    let fc;
    let kreise;
    try {
      [fc, kreise] = await Promise.all([municipalities(), areas('kreise').catch(() => ({ features: [] }))]);
    } catch (e) {
      if (alive) section.replaceChildren(el('h1', {}, 'Alle Gemeinden'), errorBox(e, () => { main.replaceChildren(); renderAll(main); }));
      return;
    }
    if (!alive) return;
    const names = new Map((kreise.features ?? []).map((f) => [f.properties.ags, f.properties.name]));
    const rows = (fc.features ?? []).map((f) => ({ ...f.properties, district_name: names.get(f.properties.district) ?? f.properties.district }));
    const districts = [...new Set(rows.map((r) => r.district))].sort((a, b) => (names.get(a) ?? a).localeCompare(names.get(b) ?? b, 'de'));
    const district = el('select', { id: 'alle-kreis' }, el('option', { value: '' }, 'alle Kreise'),
      ...districts.map((d) => el('option', { value: d }, names.get(d) ?? d)));
    const text = el('input', { id: 'alle-name', type: 'search', autocomplete: 'off', placeholder: 'Name enthält …' });
    const count = el('p', { class: 'small muted', 'aria-live': 'polite', 'data-field': 'alle-count' });
    const tableBox = el('div', { class: 'table-scroll' });
    const sort = { key: 'name', dir: 1 };
    const draw = () => {
      const shown = sortMembers(filterRows(rows, district.value, text.value), sort.key, sort.dir, COLUMNS);
      count.textContent = `${shown.length} von ${rows.length} Gemeinden`;
      tableBox.replaceChildren(el('table', { class: 'members all-members' },
        sortableHead(COLUMNS, sort, { redraw: draw, container: tableBox, firstDir: (c) => (c.text ? 1 : -1) }),
        el('tbody', {}, shown.map((m) => el('tr', { 'data-ags': m.ags }, COLUMNS.map((c) => (c.key === 'name'
          ? el('th', { scope: 'row' }, el('a', { href: `#/gemeinde/${m.ags}` }, m.name))
          : c.key === 'district_name'
            ? el('td', { 'data-field': c.key }, el('a', { href: `#/kreis/${m.district}` }, m.district_name))
            : el('td', { 'data-field': c.key }, c.show(c.value(m))))))))));
    };
    district.addEventListener('change', draw);
    text.addEventListener('input', draw);
    draw();
    section.replaceChildren(
      el('h1', {}, 'Alle Gemeinden'),
      el('div', { class: 'list-filters', role: 'group', 'aria-label': 'Gemeinden filtern' },
        el('label', { for: 'alle-kreis' }, 'Kreis '), district, ' ',
        el('label', { for: 'alle-name' }, 'Name '), text),
      el('p', { class: 'downloads' }, 'Herunterladen: ',
        ...DOWNLOADS.flatMap((d, i) => [i ? ' · ' : '', el('a', { href: d.href, download: '', 'data-download': d.href }, d.label)])),
      count,
      tableBox,
      el('p', { class: 'source small muted' }, 'Die Downloads enthalten alle Gemeinden mit Quelle, Stand und Lizenz; Kreise, Regierungsbezirke und das Land unter /api/v1/export/.'));
    section.setAttribute('aria-busy', 'false');
    announce('Alle Gemeinden geladen');
    window.__funkplan.ready.alle = true;
  })();
  return () => {
    alive = false;
    window.__funkplan.ready.alle = false;
  };
}
