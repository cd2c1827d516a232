// The municipality view (#/gemeinde/AGS): figures from
// /api/v1/municipalities/{ags}, a small map with outline, dead spots and sites.
import * as maplibregl from 'maplibre-gl';
import {
  area, municipalities, municipality, municipalityFeature, deadSpots, ogcAll, targets,
} from './api.js';
import { changesSection } from './changes.js';
import { compare } from './compare.js';
import { releaseChart } from './releasechart.js';
import { neighboursTable } from './neighbours.js';
import { listTable, MEASURE_COLUMNS, SITE_COLUMNS } from './lists.js';
import {
  formatCount, formatDate, formatDateTime, formatGoal, formatKm2, formatShare, MEASURE_KIND, MEASURE_STATUS,
  operatorName, SITE_STATUS, SOURCE, TECHNOLOGY,
} from './format.js';
import { el, errorBox, loading, announce } from './dom.js';
import { bounds, emptyStyle, LOCALE_DE, siteColor, STATUS_COLORS } from './mapstyle.js';

export function renderMunicipality(main, ags) {
  document.title = `Gemeinde ${ags} – Funkplan NRW`;
  const started = performance.now();
  const section = el('section', { class: 'gemeinde', 'data-ags': ags, 'aria-busy': 'true' }, loading('Zahlen der Gemeinde werden geladen …'));
  main.append(section);
  let alive = true;
  let map = null;
  window.__funkplan.ready.gemeinde = false;

  (async () => {
    let m;
    try {
      m = await municipality(ags);
    } catch (e) {
      if (!alive) return;
      section.setAttribute('aria-busy', 'false');
      section.replaceChildren(
        el('h1', {}, `Gemeinde ${ags}`),
        e.status === 404 ? el('p', { class: 'error', role: 'alert' }, `Es gibt keine Gemeinde mit dem Schlüssel ${ags}.`)
          : errorBox(e, () => { main.replaceChildren(); renderMunicipality(main, ags); }),
      );
      return;
    }
    if (!alive) return;
    document.title = `${m.name} – Funkplan NRW`;
    const lists = el('div', { class: 'lists' }, loading('Standorte und Maßnahmen werden geladen …'));
    // The map as a picture for print: a WebGL canvas does not print, so the
    // last drawn frame is kept as an image (updated whenever the map settles).
    const mapPrint = el('img', { class: 'map-print print-only', alt: `Karte von ${m.name}: Funklöcher und Standorte`, 'data-field': 'map-print' });
    const mapEl = el('div', { class: 'map small-map', id: 'gemeinde-map', role: 'region', 'aria-label': `Karte von ${m.name} mit Funklöchern und Standorten` });
    section.replaceChildren(
      el('nav', { class: 'crumbs', 'aria-label': 'Pfad' }, el('a', { href: '#/karte' }, 'Karte'), ' › ',
        districtLink(ags, () => alive), ' › ', m.name),
      el('h1', {}, m.name, ' ', el('span', { class: 'ags', 'data-field': 'ags' }, `AGS ${m.ags}`),
        ' ', el('button', { type: 'button', class: 'print-button', 'data-action': 'print', onclick: () => window.print() }, 'Bericht als PDF / drucken')),
      el('p', { class: 'print-only print-meta' },
        `Bericht Mobilfunkversorgung · erstellt ${formatDateTime(new Date().toISOString())} · Datenstand ${formatDateTime(m.computed_at)}`),
      el('div', { class: 'gemeinde-grid' },
        el('div', {},
          el('dl', { class: 'figures' },
            fig('Haushalte', formatCount(m.households), 'households'),
            fig('Fläche', formatKm2(m.area_km2), 'area'),
            fig('LTE-Funklöcher', formatKm2(m.coverage?.lte?.dead_spot_area_km2), 'dead-spots'),
            fig('LTE, nur ein Netzbetreiber', formatKm2(m.coverage?.lte?.grey_spot_area_km2), 'grey-spots')),
          m.computed_at ? null : el('p', { class: 'notice', role: 'note' },
            'Für diese Gemeinde ist noch keine Versorgung berechnet (funkplan recompute).'),
          coverageTable(m),
          comparison(m, () => alive),
          neighboursTable(ags, () => alive),
          operatorTables(m)),
        el('div', {}, mapEl, mapPrint, el('p', { class: 'small muted' },
          el('span', { class: 'swatch', style: 'background:#d7263d' }), ' LTE-Funkloch · Punkte: Standorte nach Status'),
          changesSection(ags, () => map, () => alive),
          releaseChart(ags, () => alive))),
      el('div', { class: 'gemeinde-grid' }, sitesTable(m), measuresTable(m)),
      lists,
      el('p', { class: 'print-only small' }, 'Im Bericht die sechs nächsten geplanten Maßnahmen; alle Standorte und Maßnahmen in der Web-Ansicht.'),
      el('p', { class: 'source small' },
        'Berechnung: ', el('span', { 'data-field': 'source' }, SOURCE[m.source] ?? m.source ?? '–'),
        ' · Stand: ', el('span', { 'data-field': 'computed_at' }, formatDateTime(m.computed_at))),
    );
    section.setAttribute('aria-busy', 'false');
    announce(`${m.name} geladen`);
    map = smallMap(mapEl, ags, () => alive);
    map.on('idle', () => { if (alive) mapPrint.src = map.getCanvas().toDataURL('image/png'); });
    fillLists(lists, ags, () => map, () => alive);
    window.__funkplan.marks.gemeinde = performance.now() - started;
    window.__funkplan.ready.gemeinde = true;
  })();

  return () => {
    alive = false;
    window.__funkplan.ready.gemeinde = false;
    delete window.__funkplan.maps.gemeinde;
    if (map) map.remove();
  };
}

