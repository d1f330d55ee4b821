'use strict';
// The demo (examples/demo) under real HTTP load, and the spanprof command on
// the profiles it wrote: every route's expected hotspot must come out on top.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { decodeProfileFile } = require('./helpers/pprof');

const repo = path.resolve(__dirname, '..');
const bin = path.join(repo, 'packages', 'cli', 'bin', 'spanprof.js');
const { expectedBlock, expectedHotspots } = require('../examples/demo/app');

let dir;
let demo;

/** Runs the spanprof command; returns { code, stdout, stderr }. */
function spanprof(...args) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(...args) {
  const r = spanprof(...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-demo-'));
  const out = execFileSync(
    process.execPath,
    [path.join(repo, 'examples', 'demo', 'run.js'), '--duration', '5', '--profiles', dir, '--sampling-interval', '1000', '--json'],
    {
      encoding: 'utf8',
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  demo = JSON.parse(out.trim().split('\n').pop());
});

test('demo: every route has its expected hotspot on top', () => {
  assert.ok(demo.requests > 500, `load generator made ${demo.requests} requests`);
  assert.deepEqual(Object.keys(demo.endpoints).sort(), Object.keys(expectedHotspots).sort());
  for (const [endpoint, e] of Object.entries(demo.endpoints)) {
    assert.equal(e.top, expectedHotspots[endpoint], `${endpoint}: top function`);
    assert.ok(e.traces > 5, `${endpoint}: ${e.traces} traces sampled`);
    assert.ok(e.requests >= e.traces, `${endpoint}: ${e.requests} requests counted, ${e.traces} of them sampled`);
  }
  const counted = Object.values(demo.endpoints).reduce((n, e) => n + e.requests, 0);
  assert.ok(counted <= demo.requests && counted >= 0.9 * demo.requests, `${counted} requests counted of ${demo.requests} sent`);
  assert.equal(demo.stats.failedExports, 0);
  // The daily report reads its 512 KiB archive: an I/O wait in every request of it.
  assert.ok(demo.endpoints['GET /reports/daily'].time.ioMillisPerRequest > 0, 'the slow read shows as I/O');
  // The admin route's synchronous rebuild blocks the loop: the block names it, and the requests it held up.
  assert.ok(demo.block !== undefined, 'an event-loop block');
  assert.equal(demo.block.function, expectedBlock.function);
  assert.equal(demo.block.endpoint, expectedBlock.endpoint);
  assert.ok(demo.block.durationMillis >= 115 && demo.block.durationMillis < 200, `block of ${demo.block.durationMillis} ms (the rebuild runs 120 ms)`);
  assert.ok(demo.block.requestsInFlight + demo.block.requestsQueued > 0, 'requests waited through it');
});

test('demo: prints the endpoint table, the slowest trace, the longest block and how to dig further', () => {
  const r = spawnSync(process.execPath, [path.join(repo, 'examples', 'demo', 'run.js'), '--duration', '1', '--profiles', dir], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /load: \d+ requests in 1\.\d s, 0 errors/);
  assert.match(r.stdout, /GET \/reports\/daily .* \d+ requests \( *\d+ sampled\) {2}mean .* io .* top: aggregateDailyReport \(examples\/demo\/app\.js:\d+\)/);
  assert.match(r.stdout, /The slowest trace, [0-9a-f]{32} .*: [\d.]+ ms: [\d.]+ ms CPU, [\d.]+ ms I\/O, [\d.]+ ms waiting/);
  assert.match(r.stdout, /npx spanprof blocks /);
  assert.match(r.stdout, /npx spanprof hotspots \S+ --span [0-9a-f]{16} --format collapsed/);
});

test('spanprof spans --sort cpu: endpoints, traces and spans ranked by CPU', () => {
  const r = json('spans', dir, '--tag', 'service.name=spanprof-demo', '--limit', '50', '--sort', 'cpu');
  assert.deepEqual(r.endpoints.map((e) => e.endpoint).sort(), [...Object.keys(expectedHotspots), expectedBlock.endpoint].sort());
  for (const list of [r.endpoints, r.traces, r.spans]) {
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].cpuNanos >= list[i].cpuNanos, 'sorted by CPU');
  }
  assert.ok(r.spans.every((s) => /^[0-9a-f]{16}$/.test(s.spanId) && /^[0-9a-f]{32}$/.test(s.traceId)));
});

