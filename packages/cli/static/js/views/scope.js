// The hotspots of one scope (/span/, /trace/, /root/, /endpoint/, /label/): flame graph, top functions, its spans or traces.
import { api } from '../api.js';
import { flame } from '../flame.js';
import { timelineSvg } from '../timeline.js';
import { duration, esc, millis, ms } from '../format.js';
import { costCells, costHead, functionsTable, splitCells, splitHead } from '../tables.js';
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
    // A recorded span with no samples of its own (one that only waited, or whose children did the work) still has its split and timeline.
    const recorded = kind === 'span' && h.time;
    view.innerHTML = `<h1>${title}</h1>${recorded ? timeFacts(h.time) : ''}<p class="${recorded ? 'muted' : 'error'}">No samples of this ${kind === 'root' ? 'local root' : kind} in the ${h.profiles} selected profile(s).</p>
        <p class="muted">A short span may fall between two samples (one every ~10 ms by default); check the tag and time filters.</p>
        ${recorded ? '<h2>Timeline of its local root</h2><div id="timeline-box"></div>' : ''}`;
    if (recorded) await drawTimeline(id);
    return;
  }
  view.innerHTML = `<h1>${title}</h1>
      ${timeFacts(h.time)}
      <div class="facts">${facts}<div><span>CPU (sampled)</span>${ms(h.total.cpuNanos)} ms</div><div><span>running (sampled)</span>${ms(h.total.wallNanos)} ms</div><div><span>samples</span>${h.total.samples}</div></div>
      ${kind === 'span' ? '<h2>Timeline of its local root</h2><p class="muted">Bars: spans from start to end. Ticks: samples, orange where the time was on the CPU. Where a bar has no ticks, it waited: green bars below it are its I/O waits, purple its GC pauses. Red shade: the event loop was blocked.</p><div id="timeline-box"></div>' : ''}
      <div class="toolbar">${extra} ${valueToggle()}</div>
      <h2>Flame graph (${value === 'cpu' ? 'CPU' : 'running'} time)</h2><div id="flame-box"></div>
      <h2>Top functions</h2>${functionsTable(h.functions, h.total, value)}
      ${
        h.spans
          ? `<h2>Spans</h2><table id="scope-spans"><thead><tr><th>span ID</th><th>name</th>${splitHead}<th>local root</th></tr></thead><tbody>${h.spans
              .map(
                (s) =>
                  `<tr><td class="id">${idLink('span', s.spanId)}</td><td>${esc(s.time?.name ?? '')}</td>${splitCells(s)}<td class="id">${esc(s.localRootSpanId)}</td></tr>`,
              )
              .join('')}</tbody></table>`
          : ''
      }
      ${
        h.traces
          ? `<h2>Slowest traces</h2><table id="scope-traces"><thead><tr><th>trace ID</th><th class="num">duration ms</th><th class="num">CPU ms</th><th class="num">I/O ms</th><th class="num">waiting ms</th>${costHead}<th class="num">spans</th></tr></thead><tbody>${h.traces
              .map(
                (t) =>
                  `<tr><td class="id">${idLink('trace', t.traceId)}</td><td class="num">${t.time ? duration(t.time) : '-'}</td><td class="num">${t.time ? ms(t.time.cpuNanos) : '-'}</td><td class="num">${t.time ? ms(t.time.ioNanos) : '-'}</td><td class="num">${t.time ? ms(t.time.waitingNanos) : '-'}</td>${costCells(t, h.total)}<td class="num">${t.spans}</td></tr>`,
              )
              .join('')}</tbody></table>`
          : ''
      }`;
  flame(document.getElementById('flame-box'), h.flame, value);
  if (kind === 'span') await drawTimeline(id);
  wireValueToggle(view);
  for (const b of view.querySelectorAll('[data-whole]')) {
    b.addEventListener('click', () => go(link(location.pathname, { whole: b.dataset.whole === '1' ? '1' : null })));
  }
}

/** Draws the timeline of span `id`'s local root into `#timeline-box`. */
async function drawTimeline(id) {
  const tq = filterParams();
  tq.set('span', id);
  const t = await api('timeline', tq);
  const box = document.getElementById('timeline-box');
  if (box) box.innerHTML = t.timeline ? timelineSvg(t.timeline, id) : '<p class="muted">Not recorded: these profiles have no events profile for this span.</p>';
}

/** Where the time of the span, trace or endpoint went (`h.time`), as facts and a bar: CPU, child spans' CPU, I/O, waiting. */
function timeFacts(t) {
  if (!t) return '';
  const fact = (label, value) => `<div><span>${label}</span>${value}</div>`;
  if (t.kind === 'endpoint') {
    const e = t.time;
    return `<div class="facts" id="time-facts">${fact('requests', e.requests.toLocaleString('en-US'))}${fact('mean', `${millis(e.meanMillis)} ms`)}${fact('p50', `${millis(e.p50Millis)} ms`)}${fact('p95', `${millis(e.p95Millis)} ms`)}${fact('CPU / request', `${millis(e.cpuMillisPerRequest)} ms`)}${fact('I/O / request', `${millis(e.ioMillisPerRequest)} ms (p95 ${millis(e.ioP95Millis)})`)}${fact('waiting / request', `${millis(e.waitingMillisPerRequest)} ms`)}</div>
      ${splitBar([
        ['CPU', e.cpuMillisPerRequest, 'cpu'],
        ['I/O', e.ioMillisPerRequest, 'io'],
        ['waiting', e.waitingMillisPerRequest, 'wait'],
      ])}`;
  }
  const x = t.time;
  const parts =
    t.kind === 'span'
      ? [
          ['CPU in it', x.cpuNanos, 'cpu'],
          ['CPU in child spans', x.childCpuNanos, 'child'],
          ['I/O', x.ioNanos, 'io'],
          ['waiting', x.waitingNanos, 'wait'],
        ]
      : [
          ['CPU', x.cpuNanos, 'cpu'],
          ['I/O', x.ioNanos, 'io'],
          ['waiting', x.waitingNanos, 'wait'],
        ];
  return `<div class="facts" id="time-facts">${fact('name', esc(x.name))}${fact('duration', `${duration(x)} ms${x.running ? ' (still running)' : ''}`)}${parts.map(([label, v]) => fact(label, `${ms(v)} ms`)).join('')}</div>
    ${splitBar(parts)}`;
}

/** A horizontal bar of the parts' shares, each labelled. */
function splitBar(parts) {
  const whole = parts.reduce((sum, [, v]) => sum + v, 0);
  if (!(whole > 0)) return '';
  return `<div class="split" role="img" aria-label="${parts.map(([label, v]) => `${label} ${((100 * v) / whole).toFixed(0)}%`).join(', ')}">${parts
    .filter(([, v]) => v > 0)
    .map(
      ([label, v, cls]) =>
        `<span class="${cls}" style="width:${((100 * v) / whole).toFixed(2)}%" title="${label}: ${((100 * v) / whole).toFixed(1)}%">${(100 * v) / whole >= 12 ? label : ''}</span>`,
    )
    .join('')}</div>`;
}
