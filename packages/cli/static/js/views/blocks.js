// The event-loop blocks (/blocks): the times the loop did not turn, longest first, with what ran and who waited.
import { api } from '../api.js';
import { esc, millis } from '../format.js';
import { filterParams, idLink } from '../url.js';

const view = document.getElementById('view');
/** The last two parts of a path: enough to tell the file, short enough for the table. */
const tail = (file) => file.split('/').slice(-2).join('/');

export async function blocksView() {
  const r = await api('blocks', filterParams());
  const share = (b, n) => (b.samples > 0 ? `${Math.round((100 * n) / b.samples)}%` : '');
  const rows = r.blocks
    .map((b) => {
      const fn = b.functions[0];
      const span = b.spans[0];
      return `<tr><td>${esc(new Date(b.start).toISOString())}</td><td class="num">${millis(b.durationMillis)}</td><td>${esc(b.thread || '-')}</td>
        <td>${fn ? `<span class="fn">${esc(fn.name)}</span> <span class="mono muted" title="${esc(fn.file)}:${fn.line}">${esc(tail(fn.file))}:${fn.line}</span> ${share(b, fn.samples)}` : '-'}</td>
        <td>${span ? `${idLink('span', span.spanId, 'mono')} ${esc(span.endpoint)} ${share(b, span.samples)}` : '<span class="muted">(no span)</span>'}</td>
        <td class="num">${b.requestsInFlight}</td><td class="num">${b.requestsQueued}</td>
        <td>${b.delayed.map((d) => `${idLink('endpoint', d.endpoint)} ×${d.count}`).join(', ') || '-'}</td></tr>`;
    })
    .join('');
  view.innerHTML = `<h1>Event-loop blocks</h1>
    <p class="muted">${r.count} time(s) the event loop did not turn for the threshold (blockThresholdMillis, 50 ms by default) in ${r.profiles} profile(s), longest first.
    What ran: the samples taken during the block. In flight: requests that had started and waited through it; queued: requests that started right after it.</p>
    ${r.count === 0 ? '<p>No blocks in this selection.</p>' : `<table id="blocks"><thead><tr><th>start</th><th class="num">ms</th><th>thread</th><th>top function (share of its samples)</th><th>span that ran</th><th class="num">in flight</th><th class="num">queued</th><th>delayed requests by endpoint</th></tr></thead><tbody>${rows}</tbody></table>`}`;
}
