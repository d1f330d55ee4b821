// The timeline of a span's local root, as SVG: each span a bar from its start to its end (indented
// under its parent), each sample a tick on the bar of the span it was taken in, orange when its
// time was on the CPU. Where the bars have no ticks, the request waited. Event-loop blocks are
// shaded across all rows.
import { esc, ms } from './format.js';

const WIDTH = 1100;
const LABELS = 240;
const ROW = 20;
const AXIS = 22;

/** A tick step of about a tenth of `span` ms: 1, 2 or 5 times a power of ten. */
function step(span) {
  const raw = span / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

/** The SVG of timeline `t` (from /api/timeline), `focus` the span whose page it is. */
export function timelineSvg(t, focus) {
  const start = t.root.start;
  const end = Math.max(t.root.end, ...t.spans.map((s) => s.end), ...t.samples.map((s) => s.time));
  const total = Math.max(end - start, 0.001);
  const x = (time) => LABELS + ((time - start) / total) * (WIDTH - LABELS - 12);
  const byId = new Map(t.spans.map((s) => [s.spanId, s]));
  const depth = (s) => {
    let d = 0;
    for (let p = byId.get(s.parentSpanId); p && d < 20; p = byId.get(p.parentSpanId)) d++;
    return d;
  };
  const row = new Map(t.spans.map((s, i) => [s.spanId, i]));
  const height = AXIS + t.spans.length * ROW + 6;
  const parts = [];
  // Event-loop blocks under everything: nothing else on this thread ran then.
  for (const b of t.blocks ?? []) {
    const from = x(Math.max(b.start, start));
    parts.push(
      `<rect x="${from}" y="${AXIS - 4}" width="${Math.max(1, x(Math.min(b.end, end)) - from)}" height="${height - AXIS + 4}" class="block"><title>event loop blocked ${ms((b.end - b.start) * 1e6)} ms</title></rect>`,
    );
  }
  const every = step(total);
  for (let at = 0; at <= total; at += every) {
    parts.push(
      `<line x1="${x(start + at)}" x2="${x(start + at)}" y1="${AXIS - 4}" y2="${height}" class="grid"/><text x="${x(start + at)}" y="${AXIS - 8}" class="tick">${+at.toFixed(3)} ms</text>`,
    );
  }
  t.spans.forEach((s, i) => {
    const y = AXIS + i * ROW;
    const cls = s.spanId === focus ? 'span focus' : 'span';
    const name = s.name.length > 30 ? `${s.name.slice(0, 29)}…` : s.name;
    parts.push(
      `<g data-span="${esc(s.spanId)}"><text x="${4 + 12 * depth(s)}" y="${y + 14}" class="name">${esc(name)}</text>` +
        `<rect x="${x(s.start)}" y="${y + 3}" width="${Math.max(1, x(s.end) - x(s.start))}" height="${ROW - 6}" class="${cls}"><title>${esc(s.name)}: ${ms(s.durationNanos)} ms${s.running ? ' (still running)' : ''}, ${ms(s.cpuNanos)} ms CPU in it, ${ms(s.ioNanos)} ms I/O, ${ms(s.waitingNanos)} ms waiting</title></rect></g>`,
    );
  });
  // I/O waits and GC pauses: a thin bar under the span that started them.
  for (const e of t.events ?? []) {
    const y = AXIS + (row.get(e.spanId) ?? 0) * ROW + ROW - 4;
    const cls = e.kind === 'gc' ? 'gc' : e.error ? 'io error' : 'io';
    parts.push(
      `<rect x="${x(e.start)}" y="${y}" width="${Math.max(1.5, x(e.end) - x(e.start))}" height="3" class="${cls}" data-event="${esc(e.kind)}"><title>${esc(e.name)}${e.resource ? ` ${esc(e.resource)}` : ''}: ${ms((e.end - e.start) * 1e6)} ms${e.error ? ' (failed)' : ''}</title></rect>`,
    );
  }
  for (const sample of t.samples) {
    const i = row.get(sample.spanId) ?? 0;
    const y = AXIS + i * ROW;
    const from = x(sample.time - sample.wallNanos / 1e6);
    const onCpu = sample.cpuNanos >= sample.wallNanos / 2;
    parts.push(
      `<rect x="${from}" y="${y + 6}" width="${Math.max(1.5, x(sample.time) - from)}" height="${ROW - 12}" class="${onCpu ? 'sample cpu' : 'sample'}"><title>${esc(sample.function)}: ${ms(sample.cpuNanos)} ms CPU</title></rect>`,
    );
  }
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="timeline of ${t.spans.length} span(s) and ${t.samples.length} sample(s)">${parts.join('')}</svg>`;
}