/** A link to the municipality's district, named once the server says how. */
function districtLink(ags, isAlive) {
  const key = ags.slice(0, 5);
  const a = el('a', { href: `#/kreis/${key}`, 'data-field': 'district' }, `Kreis ${key}`);
  area('kreis', key).then((d) => { if (isAlive()) a.textContent = d.name; }).catch(() => { /* the key stays */ });
  return a;
}

/**
 * The municipality beside its district and the state, with the state
 * target and its rank in the district; filled in when the municipalities
 * collection (shared with the search) and the targets are there.
 */
function comparison(m, isAlive) {
  const key = m.ags.slice(0, 5);
  const head = el('th', { scope: 'col', 'data-field': 'district-name' }, `Kreis ${key}`);
  const body = el('tbody', {}, el('tr', {}, el('td', { colspan: '6' }, loading('Vergleich wird geladen …'))));
  const table = el('table', { class: 'compare' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Kennzahl'), el('th', { scope: 'col' }, 'Gemeinde'), head,
      el('th', { scope: 'col' }, 'NRW'), el('th', { scope: 'col' }, 'Landesziel'),
      el('th', { scope: 'col' }, 'Rang im Kreis'))),
    body);
  const box = titled('Im Vergleich', table);
  const fmt = (kind, v) => (v === null || v === undefined ? '–' : kind === 'share' ? formatShare(v) : formatKm2(v));
  Promise.all([municipalities(), targets().catch(() => []), area('kreis', key).catch(() => null)]).then(([fc, ts, d]) => {
    if (!isAlive()) return;
    if (d?.name) head.textContent = d.name;
    const rows = compare(m.ags, fc.features ?? []);
    if (!rows) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: '6' }, 'Kein Vergleich: die Gemeinde fehlt in der Übersicht.')));
      return;
    }
    // A state target per row where one target measures exactly that figure.
    const goalOf = (metric) => {
      const hits = ts.filter((t) => t.metric === metric);
      return hits.length === 1 ? formatGoal(hits[0]) : '–';
    };
    body.replaceChildren(...rows.map((r) => el('tr', { 'data-row': r.key },
      el('th', { scope: 'row' }, r.label),
      // data-label: on a phone each row becomes a small card with these labels.
      el('td', { 'data-field': 'value', 'data-label': 'Gemeinde' }, fmt(r.kind, r.value)),
      el('td', { 'data-field': 'district', 'data-label': head.textContent }, fmt(r.kind, r.district)),
      el('td', { 'data-field': 'state', 'data-label': 'NRW' }, fmt(r.kind, r.state)),
      el('td', { 'data-field': 'goal', 'data-label': 'Landesziel' }, r.metric ? goalOf(r.metric) : '–'),
      el('td', { 'data-field': 'rank', 'data-label': 'Rang im Kreis' }, r.rank === null ? '–' : `${r.rank} von ${r.of}`))));
  }).catch((e) => {
    if (isAlive()) body.replaceChildren(el('tr', {}, el('td', { colspan: '6', class: 'error' }, `Vergleich nicht geladen: ${e.message}`)));
  });
  return box;
}

