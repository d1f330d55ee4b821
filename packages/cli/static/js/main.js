// spanprof view, the page's entry: routes the URL to its view, wires the header forms, draws the first view.
import { Superseded, isCurrent, loadMeta, nextPage } from './api.js';
import { destroyCharts } from './flame.js';
import { esc } from './format.js';
import { renderFilters, wireFilters } from './filters.js';
import { go, link, startNavigation } from './url.js';
import { blocksView } from './views/blocks.js';
import { byLabelView } from './views/bylabel.js';
import { compareView } from './views/compare.js';
import { overview } from './views/overview.js';
import { scopeView } from './views/scope.js';

const view = document.getElementById('view');

/**
 * Draws the view of the current URL. Every view is a URL:
 *   /                      endpoints, traces and spans ranked for the tag selection
 *   /span/<span id>        Code Hotspots of a span (?whole=1: its whole local root)
 *   /trace/<trace id>      a trace's hotspots and its spans
 *   /root/<span id>        a local root span and everything under it in its process
 *   /endpoint/<name>       an endpoint's aggregated flame graph
 *   /label/<name>=<value>  the samples with a custom label (tenant=acme)
 *   /by/<name>             a label's values ranked (tenant, thread_name)
 *   /blocks                the event-loop blocks, longest first
 *   /compare?base=k=v&head=k=v   two selections side by side
 * Query parameters shared by all: tag=key=value (repeatable), from, to (epoch
 * ms), value=cpu|wall. The body's `data-ready` is set once the view is drawn.
 */
async function render() {
  const seq = nextPage();
  destroyCharts();
  const path = location.pathname;
  for (const a of document.querySelectorAll('nav a')) {
    const page = path.startsWith('/compare') ? 'compare' : path === '/blocks' ? 'blocks' : 'overview';
    a.classList.toggle('active', a.dataset.nav === page);
  }
  document.body.dataset.ready = '';
  try {
    await loadMeta();
    if (!isCurrent(seq)) return;
    renderFilters();
    const m = /^\/(span|trace|root|endpoint|label)\/(.+)$/.exec(path);
    const by = /^\/by\/([^/]+)$/.exec(path);
    if (m) await scopeView(m[1], decodeURIComponent(m[2]));
    else if (by) await byLabelView(decodeURIComponent(by[1]));
    else if (path === '/compare') await compareView();
    else if (path === '/blocks') await blocksView();
    else await overview();
    document.title = `spanprof · ${document.querySelector('h1')?.textContent ?? 'view'}`;
  } catch (err) {
    if (err instanceof Superseded || !isCurrent(seq)) return;
    view.innerHTML = `<h1>Something went wrong</h1><p class="error">${esc(err.message)}</p>`;
  }
  if (isCurrent(seq)) document.body.dataset.ready = String(Date.now());
}

startNavigation(render);
wireFilters();
document.getElementById('open-id').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = document.getElementById('open-id-input').value.trim().toLowerCase().replace(/^0x/, '');
  if (/^[0-9a-f]{16}$/.test(id)) go(link(`/span/${id}`));
  else if (/^[0-9a-f]{32}$/.test(id)) go(link(`/trace/${id}`));
  else alert('A span ID is 16 hex characters, a trace ID 32.');
});
render();
