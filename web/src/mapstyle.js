// Shared map pieces: a style with no outside tiles, sprites or glyphs (the
// municipalities are the base layer), the choropleth classes and colours.
import { formatNumber, formatShare } from './format.js';

export const BACKGROUND = '#dfe6ec';
export const NO_DATA = '#9e9e9e';

/** Class breaks (fractions) and colours (ColorBrewer YlGnBu, 6 classes). */
export const BREAKS = [0.5, 0.7, 0.8, 0.9, 0.95];
export const COLORS = ['#ffffcc', '#c7e9b4', '#7fcdbb', '#41b6c4', '#2c7fb8', '#253494'];

export const STATUS_COLORS = {
  planned: '#f2a900',
  permitting: '#e36414',
  construction: '#9d4edd',
  on_air: '#1a7f37',
  decommissioned: '#6c757d',
};

export function emptyStyle() {
  return {
    version: 8,
    name: 'funkplan',
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': BACKGROUND } }],
  };
}

/** fill-color expression for a share property: stepped classes, grey if absent. */
export function choroplethColor(prop) {
  const step = ['step', ['get', prop], COLORS[0]];
  BREAKS.forEach((b, i) => step.push(b, COLORS[i + 1]));
  return ['case', ['==', ['typeof', ['get', prop]], 'number'], step, NO_DATA];
}

/** Legend rows: [colour, label]. */
export function legendRows() {
  const rows = [];
  const fmt = (v) => formatShare(v);
  rows.push([COLORS[0], `unter ${fmt(BREAKS[0])}`]);
  for (let i = 0; i < BREAKS.length - 1; i++) rows.push([COLORS[i + 1], `${fmt(BREAKS[i])} bis unter ${fmt(BREAKS[i + 1])}`]);
  rows.push([COLORS.at(-1), `ab ${fmt(BREAKS.at(-1))}`]);
  rows.push([NO_DATA, 'keine Angabe']);
  return rows;
}

/** LTE dead spots on every map and in every legend. */
export const DEAD_COLOR = '#d7263d';

/** Gain of the scenario over today, in percentage points (0..1 shares). */
export const DIFF_BREAKS = [0.0005, 0.005, 0.02, 0.05];
export const DIFF_COLORS = ['#f2f0f7', '#cbc9e2', '#9e9ac8', '#756bb1', '#54278f'];

export function diffColor(prop) {
  const step = ['step', ['get', prop], DIFF_COLORS[0]];
  DIFF_BREAKS.forEach((b, i) => step.push(b, DIFF_COLORS[i + 1]));
  return ['case', ['==', ['typeof', ['get', prop]], 'number'], step, NO_DATA];
}

export function diffLegendRows() {
  const pp = (v) => `${formatNumber(v * 100, 1)} Prozentpunkte`;
  const rows = [[DIFF_COLORS[0], 'keine Änderung']];
  for (let i = 0; i < DIFF_BREAKS.length - 1; i++) rows.push([DIFF_COLORS[i + 1], `${pp(DIFF_BREAKS[i])} bis unter ${pp(DIFF_BREAKS[i + 1])}`]);
  rows.push([DIFF_COLORS.at(-1), `ab ${pp(DIFF_BREAKS.at(-1))}`]);
  rows.push([NO_DATA, 'keine Angabe']);
  return rows;
}

