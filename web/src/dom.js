// Tiny DOM helpers; text always goes in as text nodes (no innerHTML).

export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

export function loading(text = 'Wird geladen …') {
  return el('p', { class: 'loading', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** An error message with a retry button. */
export function errorBox(err, retry) {
  const box = el('div', { class: 'error', role: 'alert' },
    el('p', {}, el('strong', {}, err?.unreachable ? 'Keine Verbindung zum Server. ' : 'Fehler beim Laden. '), err?.message ?? String(err)));
  if (retry) box.append(el('button', { type: 'button', onclick: retry }, 'Erneut versuchen'));
  return box;
}

export function announce(text) {
  const s = document.getElementById('status');
  if (s) s.textContent = text;
}

/**
 * The header row of a table sortable by any column: a button per column,
 * `aria-sort` on the sorted one and ▲/▼ beside its label. `sort` ({key,
 * dir}, dir 1 or -1) changes in place when a button is pressed: the sorted
 * column flips, another one starts with `firstDir(column)`; then `redraw()`
 * runs and the pressed button, found again in `container`, gets the focus
 * back so keyboard users keep their place.
 */
export function sortableHead(columns, sort, { redraw, container, firstDir = () => 1 }) {
  return el('thead', {}, el('tr', {}, columns.map((c) => {
    const sorted = c.key === sort.key;
    return el('th', { scope: 'col', 'aria-sort': sorted ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none' },
      el('button', {
        type: 'button', class: 'sort', 'data-sort': c.key,
        onclick: () => {
          if (sort.key === c.key) sort.dir = -sort.dir;
          else { sort.key = c.key; sort.dir = firstDir(c); }
          redraw();
          container.querySelector(`button[data-sort="${c.key}"]`)?.focus();
        },
      }, c.label, sorted ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''));
  })));
}
