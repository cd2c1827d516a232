// Access to the public HTTP API (DESIGN §7). Every call goes through
// `getJson`, which turns network failures and problem+json answers into one
// error type with a German message the views show as they are.

export class ApiError extends Error {
  constructor(message, { status = 0, url = '', unreachable = false } = {}) {
    super(message);
    this.status = status;
    this.url = url;
    this.unreachable = unreachable;
  }
}

// Read your writes (issue 25): a write's answer carries the WAL position it
// committed at in `Funkplan-Consistency`; reads send the newest one this
// browser tab has seen, so a node behind a load balancer that reads from a
// hot standby answers them only once it has that write (else from the
// primary). Kept per tab (sessionStorage) so a reload keeps it.
export const CONSISTENCY = 'Funkplan-Consistency';
const TOKEN_KEY = 'funkplan.consistency';
let consistencyToken = null;

/** `0/3000060` as a BigInt, or null for anything else. */
export function parseLsn(text) {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(String(text ?? '').trim());
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : null;
}

/** The newer of two tokens (either may be null or malformed). */
export function newerToken(a, b) {
  const pa = parseLsn(a);
  const pb = parseLsn(b);
  if (pb === null) return pa === null ? null : a;
  if (pa === null) return b;
  return pb > pa ? b : a;
}

/** The token reads send, or null. */
export function consistency() {
  if (consistencyToken === null) {
    try {
      const kept = sessionStorage.getItem(TOKEN_KEY);
      if (parseLsn(kept) !== null) consistencyToken = kept;
    } catch { /* no storage (node, private mode) */ }
  }
  return consistencyToken;
}

/** Keep the token of a write's answer `res` (a fetch Response), if newer. */
export function noteConsistency(res) {
  const t = newerToken(consistency(), res?.headers?.get?.(CONSISTENCY) ?? null);
  if (t !== null && t !== consistencyToken) {
    consistencyToken = t;
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch { /* no storage */ }
  }
}

/** The headers of a read: JSON wanted, the token if this tab wrote. */
export function readHeaders() {
  const h = { Accept: 'application/json, application/geo+json' };
  const t = consistency();
  if (t !== null) h[CONSISTENCY] = t;
  return h;
}

/**
 * A write (`POST`/`PATCH`) with a JSON body and a bearer token; keeps the
 * consistency token of its answer for the reads after it. Errors as
 * `getJson`'s.
 */
export async function sendJson(method, url, body, { bearer, ifMatch, signal } = {}) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (ifMatch) headers['If-Match'] = ifMatch;
  let res;
  try {
    res = await fetch(url, { method, headers, body: JSON.stringify(body), signal });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError('Der Funkplan-Server ist nicht erreichbar. Bitte Verbindung prüfen und erneut versuchen.', { url, unreachable: true });
  }
  noteConsistency(res);
  return answer(res, url);
}

export async function getJson(url, { signal } = {}) {
  let res;
  try {
    res = await fetch(url, { headers: readHeaders(), signal });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError('Der Funkplan-Server ist nicht erreichbar. Bitte Verbindung prüfen und erneut versuchen.', { url, unreachable: true });
  }
  return answer(res, url);
}

/** The JSON of `res`, or an ApiError with a German message and the server's detail. */
async function answer(res, url) {
  if (!res.ok) {
    let detail = '';
    try {
      const body = await res.json();
      detail = body.detail || body.title || '';
    } catch { /* no JSON body */ }
    const msg = res.status === 404 ? 'Nicht gefunden.'
      : res.status >= 500 ? 'Der Server hat einen Fehler gemeldet.'
        : `Anfrage abgelehnt (${res.status}).`;
    throw new ApiError(detail ? `${msg} ${detail}` : msg, { status: res.status, url });
  }
  try {
    return await res.json();
  } catch {
    throw new ApiError('Die Antwort des Servers ist kein gültiges JSON.', { status: res.status, url });
  }
}

export function targets() {
  return getJson('/api/v1/targets');
}

/** Monthly series of a target, as [{month: 'YYYY-MM-DD', value}] sorted. */
export async function targetHistory(id) {
  const body = await getJson(`/api/v1/targets/${encodeURIComponent(id)}/history`);
  return normalizeHistory(body);
}

/** Keeps the well-formed points of `/api/v1/targets/{id}/history`, oldest first. */
export function normalizeHistory(body) {
  return (Array.isArray(body) ? body : [])
    .map((p) => ({ month: String(p.month ?? '').slice(0, 10), value: Number(p.value) }))
    .filter((p) => /^\d{4}-\d{2}-\d{2}$/.test(p.month) && Number.isFinite(p.value))
    .sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : 0));
}

export function municipality(ags) {
  return getJson(`/api/v1/municipalities/${encodeURIComponent(ags)}`);
}

export function deadSpots(ags) {
  return getJson(`/api/v1/municipalities/${encodeURIComponent(ags)}/dead-spots`);
}

export function municipalityFeature(ags) {
  return getJson(`/ogc/collections/municipalities/items/${encodeURIComponent(ags)}`);
}

