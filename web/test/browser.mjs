// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// with a fresh profile per run, and a per-page record of console errors and
// failed requests.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.FUNKPLAN_CHROMIUM || '/usr/bin/chromium';
const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(process.env.FUNKPLAN_WEB_ARTIFACTS || path.join(here, '../../artifacts/web'));

export function baseUrl() {
  const u = process.env.FUNKPLAN_WEB_TEST_URL;
  if (!u) {
    throw new Error('FUNKPLAN_WEB_TEST_URL is not set: start `funkplan serve` with the demo data and set it to its base URL, e.g. http://127.0.0.1:8080');
  }
  return u.replace(/\/+$/, '');
}

export async function launch() {
  const profile = await mkdtemp(path.join(tmpdir(), 'funkplan-chromium-'));
  await mkdir(ARTIFACTS, { recursive: true });
  // launchPersistentContext is how playwright takes a --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
      // MapLibre needs WebGL; headless Chromium gives it in software
      // (SwiftShader) with these flags. Should a Chromium stop doing so,
      // FUNKPLAN_CHROMIUM_ARGS adds flags (e.g. --enable-unsafe-swiftshader).
      ...(process.env.FUNKPLAN_CHROMIUM_ARGS ?? '').split(/\s+/).filter(Boolean),
    ],
    viewport: { width: 1280, height: 900 },
    locale: 'de-DE',
    timezoneId: 'Europe/Berlin',
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A new page that records console errors, page errors and failed requests. */
export async function watchedPage(context, viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return { page, problems };
}

export async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

/**
 * Counts pixels of a PNG by colour class, decoding it in the page (the
 * browser already has a PNG decoder). `palette` is a list of [r,g,b];
 * returns {total, matching, nonBackground}.
 */
export async function countPixels(page, png, palette, background, tolerance = 6) {
  return page.evaluate(async ({ b64, palette, background, tolerance }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const near = (i, [r, g, b]) => Math.abs(d[i] - r) <= tolerance && Math.abs(d[i + 1] - g) <= tolerance && Math.abs(d[i + 2] - b) <= tolerance;
    let matching = 0;
    let nonBackground = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (!near(i, background)) nonBackground++;
      if (palette.some((p) => near(i, p))) matching++;
    }
    return { total: d.length / 4, matching, nonBackground };
  }, { b64: png.toString('base64'), palette, background, tolerance });
}

export function hexToRgb(h) {
  const n = parseInt(h.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * axe-core's serious and critical accessibility violations on the page as it
 * is now (axe injected from node_modules, run in the page), as readable lines.
 */
export async function axeViolations(page, { exclude = [] } = {}) {
  const { createRequire } = await import('node:module');
  const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async (ex) => window.axe.run(ex.length ? { exclude: ex } : document, {
    resultTypes: ['violations'],
  }), exclude);
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
}
