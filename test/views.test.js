'use strict';
// The views over a profile directory, on profiles of a real workload: the
// versions example (examples/versions) deploys release 1.4.0 then 1.5.0 of a
// service, whose applyDiscounts got slower, under the @spanprof/auto bundle.
// - `spanprof diff` must put applyDiscounts on top, overall and per request.
// - `spanprof view` runs as users run it (a child process) and is driven by
//   Debian's Chromium through playwright-core: tag search, a span opened by
//   deep link, the endpoint and compare views, flame graph search and zoom.
//   Screenshots of each view go to test/artifacts/viewer-*.png.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { bin, CHROMIUM, hasChromium, skipBrowser, startViewer, stopViewer, openViewerPage, viewReady } = require('./helpers/viewer');

const repo = path.resolve(__dirname, '..');
const artifacts = path.join(__dirname, 'artifacts');

const QUOTE = 'GET /quote/:sku';
let dir;
/** Requests each release served, as the example's load generator counted them. */
const sent = {};
let diff;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-views-'));
  const r = spawnSync(process.execPath, [path.join(repo, 'examples', 'versions', 'run.js'), '--duration', '4', '--profiles', dir, '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
    // Denser sampling than the default 99 Hz, so 4 s per release give a few thousand samples.
    env: { ...process.env, SPANPROF_SAMPLING_INTERVAL_MICROS: '2000' },
  });
  assert.equal(r.status, 0, r.stderr);
  for (const m of r.stderr.matchAll(/release (\S+): (\d+) requests/g)) sent[m[1]] = Number(m[2]);
  diff = JSON.parse(r.stdout);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('diff: the function made slower in 1.5.0 comes out on top, overall and per request', () => {
  assert.deepEqual(diff.selections, { base: { 'service.version': '1.4.0' }, head: { 'service.version': '1.5.0' } });
  const top = diff.functions[0];
  assert.equal(top.name, 'applyDiscounts', JSON.stringify(diff.functions.slice(0, 3)));
  assert.equal(top.file, 'pricing.js');
  assert.ok(top.shareChange > 0.05, `share change ${top.shareChange}`);

  // Request counts come from the processor (local root spans that ended), not from samples.
  assert.equal(diff.base.requestSource, 'counted');
  assert.equal(diff.base.requests, sent['1.4.0']);
  assert.equal(diff.head.requests, sent['1.5.0']);

  const quote = diff.endpoints.find((e) => e.endpoint === QUOTE);
  assert.ok(quote, `endpoints: ${diff.endpoints.map((e) => e.endpoint)}`);
  assert.equal(quote.functions[0].name, 'applyDiscounts');
  // 1.5.0 scans ten times as many rules: its time per request must be well above 1.4.0's.
  assert.ok(quote.functions[0].headPerRequest > 1.5 * quote.functions[0].basePerRequest, JSON.stringify(quote.functions[0]));
  const catalog = diff.endpoints.find((e) => e.endpoint === 'GET /catalog');
  assert.ok(catalog, 'GET /catalog compared too');
  assert.ok(!catalog.functions.slice(0, 3).some((f) => f.name === 'applyDiscounts'), 'applyDiscounts is not a /catalog hotspot');
});