/** Follows `next` links until the collection is complete (or `max` features). */
export async function ogcAll(url, { max = 100000, signal } = {}) {
  const features = [];
  let next = url;
  let matched = null;
  while (next && features.length < max) {
    const page = await getJson(next, { signal });
    if (matched === null && typeof page.numberMatched === 'number') matched = page.numberMatched;
    features.push(...(page.features ?? []));
    const link = (page.links ?? []).find((l) => l.rel === 'next');
    const done = (page.features ?? []).length === 0 || (matched !== null && features.length >= matched);
    next = link && !done ? link.href : null;
  }
  return { type: 'FeatureCollection', features, numberMatched: matched ?? features.length };
}

// --- municipalities collection, normalised ---------------------------------

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The shares a choropleth can show; the key is used as a feature property. */
export const MEASURES = {
  '5g_hh': { label: '5G – Haushalte', tech: '5g', kind: 'household_share', scenario: false },
  'lte_hh': { label: 'LTE – Haushalte', tech: 'lte', kind: 'household_share', scenario: false },
  '5g_area': { label: '5G – Fläche', tech: '5g', kind: 'area_share', scenario: false },
  'lte_area': { label: 'LTE – Fläche', tech: 'lte', kind: 'area_share', scenario: false },
  'sc_5g_hh': { label: 'Szenario 5G – Haushalte', tech: '5g', kind: 'household_share', scenario: true },
  'sc_5g_area': { label: 'Szenario 5G – Fläche', tech: '5g', kind: 'area_share', scenario: true },
  'sc_lte_hh': { label: 'Szenario LTE – Haushalte', tech: 'lte', kind: 'household_share', scenario: true },
};

/** The share of measure `m` as the server's OGC collection names it, e.g. `household_share_5g_scenario`. */
function shareOf(p, m) {
  return num(p[`${m.kind}_${m.tech}${m.scenario ? '_scenario' : ''}`]);
}

/**
 * Adds one property per entry of MEASURES to each municipality feature
 * (`m_<key>`, a fraction 0..1, absent where the server has no figure) so
 * the map styles can name them; the server's own properties stay as they
 * are.
 */
export function normalizeMunicipalities(fc) {
  for (const f of fc.features ?? []) {
    const p = f.properties ?? (f.properties = {});
    p.ags = String(p.ags ?? f.id ?? '');
    p.name = String(p.name ?? p.ags);
    for (const [key, m] of Object.entries(MEASURES)) {
      const v = shareOf(p, m);
      if (v === null) delete p[`m_${key}`];
      else p[`m_${key}`] = v;
    }
    if (f.id === undefined) f.id = p.ags;
  }
  return fc;
}

let municipalitiesPromise = null;
let municipalitiesAt = 0;
/**
 * All municipalities with coverage properties, shared by the views; fetched
 * again after a minute so that a recompute shows without a reload.
 */
export function municipalities() {
  if (!municipalitiesPromise || Date.now() - municipalitiesAt > 60000) {
    municipalitiesAt = Date.now();
    municipalitiesPromise = ogcAll('/ogc/collections/municipalities/items?limit=1000')
      .then(normalizeMunicipalities)
      .catch((e) => { municipalitiesPromise = null; throw e; });
  }
  return municipalitiesPromise;
}

// --- districts and Regierungsbezirke -----------------------------------------

/** The area levels the map can colour by: the OGC collection and the view of one area. */
export const LEVELS = {
  gemeinden: { label: 'Gemeinden', collection: 'municipalities', route: 'gemeinde' },
  kreise: { label: 'Kreise und kreisfreie Städte', collection: 'districts', route: 'kreis' },
  bezirke: { label: 'Regierungsbezirke', collection: 'regions', route: 'bezirk' },
};

const areaPromises = {};
/** All districts or Regierungsbezirke with their summed coverage, normalised like the municipalities. */
export function areas(level) {
  if (level === 'gemeinden') return municipalities();
  const key = LEVELS[level].collection;
  const cached = areaPromises[key];
  if (!cached || Date.now() - cached.at > 60000) {
    areaPromises[key] = {
      at: Date.now(),
      p: ogcAll(`/ogc/collections/${key}/items?limit=1000`).then(normalizeMunicipalities)
        .catch((e) => { delete areaPromises[key]; throw e; }),
    };
  }
  return areaPromises[key].p;
}

/** One district (5 AGS digits) or Regierungsbezirk (3) with its municipalities. */
export function area(level, key) {
  const path = level === 'kreis' ? 'districts' : 'regions';
  return getJson(`/api/v1/${path}/${encodeURIComponent(key)}`);
}

/** The coverage releases, oldest first: [{as_of, cells, source_file, …}]. */
export function releases() {
  return getJson('/api/v1/releases');
}

/** What changed in a municipality between the releases in force at two dates. */
export function changes(ags, from, to) {
  const q = new URLSearchParams();
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const s = q.toString();
  return getJson(`/api/v1/municipalities/${encodeURIComponent(ags)}/changes${s ? `?${s}` : ''}`);
}

/** A municipality at each coverage release: {source, releases: [{date, coverage: {5g, lte}}]}. */
export function municipalityReleases(ags) {
  return getJson(`/api/v1/municipalities/${encodeURIComponent(ags)}/releases`);
}

/** The municipalities bordering `ags`: {neighbours: [{ags, name, border_km}]}, longest border first. */
export function neighbours(ags) {
  return getJson(`/api/v1/municipalities/${encodeURIComponent(ags)}/neighbours`);
}
