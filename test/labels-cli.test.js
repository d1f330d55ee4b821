'use strict';
// Custom labels (a framework's `labels` callback: tenant, plan, ...) select and group samples:
// `spanprof hotspots --label tenant=acme`, `spanprof spans --label ...` and `spans --by tenant`,
// and the viewer's hotspots query with scope=label. Profiles written with chosen labels and costs.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ViewServer } = require('@spanprof/cli');
const { writeWallProfile } = require('./helpers/synthetic');

const bin = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'spanprof.js');
const MS = 1_000_000;
const json = (...args) => JSON.parse(execFileSync(process.execPath, [bin, ...args, '--json'], { encoding: 'utf8' }));

test('custom labels select and group samples in the CLI and the viewer', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-labels-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const span = (n) => n.toString(16).padStart(16, '0');
  const sample = (name, tenant, cpu, n) => ({
    stack: [{ name, file: '/app/work.js', line: 1 }],
    cpu,
    labels: { span_id: span(n), local_root_span_id: span(n), trace_endpoint: 'GET /report', ...(tenant ? { tenant } : {}) },
  });
  writeWallProfile(dir, {
    start: Date.UTC(2026, 0, 1),
    samples: [
      sample('renderReport', 'acme', 30 * MS, 1),
      sample('renderReport', 'globex', 10 * MS, 2),
      sample('exportCsv', 'acme', 5 * MS, 3),
      sample('idle', undefined, 7 * MS, 4),
    ],
  });

  const acme = json('hotspots', dir, '--label', 'tenant=acme');
  assert.equal(acme.total.cpuNanos, 35 * MS);
  assert.deepEqual(
    acme.functions.map((f) => [f.name, f.self.cpuNanos]),
    [
      ['renderReport', 30 * MS],
      ['exportCsv', 5 * MS],
    ],
  );
  assert.deepEqual(
    json('spans', dir, '--label', 'tenant=globex').spans.map((s) => s.spanId),
    [span(2)],
  );
  const by = json('spans', dir, '--by', 'tenant');
  assert.deepEqual(
    by.values.map((v) => [v.value, v.cpuNanos]),
    [
      ['acme', 35 * MS],
      ['globex', 10 * MS],
      ['', 7 * MS],
    ],
  );
  const text = execFileSync(process.execPath, [bin, 'spans', dir, '--by', 'tenant'], { encoding: 'utf8' });
  assert.match(text, /^\(none\)\s+7/m);

  const server = new ViewServer({ directory: dir, port: 0 });
  const url = await server.start();
  t.after(() => server.close());
  const api = await (await fetch(`${url}api/hotspots?scope=label&id=${encodeURIComponent('tenant=acme')}`)).json();
  assert.equal(api.total.cpuNanos, 35 * MS);
  assert.equal((await fetch(`${url}api/hotspots?scope=label&id=tenant`)).status, 400);
  const grouped = await (await fetch(`${url}api/labels?by=tenant`)).json();
  assert.deepEqual(grouped.values, by.values, "the viewer's group-by is the CLI's");
  assert.equal(grouped.total.cpuNanos, 52 * MS);
  assert.equal((await fetch(`${url}api/labels`)).status, 400);
});

test(
  "custom labels in the viewer page: /by/<name> ranks a label's values, /label/<name>=<value> shows one's hotspots",
  { skip: require('./helpers/viewer').skipBrowser, timeout: 120_000 },
  async (t) => {
    const { openViewerPage, viewReady } = require('./helpers/viewer');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-labels-page-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    writeWallProfile(dir, {
      start: Date.UTC(2026, 0, 1),
      samples: [
        {
          stack: [{ name: 'renderReport', file: '/app/work.js', line: 1 }],
          cpu: 30 * MS,
          labels: { span_id: 'a'.repeat(16), trace_id: 'b'.repeat(32), tenant: 'acme' },
        },
        {
          stack: [{ name: 'exportCsv', file: '/app/work.js', line: 9 }],
          cpu: 10 * MS,
          labels: { span_id: 'c'.repeat(16), trace_id: 'd'.repeat(32), tenant: 'globex' },
        },
      ],
    });
    const { page, url, foreign, pageErrors, close } = await openViewerPage(dir);
    try {
      await page.goto(url);
      await viewReady(page);
      await page.locator('#group-by a', { hasText: 'tenant' }).click();
      await viewReady(page);
      assert.equal(await page.locator('h1').innerText(), 'By tenant');
      const rows = await page.locator('#by-label tbody tr').allInnerTexts();
      assert.deepEqual(
        rows.map((r) => r.split('\t').slice(0, 2)),
        [
          ['acme', '30.0'],
          ['globex', '10.0'],
        ],
      );
      await page.locator('#by-label a', { hasText: 'acme' }).click();
      await viewReady(page);
      assert.equal(await page.locator('h1').innerText(), 'Label tenant=acme');
      const functions = await page.locator('table').first().innerText();
      assert.match(functions, /renderReport/);
      assert.doesNotMatch(functions, /exportCsv/, "another tenant's function is not there");
      assert.match(await page.locator('#scope-traces').innerText(), /b{32}/);
      assert.deepEqual(foreign, []);
      assert.deepEqual(pageErrors, []);
    } finally {
      await close();
    }
  },
);
