// Builds the web app into dist/: one ES module bundle (app.js + app.css),
// index.html and MapLibre's worker, which MapLibre 6 loads as a separate
// module from the same origin (set in src/main.js). No outside URLs.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist');
const production = process.env.NODE_ENV !== 'development';

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: path.join(here, 'src/main.js') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: production,
  // Source maps only in development builds (NODE_ENV=development): the
  // served app is the minified bundle, not its sources (issue 20).
  sourcemap: !production,
  legalComments: 'linked',
  logLevel: 'warning',
  loader: { '.svg': 'dataurl', '.png': 'dataurl' },
});
await copyFile(path.join(here, 'index.html'), path.join(out, 'index.html'));
await copyFile(path.join(here, 'node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs'), path.join(out, 'maplibre-gl-worker.mjs'));
console.log(`built ${path.relative(process.cwd(), out) || out}`);