/** Bounding box [[w,s],[e,n]] of a FeatureCollection or Feature. */
export function bounds(geo) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      if (c[0] < w) w = c[0];
      if (c[0] > e) e = c[0];
      if (c[1] < s) s = c[1];
      if (c[1] > n) n = c[1];
    } else for (const x of c) walk(x);
  };
  const fs = geo.type === 'FeatureCollection' ? geo.features : [geo];
  for (const f of fs) if (f.geometry) walk(f.geometry.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

export function siteColor() {
  const m = ['match', ['get', 'status']];
  for (const [k, v] of Object.entries(STATUS_COLORS)) m.push(k, v);
  m.push('#333333');
  return m;
}

/**
 * MapLibre's own control labels in German (its `locale` option); the keys
 * are those of MapLibre's default locale.
 */
export const LOCALE_DE = {
  'AttributionControl.ToggleAttribution': 'Quellenangaben ein- oder ausblenden',
  'AttributionControl.MapFeedback': 'Rückmeldung zur Karte',
  'FullscreenControl.Enter': 'Vollbild',
  'FullscreenControl.Exit': 'Vollbild beenden',
  'GeolocateControl.FindMyLocation': 'Meinen Standort finden',
  'GeolocateControl.LocationNotAvailable': 'Standort nicht verfügbar',
  'LogoControl.Title': 'MapLibre-Logo',
  'Map.Title': 'Karte',
  'Marker.Title': 'Kartenmarkierung',
  'NavigationControl.ResetBearing': 'Ziehen zum Drehen, Klicken richtet nach Norden aus',
  'NavigationControl.ZoomIn': 'Vergrößern',
  'NavigationControl.ZoomOut': 'Verkleinern',
  'Popup.Close': 'Schließen',
  'ScaleControl.Feet': 'ft',
  'ScaleControl.Meters': 'm',
  'ScaleControl.Kilometers': 'km',
  'ScaleControl.Miles': 'mi',
  'ScaleControl.NauticalMiles': 'sm',
  'GlobeControl.Enable': 'Globus einschalten',
  'GlobeControl.Disable': 'Globus ausschalten',
  'TerrainControl.Enable': 'Gelände einschalten',
  'TerrainControl.Disable': 'Gelände ausschalten',
  'CooperativeGesturesHandler.WindowsHelpText': 'Strg + Mausrad zum Zoomen der Karte',
  'CooperativeGesturesHandler.MacHelpText': '⌘ + Mausrad zum Zoomen der Karte',
  'CooperativeGesturesHandler.MobileHelpText': 'Mit zwei Fingern verschieben Sie die Karte',
};

/**
 * The 100 m grid (vector tiles /tiles/coverage, issue 17): from this zoom
 * a cell is a few pixels wide and readable; below it the choropleth of
 * the areas tells the story.
 */
export const GRID_MIN_ZOOM = 12;
/** Colours by operator count: 0 = Funkloch, 1 = nur ein Netzbetreiber, 2, 3 und mehr. */
export const GRID_COLORS = ['#d7263d', '#f4a259', '#9fd18b', '#2b8a3e'];
export const GRID_LABELS = ['Funkloch (kein Netzbetreiber)', 'nur ein Netzbetreiber', 'zwei Netzbetreiber', 'drei und mehr Netzbetreiber'];
/** The tile property of each technology's operator count. */
export const GRID_TECH = { lte: { prop: 'lte', label: 'LTE' }, '5g': { prop: '5g', label: '5G' } };

/** fill-color of the grid cells for a technology ('lte' or '5g'). */
export function gridColor(tech) {
  const p = GRID_TECH[tech].prop;
  return ['step', ['coalesce', ['get', p], 0], GRID_COLORS[0], 1, GRID_COLORS[1], 2, GRID_COLORS[2], 3, GRID_COLORS[3]];
}

/** Legend rows of the grid: [colour, label]. */
export function gridLegendRows() {
  return GRID_COLORS.map((c, i) => [c, GRID_LABELS[i]]);
}

/**
 * The cell id (100mN…E…) of a grid tile feature: its id is
 * northing · 100000 + easting of the south-west corner in hectometres.
 */
export function cellId(featureId) {
  const id = Number(featureId);
  if (!Number.isSafeInteger(id) || id < 0) return null;
  return `100mN${Math.floor(id / 100000)}E${id % 100000}`;
}

/** The vector tile URL template of a tileset on this server. */
export function tileUrl(tileset) {
  return `${location.origin}/tiles/${tileset}/{z}/{x}/{y}.mvt`;
}
