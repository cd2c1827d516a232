// Search by municipality name or AGS with suggestions: a WAI-ARIA combobox
// (arrow keys move, Enter opens, Escape closes).
import { getJson } from './api.js';
import { el, announce } from './dom.js';

export function fold(s) {
  return String(s).toLowerCase().replace(/ß/g, 'ss').normalize('NFD').replace(/[\u0300-\u036f]/g, '');
}

/** Ranked matches: AGS prefix, then name prefix, then word prefix, then substring. */
export function match(items, query, limit = 8) {
  const q = fold(query.trim());
  if (!q) return [];
  const scored = [];
  for (const it of items) {
    let score;
    if (/^\d+$/.test(q)) {
      if (!it.ags.startsWith(q)) continue;
      score = 0;
    } else {
      const n = it.key;
      if (n.startsWith(q)) score = 1;
      else if (n.split(/[\s\-/(),.]+/).some((w) => w.startsWith(q))) score = 2;
      else if (n.includes(q)) score = 3;
      else continue;
    }
    scored.push([score, it]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name, 'de'));
  return scored.slice(0, limit).map((s) => s[1]);
}

export function initSearch(root) {
  const input = root.querySelector('input');
  const list = root.querySelector('[role=listbox]');
  let items = null;
  let shown = [];
  let active = -1;

  const load = () => {
    if (items) return Promise.resolve(items);
    // The whole list is small (396 in NRW); matching it here ignores accents
    // and answers every keystroke without a request.
    return getJson('/api/v1/municipalities?limit=1000').then((list) => {
      items = list.map((m) => ({ ags: m.ags, name: m.name, key: fold(m.name) }));
      return items;
    });
  };

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const setActive = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', j === i ? 'true' : 'false'));
    if (i >= 0 && list.children[i]) {
      input.setAttribute('aria-activedescendant', list.children[i].id);
      list.children[i].scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };

  const open = (it) => {
    close();
    input.value = '';
    location.hash = `#/gemeinde/${it.ags}`;
  };

  const render = () => {
    list.replaceChildren();
    if (shown.length === 0) {
      if (input.value.trim()) {
        list.append(el('li', { class: 'none', role: 'option', 'aria-disabled': 'true', id: 'search-none' }, 'Keine Gemeinde gefunden'));
        list.hidden = false;
        input.setAttribute('aria-expanded', 'true');
        announce('Keine Gemeinde gefunden');
      } else close();
      return;
    }
    shown.forEach((it, i) => {
      const li = el('li', { role: 'option', id: `search-opt-${i}`, 'aria-selected': 'false', 'data-ags': it.ags },
        el('span', { class: 'name' }, it.name), el('span', { class: 'ags' }, it.ags));
      li.addEventListener('mousedown', (e) => { e.preventDefault(); open(it); });
      list.append(li);
    });
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    announce(`${shown.length} Vorschläge`);
    setActive(-1);
  };

  let seq = 0;
  input.addEventListener('input', async () => {
    const my = ++seq;
    const q = input.value;
    try {
      const all = await load();
      if (my !== seq) return;
      shown = match(all, q);
      render();
    } catch (e) {
      list.replaceChildren(el('li', { class: 'none', role: 'option', 'aria-disabled': 'true', id: 'search-none' }, e.message));
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
  });
  input.addEventListener('focus', () => { load().catch(() => {}); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && shown.length) {
      e.preventDefault();
      if (list.hidden) render();
      setActive((active + 1) % shown.length);
    } else if (e.key === 'ArrowUp' && shown.length) {
      e.preventDefault();
      setActive(active <= 0 ? shown.length - 1 : active - 1);
    } else if (e.key === 'Enter') {
      const it = active >= 0 ? shown[active] : shown[0];
      if (it && !list.hidden) { e.preventDefault(); open(it); }
    } else if (e.key === 'Escape') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}
