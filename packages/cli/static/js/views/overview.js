// The overview (/): endpoints, traces and spans ranked for the tag selection.
import { api, meta } from '../api.js';
import { esc, ms, pct } from '../format.js';
import { costCells, costHead } from '../tables.js';
import { valueToggle, wireValueToggle } from '../toggle.js';
import { filterParams, idLink, link, valueKind } from '../url.js';

const view = document.getElementById('view');

export async function overview() {
  const kind = valueKind();
  const q = filterParams();
  q.set('value', kind);
  const r = await api('ranking', q);
  if (r.profiles === 0) {
    view.innerHTML = `<h1>No profiles match</h1><p class="muted">${meta.profiles} profile(s) in ${esc(meta.directory)}; none match these filters.</p>`;
    return;
  }
  const right = (n) => `<td class="num">${n}</td>`;
  view.innerHTML = `<h1>Where the time went</h1>
      <p class="muted">${r.profiles} profile(s): ${ms(r.total.cpuNanos)} ms CPU, ${pct(r.total.cpuNanos - r.unattributed.cpuNanos, r.total.cpuNanos)} of it inside spans;
      ${r.counts.endpoints} endpoint(s), ${r.counts.traces} trace(s), ${r.counts.spans} span(s) with samples.</p>
      <div class="toolbar">${valueToggle()}${
        meta.labels?.length
          ? `<span id="group-by">by label: ${meta.labels.map((n) => `<a href="${esc(link(`/by/${encodeURIComponent(n)}`))}">${esc(n)}</a>`).join(' ')}</span>`
          : ''
      }</div>
      <h2>Endpoints</h2>
      <table id="endpoints"><thead><tr><th>endpoint</th>${costHead}<th class="num">requests</th><th class="num">CPU ms / request</th></tr></thead><tbody>${r.endpoints
        .map(
          (e) => `<tr><td>${idLink('endpoint', e.endpoint)}</td>${costCells(e, r.total)}
            ${right(e.requests || '-')}${right(e.requests ? ms(e.cpuNanos / e.requests) : '-')}</tr>`,
        )
        .join('')}</tbody></table>
      <div>
      <div><h2>Traces</h2><table id="traces"><thead><tr><th>trace ID</th>${costHead}<th class="num">spans</th><th>endpoint</th></tr></thead><tbody>${r.traces
        .map((t) => `<tr><td class="id">${idLink('trace', t.traceId)}</td>${costCells(t, r.total)}${right(t.spans)}<td>${esc(t.endpoint)}</td></tr>`)
        .join('')}</tbody></table></div>
      <div><h2>Spans</h2><table id="spans"><thead><tr><th>span ID</th>${costHead}<th>endpoint</th></tr></thead><tbody>${r.spans
        .map((s) => `<tr><td class="id">${idLink('span', s.spanId)}</td>${costCells(s, r.total)}<td>${esc(s.endpoint)}</td></tr>`)
        .join('')}</tbody></table></div></div>`;
  wireValueToggle(view);
}
