// The hotspots of one scope (/span/, /trace/, /root/, /endpoint/, /label/): flame graph, top functions, its spans or traces.
import { api } from '../api.js';
import { flame } from '../flame.js';
import { esc, ms } from '../format.js';
import { costCells, costHead, functionsTable } from '../tables.js';
import { valueToggle, wireValueToggle } from '../toggle.js';
import { filterParams, go, idLink, link, params, valueKind } from '../url.js';

const view = document.getElementById('view');

/** A flame graph view of one scope: span (with its local root), trace, root or endpoint. */
export async function scopeView(kind, id) {
  const value = valueKind();
  const whole = kind === 'span' && params().get('whole') === '1';
  const q = filterParams();
  q.set('value', value);
  q.set('scope', kind);
  q.set('id', id);
  let h = await api('hotspots', q);
  let title;
  let facts = '';
  let extra = '';
  if (kind === 'span') {
    const s = h.span;
    if (s && whole && /^[0-9a-f]{16}$/.test(s.localRootSpanId)) {
      const q2 = new URLSearchParams(q);
      q2.set('scope', 'root');
      q2.set('id', s.localRootSpanId);
      h = await api('hotspots', q2);
    }
    title = whole ? `Local root of span <span class="mono">${esc(id)}</span>` : `Span <span class="mono">${esc(id)}</span>`;
    facts = s
      ? `<div><span>trace</span>${idLink('trace', s.traceId, 'mono')}</div>
           <div><span>local root</span>${idLink('span', s.localRootSpanId, 'mono')}</div>
           <div><span>endpoint</span>${idLink('endpoint', s.endpoint)}</div>`
      : '';
    extra = `<span class="group" role="group" aria-label="scope">
        <button type="button" data-whole="0" class="${whole ? '' : 'on'}">This span</button>
        <button type="button" data-whole="1" class="${whole ? 'on' : ''}">Whole local root</button></span>`;
  } else if (kind === 'trace') {
    title = `Trace <span class="mono">${esc(id)}</span>`;
  } else if (kind === 'root') {
    title = `Local root <span class="mono">${esc(id)}</span>`;
  } else if (kind === 'label') {
    title = `Label <span class="mono">${esc(id)}</span>`;
  } else {
    title = `Endpoint ${esc(id)}`;
  }
  if (h.total.samples === 0) {
    view.innerHTML = `<h1>${title}</h1><p class="error">No samples of this ${kind === 'root' ? 'local root' : kind} in the ${h.profiles} selected profile(s).</p>
        <p class="muted">A short span may fall between two samples (one every ~10 ms by default); check the tag and time filters.</p>`;
    return;
  }
  view.innerHTML = `<h1>${title}</h1>
      <div class="facts">${facts}<div><span>CPU</span>${ms(h.total.cpuNanos)} ms</div><div><span>wall</span>${ms(h.total.wallNanos)} ms</div><div><span>samples</span>${h.total.samples}</div></div>
      <div class="toolbar">${extra} ${valueToggle()}</div>
      <h2>Flame graph (${value === 'cpu' ? 'CPU' : 'wall'} time)</h2><div id="flame-box"></div>
      <h2>Top functions</h2>${functionsTable(h.functions, h.total, value)}
      ${
        h.spans
          ? `<h2>Spans</h2><table id="scope-spans"><thead><tr><th>span ID</th>${costHead}<th>local root</th></tr></thead><tbody>${h.spans
              .map((s) => `<tr><td class="id">${idLink('span', s.spanId)}</td>${costCells(s, h.total)}<td class="id">${esc(s.localRootSpanId)}</td></tr>`)
              .join('')}</tbody></table>`
          : ''
      }
      ${
        h.traces
          ? `<h2>Costliest traces</h2><table id="scope-traces"><thead><tr><th>trace ID</th>${costHead}<th class="num">spans</th></tr></thead><tbody>${h.traces
              .map((t) => `<tr><td class="id">${idLink('trace', t.traceId)}</td>${costCells(t, h.total)}<td class="num">${t.spans}</td></tr>`)
              .join('')}</tbody></table>`
          : ''
      }`;
  flame(document.getElementById('flame-box'), h.flame, value);
  wireValueToggle(view);
  for (const b of view.querySelectorAll('[data-whole]')) {
    b.addEventListener('click', () => go(link(location.pathname, { whole: b.dataset.whole === '1' ? '1' : null })));
  }
}