/** A site's details in a popup on the small map. */
function sitePopup(map, feature) {
  const p = feature.properties ?? {};
  const techs = (Array.isArray(p.technologies) ? p.technologies : []).map((t) => TECHNOLOGY[t] ?? t).join(', ') || 'keine';
  const content = el('div', { class: 'site-popup', 'data-site': p.site_id },
    el('strong', {}, p.site_id), el('br'),
    `${operatorName(p.operator)} · ${SITE_STATUS[p.status] ?? p.status}`, el('br'),
    `Technik: ${techs}`,
    p.on_air_date ? el('span', {}, el('br'), `in Betrieb seit ${formatDate(p.on_air_date)}`) : null,
    p.planned_date ? el('span', {}, el('br'), `geplant für ${formatDate(p.planned_date)}`) : null);
  return new maplibregl.Popup({ closeButton: true, maxWidth: '260px' })
    .setLngLat(feature.geometry.coordinates).setDOMContent(content).addTo(map);
}

/**
 * The municipality's sites and measures as lists (OGC items filtered by
 * its AGS); a row's id shows the site on the map, a site clicked on the map
 * marks its row.
 */
async function fillLists(box, ags, getMap, isAlive) {
  let sites;
  let measures;
  try {
    [sites, measures] = await Promise.all([
      ogcAll(`/ogc/collections/sites/items?ags=${encodeURIComponent(ags)}&limit=10000`, { max: 100000 }),
      ogcAll(`/ogc/collections/measures/items?ags=${encodeURIComponent(ags)}&limit=10000`, { max: 100000 }),
    ]);
  } catch (e) {
    if (isAlive()) box.replaceChildren(errorBox(e));
    return;
  }
  if (!isAlive()) return;
  const byId = new Map(sites.features.map((f) => [f.properties.site_id, f]));
  let popup = null;
  const show = (siteId) => {
    const f = byId.get(siteId);
    const map = getMap();
    if (!f || !map) return;
    popup?.remove();
    map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 13), duration: 0 });
    popup = sitePopup(map, f);
    mark(siteId);
  };
  const mark = (siteId) => {
    for (const tr of box.querySelectorAll('tr.picked')) tr.classList.remove('picked');
    const tr = box.querySelector(`.sites-list tr[data-id="${CSS.escape(siteId)}"]`);
    if (tr) { tr.classList.add('picked'); tr.scrollIntoView({ block: 'nearest' }); }
  };
  const operators = Object.fromEntries([...new Set(sites.features.map((f) => f.properties.operator))].map((o) => [o, operatorName(o)]));
  box.replaceChildren(
    listTable({
      kind: 'sites', title: 'Standorte', columns: SITE_COLUMNS, rows: sites.features.map((f) => f.properties),
      filters: [{ key: 'status', label: 'Status', options: SITE_STATUS }, { key: 'operator', label: 'Netzbetreiber', options: operators }],
      onPick: (p) => show(p.site_id),
    }),
    listTable({
      kind: 'measures', title: 'Maßnahmen – was kommt wann', columns: MEASURE_COLUMNS, rows: measures.features.map((f) => f.properties),
      filters: [{ key: 'status', label: 'Status', options: MEASURE_STATUS }, { key: 'kind', label: 'Art', options: MEASURE_KIND }],
      // What is coming: the planned measures, soonest first.
      initial: { filters: { status: measures.features.some((f) => f.properties.status === 'planned') ? 'planned' : '' }, sort: 'planned_date', dir: 1 },
      onPick: (p) => show(p.site_id),
    }));
  // A click on one of the municipality's own sites on the map.
  const map = getMap();
  const onClick = (e) => {
    const f = e.features?.find((x) => x.properties?.ags === ags);
    if (!f) return;
    popup?.remove();
    const full = byId.get(f.properties.site_id) ?? f;
    popup = sitePopup(map, full);
    mark(f.properties.site_id);
  };
  if (map) {
    map.on('click', 'sites', onClick);
    map.on('mouseenter', 'sites', () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'sites', () => { map.getCanvas().style.cursor = ''; });
  }
}

