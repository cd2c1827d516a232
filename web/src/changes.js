// "Was hat sich geändert": a municipality's reported coverage between two
// releases of the regulator (issue 16) — a table per technology and the
// gained and lost areas on the municipality's map.
import { changes, releases } from './api.js';
import { formatCount, formatDate, formatKm2 } from './format.js';
import { el, loading } from './dom.js';

/** Gained in green, lost in purple: told apart with red-green weakness too. */
export const CHANGE_COLORS = { gained: '#1a9850', lost: '#7b3294' };

/**
 * The section, filled once the releases are known. `getMap` gives the
 * municipality's map (null until it exists); the changed areas are drawn on
 * it as the layer `changes-fill`.
 */
export function changesSection(ags, getMap, isAlive) {
  const body = el('div', { class: 'changes-body' }, loading('Versorgungsstände werden geladen …'));
  const box = el('div', { class: 'titled changes', 'data-section': 'changes' },
    el('h2', { class: 'table-title', id: 'changes-title' }, 'Was sich geändert hat'), body);
  releases().then((rs) => {
    if (!isAlive()) return;
    if (rs.length < 2) {
      body.replaceChildren(el('p', { class: 'muted', 'data-field': 'changes-note' }, rs.length === 0
        ? 'Noch kein Versorgungsstand der Bundesnetzagentur eingelesen.'
        : `Ein Versorgungsstand (${formatDate(rs[0].as_of)}): noch nichts zu vergleichen.`));
      return;
    }
    const option = (r, selected) => el('option', { value: r.as_of, ...(selected ? { selected: '' } : {}) }, formatDate(r.as_of));
    const from = el('select', { id: 'changes-from' }, ...rs.map((r, i) => option(r, i === rs.length - 2)));
    const to = el('select', { id: 'changes-to' }, ...rs.map((r, i) => option(r, i === rs.length - 1)));
    const show = el('input', { type: 'checkbox', id: 'changes-map', checked: '' });
    const tech = el('select', { id: 'changes-tech', 'aria-label': 'Technik auf der Karte' },
      el('option', { value: '5g', selected: '' }, '5G'), el('option', { value: 'lte' }, 'LTE'));
    const out = el('div', { 'aria-live': 'polite' });
    body.replaceChildren(
      el('div', { class: 'changes-controls' },
        el('label', { for: 'changes-from' }, 'Stand vom '), from,
        el('label', { for: 'changes-to' }, ' bis '), to,
        el('label', { class: 'changes-toggle' }, show, ' auf der Karte zeigen: '), tech),
      out);
    let seq = 0;
    const load = () => {
      const n = ++seq;
      if (from.value > to.value) {
        out.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Der erste Stand muss vor dem zweiten liegen.'));
        draw(getMap(), null, false, tech.value);
        return;
      }
      out.replaceChildren(loading('Änderungen werden geladen …'));
      changes(ags, from.value, to.value).then((c) => {
        if (!isAlive() || n !== seq) return;
        out.replaceChildren(changesTable(c));
        draw(getMap(), c.changed_areas, show.checked, tech.value);
      }).catch((e) => {
        if (isAlive() && n === seq) out.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Änderungen nicht geladen: ${e.message}`));
      });
    };
    from.addEventListener('change', load);
    to.addEventListener('change', load);
    show.addEventListener('change', () => {
      const map = getMap();
      if (map?.getLayer('changes-fill')) map.setLayoutProperty('changes-fill', 'visibility', show.checked ? 'visible' : 'none');
    });
    tech.addEventListener('change', () => {
      const map = getMap();
      if (map?.getLayer('changes-fill')) map.setFilter('changes-fill', ['==', ['get', 'technology'], tech.value]);
    });
    load();
  }).catch((e) => {
    if (isAlive()) body.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Versorgungsstände nicht geladen: ${e.message}`));
  });
  return box;
}

function changesTable(c) {
  const techs = [['5g', '5G'], ['lte', 'LTE']].filter(([k]) => c.technologies?.[k]);
  const signed = (gained, lost, f) => el('span', {},
    el('span', { class: 'gain' }, `+${f(gained)}`), ' / ', el('span', { class: 'loss' }, `−${f(lost)}`));
  const row = (label, field, cells) => el('tr', { 'data-row': field }, el('th', { scope: 'row' }, label), ...cells);
  return el('table', { class: 'changes-table', 'aria-labelledby': 'changes-title' },
    el('caption', { class: 'small muted' },
      `Gemeldete Versorgung, Stand ${formatDate(c.from) || '–'} → ${formatDate(c.to) || '–'}`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Kennzahl'),
      ...techs.map(([, label]) => el('th', { scope: 'col' }, label)))),
    el('tbody', {},
      row('Haushalte versorgt vorher', 'households-before', techs.map(([k, l]) => el('td', { 'data-label': l, 'data-tech': k }, formatCount(c.technologies[k].households_before)))),
      row('Haushalte versorgt nachher', 'households-after', techs.map(([k, l]) => el('td', { 'data-label': l, 'data-tech': k }, formatCount(c.technologies[k].households_after)))),
      row('Haushalte gewonnen / verloren', 'households-change', techs.map(([k, l]) => el('td', { 'data-label': l, 'data-tech': k },
        signed(c.technologies[k].households_gained, c.technologies[k].households_lost, formatCount)))),
      row('Fläche gewonnen / verloren', 'area-change', techs.map(([k, l]) => el('td', { 'data-label': l, 'data-tech': k },
        signed(c.technologies[k].area_gained_km2, c.technologies[k].area_lost_km2, formatKm2)))),
      el('tr', { 'data-row': 'dead-spots' }, el('th', { scope: 'row' }, 'LTE-Funklöcher vorher → nachher'),
        el('td', { colspan: String(techs.length), 'data-label': 'LTE' },
          `${formatKm2(c.dead_spot_area_km2?.before)} → ${formatKm2(c.dead_spot_area_km2?.after)}`))));
}

/** The changed areas on the municipality's map, below the outline. */
function draw(map, fc, visible, technology) {
  if (!map) return;
  const data = fc ?? { type: 'FeatureCollection', features: [] };
  const apply = () => {
    if (map.getSource('changes')) {
      map.getSource('changes').setData(data);
    } else {
      map.addSource('changes', { type: 'geojson', data });
      map.addLayer({
        id: 'changes-fill', type: 'fill', source: 'changes',
        layout: { visibility: visible ? 'visible' : 'none' },
        paint: { 'fill-color': ['match', ['get', 'change'], 'gained', CHANGE_COLORS.gained, CHANGE_COLORS.lost], 'fill-opacity': 0.6 },
        filter: ['==', ['get', 'technology'], technology],
      }, map.getLayer('muni-line') ? 'muni-line' : undefined);
    }
  };
  if (map.isStyleLoaded() && map.getLayer('muni-line')) apply(); else map.once('idle', apply);
}