test('spanprof spans: slowest first, each with its name, duration and split; requests per endpoint as counted', () => {
  const r = json('spans', dir, '--limit', '50');
  for (const list of [r.traces, r.spans]) {
    assert.ok(list.length > 0 && list.every((x) => x.time !== undefined), 'every sampled trace and span has its time');
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].time.durationNanos >= list[i].time.durationNanos, 'slowest first');
  }
  for (const s of r.spans) {
    const t = s.time;
    assert.ok(t.name !== '' && t.durationNanos > 0);
    assert.equal(t.cpuNanos + t.childCpuNanos + t.ioNanos + t.waitingNanos, t.durationNanos);
    assert.ok(t.cpuNanos <= s.cpuNanos, 'own CPU is the samples', "CPU, at most the span's duration");
  }
  const total = (e) => e.time.meanMillis * e.time.requests;
  for (let i = 1; i < r.endpoints.length; i++) assert.ok(total(r.endpoints[i - 1]) >= total(r.endpoints[i]), 'endpoints by the time their requests took');
  for (const e of r.endpoints) {
    assert.equal(e.time.requests, e.requests, `${e.endpoint}: every counted request has its duration`);
    assert.ok(e.time.p95Millis > 0 && e.time.meanMillis > 0 && e.time.cpuMillisPerRequest > 0);
  }
  const table = spanprof('spans', dir, '--limit', '3');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Endpoints \(per request/m);
  assert.match(table.stdout, /^endpoint\s+requests\s+mean ms\s+p95 ms\s+cpu ms\/req\s+io ms\/req\s+waiting ms\/req\s+cpu ms\s+cpu %\s+running ms\s+samples$/m);
  assert.match(table.stdout, /^trace id\s+name\s+duration ms\s+cpu ms\s+io ms\s+waiting ms\s+spans\s+samples\s+endpoint$/m);
  assert.match(table.stdout, /^span id\s+name\s+duration ms\s+own cpu ms\s+child cpu ms\s+io ms\s+waiting ms\s+samples\s+endpoint$/m);
  // The requests column is the processor's count.
  for (const e of r.endpoints.slice(0, 3)) {
    assert.ok(e.requests >= e.traces && e.requests > 0, `${e.endpoint}: ${e.requests} requests, ${e.traces} traces sampled`);
    const row = table.stdout.split('\n').find((l) => l.startsWith(`${e.endpoint} `));
    assert.match(row, new RegExp(`^${e.endpoint.replace(/[/:]/g, '\\$&')}\\s+${e.requests.toLocaleString('en-US')}\\s`), row);
  }
});

test('spanprof hotspots: --endpoint finds the route hotspot; --span, --root and --trace add up to the spans listing', () => {
  const { spans, endpoints } = json('spans', dir, '--limit', '100000');
  const sum = (list) => list.reduce((n, s) => n + s.samples, 0);
  for (const e of endpoints) {
    const h = json('hotspots', dir, '--endpoint', e.endpoint, '--limit', '1000');
    assert.equal(h.total.samples, e.samples, `${e.endpoint}: samples`);
    const top = h.functions.find((f) => !f.name.startsWith('('));
    assert.equal(top.name, expectedHotspots[e.endpoint] ?? expectedBlock.function, `${e.endpoint}: top function`);
    assert.match(top.file, /examples\/demo\/app\.js$/);
    assert.ok(top.line > 0);
    assert.ok(top.total.cpuNanos > 0.5 * h.total.cpuNanos, `${e.endpoint}: the hotspot and its callees hold most of the CPU`);

    // The busiest span of that endpoint, seen through each scope.
    const s = spans.filter((x) => x.endpoint === e.endpoint).sort((a, b) => b.samples - a.samples)[0];
    const span = json('hotspots', dir, '--span', s.spanId, '--limit', '1000');
    assert.equal(span.total.samples, s.samples);
    assert.equal(span.total.cpuNanos, s.cpuNanos);
    assert.ok(span.functions.every((f) => f.total.samples <= s.samples && f.self.samples <= f.total.samples));
    // The files that hold the span: those whose samples carry its span_id, read by an independent decoder.
    const holding = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.wall.pb.gz'))
      .map((f) => path.join(dir, f))
      .filter((f) => decodeProfileFile(f).samples.some((x) => x.labels.span_id === s.spanId));
    assert.deepEqual([...span.files].sort(), holding.sort(), `${e.endpoint}: the files holding span ${s.spanId}`);
    const root = json('hotspots', dir, '--root', s.localRootSpanId);
    assert.equal(root.total.samples, sum(spans.filter((x) => x.localRootSpanId === s.localRootSpanId)));
    const trace = json('hotspots', dir, '--trace', s.traceId);
    assert.equal(trace.total.samples, sum(spans.filter((x) => x.traceId === s.traceId)));
  }
  const table = spanprof('hotspots', dir, '--endpoint', 'GET /search', '--limit', '3');
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /^endpoint "GET \/search": [\d,.]+ ms CPU.*\n[\d,]+ requests: mean [\d.]+ ms \(p50 [\d.]+, p95 [\d.]+\), per request [\d.]+ ms CPU, [\d.]+ ms I\/O \(p95 [\d.]+\) and [\d.]+ ms waiting\nin (file|\d+ files): \S+\.wall\.pb\.gz/m,
  );
  assert.match(table.stdout, /rankSearchResults\s+\S*examples\/demo\/app\.js:\d+/);
});