let titleSeq = 0;
/** A table under a heading that names it; the table scrolls on its own when narrow. */
function titled(title, table) {
  const id = `tbl-${++titleSeq}`;
  table.setAttribute('aria-labelledby', id);
  return el('div', { class: 'titled' }, el('h2', { id, class: 'table-title' }, title), el('div', { class: 'table-scroll' }, table));
}

function fig(label, value, field) {
  return el('div', {}, el('dt', {}, label), el('dd', { 'data-field': field }, value));
}

function coverageTable(m) {
  const rows = ['5g', 'lte'].map((tech) => {
    const c = m.coverage?.[tech] ?? {};
    const s = m.scenario?.[tech] ?? {};
    return el('tr', { 'data-tech': tech },
      el('th', { scope: 'row' }, TECHNOLOGY[tech]),
      el('td', { 'data-field': 'households_covered' }, formatCount(c.households_covered)),
      el('td', { 'data-field': 'household_share' }, formatShare(c.household_share)),
      el('td', { 'data-field': 'area_share' }, formatShare(c.area_share)),
      el('td', { 'data-field': 'scenario_household_share' }, formatShare(s.household_share)),
      el('td', { 'data-field': 'scenario_area_share' }, formatShare(s.area_share)));
  });
  return titled('Versorgung durch mindestens einen Netzbetreiber', el('table', { class: 'coverage' },
    el('thead', {}, el('tr', {},
      // Soft hyphens (\u00ad) let the headers break inside words on a phone.
      el('th', { scope: 'col' }, 'Technik'), el('th', { scope: 'col' }, 'Haus\u00adhalte ver\u00adsorgt'),
      el('th', { scope: 'col' }, 'Anteil Haus\u00adhalte'), el('th', { scope: 'col' }, 'Anteil Fläche'),
      el('th', { scope: 'col' }, 'Sze\u00adnario Haus\u00adhalte'), el('th', { scope: 'col' }, 'Sze\u00adnario Fläche'))),
    el('tbody', {}, rows)));
}

function operatorTables(m) {
  const out = [];
  for (const tech of ['5g', 'lte']) {
    const ops = m.coverage?.[tech]?.operators;
    if (!ops || Object.keys(ops).length === 0) continue;
    out.push(titled(`${TECHNOLOGY[tech]} je Netzbetreiber`, el('table', { class: 'operators', 'data-tech': tech },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Netzbetreiber'),
        el('th', { scope: 'col' }, 'Anteil Haushalte'), el('th', { scope: 'col' }, 'Anteil Fläche'))),
      el('tbody', {}, Object.entries(ops).sort(([a], [b]) => a.localeCompare(b)).map(([op, v]) => el('tr', { 'data-operator': op },
        el('th', { scope: 'row' }, operatorName(op)),
        el('td', { 'data-field': 'household_share' }, formatShare(v.household_share)),
        el('td', { 'data-field': 'area_share' }, formatShare(v.area_share))))))));
  }
  if (out.length === 0) out.push(el('p', { class: 'small muted' }, 'Versorgung je Netzbetreiber: nicht bekannt (die Daten nennen nur die Zahl der Netzbetreiber).'));
  return out;
}

