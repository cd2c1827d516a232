// The plan view (#/plan/ID): a kept dead-spot closing plan (issue 23) from
// GET /api/v1/plans/{id} — the proposed sites on a map, numbered by rank,
// their gains in a table and the cumulative curve (share of what is open
// that ranks 1..n close).
import * as maplibregl from 'maplibre-gl';
import uPlot from 'uplot';
import { getJson } from './api.js';
import { formatCount, formatDateTime, formatKm2, formatShare, operatorName, TECHNOLOGY } from './format.js';
import { el, errorBox, loading, announce } from './dom.js';
import { bounds, emptyStyle, LOCALE_DE } from './mapstyle.js';

const OBJECTIVE = { households: 'neu versorgte Haushalte', area: 'geschlossene Funklochfläche', mix: 'Haushalte und Fläche gewichtet' };
const KIND = { given: 'Vorschlag', lattice: 'Raster', share: 'Mitnutzung', upgrade: 'Aufrüstung' };

export function renderPlan(main, id) {
  let alive = true;
  let map = null;
  let chart = null;
  window.__funkplan.ready.plan = false;
  document.title = `Ausbauplan ${id} – Funkplan NRW`;
  const load = async () => {
    main.replaceChildren(el('h1', {}, `Ausbauplan ${id}`), loading());
    try {
      const kept = await getJson(`/api/v1/plans/${encodeURIComponent(id)}`);
      if (!alive) return;
      const p = kept.plan;
      const sites = p.sites ?? [];
      const who = p.operator ? `Lücken von ${operatorName(p.operator)}` : 'Funklöcher (kein Betreiber)';
      const head = el('section', { class: 'plan-summary' },
        el('h1', {}, `Ausbauplan ${kept.id}: ${TECHNOLOGY[p.technology] ?? p.technology}, ${who}`),
        el('p', {}, `Gebiet (AGS) ${p.scope} · Ziel: ${OBJECTIVE[p.objective] ?? p.objective} · `
          + `${formatCount(sites.length)} von ${formatCount(p.budget)} Standorten · erstellt ${formatDateTime(kept.created_at)}`),
        el('p', { 'data-field': 'open' }, `Offen: ${formatCount(p.open.households)} Haushalte, ${formatKm2(p.open.area_km2)}; `
          + `alle Kandidaten zusammen erreichen ${formatCount(p.reachable.households)} Haushalte, ${formatKm2(p.reachable.area_km2)}.`),
        el('p', { 'data-field': 'sites-for' }, `Standorte für 50 % / 90 % / 100 % des Offenen: ${p.sites_for.map((n) => (n == null ? 'nicht erreichbar' : formatCount(n))).join(' / ')}`),
        kept.scenario?.sites?.length || kept.scenario?.measures?.length
          ? el('p', { 'data-field': 'scenario' }, `Im Szenario als geplante Standorte: ${kept.scenario.sites.join(', ') || '–'}; Maßnahmen: ${kept.scenario.measures.join(', ')}`)
          : null);
      const mapBox = el('div', { class: 'plan-map', style: 'height: 420px', role: 'region', 'aria-label': 'Karte der vorgeschlagenen Standorte, nummeriert nach Rang' });
      const chartBox = el('figure', { class: 'plan-curve' }, el('figcaption', {}, 'Kumulierter Anteil des Offenen nach Rang'));
      main.replaceChildren(head, mapBox, chartBox, table(sites));
      chart = curve(chartBox, sites);
      // A browser without WebGL still gets the table and the curve.
      try {
        map = siteMap(mapBox, p, sites);
      } catch (e) {
        mapBox.replaceChildren(errorBox(e));
      }
      announce(`Ausbauplan ${kept.id} geladen: ${sites.length} Standorte`);
      window.__funkplan.ready.plan = true;
    } catch (e) {
      if (alive) main.replaceChildren(el('h1', {}, `Ausbauplan ${id}`), errorBox(e, load));
    }
  };
  load();
  return () => {
    alive = false;
    window.__funkplan.ready.plan = false;
    if (chart) chart.destroy();
    if (map) map.remove();
  };
}

