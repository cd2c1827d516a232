// The state map: municipalities as a choropleth, sites by status, LTE dead spots.
import * as maplibregl from 'maplibre-gl';
import {
  areas, getJson, LEVELS, MEASURES, municipality, normalizeMunicipalities, ogcAll, releases,
} from './api.js';
import { formatCount, formatDate, formatShare, OPERATOR, SITE_STATUS, operatorName } from './format.js';
import { el, errorBox, loading, announce } from './dom.js';
import {
  bounds, choroplethColor, DEAD_COLOR, diffColor, diffLegendRows, emptyStyle, legendRows, LOCALE_DE, siteColor, STATUS_COLORS,
  cellId, GRID_MIN_ZOOM, GRID_TECH, gridColor, gridLegendRows, tileUrl,
} from './mapstyle.js';
import { mapAttribution } from './attribution.js';

const SITE_PAGE = 10000;
const SITE_MAX = 60000;
// Below this zoom the sites would hide the colouring (27,000 dots over the
// state) and cost megabytes: they are loaded and drawn from here on.
export const SITE_MIN_ZOOM = 9;
const DEAD_PAGE = 5000;
const DEAD_MAX = 20000;

export function renderMap(main) {
  document.title = 'Karte – Funkplan NRW';
  const measureSel = el('select', { id: 'map-measure' });
  // Municipalities, districts or Regierungsbezirke: the same figures, summed by the server.
  const levelSel = el('select', { id: 'map-level' });
  for (const [k, l] of Object.entries(LEVELS)) levelSel.append(el('option', { value: k }, l.label));
  let level = 'gemeinden';
  const legend = el('div', { class: 'legend', 'aria-live': 'polite' });
  const diffBox = el('input', { type: 'checkbox', id: 'map-diff' });
  const diffLabel = el('label', { class: 'diff-toggle', hidden: true }, diffBox, ' Änderung durch geplante Maßnahmen');
  // The date control: the coverage releases, then today (issue 16).
  const dateRange = el('input', { type: 'range', id: 'map-date', min: '0', max: '0', step: '1', value: '0', 'aria-describedby': 'map-date-out' });
  const dateOut = el('output', { id: 'map-date-out', for: 'map-date' }, 'heute');
  const dateBox = el('fieldset', { class: 'filter date-filter', hidden: true },
    el('legend', {}, el('label', { for: 'map-date' }, 'Stand der Versorgung')), dateRange, dateOut);
  const sitesBox = el('input', { type: 'checkbox', id: 'lyr-sites', checked: true });
  const deadBox = el('input', { type: 'checkbox', id: 'lyr-dead', checked: true });
  // The 100 m grid (issue 17): operator counts per cell, LTE or 5G.
  const gridBox = el('input', { type: 'checkbox', id: 'lyr-grid', checked: true });
  const gridTech = el('select', { id: 'grid-tech', 'aria-label': 'Technik des 100-m-Rasters' },
    Object.entries(GRID_TECH).map(([k, t]) => el('option', { value: k }, t.label)));
  const namesBox = el('input', { type: 'checkbox', id: 'lyr-names', checked: true });
  const opBox = el('fieldset', { class: 'filter', id: 'filter-operator' }, el('legend', {}, 'Netzbetreiber'));
  const stBox = el('fieldset', { class: 'filter', id: 'filter-status' }, el('legend', {}, 'Status der Standorte'));
  const note = el('p', { class: 'small muted', id: 'map-note', 'aria-live': 'polite' });
  const mapEl = el('div', { class: 'map', id: 'map', role: 'region', 'aria-label': 'Karte der Gemeinden in NRW' });
  const panel = el('aside', { class: 'panel', 'aria-label': 'Kartensteuerung' },
    el('h1', {}, 'Karte'),
    el('label', { for: 'map-level' }, 'Gebiete'), levelSel,
    el('label', { for: 'map-measure' }, 'Einfärbung'), measureSel, diffLabel,
    dateBox,
    legend,
    el('fieldset', { class: 'filter' }, el('legend', {}, 'Ebenen'),
      el('label', {}, sitesBox, ' Standorte'),
      el('label', {}, deadBox, ' LTE-Funklöcher'),
      el('label', {}, gridBox, ' Versorgung im 100-m-Raster '), gridTech,
      el('label', {}, namesBox, ' Gemeinde- und Kreisnamen')),
    opBox, stBox, note,
    el('p', { class: 'small muted' }, 'Klick auf eine Gemeinde öffnet ihre Zahlen; mit der Suche oben geht es auch per Tastatur.'));
  const status = el('div', { class: 'map-status' }, loading('Karte wird geladen …'));
  // The same figures as a table: for keyboards, screen readers and copying.
  const table = el('div', { class: 'table-scroll' });
  main.append(el('section', { class: 'mapview' }, panel, el('div', { class: 'mapwrap' }, mapEl, status)),
    el('details', { class: 'muni-table' }, el('summary', {}, 'Alle Gebiete der Karte als Tabelle'), table));

  for (const [k, m] of Object.entries(MEASURES)) measureSel.append(el('option', { value: k }, m.label));
  const showingDiff = () => MEASURES[measureSel.value].scenario && diffBox.checked;
  const drawLegend = () => {
    const rows = showingDiff() ? diffLegendRows() : legendRows();
    legend.replaceChildren(
      el('p', { class: 'legend-title' }, MEASURES[measureSel.value].label, showingDiff() ? ': Zuwachs gegenüber heute' : ' (Anteil)'),
      el('ul', {}, rows.map(([c, t]) => el('li', {}, el('span', { class: 'swatch', style: `background:${c}` }), t))),
      deadBox.checked ? el('ul', { class: 'legend-layers' },
        el('li', {}, el('span', { class: 'swatch', style: `background:${DEAD_COLOR}` }), 'LTE-Funkloch (kein Netzbetreiber)')) : null,
      gridBox.checked ? el('div', { class: 'legend-grid', id: 'grid-legend' },
        el('p', { class: 'legend-title' }, `Versorgung im 100-m-Raster: ${GRID_TECH[gridTech.value].label}`),
        el('ul', {}, gridLegendRows().map(([c, t]) => el('li', {}, el('span', { class: 'swatch', style: `background:${c}` }), t))),
        el('p', { class: 'small muted' }, `Die Rasterzellen erscheinen ab Zoomstufe ${GRID_MIN_ZOOM}; darunter die Anteile der Gebiete.`)) : null);
  };
  drawLegend();

  for (const [k, label] of Object.entries(SITE_STATUS)) {
    stBox.append(el('label', {}, el('input', { type: 'checkbox', value: k, checked: true }),
      el('span', { class: 'dot', style: `background:${STATUS_COLORS[k]}` }), ` ${label}`));
  }
  const addOperator = (k) => {
    if (opBox.querySelector(`input[value="${CSS.escape(k)}"]`)) return;
    opBox.append(el('label', {}, el('input', { type: 'checkbox', value: k, checked: true }), ` ${operatorName(k)}`));
  };
  for (const k of Object.keys(OPERATOR)) addOperator(k);

  const map = new maplibregl.Map({
    container: mapEl,
    style: emptyStyle(),
    center: [7.55, 51.45],
    zoom: 6.6,
    minZoom: 5,
    maxZoom: 16,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0,
    locale: LOCALE_DE,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-left');
  window.__funkplan.maps.main = map;
  window.__funkplan.ready.map = false;
  let alive = true;
  let hoverId = null;
  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'hover-popup' });

  const siteFilter = () => {
    const ops = [...opBox.querySelectorAll('input:checked')].map((i) => i.value);
    const sts = [...stBox.querySelectorAll('input:checked')].map((i) => i.value);
    return ['all', ['in', ['get', 'operator'], ['literal', ops]], ['in', ['get', 'status'], ['literal', sts]]];
  };

  let seqSites = 0;
  let siteNote = '';
  let seqDead = 0;
  const viewBox = () => {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => Math.round(v * 1e5) / 1e5);
  };
  const inside = (a, b) => b && a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3];
  // A complete answer for a box also answers every box inside it: panning
  // and zooming in within the state need no new request.
  const have = { sites: null, dead: null };
  // Every site in view, page by page: a partial set would suggest gaps
  // that are not there. Past SITE_MAX the note says so.
  const loadSites = async () => {
    if (!sitesBox.checked) return;
    if (map.getZoom() < SITE_MIN_ZOOM) {
      ++seqSites;
      siteNote = 'Standorte werden ab einem engeren Ausschnitt gezeigt – zum Sehen hineinzoomen oder eine Gemeinde anklicken.';
      note.textContent = siteNote;
      return;
    }
    const box = viewBox();
    if (inside(box, have.sites)) return;
    const my = ++seqSites;
    note.textContent = 'Standorte werden geladen …';
    try {
      const fc = await ogcAll(`/ogc/collections/sites/items?bbox=${box.join(',')}&limit=${SITE_PAGE}`, { max: SITE_MAX });
      if (!alive || my !== seqSites) return;
      for (const f of fc.features) if (f.properties?.operator) addOperator(f.properties.operator);
      map.getSource('sites')?.setData(fc);
      const n = fc.features.length;
      const total = fc.numberMatched;
      have.sites = total > n ? null : box;
      siteNote = total > n
        ? `${formatCount(n)} von ${formatCount(total)} Standorten im Ausschnitt gezeigt – für alle hineinzoomen.`
        : `${formatCount(n)} Standorte im Ausschnitt.`;
      note.textContent = siteNote;
    } catch (e) {
      if (alive && my === seqSites) note.textContent = `Standorte nicht geladen: ${e.message}`;
    }
  };
  const loadDead = async () => {
    if (!deadBox.checked) return;
    const box = viewBox();
    if (inside(box, have.dead)) return;
    const my = ++seqDead;
    try {
      const fc = await ogcAll(`/ogc/collections/dead-spots/items?bbox=${box.join(',')}&limit=${DEAD_PAGE}`, { max: DEAD_MAX });
      if (!alive || my !== seqDead) return;
      map.getSource('dead-spots')?.setData(fc);
      have.dead = fc.numberMatched > fc.features.length ? null : box;
    } catch (e) {
      if (alive && my === seqDead) note.textContent = `Funklöcher nicht geladen: ${e.message}`;
    }
  };
  let t = null;
  const onMove = () => {
    clearTimeout(t);
    t = setTimeout(() => { loadSites(); loadDead(); }, 250);
  };

  map.on('load', async () => {
    let fc;
    try {
      fc = await areas(level);
    } catch (e) {
      if (!alive) return;
      status.replaceChildren(errorBox(e, () => { main.replaceChildren(); renderMap(main); }));
      return;
    }
    if (!alive) return;
    // Offer only what the data holds.
    for (const o of measureSel.options) {
      // Scenario shares come from the municipality figures when chosen.
      if (MEASURES[o.value].scenario) continue;
      const has = fc.features.some((f) => typeof f.properties[`m_${o.value}`] === 'number');
      o.disabled = !has;
      if (!has) o.textContent = `${MEASURES[o.value].label} (nicht berechnet)`;
    }
    map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: mapAttribution(fc) }), 'bottom-right');
    map.addSource('municipalities', { type: 'geojson', data: fc, promoteId: 'ags' });
    map.addSource('dead-spots', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addSource('sites', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    // Vector tiles of this server only: the grid from the engine, the
    // district borders from PostGIS (no request leaves the machine).
    map.addSource('grid', { type: 'vector', tiles: [tileUrl('coverage')], minzoom: GRID_MIN_ZOOM, maxzoom: 16 });
    map.addSource('district-tiles', { type: 'vector', tiles: [tileUrl('districts')], minzoom: 0, maxzoom: 16 });
    map.addLayer({
      id: 'muni-fill', type: 'fill', source: 'municipalities',
      paint: { 'fill-color': choroplethColor(`m_${measureSel.value}`), 'fill-opacity': 1 },
    });
    map.addLayer({
      id: 'grid-fill', type: 'fill', source: 'grid', 'source-layer': 'coverage', minzoom: GRID_MIN_ZOOM,
      layout: { visibility: gridBox.checked ? 'visible' : 'none' },
      paint: { 'fill-color': gridColor(gridTech.value), 'fill-opacity': 0.85 },
    });
    map.addLayer({
      id: 'district-line', type: 'line', source: 'district-tiles', 'source-layer': 'districts',
      paint: { 'line-color': 'rgba(20,20,20,0.8)', 'line-width': 2 },
    });
    map.addLayer({
      id: 'muni-line', type: 'line', source: 'municipalities',
      paint: {
        // Dark thin borders stay visible on the light classes too.
        'line-color': 'rgba(30,30,30,0.55)',
        'line-width': 0.7,
      },
    });
    map.addLayer({
      id: 'dead-fill', type: 'fill', source: 'dead-spots',
      paint: { 'fill-color': DEAD_COLOR, 'fill-opacity': 0.85, 'fill-outline-color': '#7a0010' },
    });
    map.addLayer({
      id: 'sites', type: 'circle', source: 'sites', filter: siteFilter(), minzoom: SITE_MIN_ZOOM,
      layout: { 'circle-sort-key': ['match', ['get', 'status'], 'on_air', 0, 'decommissioned', 0, 1] },
      paint: {
        'circle-color': siteColor(),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 6, 0.8, 8, 1.2, 10, 2.5, 12, 4.5, 15, 7],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 6, 0, 10, 0.5, 12, 1],
      },
    });
    // The hovered municipality's outline, above the sites.
    map.addLayer({
      id: 'muni-hover', type: 'line', source: 'municipalities',
      paint: { 'line-color': '#000000', 'line-width': 3, 'line-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 1, 0] },
    });
    // For the numbers in BENCHMARKS.md (issue 22's "first features
    // drawn"): the first frame that shows municipality fills.
    const firstDrawn = () => {
      if (!alive || map.queryRenderedFeatures({ layers: ['muni-fill'] }).length === 0) return;
      window.__funkplan.marks.mapDrawn = performance.now();
      map.off('render', firstDrawn);
    };
    map.on('render', firstDrawn);
    const bb = bounds(fc);
    if (bb) map.fitBounds(bb, { padding: 20, duration: 0 });
    labels.show(fc);
    status.replaceChildren();
    table.replaceChildren(muniTable(fc, measureSel.value, level));
    await Promise.all([loadSites(), loadDead()]);
    if (!alive) return;
    map.on('moveend', onMove);
    map.once('idle', () => {
      if (!alive) return;
      // For the numbers in BENCHMARKS.md: the map is usable from here.
      window.__funkplan.marks.map = performance.now();
      window.__funkplan.ready.map = true;
      announce('Karte geladen');
    });
    map.triggerRepaint();

    map.on('mousemove', 'muni-fill', (e) => {
      const f = e.features?.[0];
      if (!f) return;
      // Over a grid cell the cell's popup wins.
      if (map.getLayoutProperty('grid-fill', 'visibility') !== 'none' && map.getZoom() >= GRID_MIN_ZOOM
        && map.queryRenderedFeatures(e.point, { layers: ['grid-fill'] }).length > 0) return;
      if (hoverId !== null && hoverId !== f.id) map.setFeatureState({ source: 'municipalities', id: hoverId }, { hover: false });
      hoverId = f.id;
      map.setFeatureState({ source: 'municipalities', id: hoverId }, { hover: true });
      map.getCanvas().style.cursor = 'pointer';
      const m = MEASURES[measureSel.value];
      const v = f.properties[`m_${measureSel.value}`];
      popup.setLngLat(e.lngLat).setDOMContent(el('div', {},
        el('strong', {}, f.properties.name), el('br'),
        `${m.label}: ${typeof v === 'number' ? formatShare(v) : 'keine Angabe'}`)).addTo(map);
    });
    map.on('mouseleave', 'muni-fill', () => {
      if (hoverId !== null) map.setFeatureState({ source: 'municipalities', id: hoverId }, { hover: false });
      hoverId = null;
      map.getCanvas().style.cursor = '';
      popup.remove();
    });
    map.on('mousemove', 'grid-fill', (e) => {
      const f = e.features?.[0];
      if (!f) return;
      if (hoverId !== null) map.setFeatureState({ source: 'municipalities', id: hoverId }, { hover: false });
      hoverId = null;
      popup.setLngLat(e.lngLat).setDOMContent(cellPopup(f.id, f.properties)).addTo(map);
    });
    map.on('mouseleave', 'grid-fill', () => popup.remove());
    map.on('click', 'muni-fill', (e) => {
      const f = e.features?.[0];
      if (f) location.hash = `#/${LEVELS[level].route}/${f.properties.ags}`;
    });
  });
  map.on('error', (e) => {
    // MapLibre reports its own problems here; show them, do not swallow them.
    if (alive) note.textContent = `Kartenfehler: ${e.error?.message ?? e}`;
  });

  measureSel.addEventListener('change', async () => {
    const key = measureSel.value;
    if (MEASURES[key].scenario) {
      note.textContent = 'Szenario wird geladen …';
      try {
        const fc = await areas(level);
        // Districts and regions carry their scenario shares; municipalities get them one by one.
        const n = level === 'gemeinden' ? await ensureScenario(fc) : fc.features.filter((f) => typeof f.properties[`m_${key}`] === 'number').length;
        if (!alive) return;
        map.getSource('municipalities')?.setData(fc);
        note.textContent = n > 0 ? `Szenario: alle geplanten Maßnahmen abgeschlossen (${formatCount(n)} ${LEVELS[level].label}).`
          : 'Für das Szenario liegen noch keine Zahlen vor (funkplan recompute --scenario).';
      } catch (e) {
        if (alive) note.textContent = `Szenario nicht geladen: ${e.message}`;
      }
    } else note.textContent = siteNote;
    if (!alive || key !== measureSel.value) return;
    diffLabel.hidden = !MEASURES[key].scenario;
    recolour();
    areas(level).then((fc) => { if (alive) table.replaceChildren(muniTable(fc, measureSel.value, level)); }).catch(() => {});
  });
  // The fill: the chosen share, or for a scenario with the toggle on, its
  // gain over today (d_<key>, set by withDifference).
  const recolour = () => {
    const key = measureSel.value;
    if (showingDiff()) {
      areas(level).then((fc) => {
        if (!alive) return;
        withDifference(fc, key);
        map.getSource('municipalities')?.setData(fc);
        if (map.getLayer('muni-fill')) map.setPaintProperty('muni-fill', 'fill-color', diffColor(`d_${key}`));
      }).catch(() => {});
    } else if (map.getLayer('muni-fill')) map.setPaintProperty('muni-fill', 'fill-color', choroplethColor(`m_${key}`));
    drawLegend();
  };
  diffBox.addEventListener('change', recolour);
  deadBox.addEventListener('change', drawLegend);
  levelSel.addEventListener('change', async () => {
    const want = levelSel.value;
    note.textContent = `${LEVELS[want].label} werden geladen …`;
    try {
      const fc = await areas(want);
      if (!alive || want !== levelSel.value) return;
      if (MEASURES[measureSel.value].scenario && want === 'gemeinden') await ensureScenario(fc);
      level = want;
      if (hoverId !== null) map.setFeatureState({ source: 'municipalities', id: hoverId }, { hover: false });
      hoverId = null;
      map.getSource('municipalities')?.setData(fc);
      if (showingDiff()) recolour();
      table.replaceChildren(muniTable(fc, measureSel.value, level));
      note.textContent = `${formatCount(fc.features.length)} ${LEVELS[level].label} eingefärbt.`;
      mapEl.setAttribute('aria-label', `Karte der ${LEVELS[level].label} in NRW`);
    } catch (e) {
      if (alive) note.textContent = `${LEVELS[want].label} nicht geladen: ${e.message}`;
    }
  });
  // A past date: the municipalities' shares at it (the release in force
  // and the sites on air then), computed by the server's engine; today: the
  // stored figures again. Municipalities and today's shares only.
  let dates = [];
  let dateSeq = 0;
  const dateIndexToday = () => String(Math.max(0, dates.length - 1));
  releases().then((rs) => {
    if (!alive || rs.length === 0) return;
    dates = [...rs.map((r) => r.as_of), null];
    dateRange.max = String(dates.length - 1);
    dateRange.value = dateIndexToday();
    dateBox.hidden = false;
  }).catch(() => { /* no date control */ });
  const applyDate = async () => {
    const d = dates[Number(dateRange.value)] ?? null;
    dateOut.textContent = d ? formatDate(d) : 'heute';
    const n = ++dateSeq;
    try {
      const fc = await areas('gemeinden');
      if (!d) {
        if (alive && n === dateSeq && level === 'gemeinden') {
          map.getSource('municipalities')?.setData(fc);
          note.textContent = `Stand heute: ${formatCount(fc.features.length)} Gemeinden eingefärbt.`;
        }
        return;
      }
      const c = await getJson(`/api/v1/coverage?as_of=${d}`);
      if (!alive || n !== dateSeq) return;
      const at = new Map(c.municipalities.map((m) => [m.ags, m]));
      const dated = normalizeMunicipalities({
        type: 'FeatureCollection',
        features: fc.features.map((f) => ({ ...f, properties: { ...f.properties, ...(at.get(f.properties.ags) ?? {}) } })),
      });
      map.getSource('municipalities')?.setData(dated);
      note.textContent = `Stand ${formatDate(d)}: ${c.release ? `Versorgungsstand der Bundesnetzagentur vom ${formatDate(c.release)}` : 'noch kein Versorgungsstand der Bundesnetzagentur'} und die bis dahin gebauten Standorte.`;
    } catch (e) {
      if (alive && n === dateSeq) note.textContent = `Stand ${formatDate(d)} nicht geladen: ${e.message}`;
    }
  };
  let dateTimer = 0;
  dateRange.addEventListener('input', () => { clearTimeout(dateTimer); dateTimer = setTimeout(applyDate, 120); });
  // Only municipalities and today's figures have dates: elsewhere the
  // control rests at today.
  const dateUsable = () => {
    const usable = level === 'gemeinden' && !MEASURES[measureSel.value].scenario;
    if (!usable && dateRange.value !== dateIndexToday()) {
      dateRange.value = dateIndexToday();
      dateOut.textContent = 'heute';
      dateSeq += 1;
    }
    dateRange.disabled = !usable;
    dateRange.title = usable ? '' : 'Frühere Stände gibt es für die Gemeinden und die heutigen Anteile.';
  };
  levelSel.addEventListener('change', dateUsable);
  measureSel.addEventListener('change', dateUsable);
  sitesBox.addEventListener('change', () => {
    if (map.getLayer('sites')) map.setLayoutProperty('sites', 'visibility', sitesBox.checked ? 'visible' : 'none');
    if (sitesBox.checked) loadSites();
  });
  deadBox.addEventListener('change', () => {
    if (map.getLayer('dead-fill')) map.setLayoutProperty('dead-fill', 'visibility', deadBox.checked ? 'visible' : 'none');
    if (deadBox.checked) loadDead();
  });
  gridBox.addEventListener('change', () => {
    if (map.getLayer('grid-fill')) map.setLayoutProperty('grid-fill', 'visibility', gridBox.checked ? 'visible' : 'none');
    drawLegend();
  });
  gridTech.addEventListener('change', () => {
    if (map.getLayer('grid-fill')) map.setPaintProperty('grid-fill', 'fill-color', gridColor(gridTech.value));
    drawLegend();
  });
  // Names to orient by: HTML labels (no glyphs to fetch), municipalities
  // from zoom 9, districts below.
  const labels = areaLabels(map, () => namesBox.checked);
  namesBox.addEventListener('change', () => labels.update());
  map.on('zoomend', () => labels.update());
  areas('kreise').then((fc) => { if (alive) labels.districts(fc); }).catch(() => { /* no district names */ });
  const refilter = () => { if (map.getLayer('sites')) map.setFilter('sites', siteFilter()); };
  opBox.addEventListener('change', refilter);
  stBox.addEventListener('change', refilter);

  return () => {
    alive = false;
    labels.remove();
    clearTimeout(t);
    popup.remove();
    delete window.__funkplan.maps.main;
    window.__funkplan.ready.map = false;
    clearTimeout(dateTimer);
    map.remove();
  };
}

