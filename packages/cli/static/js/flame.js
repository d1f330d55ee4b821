// Flame graphs (d3-flame-graph, the `d3` and `flamegraph` globals) with search and zoom reset, and their teardown.
import { ms, pct } from './format.js';

/** The charts on screen, with their tooltips, for `destroyCharts`. */
const charts = [];

/** Renders a flame graph of `data` (FlameNode, ns) into `el`, with search and reset controls. */
export function flame(el, data, kind) {
  el.innerHTML = `<div class="toolbar"><input type="search" class="flame-search" placeholder="search a function" aria-label="search a function">
      <button type="button" class="flame-reset">Reset zoom</button></div><div class="flame-details"></div><div class="flame"></div>`;
  const box = el.querySelector('.flame');
  const details = el.querySelector('.flame-details');
  if (!data || data.value === 0) {
    box.innerHTML = `<p class="muted" style="padding:8px">No ${kind} time in this selection.</p>`;
    return;
  }
  const total = data.value;
  const label = (d) => {
    const n = d.data;
    const where = n.file ? `\n${n.file}:${n.line}` : '';
    return `${n.name}${where}\ntotal ${ms(n.value)} ms ${kind} (${pct(n.value, total)})   self ${ms(n.self)} ms (${pct(n.self, total)})`;
  };
  const tip = flamegraph.tooltip.defaultFlamegraphTooltip().text(label);
  const chart = flamegraph
    .default()
    .width(Math.max(300, box.clientWidth - 2))
    .cellHeight(18)
    .transitionDuration(250)
    .minFrameSize(1)
    .sort(true)
    .inverted(true)
    .selfValue(false)
    .tooltip(tip)
    .label(label)
    .setDetailsElement(details)
    .setSearchMatch((d, term) => Boolean(term) && String(d.data.name).toLowerCase().includes(String(term).toLowerCase()))
    .setSearchHandler((results, sum, all) => {
      details.textContent = results.length ? `search: ${results.length} frame(s), ${ms(sum)} ms, ${pct(sum, all)} of the ${kind} time` : 'search: no match';
    });
  d3.select(box).datum(data).call(chart);
  charts.push({ chart, tip });
  el.querySelector('.flame-search').addEventListener('input', (e) => {
    const term = e.target.value.trim();
    if (term) chart.search(term);
    else {
      chart.clear();
      details.textContent = '';
    }
  });
  el.querySelector('.flame-reset').addEventListener('click', () => chart.resetZoom());
}

/** Removes every chart `flame` made, and its tooltip. */
export function destroyCharts() {
  for (const { chart, tip } of charts.splice(0)) {
    try {
      chart.destroy();
      tip.destroy();
    } catch {
      /* already gone */
    }
  }
}
