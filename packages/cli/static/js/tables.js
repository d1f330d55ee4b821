// Table pieces shared by the views: cost columns and the top functions table.
import { duration, esc, ms, pct, shortFile, timeOf } from './format.js';

/** The cost columns of a row (`c`), CPU % of `total`; under `costHead`. */
export function costCells(c, total) {
  return `<td class="num">${ms(c.cpuNanos)}</td><td class="num">${pct(c.cpuNanos, total.cpuNanos)}</td><td class="num">${ms(c.wallNanos)}</td><td class="num">${c.samples}</td>`;
}
export const costHead =
  '<th class="num">CPU ms</th><th class="num">CPU %</th><th class="num" title="sampled time the code ran (on the CPU or blocked in a synchronous call): pprof\'s wall time">running ms</th><th class="num">samples</th>';

/** A span's duration and its split (own CPU, child spans' CPU, I/O, waiting), when recorded; under `splitHead`. */
export function splitCells(s) {
  const t = s.time;
  const cell = (v) => `<td class="num">${v}</td>`;
  if (t === undefined) return cell('-') + cell(ms(s.cpuNanos)) + cell('-') + cell('-') + cell('-') + cell(s.samples);
  return cell(duration(t)) + cell(ms(t.cpuNanos)) + cell(ms(t.childCpuNanos)) + cell(ms(t.ioNanos)) + cell(ms(t.waitingNanos)) + cell(s.samples);
}
export const splitHead =
  '<th class="num">duration ms</th><th class="num">own CPU ms</th><th class="num">child CPU ms</th><th class="num">I/O ms</th><th class="num">waiting ms</th><th class="num">samples</th>';

/** Functions by self time (`kind`: cpu or wall), with a bar, shares of `total`, and where they are. */
export function functionsTable(functions, total, kind) {
  const t = timeOf(total, kind);
  const name = kind === 'cpu' ? 'CPU' : 'running';
  const max = Math.max(1, ...functions.map((f) => timeOf(f.self, kind)));
  return `<table class="functions"><thead><tr><th class="num">self ${name} ms</th><th class="num">self %</th><th class="num">total ${name} ms</th><th class="num">total %</th><th>function</th><th>location</th></tr></thead><tbody>${functions
    .map(
      (f) => `<tr><td class="num"><span class="bar" style="width:${Math.round((40 * timeOf(f.self, kind)) / max)}px"></span>${ms(timeOf(f.self, kind))}</td>
          <td class="num">${pct(timeOf(f.self, kind), t)}</td><td class="num">${ms(timeOf(f.total, kind))}</td><td class="num">${pct(timeOf(f.total, kind), t)}</td>
          <td class="fn">${esc(f.name)}</td><td class="mono" title="${esc(f.file)}:${f.line}">${f.file ? `${esc(shortFile(f.file))}:${f.line}` : ''}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}