/** The hover popup of a grid cell: its id and operators per technology. */
function cellPopup(id, p) {
  const line = (tech) => {
    const t = GRID_TECH[tech];
    const n = Number(p[t.prop] ?? 0);
    const ops = typeof p[`${t.prop}_ops`] === 'string' && p[`${t.prop}_ops`] !== ''
      ? ` (${p[`${t.prop}_ops`].split(',').map(operatorName).join(', ')})` : '';
    const what = n === 0 ? 'Funkloch' : `${n === 1 ? 'nur ein' : formatCount(n)} Netzbetreiber${ops}`;
    return `${t.label}: ${what}`;
  };
  return el('div', { class: 'cell-popup' },
    el('strong', {}, `Rasterzelle ${cellId(id) ?? '?'}`), el('br'),
    line('lte'), el('br'), line('5g'));
}

/**
 * Area names as HTML markers at the centre of each area's box: no glyph
 * files needed, so nothing is fetched from outside. Municipalities from
 * zoom 9 on, districts below it.
 */
function areaLabels(map, enabled) {
  let munis = [];
  let dists = [];
  const make = (fc, cls) => fc.features.map((f) => {
    const bb = bounds(f);
    if (!bb) return null;
    const node = el('div', { class: `map-label ${cls}` }, f.properties.name);
    return new maplibregl.Marker({ element: node }).setLngLat([(bb[0][0] + bb[1][0]) / 2, (bb[0][1] + bb[1][1]) / 2]);
  }).filter(Boolean);
  const update = () => {
    const z = map.getZoom();
    const on = enabled();
    for (const m of munis) if (on && z >= 9) m.addTo(map); else m.remove();
    for (const m of dists) if (on && z < 9) m.addTo(map); else m.remove();
  };
  return {
    show(fc) { for (const m of munis) m.remove(); munis = make(fc, 'label-muni'); update(); },
    districts(fc) { for (const m of dists) m.remove(); dists = make(fc, 'label-district'); update(); },
    update,
    remove() { for (const m of [...munis, ...dists]) m.remove(); },
  };
}

