'use strict';
// `spanprof view` shows strings it does not control: function and file names
// from the profiled code, endpoints and span IDs from labels, tags from the
// resource, and whatever a link puts in its URL. Each must come out as text,
// never as markup: profiles here carry HTML in every such place, and Chromium
// opens every view and a few hostile links.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { hasChromium, CHROMIUM, skipBrowser, openViewerPage, viewReady } = require('./helpers/viewer');
const { writeWallProfile } = require('./helpers/synthetic');

/** Markup that sets `window.__xss` to `where` if it ever runs. */
const payload = (where) => `<img src=x onerror="window.__xss='${where}'">`;
const FN = `render${payload('function')}`;
const FILE = `/app/"><svg onload="window.__xss='file'"></svg>/view.js`;
const ENDPOINT = `GET /items/<script>window.__xss='endpoint'</script>`;
const VERSIONS = [`1.0"${payload('tag')}`, `2.0'><b onmouseover="window.__xss='tag2'">x</b>`];
const SERVICE = `shop${payload('service')}`;
const SPAN = '00000000000000a1';
const TRACE = '000000000000000000000000000000b2';
const BAD_SPAN = `${payload('span label')}`;

function writeProfiles(dir) {
  VERSIONS.forEach((version, i) => {
    const good = { span_id: SPAN, local_root_span_id: SPAN, trace_id: TRACE, trace_endpoint: ENDPOINT };
    const bad = { span_id: BAD_SPAN, local_root_span_id: BAD_SPAN, trace_id: `${payload('trace label')}`, trace_endpoint: ENDPOINT };
    const stack = [
      { name: FN, file: FILE, line: 7 },
      { name: 'handler', file: '/app/server.js', line: 20 },
    ];
    writeWallProfile(dir, {
      start: Date.UTC(2026, 10, 24, 12 + i),
      tags: { 'service.name': SERVICE, 'service.version': version, 'host.name': `h${payload('host')}` },
      requests: { [ENDPOINT]: 3 },
      samples: [
        { stack, cpu: 9_000_000 * (i + 1), labels: good },
        { stack, cpu: 1_000_000, labels: bad },
      ],
      sequence: i + 1,
    });
  });
}

test('view: names, labels, tags and URLs from outside are shown as text, never run as markup', { skip: skipBrowser, timeout: 120_000 }, async () => {
  assert.ok(hasChromium, `Chromium must be installed in CI (${CHROMIUM})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-escaping-'));
  writeProfiles(dir);
  const { page, url, foreign, pageErrors, close } = await openViewerPage(dir);
  try {
    const violations = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });

    /** Opens `target` and checks that nothing hostile became markup; returns the page's text. */
    const open = async (target) => {
      await page.goto(`${url}${target}`);
      await viewReady(page);
      const found = await page.evaluate(() => ({
        ran: window.__xss,
        markup: [...document.querySelectorAll('img, b, [onerror], [onload], [onmouseover], script:not([src])')].map((e) => e.outerHTML),
        text: document.body.innerText,
      }));
      assert.equal(found.ran, undefined, `${target}: injected script ran`);
      assert.deepEqual(found.markup, [], `${target}: injected elements`);
      return found.text;
    };
    const tag = (k, v) => `tag=${encodeURIComponent(`${k}=${v}`)}`;

    // Every view, with the hostile strings shown literally (so the test sees them rendered).
    let text = await open('');
    for (const s of [ENDPOINT, BAD_SPAN, SPAN]) assert.ok(text.includes(s), `overview shows ${s}`);
    assert.ok((await page.locator('select[data-tag="service.version"] option').allTextContents()).includes(VERSIONS[0]));
    text = await open(`?${tag('service.version', VERSIONS[0])}&${tag('service.name', SERVICE)}`);
    assert.ok(text.includes(ENDPOINT));
    text = await open(`span/${SPAN}`);
    assert.ok(text.includes(FN) && text.includes(ENDPOINT), 'the span view names the function and endpoint');
    const flameNames = await page.evaluate(() => [...document.querySelectorAll('.flame g')].map((g) => g.getAttribute('name')));
    assert.ok(flameNames.includes(FN), 'the hostile name is a frame of the flame graph');
    const hostile = await page.evaluate((name) => [...document.querySelectorAll('.flame g')].findIndex((g) => g.getAttribute('name') === name), FN);
    // Frames grow into place (a 250 ms transition): hover once this one is drawn.
    await page.waitForFunction((i) => document.querySelectorAll('.flame g')[i].getBoundingClientRect().width > 5, hostile);
    await page.locator('.flame g').nth(hostile).locator('rect').hover();
    assert.ok((await page.textContent('.d3-flame-graph-tip')).includes(FN), 'the tooltip shows the name as text');
    await open(`span/${SPAN}?whole=1`);
    await open(`root/${SPAN}`);
    await open(`trace/${TRACE}`);
    text = await open(`endpoint/${encodeURIComponent(ENDPOINT)}`);
    assert.ok(text.includes(ENDPOINT) && text.includes(FN));
    text = await open('compare');
    assert.ok(text.includes(FN), 'compare lists the function');
    await open(`compare?base=${encodeURIComponent(`service.version=${VERSIONS[0]}`)}&head=${encodeURIComponent(`service.version=${VERSIONS[1]}`)}`);

    // Links crafted to inject through the URL: unknown or invalid scopes, bad filters.
    for (const target of [
      `endpoint/${encodeURIComponent(payload('url endpoint'))}`,
      `span/${encodeURIComponent(payload('url span'))}`,
      `trace/${encodeURIComponent(payload('url trace'))}`,
      `span/%E0%A4%A`,
      `?from=${encodeURIComponent(payload('from'))}`,
      `?${tag(payload('tag key'), '1')}`,
      `compare?base=${encodeURIComponent(payload('base'))}&head=x=1`,
    ]) {
      await open(target);
    }

    assert.deepEqual(foreign, [], 'nothing fetched from outside the viewer');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(violations, [], 'every view works under the content security policy');

    // Defence in depth: markup that did get into the page still could not run.
    const response = await page.goto(url);
    assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
    await page.evaluate(() =>
      document.body.insertAdjacentHTML('beforeend', '<img src="data:," onload="window.__xss=\'policy\'" onerror="window.__xss=\'policy\'">'),
    );
    // The image loads or fails at once; its handler is refused, which Chromium reports.
    for (const deadline = Date.now() + 10_000; violations.length === 0;) {
      assert.ok(Date.now() < deadline, 'Chromium reported the refusal');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'an inline handler is refused');
  } finally {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
