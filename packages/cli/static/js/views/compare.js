// The comparison of two selections (/compare?base=k=v&head=k=v): changed functions, flame graphs, endpoints.
import { api, meta } from '../api.js';
import { flame } from '../flame.js';
import { esc, ms, pct, signedPct, signedUs, timeOf, us } from '../format.js';
import { valueToggle, wireValueToggle } from '../toggle.js';
import { filterParams, go, params, valueKind } from '../url.js';

const view = document.getElementById('view');

export async function compareView() {
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
      s.requests ? `, ${us(t(s) / s.requests)} µs/request` : ''
    }</div>`;
  const cls = (x) => (x > 0 ? 'up' : x < 0 ? 'down' : '');
  view.innerHTML = `<h1>Compare versions</h1>${form}
      <div class="facts">${side('base', base, c.base)}${side('head', head, c.head)}</div>
      <h2>Functions whose share of ${value === 'cpu' ? 'CPU' : 'running'} time changed the most</h2>
      <table id="changes"><thead><tr><th class="num">change</th><th class="num">base %</th><th class="num">head %</th><th class="num">base ms</th><th class="num">head ms</th><th>function</th><th>file</th></tr></thead><tbody>${c.functions
        .map(
          (
            f,
          ) => `<tr><td class="num ${cls(f.shareChange)}">${signedPct(f.shareChange)}</td><td class="num">${pct(f.baseShare, 1)}</td><td class="num">${pct(f.headShare, 1)}</td>
            <td class="num">${ms(f.baseNanos)}</td><td class="num">${ms(f.headNanos)}</td><td class="fn">${esc(f.name)}</td><td class="mono">${esc(f.file)}</td></tr>`,
        )
        .join('')}</tbody></table>
      <div class="cols2"><div><h2>base</h2><div id="flame-base"></div></div><div><h2>head</h2><div id="flame-head"></div></div></div>
      ${c.endpoints
        .map(
          (
            e,
          ) => `<h2>${esc(e.endpoint)}: ${e.base.requests} → ${e.head.requests} request(s), ${e.base.requests ? us(t(e.base) / e.base.requests) : '-'} → ${e.head.requests ? us(t(e.head) / e.head.requests) : '-'} µs/request</h2>
          <table><thead><tr><th class="num">change µs/req</th><th class="num">base µs/req</th><th class="num">head µs/req</th><th class="num">share change</th><th>function</th><th>file</th></tr></thead><tbody>${e.functions
            .slice(0, 8)
            .map(
              (
                f,
              ) => `<tr><td class="num ${cls(f.perRequestChange)}">${signedUs(f.perRequestChange)}</td><td class="num">${us(f.basePerRequest)}</td><td class="num">${us(f.headPerRequest)}</td>
                <td class="num ${cls(f.shareChange)}">${signedPct(f.shareChange)}</td><td class="fn">${esc(f.name)}</td><td class="mono">${esc(f.file)}</td></tr>`,
            )
            .join('')}</tbody></table>`,
        )
        .join('')}`;
  flame(document.getElementById('flame-base'), c.flames.base, value);
  flame(document.getElementById('flame-head'), c.flames.head, value);
  wireCompareForm();
}

/** The base/head pickers: a key change lists its values; Compare opens the comparison of the two picks. */
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
