// Data attribution in the footer and on the maps: synthetic demo data is
// labelled as such; real open data carries its licence's attribution
// (see data/README.md of the repository).
import { municipalities } from './api.js';

export const ATTR_SYNTHETIC = 'Gemeinden, Haushalte und Versorgung: synthetische Demodaten';
export const ATTR_BKG = 'Gemeindegrenzen: © GeoBasis-DE / BKG 2021 (Daten verändert), Datenlizenz Deutschland – Namensnennung 2.0';
export const ATTR_ZENSUS = 'Haushalte: © Statistisches Bundesamt (Destatis), Zensus 2022, Datenlizenz Deutschland – Namensnennung 2.0 (Haushalte je Zelle = Einwohner / durchschnittliche Haushaltsgröße)';
export const ATTR_BNETZA = 'Versorgung (gemeldet): © Bundesnetzagentur, Mobilfunk-Monitoring 2024, Datenlizenz Deutschland – Namensnennung 2.0';
export const ATTR_SITES = 'Standorte und Maßnahmen: synthetisch';

/** Whether the loaded municipalities are synthetic (demo) data. */
export function isSynthetic(fc) {
  const fs = fc?.features ?? [];
  if (fs.length === 0) return true;
  return fs.every((f) => f.properties?.synthetic !== false);
}

/**
 * Attribution lines for the loaded data. Real data: BKG for the outlines,
 * Destatis for households, the regulator where reported coverage is used
 * (`source` reported or union); sites stay synthetic (no real list exists).
 */
export function attributionParts(fc) {
  if (isSynthetic(fc)) return [ATTR_SYNTHETIC, ATTR_SITES];
  const reported = (fc.features ?? []).some((f) => ['reported', 'union'].includes(f.properties?.source));
  return [ATTR_BKG, ATTR_ZENSUS, ...(reported ? [ATTR_BNETZA] : []), ATTR_SITES];
}

/** Short HTML for the map's attribution control. */
export function mapAttribution(fc) {
  return isSynthetic(fc) ? 'Daten: synthetisch (Demo)' : '© GeoBasis-DE / BKG 2021 (Daten verändert); Zensus 2022 © Destatis; Standorte synthetisch';
}

export function initAttribution(el) {
  const base = el.textContent;
  const render = (fc) => {
    el.replaceChildren();
    const p1 = document.createElement('span');
    p1.textContent = base;
    el.append(p1);
    for (const part of attributionParts(fc)) {
      const s = document.createElement('span');
      s.className = 'attr';
      s.textContent = part;
      el.append(' · ', s);
    }
  };
  // After the first paint: the collection is also what search suggests from.
  setTimeout(() => municipalities().then(render).catch(() => { /* views report errors */ }), 0);
}
