// Entry point: hash router over the views and the search box.
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { renderDashboard } from './dashboard.js';
import { renderMap } from './map.js';
import { renderMunicipality } from './municipality.js';
import { renderArea } from './area.js';
import { renderAll } from './all.js';
import { renderPlan } from './plan.js';
import { initSearch } from './search.js';
import { initAttribution } from './attribution.js';

// The worker is shipped next to app.js (see build.mjs); no outside URL.
maplibregl.setWorkerUrl(new URL('maplibre-gl-worker.mjs', document.baseURI).href);

const main = document.getElementById('main');
let cleanup = null;

/** Debug hooks for the browser tests (read only). */
window.__funkplan = { maplibregl, maps: {}, ready: {}, marks: {} };

function route() {
  const h = location.hash.replace(/^#/, '') || '/';
  let m;
  if ((m = h.match(/^\/gemeinde\/(\d{8})\/?$/))) return { view: 'gemeinde', ags: m[1] };
  if ((m = h.match(/^\/(kreis|bezirk)\/(\d+)\/?$/))) return { view: 'gebiet', level: m[1], key: m[2] };
  if (/^\/karte\/?$/.test(h)) return { view: 'karte' };
  if (/^\/gemeinden\/?$/.test(h)) return { view: 'alle' };
  if ((m = h.match(/^\/plan\/(\d+)\/?$/))) return { view: 'plan', id: m[1] };
  if (h === '/' || h === '') return { view: 'ziele' };
  return { view: 'unknown', path: h };
}

async function show() {
  if (cleanup) {
    try { cleanup(); } catch { /* view already gone */ }
    cleanup = null;
  }
  const r = route();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  main.dataset.view = r.view;
  if (r.view === 'ziele') cleanup = renderDashboard(main);
  else if (r.view === 'karte') cleanup = renderMap(main);
  else if (r.view === 'gemeinde') cleanup = renderMunicipality(main, r.ags);
  else if (r.view === 'gebiet') cleanup = renderArea(main, r.level, r.key);
  else if (r.view === 'alle') cleanup = renderAll(main);
  else if (r.view === 'plan') cleanup = renderPlan(main, r.id);
  else {
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = `Diese Seite gibt es nicht: ${r.path}`;
    main.append(p);
    document.title = 'Nicht gefunden – Funkplan NRW';
  }
}

window.addEventListener('hashchange', () => {
  show();
  // Move keyboard focus to the new content, as a page load would.
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
initSearch(document.querySelector('.search'));
initAttribution(document.getElementById('attribution'));
show();
