// Table pieces shared by the views: cost columns and the top functions table.
import { esc, ms, pct, shortFile, timeOf } from './format.js';

/** The cost columns of a row (`c`), CPU % of `total`; under `costHead`. */
export function costCells(c, total) {
  return `<td class="num">${ms(c.cpuNanos)}</td><td class="num">${pct(c.cpuNanos, total.cpuNanos)}</td><td class="num">${ms(c.wallNanos)}</td><td class="num">${c.samples}</td>`;
}
export const costHead = '<th class="num">CPU ms</th><th class="num">CPU %</th><th class="num">wall ms</th><th class="num">samples</th>';

/** Functions by self time (`kind`: cpu or wall), with a bar, shares of `total`, and where they are. */
export function functionsTable(functions, total, kind) {
  const t = timeOf(total, kind);
  const max = Math.max(1, ...functions.map((f) => timeOf(f.self, kind)));
  return `<table class="functions"><thead><tr><th class="num">self ${kind} ms</th><th class="num">self %</th><th class="num">total ${kind} ms</th><th class="num">total %</th><th>function</th><th>location</th></tr></thead><tbody>${functions
    .map(
      (f) => `<tr><td class="num"><span class="bar" style="width:${Math.round((40 * timeOf(f.self, kind)) / max)}px"></span>${ms(timeOf(f.self, kind))}</td>
          <td class="num">${pct(timeOf(f.self, kind), t)}</td><td class="num">${ms(timeOf(f.total, kind))}</td><td class="num">${pct(timeOf(f.total, kind), t)}</td>
          <td class="fn">${esc(f.name)}</td><td class="mono" title="${esc(f.file)}:${f.line}">${f.file ? `${esc(shortFile(f.file))}:${f.line}` : ''}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}
