// Element builders. Everything the server sends (labels, model names, problem details) reaches the
// page through textContent or attributes, never as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  return fill(node, attrs, children);
}

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return node;
}

export const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
};

/** Shows an error in a panel's alert region; AbortError (the user pressed Stop) is not one. */
export function showError(region, err) {
  if (err && err.name === 'AbortError') return;
  region.textContent = err && err.message ? err.message : String(err);
  region.hidden = false;
}

export function clearError(region) {
  region.textContent = '';
  region.hidden = true;
}

export function fillSelect(select, items, selected) {
  select.replaceChildren(...items.map((it) => el('option', { value: it.value, selected: it.value === selected }, it.label)));
}

/** A short number for tables: at most `digits` decimals, no trailing zeros. */
export function fmt(n, digits = 2) {
  if (!Number.isFinite(n)) return String(n);
  return String(Number(n.toFixed(digits)));
}