function table(sites) {
  const th = (t) => el('th', { scope: 'col' }, t);
  return el('table', { class: 'plan-sites' },
    el('caption', {}, 'Vorgeschlagene Standorte nach Rang (Zugewinn je Standort und kumuliert)'),
    el('thead', {}, el('tr', {}, th('Rang'), th('Kandidat'), th('Art'), th('Betreiber'), th('Haushalte neu'), th('Fläche neu'),
      th('Haushalte kumuliert'), th('Fläche kumuliert'), th('Anteil kumuliert'))),
    el('tbody', {}, sites.map((s) => el('tr', { 'data-rank': s.rank },
      el('th', { scope: 'row' }, String(s.rank)), el('td', {}, s.id), el('td', {}, KIND[s.kind] ?? s.kind),
      el('td', {}, s.operator ? operatorName(s.operator) : 'beliebig'),
      el('td', {}, formatCount(s.households)), el('td', {}, formatKm2(s.area_km2)),
      el('td', {}, formatCount(s.cumulative_households)), el('td', {}, formatKm2(s.cumulative_area_km2)),
      el('td', {}, formatShare(s.cumulative_share))))));
}

function siteMap(container, plan, sites) {
  const map = new maplibregl.Map({
    container, style: emptyStyle(), center: [7.55, 51.45], zoom: 8, attributionControl: false,
    dragRotate: false, pitchWithRotate: false, fadeDuration: 0, locale: LOCALE_DE,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 100 }), 'top-left');
  window.__funkplan.maps.plan = map;
  map.on('load', () => {
    // The radius of each site as a circle of its reach (64-gon in degrees,
    // good enough to show where it works), the rank on an HTML marker: the
    // style has no glyphs (no outside font server).
    const reach = { type: 'FeatureCollection', features: sites.map((s) => circle(s.lon, s.lat, s.radius_m, s.rank)) };
    map.addSource('reach', { type: 'geojson', data: reach });
    map.addLayer({ id: 'reach-fill', type: 'fill', source: 'reach', paint: { 'fill-color': '#2c7fb8', 'fill-opacity': 0.15 } });
    map.addLayer({ id: 'reach-line', type: 'line', source: 'reach', paint: { 'line-color': '#253494', 'line-width': 1 } });
    for (const s of sites) {
      const m = el('div', { class: 'plan-rank', title: `Rang ${s.rank}: ${s.id}, +${formatCount(s.households)} Haushalte, +${formatKm2(s.area_km2)}` }, String(s.rank));
      m.style.cssText = 'background:#b00020;color:#fff;border-radius:50%;min-width:22px;height:22px;line-height:22px;text-align:center;font:bold 12px system-ui,sans-serif;border:2px solid #fff';
      new maplibregl.Marker({ element: m }).setLngLat([s.lon, s.lat]).addTo(map);
    }
    const bb = bounds(reach);
    if (bb) map.fitBounds(bb, { padding: 24, duration: 0, maxZoom: 13 });
  });
  void plan;
  return map;
}

/** A circle of `r` metres around (lon, lat) as a polygon. */
function circle(lon, lat, r, rank) {
  const pts = [];
  const dLat = r / 111_320;
  const dLon = r / (111_320 * Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= 64; i++) {
    const a = (i / 64) * 2 * Math.PI;
    pts.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: 'Feature', properties: { rank }, geometry: { type: 'Polygon', coordinates: [pts] } };
}

function curve(box, sites) {
  const holder = el('div', { class: 'chart-canvas', role: 'img', 'aria-label': 'Kumulierter Anteil des Offenen, der mit den Standorten bis zu jedem Rang geschlossen wird' });
  box.append(holder);
  if (!sites.length) return null;
  const xs = [0, ...sites.map((s) => s.rank)];
  const ys = [0, ...sites.map((s) => s.cumulative_share * 100)];
  const opts = {
    width: Math.max(320, Math.min(720, box.clientWidth || 640)), height: 240,
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [{ label: 'Rang', incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: 'Anteil %', values: (u, v) => v.map((x) => `${x} %`) }],
    series: [{ label: 'Rang' }, { label: 'kumuliert', stroke: '#2c7fb8', width: 2, value: (u, v) => (v == null ? '–' : `${v.toFixed(1)} %`) }],
  };
  const u = new uPlot(opts, [xs, ys], holder);
  (window.__funkplan.charts ??= {}).plan = u;
  return u;
}
