// spanprof view: the page. Plain script, no build step; d3 and d3-flame-graph
// are loaded before it from the viewer itself (no CDN). Every view is a URL:
//   /                      endpoints, traces and spans ranked for the tag selection
//   /span/<span id>        Code Hotspots of a span (?whole=1: its whole local root)
//   /trace/<trace id>      a trace's hotspots and its spans
//   /root/<span id>        a local root span and everything under it in its process
//   /endpoint/<name>       an endpoint's aggregated flame graph
//   /compare?base=k=v&head=k=v   two selections side by side
// Query parameters shared by all: tag=key=value (repeatable), from, to (epoch
// ms), value=cpu|wall.
'use strict';

(function () {
  const view = document.getElementById('view');
  const status = document.getElementById('status');
  let meta = { tags: {}, searchTags: [], profiles: 0 };
  const charts = [];

  // ---- URL state -----------------------------------------------------------
  const params = () => new URLSearchParams(location.search);
  const filterParams = (p = params()) => {
    const out = new URLSearchParams();
    for (const t of p.getAll('tag')) out.append('tag', t);
    for (const k of ['from', 'to']) if (p.get(k)) out.set(k, p.get(k));
    return out;
  };
  const valueKind = () => (params().get('value') === 'wall' ? 'wall' : 'cpu');
  /** A link to `path` that keeps the tag filters and the time kind. */
  function link(path, extra = {}) {
    const q = filterParams();
    if (valueKind() === 'wall') q.set('value', 'wall');
    for (const [k, v] of Object.entries(extra)) {
      q.delete(k);
      if (Array.isArray(v)) for (const x of v) q.append(k, x);
      else if (v !== undefined && v !== null) q.set(k, v);
    }
    const s = q.toString();
    return s ? `${path}?${s}` : path;
  }
  function go(url) {
    history.pushState(null, '', url);
    render();
  }
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a || a.target || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/static/')) return;
    e.preventDefault();
    go(url.pathname + url.search);
  });
  window.addEventListener('popstate', render);

  // ---- formatting ----------------------------------------------------------
  const ms = (ns) => {
    const v = ns / 1e6;
    if (v === 0) return '0';
    if (v < 10) return v.toFixed(2);
    if (v < 1000) return v.toFixed(1);
    return Math.round(v).toLocaleString('en-US');
  };
  const pct = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');
  const signedPct = (share) => `${share >= 0 ? '+' : ''}${(100 * share).toFixed(1)}%`;
  const us = (ns) => (ns === undefined || ns === null ? '-' : (ns / 1000).toFixed(1));
  const signedUs = (ns) => (ns === undefined || ns === null ? '-' : `${ns >= 0 ? '+' : ''}${(ns / 1000).toFixed(1)}`);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const shortFile = (f) => (f.length > 70 ? `…${f.slice(f.length - 69)}` : f);
  const timeOf = (cost, kind) => (kind === 'cpu' ? cost.cpuNanos : cost.wallNanos);
  /** A link to the page of a span, trace or endpoint (`kind`), or the plain text when there is no ID. */
  const idLink = (kind, id, cls = '') =>
    id ? `<a${cls ? ` class="${cls}"` : ''} href="${esc(link(`/${kind}/${encodeURIComponent(id)}`))}">${esc(id)}</a>` : '(none)';

  /** Thrown instead of an answer that arrives after the user moved on to another page. */
  class Superseded extends Error {}
  let current = 0;
  async function api(path, query) {
    const asked = current;
    const res = await fetch(`/api/${path}?${query.toString()}`);
    const body = await res.json();
    if (asked !== current) throw new Superseded();
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  // ---- filters -------------------------------------------------------------
  /** A `from`/`to` parameter as the server reads it (epoch ms or an ISO date), as a datetime-local value. */
  const toLocalInput = (value) => {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms)) return '';
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 19);
  };
  function renderFilters() {
    const p = params();
    const chosen = Object.fromEntries(p.getAll('tag').map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]));
    const keys = meta.searchTags.filter((k) => meta.tags[k]);
    document.getElementById('tag-filters').innerHTML = keys
      .map(
        (k) => `<label>${esc(k)} <select data-tag="${esc(k)}"><option value="">any</option>${meta.tags[k]
          .map((v) => `<option value="${esc(v)}"${chosen[k] === v ? ' selected' : ''}>${esc(v)}</option>`)
          .join('')}</select></label>`,
      )
      .join('');
    document.getElementById('filter-from').value = p.get('from') ? toLocalInput(p.get('from')) : '';
    document.getElementById('filter-to').value = p.get('to') ? toLocalInput(p.get('to')) : '';
    status.textContent = `${meta.profiles} profile(s)${meta.from ? `, ${new Date(meta.from).toLocaleString()} – ${new Date(meta.to).toLocaleString()}` : ''}`;
  }
  document.getElementById('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = params();
    q.delete('tag');
    for (const sel of document.querySelectorAll('#tag-filters select')) if (sel.value) q.append('tag', `${sel.dataset.tag}=${sel.value}`);
    for (const k of ['from', 'to']) {
      const v = document.getElementById(`filter-${k}`).value;
      if (v) q.set(k, String(new Date(v).getTime()));
      else q.delete(k);
    }
    const s = q.toString();
    go(s ? `${location.pathname}?${s}` : location.pathname);
  });
  document.getElementById('filters-clear').addEventListener('click', () => go(location.pathname));
  document.getElementById('open-id').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = document.getElementById('open-id-input').value.trim().toLowerCase().replace(/^0x/, '');
    if (/^[0-9a-f]{16}$/.test(id)) go(link(`/span/${id}`));
    else if (/^[0-9a-f]{32}$/.test(id)) go(link(`/trace/${id}`));
    else alert('A span ID is 16 hex characters, a trace ID 32.');
  });

  // ---- pieces --------------------------------------------------------------
  function valueToggle() {
    const kind = valueKind();
    return `<span class="group" role="group" aria-label="time">
      <button type="button" data-value="cpu" class="${kind === 'cpu' ? 'on' : ''}">CPU time</button>
      <button type="button" data-value="wall" class="${kind === 'wall' ? 'on' : ''}">Wall time</button></span>`;
  }
  function wireValueToggle(root) {
    for (const b of root.querySelectorAll('[data-value]')) {
      b.addEventListener('click', () => go(link(location.pathname, { value: b.dataset.value === 'wall' ? 'wall' : null, ...keepExtra() })));
    }
  }
  /** Parameters of the current view that are not filters (kept when toggling). */
  function keepExtra() {
    const p = params();
    const out = {};
    for (const k of ['whole', 'base', 'head']) if (p.getAll(k).length > 0) out[k] = p.getAll(k);
    return out;
  }

  function costCells(c, total) {
    return `<td class="num">${ms(c.cpuNanos)}</td><td class="num">${pct(c.cpuNanos, total.cpuNanos)}</td><td class="num">${ms(c.wallNanos)}</td><td class="num">${c.samples}</td>`;
  }
  const costHead = '<th class="num">CPU ms</th><th class="num">CPU %</th><th class="num">wall ms</th><th class="num">samples</th>';

  function functionsTable(functions, total, kind) {
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

  /** Renders a flame graph of `data` (FlameNode, ns) into `el`, with search and reset controls. */
  function flame(el, data, kind) {
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

  function destroyCharts() {
    for (const { chart, tip } of charts.splice(0)) {
      try {
        chart.destroy();
        tip.destroy();
      } catch {
        /* already gone */
      }
    }
  }

  // ---- views ---------------------------------------------------------------
  async function overview() {
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
      ${r.counts.endpoints} endpoint(s), ${r.counts.traces} trace(s), ${r.counts.spans} span(s) with samples.</p>
      <div class="toolbar">${valueToggle()}</div>
      <h2>Endpoints</h2>
      <table id="endpoints"><thead><tr><th>endpoint</th>${costHead}<th class="num">requests</th><th class="num">CPU ms / request</th></tr></thead><tbody>${r.endpoints
        .map(
          (e) => `<tr><td>${idLink('endpoint', e.endpoint)}</td>${costCells(e, r.total)}
            ${right(e.requests || '-')}${right(e.requests ? ms(e.cpuNanos / e.requests) : '-')}</tr>`,
        )
        .join('')}</tbody></table>
      <div>
      <div><h2>Traces</h2><table id="traces"><thead><tr><th>trace ID</th>${costHead}<th class="num">spans</th><th>endpoint</th></tr></thead><tbody>${r.traces
        .map((t) => `<tr><td class="id">${idLink('trace', t.traceId)}</td>${costCells(t, r.total)}${right(t.spans)}<td>${esc(t.endpoint)}</td></tr>`)
        .join('')}</tbody></table></div>
      <div><h2>Spans</h2><table id="spans"><thead><tr><th>span ID</th>${costHead}<th>endpoint</th></tr></thead><tbody>${r.spans
        .map((s) => `<tr><td class="id">${idLink('span', s.spanId)}</td>${costCells(s, r.total)}<td>${esc(s.endpoint)}</td></tr>`)
        .join('')}</tbody></table></div></div>`;
    wireValueToggle(view);
  }

  /** A flame graph view of one scope: span (with its local root), trace, root or endpoint. */
  async function scopeView(kind, id) {
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
      ${h.spans ? `<h2>Spans</h2><table id="scope-spans"><thead><tr><th>span ID</th>${costHead}<th>local root</th></tr></thead><tbody>${h.spans
        .map((s) => `<tr><td class="id">${idLink('span', s.spanId)}</td>${costCells(s, h.total)}<td class="id">${esc(s.localRootSpanId)}</td></tr>`)
        .join('')}</tbody></table>` : ''}
      ${h.traces ? `<h2>Costliest traces</h2><table id="scope-traces"><thead><tr><th>trace ID</th>${costHead}<th class="num">spans</th></tr></thead><tbody>${h.traces
        .map((t) => `<tr><td class="id">${idLink('trace', t.traceId)}</td>${costCells(t, h.total)}<td class="num">${t.spans}</td></tr>`)
        .join('')}</tbody></table>` : ''}`;
    flame(document.getElementById('flame-box'), h.flame, value);
    wireValueToggle(view);
    for (const b of view.querySelectorAll('[data-whole]')) {
      b.addEventListener('click', () => go(link(location.pathname, { whole: b.dataset.whole === '1' ? '1' : null })));
    }
  }

  async function compareView() {
    const p = params();
    const value = valueKind();
    const versions = [...(meta.tags['service.version'] || [])].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    let base = p.getAll('base');
    let head = p.getAll('head');
    if (base.length === 0 && head.length === 0 && versions.length >= 2) {
      base = [`service.version=${versions[versions.length - 2]}`];
      head = [`service.version=${versions[versions.length - 1]}`];
    }
    const keys = Object.keys(meta.tags);
    const picker = (name, pairs) => {
      const [k, v] = pairs[0] ? [pairs[0].slice(0, pairs[0].indexOf('=')), pairs[0].slice(pairs[0].indexOf('=') + 1)] : ['service.version', ''];
      return `<label>${name} <select data-side="${name}" data-part="key">${keys.map((x) => `<option value="${esc(x)}"${x === k ? ' selected' : ''}>${esc(x)}</option>`).join('')}</select>
        = <select data-side="${name}" data-part="value">${(meta.tags[k] || []).map((x) => `<option value="${esc(x)}"${x === v ? ' selected' : ''}>${esc(x)}</option>`).join('')}</select></label>`;
    };
    const form = `<form id="compare-form" class="toolbar">${picker('base', base)} ${picker('head', head)} <button type="submit">Compare</button> ${valueToggle()}</form>`;
    if (base.length === 0 || head.length === 0) {
      view.innerHTML = `<h1>Compare versions</h1>${form}<p class="muted">Choose two selections (e.g. two values of service.version).</p>`;
      wireCompareForm();
      return;
    }
    const q = filterParams();
    q.set('value', value);
    for (const b of base) q.append('base', b);
    for (const h of head) q.append('head', h);
    const c = await api('compare', q);
    const t = (s) => timeOf(s.total, value);
    const side = (name, pairs, s) =>
      `<div><span>${name}</span>${esc(pairs.join(', '))}: ${s.profiles} profile(s), ${ms(t(s))} ms ${value}, ${s.requests} request(s)${s.requestSource === 'sampled' ? ' (seen in samples)' : ''}${
        s.requests ? `, ${us(t(s) / s.requests)} µs/request` : ''}</div>`;
    const cls = (x) => (x > 0 ? 'up' : x < 0 ? 'down' : '');
    view.innerHTML = `<h1>Compare versions</h1>${form}
      <div class="facts">${side('base', base, c.base)}${side('head', head, c.head)}</div>
      <h2>Functions whose share of ${value === 'cpu' ? 'CPU' : 'wall'} time changed the most</h2>
      <table id="changes"><thead><tr><th class="num">change</th><th class="num">base %</th><th class="num">head %</th><th class="num">base ms</th><th class="num">head ms</th><th>function</th><th>file</th></tr></thead><tbody>${c.functions
        .map(
          (f) => `<tr><td class="num ${cls(f.shareChange)}">${signedPct(f.shareChange)}</td><td class="num">${pct(f.baseShare, 1)}</td><td class="num">${pct(f.headShare, 1)}</td>
            <td class="num">${ms(f.baseNanos)}</td><td class="num">${ms(f.headNanos)}</td><td class="fn">${esc(f.name)}</td><td class="mono">${esc(f.file)}</td></tr>`,
        )
        .join('')}</tbody></table>
      <div class="cols2"><div><h2>base</h2><div id="flame-base"></div></div><div><h2>head</h2><div id="flame-head"></div></div></div>
      ${c.endpoints
        .map(
          (e) => `<h2>${esc(e.endpoint)}: ${e.base.requests} → ${e.head.requests} request(s), ${e.base.requests ? us(t(e.base) / e.base.requests) : '-'} → ${e.head.requests ? us(t(e.head) / e.head.requests) : '-'} µs/request</h2>
          <table><thead><tr><th class="num">change µs/req</th><th class="num">base µs/req</th><th class="num">head µs/req</th><th class="num">share change</th><th>function</th><th>file</th></tr></thead><tbody>${e.functions
            .slice(0, 8)
            .map(
              (f) => `<tr><td class="num ${cls(f.perRequestChange)}">${signedUs(f.perRequestChange)}</td><td class="num">${us(f.basePerRequest)}</td><td class="num">${us(f.headPerRequest)}</td>
                <td class="num ${cls(f.shareChange)}">${signedPct(f.shareChange)}</td><td class="fn">${esc(f.name)}</td><td class="mono">${esc(f.file)}</td></tr>`,
            )
            .join('')}</tbody></table>`,
        )
        .join('')}`;
    flame(document.getElementById('flame-base'), c.flames.base, value);
    flame(document.getElementById('flame-head'), c.flames.head, value);
    wireCompareForm();
  }

  function wireCompareForm() {
    const form = document.getElementById('compare-form');
    wireValueToggle(form);
    for (const sel of form.querySelectorAll('select[data-part="key"]')) {
      sel.addEventListener('change', () => {
        const values = form.querySelector(`select[data-side="${sel.dataset.side}"][data-part="value"]`);
        values.innerHTML = (meta.tags[sel.value] || []).map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join('');
      });
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const pick = (side) => {
        const k = form.querySelector(`select[data-side="${side}"][data-part="key"]`).value;
        const v = form.querySelector(`select[data-side="${side}"][data-part="value"]`).value;
        return `${k}=${v}`;
      };
      const q = filterParams();
      if (valueKind() === 'wall') q.set('value', 'wall');
      q.append('base', pick('base'));
      q.append('head', pick('head'));
      go(`/compare?${q.toString()}`);
    });
  }

  // ---- router --------------------------------------------------------------
  let renderSeq = 0;
  async function render() {
    const seq = ++renderSeq;
    current = seq;
    destroyCharts();
    const path = location.pathname;
    for (const a of document.querySelectorAll('nav a')) {
      a.classList.toggle('active', (a.dataset.nav === 'compare') === path.startsWith('/compare'));
    }
    document.body.dataset.ready = '';
    try {
      meta = await api('meta', new URLSearchParams());
      if (seq !== renderSeq) return;
      renderFilters();
      const m = /^\/(span|trace|root|endpoint)\/(.+)$/.exec(path);
      if (m) await scopeView(m[1], decodeURIComponent(m[2]));
      else if (path === '/compare') await compareView();
      else await overview();
      document.title = `spanprof · ${document.querySelector('h1')?.textContent ?? 'view'}`;
    } catch (err) {
      if (err instanceof Superseded || seq !== renderSeq) return;
      view.innerHTML = `<h1>Something went wrong</h1><p class="error">${esc(err.message)}</p>`;
    }
    if (seq === renderSeq) document.body.dataset.ready = String(Date.now());
  }
  render();
})();
