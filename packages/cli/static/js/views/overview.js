// The overview (/): endpoints, traces and spans ranked for the tag selection.
import { api, meta } from '../api.js';
import { duration, esc, millis, ms, pct } from '../format.js';
import { costCells, costHead, splitCells, splitHead } from '../tables.js';
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
      ${r.counts.endpoints} endpoint(s), ${r.counts.traces} trace(s) with samples, ${r.counts.spans} span(s) (with samples, and their parents).</p>
      <div class="toolbar">${valueToggle()}${
        meta.labels?.length
          ? `<span id="group-by">by label: ${meta.labels.map((n) => `<a href="${esc(link(`/by/${encodeURIComponent(n)}`))}">${esc(n)}</a>`).join(' ')}</span>`
          : ''
      }</div>
      <h2>Endpoints</h2>
      <p class="muted">Per request: the mean duration (p95 beside it) split into CPU time (sampled), I/O waits (file system, DNS, connects, outgoing HTTP) and other waiting (timers, short I/O, other requests).</p>
      <table id="endpoints"><thead><tr><th>endpoint</th><th class="num">requests</th><th class="num">mean ms</th><th class="num">p95 ms</th><th class="num">CPU ms / request</th><th class="num">I/O ms / request</th><th class="num">waiting ms / request</th>${costHead}</tr></thead><tbody>${r.endpoints
        .map((e) => {
          const t = e.time;
          return `<tr><td>${idLink('endpoint', e.endpoint)}</td>${right(e.requests || '-')}${right(t ? millis(t.meanMillis) : '-')}${right(t ? millis(t.p95Millis) : '-')}
            ${right(t ? millis(t.cpuMillisPerRequest) : e.requests ? ms(e.cpuNanos / e.requests) : '-')}${right(t ? millis(t.ioMillisPerRequest) : '-')}${right(t ? millis(t.waitingMillisPerRequest) : '-')}${costCells(e, r.total)}</tr>`;
        })
        .join('')}</tbody></table>
      <div>
      <div><h2>Slowest traces</h2><table id="traces"><thead><tr><th>trace ID</th><th>name</th><th class="num">duration ms</th><th class="num">CPU ms</th><th class="num">I/O ms</th><th class="num">waiting ms</th><th class="num">spans</th><th>endpoint</th></tr></thead><tbody>${r.traces
        .map(
          (t) =>
            `<tr><td class="id">${idLink('trace', t.traceId)}</td><td>${esc(t.time?.name ?? '')}</td>${right(t.time ? duration(t.time) : '-')}${right(ms(t.time?.cpuNanos ?? t.cpuNanos))}${right(t.time ? ms(t.time.ioNanos) : '-')}${right(t.time ? ms(t.time.waitingNanos) : '-')}${right(t.spans)}<td>${esc(t.endpoint)}</td></tr>`,
        )
        .join('')}</tbody></table></div>
      <div><h2>Slowest spans</h2><table id="spans"><thead><tr><th>span ID</th><th>name</th>${splitHead}<th>endpoint</th></tr></thead><tbody>${r.spans
        .map((s) => `<tr><td class="id">${idLink('span', s.spanId)}</td><td>${esc(s.time?.name ?? '')}</td>${splitCells(s)}<td>${esc(s.endpoint)}</td></tr>`)
        .join('')}</tbody></table></div></div>`;
  wireValueToggle(view);
}