/** All areas of the level shown with the four shares, by name. */
function muniTable(fc, key, level) {
  const rows = [...fc.features].sort((a, b) => a.properties.name.localeCompare(b.properties.name, 'de'));
  const cols = ['5g_hh', 'lte_hh', '5g_area', 'lte_area'];
  const l = LEVELS[level];
  return el('table', { class: 'all-munis' },
    el('caption', {}, `${formatCount(rows.length)} ${l.label} – eingefärbt nach ${MEASURES[key].label}`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, level === 'gemeinden' ? 'Gemeinde' : 'Gebiet'), el('th', { scope: 'col' }, 'Schlüssel'),
      cols.map((c) => el('th', { scope: 'col' }, MEASURES[c].label)))),
    el('tbody', {}, rows.map((f) => el('tr', {},
      el('th', { scope: 'row' }, el('a', { href: `#/${l.route}/${f.properties.ags}` }, f.properties.name)),
      el('td', {}, f.properties.ags),
      cols.map((c) => el('td', {}, formatShare(f.properties[`m_${c}`])))))));
}

/**
 * Scenario shares per municipality, from /api/v1/municipalities/{ags} (the
 * feature collection carries only current figures), six requests at a time,
 * once. Returns how many municipalities have scenario figures.
 */
async function ensureScenario(fc) {
  const has = (f) => Object.keys(MEASURES).some((k) => MEASURES[k].scenario && typeof f.properties[`m_${k}`] === 'number');
  if (!fc.scenarioLoaded) {
    const need = fc.features.filter((f) => !has(f));
    let i = 0;
    const worker = async () => {
      while (i < need.length) {
        const f = need[i++];
        const m = await municipality(f.properties.ags);
        for (const [key, meas] of Object.entries(MEASURES)) {
          const v = meas.scenario ? m.scenario?.[meas.tech]?.[meas.kind] : undefined;
          if (typeof v === 'number') f.properties[`m_${key}`] = v;
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    fc.scenarioLoaded = true;
  }
  return fc.features.filter(has).length;
}

/**
 * Adds `d_<key>` to each feature: the scenario share minus today's share of
 * the same figure (0..1), where both are known.
 */
export function withDifference(fc, key) {
  const base = key.replace(/^sc_/, '');
  for (const f of fc.features ?? []) {
    const p = f.properties;
    const a = p[`m_${key}`];
    const b = p[`m_${base}`];
    if (typeof a === 'number' && typeof b === 'number') p[`d_${key}`] = Math.max(0, a - b);
    else delete p[`d_${key}`];
  }
  return fc;
}