function sitesTable(m) {
  const s = m.sites ?? {};
  const keys = [...Object.keys(SITE_STATUS), ...Object.keys(s).filter((k) => !(k in SITE_STATUS))];
  return titled('Standorte nach Status', el('table', { class: 'sites' },
    el('tbody', {}, keys.map((k) => el('tr', { 'data-status': k },
      el('th', { scope: 'row' }, el('span', { class: 'dot', style: `background:${STATUS_COLORS[k] ?? '#333'}` }), ' ', SITE_STATUS[k] ?? k),
      el('td', { 'data-field': 'count' }, formatCount(s[k] ?? 0)))))));
}

function measuresTable(m) {
  const ms = m.measures ?? {};
  const kinds = [...Object.keys(MEASURE_KIND), ...Object.keys(ms).filter((k) => !(k in MEASURE_KIND))];
  const sts = Object.keys(MEASURE_STATUS);
  return titled('Maßnahmen nach Art und Status', el('table', { class: 'measures' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Art'), sts.map((k) => el('th', { scope: 'col' }, MEASURE_STATUS[k])))),
    el('tbody', {}, kinds.map((k) => el('tr', { 'data-kind': k },
      el('th', { scope: 'row' }, MEASURE_KIND[k] ?? k),
      sts.map((st) => el('td', { 'data-status': st }, formatCount(ms[k]?.[st] ?? 0))))))));
}

function smallMap(container, ags, isAlive) {
  const map = new maplibregl.Map({
    container, style: emptyStyle(), center: [7.55, 51.45], zoom: 8, attributionControl: false,
    dragRotate: false, pitchWithRotate: false, fadeDuration: 0, cooperativeGestures: false, locale: LOCALE_DE,
    // Kept so that the frame can be copied into the print image.
    preserveDrawingBuffer: true,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 100 }), 'top-left');
  window.__funkplan.maps.gemeinde = map;
  map.on('load', async () => {
    try {
      const [f, dead] = await Promise.all([municipalityFeature(ags), deadSpots(ags)]);
      if (!isAlive()) return;
      const synthetic = f.properties?.synthetic !== false;
      map.addControl(new maplibregl.AttributionControl({
        compact: true,
        customAttribution: synthetic ? 'Daten: synthetisch (Demo)' : '© GeoBasis-DE / BKG 2021 (Daten verändert); Standorte synthetisch',
      }), 'bottom-right');
      map.addSource('muni', { type: 'geojson', data: f });
      map.addSource('dead', { type: 'geojson', data: dead });
      map.addLayer({ id: 'muni-fill', type: 'fill', source: 'muni', paint: { 'fill-color': '#f8f9fa' } });
      map.addLayer({ id: 'dead-fill', type: 'fill', source: 'dead', paint: { 'fill-color': '#d7263d', 'fill-opacity': 0.85 } });
      map.addLayer({ id: 'muni-line', type: 'line', source: 'muni', paint: { 'line-color': '#0b3d91', 'line-width': 2 } });
      const bb = bounds(f);
      if (bb) {
        map.fitBounds(bb, { padding: 16, duration: 0 });
        const sites = await ogcAll(`/ogc/collections/sites/items?bbox=${bb.flat().map((v) => Math.round(v * 1e5) / 1e5).join(',')}&limit=10000`, { max: 50000 });
        if (!isAlive()) return;
        map.addSource('sites', { type: 'geojson', data: sites });
        // Sites of neighbours inside the box stay faint; sites still to be
        // built are drawn above those on air.
        const own = ['==', ['get', 'ags'], ags];
        map.addLayer({
          id: 'sites', type: 'circle', source: 'sites',
          layout: { 'circle-sort-key': ['match', ['get', 'status'], 'on_air', 0, 'decommissioned', 0, 1] },
          paint: {
            'circle-color': siteColor(), 'circle-radius': ['case', own, 4, 2.5],
            'circle-opacity': ['case', own, 1, 0.3], 'circle-stroke-color': '#fff',
            'circle-stroke-width': ['case', own, 1, 0], 'circle-stroke-opacity': ['case', own, 1, 0.3],
          },
        });
      }
    } catch (e) {
      if (isAlive()) container.replaceChildren(errorBox(e));
    }
  });
  return map;
}