test('spanprof hotspots --format collapsed prints folded stacks', () => {
  const r = spanprof('hotspots', dir, '--endpoint', 'GET /users/:id/avatar', '--format', 'collapsed');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(
    lines.every((l) => /^\S.* \d+$/.test(l)),
    'stack value',
  );
  assert.ok(lines[0].split(';').pop().startsWith('renderAvatar '), `heaviest stack ends in renderAvatar: ${lines[0]}`);
});

test('spanprof piped into a reader that stops early (`| head`) ends quietly with status 0', async () => {
  for (const args of [
    ['spans', dir],
    ['hotspots', dir, '--format', 'collapsed'],
  ]) {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before the command writes its first line (it is still loading).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(stderr, '', `${args[0]}: nothing on stderr`);
    assert.equal(code, 0, `${args[0]} exits with 0`);
  }
});

test('spanprof: tag and time filters', () => {
  const none = spanprof('spans', dir, '--tag', 'service.name=other');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /none of the \d+ profiles in .* match the tag and time filters/);
  const early = spanprof('spans', dir, '--to', '2001-01-01T00:00:00Z');
  assert.equal(early.code, 1);
  const recent = json('spans', dir, '--from', new Date(Date.now() - 3600_000).toISOString(), '--tag', `process.pid=${demo.pid}`);
  assert.equal(recent.profiles, demo.profiles, 'the first demo run only');
  assert.equal(recent.endpoints.length, 5, 'four routes under load and the admin one');
  const bad = spanprof('spans', dir, '--tag', 'nonsense');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected key=value/);
});

test('spanprof: clear errors for a missing or empty directory, an unknown span, a corrupt file', () => {
  const missing = spanprof('spans', path.join(dir, 'nope'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read profile directory .*nope: ENOENT/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-empty-'));
  const e = spanprof('spans', empty);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /no profiles in .* \(expected \*\.wall\.pb\.gz files written by spanprof\)/);
  const unknown = spanprof('hotspots', dir, '--span', '0123456789abcdef');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no samples for span 0123456789abcdef/);
  const two = spanprof('hotspots', dir, '--span', 'a', '--trace', 'b');
  assert.equal(two.code, 1);
  assert.match(two.stderr, /give one of --span, --trace, --root, --endpoint/);

  const mixed = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-corrupt-'));
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(mixed, f));
  const bad = path.join(mixed, '20000101T000000.000Z.broken.1.000001.wall.pb.gz');
  fs.writeFileSync(bad, Buffer.from('this is not a profile'));
  const r = spanprof('spans', mixed, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`skipped ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable profile`));
  assert.equal(JSON.parse(r.stdout).endpoints.length, 5);
});

test('FileExporter output is standard gzipped pprof with tags in comments', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.wall.pb.gz'));
  assert.ok(files.length >= 1);
  const p = decodeProfileFile(path.join(dir, files[0]));
  assert.ok(p.comments.includes('spanprof:service.name=spanprof-demo'));
  assert.ok(p.samples.some((s) => s.labels.trace_endpoint === 'GET /checkout/:cartId'));
  assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.heap.pb.gz')));
});
