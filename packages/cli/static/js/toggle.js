// The CPU time / running time toggle shown by every view (running: pprof's wall time, the sampled time code ran).
import { go, link, params, valueKind } from './url.js';

/** The toggle's markup, the current time kind on. */
export function valueToggle() {
  const kind = valueKind();
  return `<span class="group" role="group" aria-label="time">
      <button type="button" data-value="cpu" class="${kind === 'cpu' ? 'on' : ''}">CPU time</button>
      <button type="button" data-value="wall" class="${kind === 'wall' ? 'on' : ''}" title="sampled time the code ran, on the CPU or blocked in a synchronous call (pprof's wall time)">Running time</button></span>`;
}

/** Parameters of the current view that are not filters (kept when toggling). */
function keepExtra() {
  const p = params();
  const out = {};
  for (const k of ['whole', 'base', 'head']) if (p.getAll(k).length > 0) out[k] = p.getAll(k);
  return out;
}

/** Makes the toggle's buttons under `root` switch the current view to their time kind. */
export function wireValueToggle(root) {
  for (const b of root.querySelectorAll('[data-value]')) {
    b.addEventListener('click', () => go(link(location.pathname, { value: b.dataset.value === 'wall' ? 'wall' : null, ...keepExtra() })));
  }
}
