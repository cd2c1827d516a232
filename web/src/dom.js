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
