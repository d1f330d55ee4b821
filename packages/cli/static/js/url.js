// URL state (filters, time kind), links that keep it, and in-page navigation.
import { esc } from './format.js';

export const params = () => new URLSearchParams(location.search);
/** The tag and time filters of `p` (the current URL by default). */
export const filterParams = (p = params()) => {
  const out = new URLSearchParams();
  for (const t of p.getAll('tag')) out.append('tag', t);
  for (const k of ['from', 'to']) if (p.get(k)) out.set(k, p.get(k));
  return out;
};
export const valueKind = () => (params().get('value') === 'wall' ? 'wall' : 'cpu');

/** A link to `path` that keeps the tag filters and the time kind. */
export function link(path, extra = {}) {
  const q = filterParams();
  if (valueKind() === 'wall') q.set('value', 'wall');
  for (const [k, v] of Object.entries(extra)) {
    q.delete(k);
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else if (v !== undefined && v !== null) q.set(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** A link to the page of a span, trace or endpoint (`kind`), or the plain text when there is no ID. */
export const idLink = (kind, id, cls = '') =>
  id ? `<a${cls ? ` class="${cls}"` : ''} href="${esc(link(`/${kind}/${encodeURIComponent(id)}`))}">${esc(id)}</a>` : '(none)';

let render = () => {};

/** Shows `url` without loading the page again. */
export function go(url) {
  history.pushState(null, '', url);
  render();
}

/** Makes `draw` the renderer of every URL: links within the viewer, back and forward. */
export function startNavigation(draw) {
  render = draw;
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a || a.target || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/static/')) return;
    e.preventDefault();
    go(url.pathname + url.search);
  });
  window.addEventListener('popstate', render);
}
