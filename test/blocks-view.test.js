'use strict';
// The time split's views in Chromium, on the profiles of a real service
// (test/fixtures/time-split.js): requests with a file read and a lookup, 20 requests
// waiting, then one that blocks the event loop for 300 ms. The Blocks page names the
// block's function, span and the requests it delayed; a waiting request's timeline shades
// the block; an /io request's timeline shows its I/O waits under its span.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CHROMIUM, hasChromium, skipBrowser, openViewerPage, viewReady } = require('./helpers/viewer');
const { drive, start, waitingThenBlock } = require('./helpers/service');

const artifacts = path.join(__dirname, 'artifacts');
let dir;
let truth;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-blocks-view-'));
  const service = start(path.join(__dirname, 'fixtures', 'time-split.js'), { env: { SPLIT_PROFILES: dir } });
  const port = await service.listening;

  await drive(
    port,
    Array.from({ length: 8 }, () => ({ url: '/io' })),
    2,
  );
  await waitingThenBlock(port);
  service.child.kill('SIGTERM');
  await service.exited;
  truth = JSON.parse(service.out.stdout.trim().split('\n').pop());
});

test('Blocks page, a delayed request’s timeline and an I/O timeline, in Chromium', { skip: skipBrowser, timeout: 120_000 }, async () => {
  assert.ok(hasChromium, `Chromium must be installed in CI (${CHROMIUM})`);
  fs.mkdirSync(artifacts, { recursive: true });
  const { page, url, foreign, pageErrors, close } = await openViewerPage(dir);
  try {
    await page.goto(`${url}blocks`);
    await viewReady(page);
    const row = page.locator('#blocks tbody tr', { hasText: 'blockTheLoop' });
    assert.equal(await row.count(), 1, 'the block, by its function');
    const cells = await row.locator('td').allTextContents();
    assert.match(cells[1], /^3\d\d\.\d$/, `its duration: ${cells[1]}`);
    assert.match(cells[4], /GET \/block/);
    assert.equal(cells[5], '20', 'requests in flight');
    assert.match(cells[7], /GET \/wait ×20/);
    await page.screenshot({ path: path.join(artifacts, 'viewer-blocks.png') });

    // A waiting request (one the profiles recorded): its timeline shades the block, inside its bar.
    let wait;
    for (const s of truth.spans.filter((x) => x.route === '/wait')) {
      const { time } = await (await fetch(`${url}api/hotspots?scope=span&id=${s.spanId}`)).json();
      if (time !== undefined && time !== null) {
        wait = s;
        break;
      }
    }
    assert.ok(wait !== undefined, 'a recorded /wait span');
    await page.goto(`${url}span/${wait.spanId}`);
    await viewReady(page);
    await page.waitForSelector('#timeline-box svg.timeline');
    assert.equal(await page.locator('svg.timeline rect.block').count(), 1, 'the block, shaded');
    // It slept 2 s: that is its waiting, less the little CPU it burned (more on a busy machine).
    const facts = await page.textContent('#time-facts');
    const figure = (name) => Number(new RegExp(`${name}([\\d,.]+) ms`).exec(facts)?.[1].replace(/,/g, ''));
    assert.ok(figure('waiting') >= 1950 && figure('waiting') <= figure('duration'), facts);

    // An /io request: its file read and lookup under its bar.
    const io = truth.ops[0].spanId;
    await page.goto(`${url}span/${io}`);
    await viewReady(page);
    await page.waitForSelector('#timeline-box svg.timeline');
    assert.equal(await page.locator('svg.timeline rect[data-event="fs"]').count(), 1);
    assert.equal(await page.locator('svg.timeline rect[data-event="dns"]').count(), 1);
    assert.match(await page.textContent('#time-facts'), /I\/O[\d.]+ ms/);
    await page.screenshot({ path: path.join(artifacts, 'viewer-timeline.png') });

    // The endpoint page: per-request split with I/O.
    await page.goto(`${url}endpoint/${encodeURIComponent('GET /io')}`);
    await viewReady(page);
    assert.match(await page.textContent('#time-facts'), /requests8.*I\/O \/ request[\d.]+ ms \(p95 [\d.]+\)/);
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  } finally {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
