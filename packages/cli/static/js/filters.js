// The tag and time filter form above every view.
import { meta } from './api.js';
import { esc } from './format.js';
import { go, params } from './url.js';

const status = document.getElementById('status');

/** A `from`/`to` parameter as the server reads it (epoch ms or an ISO date), as a datetime-local value. */
const toLocalInput = (value) => {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
};

/** Fills the form from the URL and the tags of the profiles, and the status line from the directory. */
export function renderFilters() {
  const p = params();
  const chosen = Object.fromEntries(p.getAll('tag').map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]));
  const keys = meta.searchTags.filter((k) => meta.tags[k]);
  document.getElementById('tag-filters').innerHTML = keys
    .map(
      (k) =>
        `<label>${esc(k)} <select data-tag="${esc(k)}"><option value="">any</option>${meta.tags[k]
          .map((v) => `<option value="${esc(v)}"${chosen[k] === v ? ' selected' : ''}>${esc(v)}</option>`)
          .join('')}</select></label>`,
    )
    .join('');
  document.getElementById('filter-from').value = p.get('from') ? toLocalInput(p.get('from')) : '';
  document.getElementById('filter-to').value = p.get('to') ? toLocalInput(p.get('to')) : '';
  status.textContent = `${meta.profiles} profile(s)${meta.from ? `, ${new Date(meta.from).toLocaleString()} – ${new Date(meta.to).toLocaleString()}` : ''}`;
}

/** Apply puts the chosen filters in the URL of the current view; Clear drops them all. */
export function wireFilters() {
  document.getElementById('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = params();
    q.delete('tag');
    for (const sel of document.querySelectorAll('#tag-filters select')) if (sel.value) q.append('tag', `${sel.dataset.tag}=${sel.value}`);
    for (const k of ['from', 'to']) {
      const v = document.getElementById(`filter-${k}`).value;
      if (v) q.set(k, String(new Date(v).getTime()));
      else q.delete(k);
    }
    const s = q.toString();
    go(s ? `${location.pathname}?${s}` : location.pathname);
  });
  document.getElementById('filters-clear').addEventListener('click', () => go(location.pathname));
}
