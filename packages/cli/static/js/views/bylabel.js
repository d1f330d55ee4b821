// A sample label's values ranked (/by/<name>: tenant, thread_name, ...), each a link to its hotspots.
import { api } from '../api.js';
import { esc, ms, pct } from '../format.js';
import { costCells, costHead } from '../tables.js';
import { valueToggle, wireValueToggle } from '../toggle.js';
import { filterParams, link, valueKind } from '../url.js';

const view = document.getElementById('view');

export async function byLabelView(name) {
  const q = filterParams();
  q.set('value', valueKind());
  q.set('by', name);
  const r = await api('labels', q);
  const rows = r.values
    .map((v) => {
      const cell =
        v.value === ''
          ? '<span class="muted">(none)</span>'
          : `<a href="${esc(link(`/label/${encodeURIComponent(`${name}=${v.value}`)}`))}">${esc(v.value)}</a>`;
      return `<tr><td>${cell}</td>${costCells(v, r.total)}</tr>`;
    })
    .join('');
  view.innerHTML = `<h1>By ${esc(name)}</h1>
      <p class="muted">${r.profiles} profile(s): ${ms(r.total.cpuNanos)} ms CPU; ${r.count} value(s) of ${esc(name)}${r.count > r.values.length ? `, the ${r.values.length} costliest shown` : ''};
      (none): samples without it (${pct(r.values.find((v) => v.value === '')?.cpuNanos ?? 0, r.total.cpuNanos)} of the CPU).</p>
      <div class="toolbar">${valueToggle()}</div>
      <table id="by-label"><thead><tr><th>${esc(name)}</th>${costHead}</tr></thead><tbody>${rows}</tbody></table>`;
  wireValueToggle(view);
}
