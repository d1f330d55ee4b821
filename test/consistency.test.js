'use strict';
// One answer everywhere: for the same profiles, the self CPU time of each
// function is the same in the metrics the processor records, in
// `spanprof hotspots --json`, in the viewer's hotspots query and in
// `spanprof diff`. The workload has the cases where function keys used to
// disagree: two functions named `handle` in two files named handler.js (two
// functions everywhere), and two functions named `spin` at different lines of
// one file (one pprof Function, so one function everywhere).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { FileExporter } = require('@spanprof/core');
const { ViewServer } = require('@spanprof/cli');
const { resetTracing } = require('./helpers/otel');
const { startMetrics } = require('./helpers/metrics');
const { readProfiles } = require('./helpers/pprof');
const orders = require('./fixtures/consistency/orders/handler');
const users = require('./fixtures/consistency/users/handler');
const twins = require('./fixtures/consistency/twins');

const bin = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'spanprof.js');
const fixtures = path.join(__dirname, 'fixtures', 'consistency');

/** Self CPU nanoseconds by `name path`, from rows that have a name, a path and nanoseconds. */
function byFunction(rows, name, file, nanos) {
  const out = new Map();
  for (const row of rows) {
    const key = `${name(row)} ${file(row)}`;
    assert.ok(!out.has(key), `one row per function: ${key} twice`);
    if (nanos(row) > 0) out.set(key, nanos(row));
  }
  return out;
}

test('self CPU per function: metrics, spanprof hotspots, the viewer and spanprof diff agree', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-consistency-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  resetTracing();
  const { meterProvider, take } = startMetrics();
  const processor = new ProfilingSpanProcessor({
    exporter: new FileExporter({ directory: dir }),
    samplingIntervalMicros: 1000,
    uploadPeriodMillis: 600_000,
    heap: false,
    metrics: { meterProvider, topFunctions: 200 },
  });
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'consistency' }), spanProcessors: [processor] });
  provider.register();
  const tracer = provider.getTracer('consistency');
  // A fixed amount of work (about 0.2 s of CPU per function), not a time.
  for (let round = 0; round < 150; round++) {
    for (const [route, work] of [
      ['GET /orders', () => orders.handle(40)],
      ['GET /users', () => users.handle(40)],
      ['GET /twins', () => (twins.first(20), twins.second(20))],
    ]) {
      await tracer.startActiveSpan(route, async (span) => {
        work();
        span.end();
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  // One collection at shutdown: one file, one recording of the metrics.
  await provider.shutdown();
  await meterProvider.forceFlush();
  const m = await take();

  // The metrics: self CPU per function, in seconds.
  const fnPoints = m['spanprof.function.cpu.time'].points.filter((p) => p.attributes['code.function.name'] !== '(other)');
  const metrics = byFunction(
    fnPoints,
    (p) => p.attributes['code.function.name'],
    (p) => p.attributes['code.file.path'] ?? '',
    (p) => Math.round(p.value * 1e9),
  );

  // spanprof hotspots --json.
  const cli = JSON.parse(execFileSync(process.execPath, [bin, 'hotspots', dir, '--json', '--limit', '100000'], { encoding: 'utf8' }));
  const hotspots = byFunction(
    cli.functions,
    (f) => f.name,
    (f) => f.file,
    (f) => f.self.cpuNanos,
  );

  // The viewer's hotspots query.
  const server = new ViewServer({ directory: dir, port: 0 });
  const url = await server.start();
  t.after(() => server.close());
  const api = await (await fetch(`${url}api/hotspots?limit=500`)).json();
  const viewer = byFunction(
    api.functions,
    (f) => f.name,
    (f) => f.file,
    (f) => f.self.cpuNanos,
  );

  // spanprof diff with the same selection on both sides.
  const same = 'service.name=consistency';
  const d = JSON.parse(execFileSync(process.execPath, [bin, 'diff', dir, '--base', same, '--head', same, '--json', '--limit', '100000'], { encoding: 'utf8' }));
  const diffBase = byFunction(
    d.functions,
    (f) => f.name,
    (f) => f.path,
    (f) => f.baseNanos,
  );
  const diffHead = byFunction(
    d.functions,
    (f) => f.name,
    (f) => f.path,
    (f) => f.headNanos,
  );

  // The cases are there: two `handle` functions, one `spin`, each with CPU samples.
  const handle = [...hotspots.keys()].filter((k) => k.startsWith('handle '));
  assert.deepEqual(handle.sort(), [`handle ${path.join(fixtures, 'orders', 'handler.js')}`, `handle ${path.join(fixtures, 'users', 'handler.js')}`]);
  assert.deepEqual(
    [...hotspots.keys()].filter((k) => k.startsWith('spin ')),
    [`spin ${path.join(fixtures, 'twins.js')}`],
  );

  // Other threads' CPU is a V8 pseudo-frame that never lands on a span (the main thread's garbage
  // collection does: it is the cost of the span whose code was running).
  for (const s of readProfiles(dir, 'wall').flatMap((p) => p.samples)) {
    if (s.stack[0]?.name === 'Non JS threads activity') assert.equal(s.labels.span_id, undefined, 'other threads on a span');
  }

  // One answer: every function with self CPU has the same nanoseconds everywhere.
  assert.ok(metrics.size < 200, 'every function has a series of its own');
  assert.ok(viewer.size < 500, 'the viewer lists every function');
  assert.deepEqual(viewer, hotspots, 'viewer = spanprof hotspots');
  assert.deepEqual(diffBase, hotspots, 'spanprof diff (base) = spanprof hotspots');
  assert.deepEqual(diffHead, hotspots, 'spanprof diff (head) = spanprof hotspots');
  // Metrics are seconds in a double: equal to the nanosecond.
  assert.deepEqual([...metrics.keys()].sort(), [...hotspots.keys()].sort(), 'metrics: the same functions');
  for (const [key, nanos] of hotspots) assert.ok(Math.abs(metrics.get(key) - nanos) <= 1, `metrics ${key}: ${metrics.get(key)} ns, hotspots ${nanos} ns`);
});