test('diff: tables in the terminal, and a clear error for a selection that matches nothing', () => {
  const r = spawnSync(process.execPath, [bin, 'diff', dir, '--base', 'service.version=1.4.0', '--head', 'service.version=1.5.0', '--limit', '3'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^base service\.version=1\.4\.0: \d+ profile\(s\), [\d,.]+ ms cpu, \d+ request\(s\)/m);
  assert.match(r.stdout, /Functions by change in share of cpu time/);
  assert.match(r.stdout, new RegExp(`^${QUOTE.replace(/[/]/g, '\\/')}: \\d+ -> \\d+ request\\(s\\)`, 'm'));
  const lines = r.stdout.split('\n');
  const firstRow = lines[lines.findIndex((l) => l.startsWith('Functions by change')) + 3];
  assert.match(firstRow, /^\s*\+[\d.]+%.*applyDiscounts\s+pricing\.js$/);

  const none = spawnSync(process.execPath, [bin, 'diff', dir, '--base', 'service.version=1.4.0', '--head', 'service.version=9.9.9'], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no profiles match --head service\.version=9\.9\.9/);
  const missing = spawnSync(process.execPath, [bin, 'diff', dir, '--base', 'service.version=1.4.0'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--head/);
});

const getJson = async (url) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
};

test('view: the JSON queries, the loopback-only answer, and files picked up and dropped as they come and go', async () => {
  const live = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-view-live-'));
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.wall.pb.gz'))
    .sort();
  fs.copyFileSync(path.join(dir, files[0]), path.join(live, files[0]));
  const { child, url } = await startViewer(live);
  try {
    let meta = (await getJson(`${url}api/meta`)).body;
    assert.equal(meta.profiles, 1);
    assert.deepEqual(meta.tags['service.version'], ['1.4.0']);

    // New files are read within the refresh period (2 s); deleted ones are forgotten.
    for (const f of files.slice(1)) fs.copyFileSync(path.join(dir, f), path.join(live, f));
    fs.writeFileSync(path.join(live, '20260101T000000.000Z.broken.1.000001.wall.pb.gz'), 'not a profile');
    const deadline = Date.now() + 10_000;
    while ((meta = (await getJson(`${url}api/meta`)).body).profiles < files.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(meta.profiles, files.length);
    assert.deepEqual(meta.tags['service.version'], ['1.4.0', '1.5.0']);
    assert.equal(meta.skipped.length, 1, 'the broken file is reported, not fatal');
    fs.rmSync(path.join(live, files[0]));
    while ((meta = (await getJson(`${url}api/meta`)).body).profiles === files.length && Date.now() < deadline + 5000)
      await new Promise((r) => setTimeout(r, 250));
    assert.equal(meta.profiles, files.length - 1);

    const ranking = (await getJson(`${url}api/ranking?tag=service.version%3D1.5.0&limit=5`)).body;
    const quote = ranking.endpoints.find((e) => e.endpoint === QUOTE);
    assert.ok(quote.requests > 0 && quote.requests <= sent['1.5.0']);
    assert.equal(ranking.spans.length, 5);

    const spanId = ranking.spans[0].spanId;
    const span = (await getJson(`${url}api/hotspots?scope=span&id=${spanId}`)).body;
    assert.equal(span.span.spanId, spanId);
    assert.match(span.span.traceId, /^[0-9a-f]{32}$/);
    assert.ok(span.total.samples > 0 && span.flame.value > 0);

    for (const [query, message] of [
      ['api/hotspots?scope=span&id=xyz', /16 hex/],
      ['api/hotspots?scope=trace&id=0123', /32 hex/],
      ['api/ranking?value=heap', /cpu or wall/],
      ['api/ranking?tag=nokey', /key=value/],
      ['api/nothing', /no such query/],
    ]) {
      const r = await getJson(`${url}${query}`);
      assert.equal(r.status, 400, query);
      assert.match(r.body.error, message);
    }
    // A page on another origin that resolves to 127.0.0.1 (DNS rebinding) gets nothing.
    const rebinding = await new Promise((resolve, reject) => {
      const req = require('node:http').get(`${url}api/meta`, { headers: { host: 'attacker.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
    });
    assert.equal(rebinding, 403);
    assert.equal((await fetch(`${url}static/vendor/d3-flamegraph.min.js`)).status, 200);
    assert.equal((await fetch(`${url}static/../package.json`)).status, 404);
  } finally {
    const exit = await stopViewer(child);
    assert.equal(exit.code, 0, 'SIGTERM stops the viewer cleanly');
    fs.rmSync(live, { recursive: true, force: true });
  }
});

test(
  'view in Chromium: tag search, a span by deep link, endpoint and compare views, flame graph search and zoom',
  { skip: skipBrowser, timeout: 120_000 },
  async () => {
    assert.ok(hasChromium, `Chromium must be installed in CI (${CHROMIUM})`);
    fs.mkdirSync(artifacts, { recursive: true });
    // Offline: every request the page makes must go to the viewer itself (`foreign` lists the others).
    const { page, url, foreign, pageErrors, close } = await openViewerPage(dir);
    try {
      const ready = () => viewReady(page);
      const shot = async (name) => {
        // The flame graph's transitions are over when its frames keep their widths between two looks.
        await page.waitForFunction(
          () => {
            const widths = [...document.querySelectorAll('.flame g rect')].map((r) => r.getBoundingClientRect().width.toFixed(1)).join(',');
            const still = window.__flameWidths === widths;
            window.__flameWidths = widths;
            return still;
          },
          null,
          { polling: 100, timeout: 10_000 },
        );
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: path.join(artifacts, `viewer-${name}.png`) });
      };
      /** Width in px of the widest flame graph frame named `name` in `scope`, 0 if none. */
      const frameWidth = (name, scope = '') =>
        page.evaluate(
          ([n, s]) =>
            Math.max(
              0,
              ...[...document.querySelectorAll(`${s} .flame g`)].filter((g) => g.getAttribute('name') === n).map((g) => g.getBoundingClientRect().width),
            ),
          [name, scope],
        );

      /** Reads `probe` until `done` holds of its value or 10 s pass (the flame graph animates); returns the last value. */
      const settled = async (probe, done) => {
        const end = Date.now() + 10_000;
        for (;;) {
          const value = await probe();
          if (done(value) || Date.now() > end) return value;
          await page.waitForTimeout(100);
        }
      };
      /** The widest flame graph frame named `name`: a function can have several frames, some a pixel wide. */
      const widestFrame = async (name) => {
        const index = await page.evaluate((n) => {
          const widths = [...document.querySelectorAll('.flame g')].filter((g) => g.getAttribute('name') === n).map((g) => g.getBoundingClientRect().width);
          return widths.indexOf(Math.max(...widths));
        }, name);
        assert.ok(index >= 0, `a frame named ${name}`);
        return page.locator(`.flame g[name="${name}"] rect`).nth(index);
      };

      // 1. Overview, then search by tag: service.version = 1.5.0.
      await page.goto(url);
      await ready();
      assert.match(await page.textContent('#endpoints'), /GET \/quote\/:sku/);
      await page.selectOption('select[data-tag="service.version"]', '1.5.0');
      await page.click('#filters button[type="submit"]');
      await page.waitForURL(/tag=service\.version%3D1\.5\.0/);
      await ready();
      const quoteRow = page.locator('#endpoints tr', { hasText: QUOTE });
      const cells = await quoteRow.locator('td').allTextContents();
      const requests = Number(cells[1]);
      const api = (await getJson(`${url}api/ranking?tag=service.version%3D1.5.0`)).body;
      assert.equal(requests, api.endpoints.find((e) => e.endpoint === QUOTE).requests, 'the table shows the 1.5.0 selection');
      assert.ok(requests > 0 && requests <= sent['1.5.0']);
      await shot('overview');

      // 2. A span opened by deep link, as a tracing UI's link would: /span/<span id>.
      // The costliest /quote span of 1.5.0 whose samples are in applyDiscounts.
      const spans = (await getJson(`${url}api/ranking?tag=service.version%3D1.5.0&limit=100`)).body.spans.filter((s) => s.endpoint === QUOTE);
      let spanId;
      for (const s of spans) {
        const h = (await getJson(`${url}api/hotspots?scope=span&id=${s.spanId}`)).body;
        if (h.functions.some((f) => f.name === 'applyDiscounts')) {
          spanId = s.spanId;
          break;
        }
      }
      assert.ok(spanId, 'a /quote span with applyDiscounts samples');
      await page.goto(`${url}span/${spanId}`);
      await ready();
      assert.match(await page.textContent('h1'), new RegExp(`Span ${spanId}`));
      assert.ok((await frameWidth('applyDiscounts')) > 5, 'applyDiscounts is in the span flame graph');
      assert.match(await page.textContent('table.functions'), /applyDiscounts/);
      assert.match(await page.textContent('.facts:not(#time-facts)'), /GET \/quote\/:sku/);
      // Where its time went, and its local root's timeline: the span bars and the samples in time.
      assert.match(await page.textContent('#time-facts'), /duration[\d.,]+ ms.*CPU in it[\d.,]+ ms.*I\/O[\d.,]+ ms.*waiting[\d.,]+ ms/);
      await page.waitForSelector('#timeline-box svg.timeline');
      assert.ok((await page.locator('svg.timeline rect.span').count()) >= 1, 'span bars');
      assert.ok((await page.locator('svg.timeline rect.sample').count()) >= 1, 'sample ticks');
      assert.equal(await page.locator(`svg.timeline g[data-span="${spanId}"] rect.span.focus`).count(), 1, 'the span itself stands out');
      await shot('span');
      await page.click('button[data-whole="1"]');
      await page.waitForURL(/whole=1/);
      await ready();
      assert.match(await page.textContent('h1'), /Local root of span/);
      assert.ok((await frameWidth('applyDiscounts')) > 5);

      // 3. The endpoint view: applyDiscounts dominates /quote; search and zoom.
      await page.goto(`${url}endpoint/${encodeURIComponent(QUOTE)}?tag=service.version%3D1.5.0`);
      await ready();
      const full = await frameWidth('all');
      const width = await frameWidth('applyDiscounts');
      assert.ok(width > 0.3 * full, `applyDiscounts ${width}px of ${full}px`);
      const firstFunction = await page.locator('table.functions tbody tr').first().locator('td.fn').textContent();
      assert.equal(firstFunction, 'applyDiscounts');
      await page.fill('.flame-search', 'applydisc');
      assert.match(await page.textContent('.flame-details'), /search: \d+ frame\(s\), [\d.,]+ ms, [\d.]+% of the cpu time/);
      await shot('endpoint');
      const discounts = await widestFrame('applyDiscounts');
      await discounts.hover();
      assert.match(
        await page.textContent('.d3-flame-graph-tip'),
        /applyDiscounts[\s\S]*pricing\.js:\d+[\s\S]*total [\d.,]+ ms cpu \([\d.]+%\)\s+self [\d.,]+ ms/,
      );
      await discounts.click({ force: true });
      const zoomed = await settled(
        () => frameWidth('applyDiscounts'),
        (w) => w > 0.95 * full,
      );
      assert.ok(zoomed > 0.95 * full, `zoomed to applyDiscounts: ${zoomed}px of ${full}px`);
      await page.click('.flame-reset');
      const reset = await settled(
        () => frameWidth('applyDiscounts'),
        (w) => Math.abs(w - width) < 2,
      );
      assert.ok(Math.abs(reset - width) < 2, `zoom reset: ${reset}px, was ${width}px`);

      // 4. Compare versions: the two newest versions by default.
      await page.goto(`${url}compare`);
      await ready();
      const top = await page.locator('#changes tbody tr').first().locator('td').allTextContents();
      assert.match(top[0], /^\+/);
      assert.equal(top[5], 'applyDiscounts');
      assert.ok((await frameWidth('applyDiscounts', '#flame-head')) > (await frameWidth('applyDiscounts', '#flame-base')), 'wider in the head flame graph');
      await shot('compare');

      // 5. A trace ID pasted into the box opens the trace.
      const traceId = (await getJson(`${url}api/hotspots?scope=span&id=${spanId}`)).body.span.traceId;
      await page.fill('#open-id-input', traceId.toUpperCase());
      await page.click('#open-id button');
      await page.waitForURL(new RegExp(`/trace/${traceId}`));
      await ready();
      assert.match(await page.textContent('#scope-spans'), new RegExp(spanId));

      assert.deepEqual(foreign, [], 'the page fetched nothing from outside the viewer');
      assert.deepEqual(pageErrors, []);
    } finally {
      await close();
    }
  },
);
