'use strict';
// Profiling metrics through the OpenTelemetry metrics API: the real metrics SDK
// (MeterProvider, PeriodicExportingMetricReader flushed by hand, in-memory
// exporter with delta temporality: each flush holds one collection period), the
// real tracing SDK with the ProfilingSpanProcessor, and workloads with known
// hotspots. CPU sampling is statistical: tolerances are wide, workloads long
// enough that they hold.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { DataPointType } = require('@opentelemetry/sdk-metrics');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { ExportResultCode, ProfileMetrics } = require('@spanprof/core');
const { resetTracing } = require('./helpers/otel');
const { captureDiag } = require('./helpers/diag');
const { startMetrics } = require('./helpers/metrics');

/** Tracing with a resource, as an app sets it up. */
function startTracing(processor, attributes = { 'service.name': 'shop', 'service.version': '3.1.4' }) {
  resetTracing();
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes(attributes), spanProcessors: [processor] });
  provider.register();
  return provider;
}

// Two hotspots, each a loop of its own that calls nothing, so every sample taken
// in it has it as the leaf frame. A fixed amount of work (chunks), not a time:
// their CPU times keep their ratio on a busy machine too.
function heavyHotspot(chunks) {
  let x = 1;
  for (let c = 0; c < chunks; c++) for (let i = 0; i < 20000; i++) x = (x * 31 + i) % 1000003;
  return x;
}

function lightHotspot(chunks) {
  let x = 2;
  for (let c = 0; c < chunks; c++) for (let i = 0; i < 20000; i++) x = (x * 37 + i) % 1000033;
  return x;
}

/** Chunks of hotspot work per millisecond of CPU on this machine (measured before profiling starts). */
const CHUNKS_PER_MS = (() => {
  const cpuMs = (since) => {
    const { user, system } = process.cpuUsage(since);
    return (user + system) / 1000;
  };
  const t0 = process.cpuUsage();
  let chunks = 0;
  do {
    heavyHotspot(2);
    lightHotspot(2);
    chunks += 4;
  } while (cpuMs(t0) < 150);
  return chunks / cpuMs(t0);
})();
const chunksFor = (ms) => Math.max(1, Math.round(ms * CHUNKS_PER_MS));

const point = (metric, attrs) => metric.points.filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

/** A ProfileExporter that keeps every batch. */
function keeper() {
  const batches = [];
  return { batches, export: async (b) => (batches.push(b), { code: ExportResultCode.SUCCESS }), shutdown: async () => {} };
}

beforeEach(() => {
  api.diag.disable();
  resetTracing();
});

test('CPU per function and per endpoint, wall time, requests and heap, with their units and the service version', async () => {
  const { meterProvider, take } = startMetrics();
  const kept = keeper();
  const processor = new ProfilingSpanProcessor({ exporter: kept, samplingIntervalMicros: 1000, uploadPeriodMillis: 600_000, metrics: { meterProvider } });
  const provider = startTracing(processor);
  const tracer = provider.getTracer('shop');
  const REQUESTS = 300;
  const retained = [];
  for (let i = 0; i < REQUESTS; i++) {
    await tracer.startActiveSpan('GET /heavy', async (span) => {
      heavyHotspot(chunksFor(6));
      retained.push(new Array(64).fill(i)); // something on the heap
      span.end();
    });
    await tracer.startActiveSpan('GET /light', async (span) => {
      lightHotspot(chunksFor(2));
      span.end();
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  await processor.forceFlush();
  const m = await take();
  await provider.shutdown();

  // Instruments: names, kinds, units.
  const expected = {
    'spanprof.function.cpu.time': ['s', DataPointType.SUM],
    'spanprof.endpoint.cpu.time': ['s', DataPointType.SUM],
    'spanprof.endpoint.wall.time': ['s', DataPointType.SUM],
    'spanprof.endpoint.requests': ['{request}', DataPointType.SUM],
    'spanprof.heap.in_use': ['By', DataPointType.GAUGE],
    'spanprof.heap.object.count': ['{object}', DataPointType.GAUGE],
  };
  for (const [name, [unit, type]] of Object.entries(expected)) {
    assert.ok(m[name], `${name} recorded; got ${Object.keys(m).join(', ')}`);
    assert.equal(m[name].descriptor.unit, unit, `${name} unit`);
    assert.equal(m[name].dataPointType, type, `${name} kind`);
    if (type === DataPointType.SUM) assert.equal(m[name].isMonotonic, true, `${name} is a counter`);
    assert.equal(m[name].scope.name, '@spanprof/core');
    for (const p of m[name].points) assert.equal(p.attributes['service.version'], '3.1.4', `${name} carries service.version`);
  }

  // The top function by self CPU is the heavy hotspot, about 3 times the light one.
  const fn = m['spanprof.function.cpu.time'];
  const ranked = [...fn.points].sort((a, b) => b.value - a.value);
  assert.equal(ranked[0].attributes['code.function.name'], 'heavyHotspot', `top: ${JSON.stringify(ranked.slice(0, 3))}`);
  assert.equal(ranked[0].attributes['code.file.path'], __filename);
  const [heavy] = point(fn, { 'code.function.name': 'heavyHotspot' });
  const [light] = point(fn, { 'code.function.name': 'lightHotspot' });
  assert.ok(light, 'the light hotspot has its own series');
  const fnRatio = heavy.value / light.value;
  assert.ok(fnRatio > 2 && fnRatio < 4.5, `self CPU heavy/light ${heavy.value.toFixed(3)} s / ${light.value.toFixed(3)} s = ${fnRatio.toFixed(2)}`);
  assert.ok(fn.points.length <= 21, 'at most topFunctions (20) + (other)');

  // CPU per endpoint splits the same way; samples outside spans have no endpoint attribute.
  const cpu = m['spanprof.endpoint.cpu.time'];
  const [heavyCpu] = point(cpu, { 'spanprof.trace.endpoint': 'GET /heavy' });
  const [lightCpu] = point(cpu, { 'spanprof.trace.endpoint': 'GET /light' });
  const epRatio = heavyCpu.value / lightCpu.value;
  assert.ok(epRatio > 2 && epRatio < 4.5, `endpoint CPU heavy/light = ${epRatio.toFixed(2)}`);
  assert.ok(
    heavy.value > heavyCpu.value * 0.7 && heavy.value <= heavyCpu.value * 1.05,
    `the hotspot is most of its endpoint's CPU: ${heavy.value} of ${heavyCpu.value} s`,
  );
  const wall = m['spanprof.endpoint.wall.time'];
  const [heavyWall] = point(wall, { 'spanprof.trace.endpoint': 'GET /heavy' });
  assert.ok(heavyWall.value >= heavyCpu.value * 0.8, `wall ${heavyWall.value} vs CPU ${heavyCpu.value}`);
  for (const p of [...cpu.points, ...wall.points]) {
    assert.deepEqual(
      Object.keys(p.attributes).sort(),
      'spanprof.trace.endpoint' in p.attributes ? ['service.version', 'spanprof.trace.endpoint'] : ['service.version'],
    );
  }

  // Requests: exactly the root spans that ended.
  const requests = m['spanprof.endpoint.requests'];
  assert.equal(point(requests, { 'spanprof.trace.endpoint': 'GET /heavy' })[0].value, REQUESTS);
  assert.equal(point(requests, { 'spanprof.trace.endpoint': 'GET /light' })[0].value, REQUESTS);
  assert.equal(requests.points.length, 2);

  // Heap in use, from the heap profile.
  const [bytes] = m['spanprof.heap.in_use'].points;
  const [objects] = m['spanprof.heap.object.count'].points;
  assert.ok(bytes.value > 0 && objects.value > 0, `heap ${bytes.value} B in ${objects.value} objects`);
  assert.ok(bytes.value > objects.value, 'bytes outnumber objects');
  retained.length = 0;

  // How long recording takes per collection, on this batch (not asserted).
  const [batch] = kept.batches;
  const wallProfile = batch.profiles.find((p) => p.kind === 'wall').profile;
  const metricsOnly = new ProfileMetrics({ meterProvider });
  const times = [];
  for (let i = 0; i < 30; i++) {
    await metricsOnly.export(batch);
    times.push(metricsOnly.lastRecordMillis);
  }
  const first = times[0];
  times.sort((a, b) => a - b);
  console.log(
    `recording one collection: ${wallProfile.sample.length} wall samples, ${wallProfile.location.length} locations: first ${first.toFixed(2)} ms, then median ${times[15].toFixed(2)} ms`,
  );
  await meterProvider.shutdown();
});

test('cardinality is bounded: top N functions per collection, at most 4 N functions ever, the rest under (other)', async () => {
  const { meterProvider, take } = startMetrics();
  const processor = new ProfilingSpanProcessor({
    minFlushIntervalMillis: 0,
    exporter: [],
    samplingIntervalMicros: 1000,
    uploadPeriodMillis: 600_000,
    heap: false,
    metrics: { meterProvider, topFunctions: 5 },
  });
  const provider = startTracing(processor, { 'service.name': 'batch' });
  const tracer = provider.getTracer('jobs');
  // 60 distinct hot functions; each period runs 10 new ones.
  const hot = Array.from({ length: 60 }, (_, k) =>
    new Function(
      `return function hot_${k}(chunks) { let x = ${k}; for (let c = 0; c < chunks; c++) for (let i = 0; i < 20000; i++) x = (x * 31 + i) % 1000003; return x; };`,
    )(),
  );
  const PERIODS = 6;
  const everReported = new Set();
  for (let period = 0; period < PERIODS; period++) {
    for (let j = 0; j < 10; j++) {
      const k = period * 10 + j;
      await tracer.startActiveSpan(`job ${k % 3}`, async (span) => {
        hot[k](chunksFor(40 - 2 * j)); // distinct weights: the top 5 of a period are clear
        span.end();
      });
    }
    await processor.forceFlush();
    const m = await take();
    const fn = m['spanprof.function.cpu.time'];
    assert.ok(fn, `period ${period}: function CPU recorded`);
    const names = fn.points.map((p) => p.attributes['code.function.name']);
    assert.ok(fn.points.length <= 5 + 1, `period ${period}: ${fn.points.length} series: ${names.join(', ')}`);
    assert.ok(names.includes('(other)'), `period ${period}: the functions past the top 5 are summed under (other)`);
    assert.equal(new Set(names).size, names.length, 'one series per function');
    const other = fn.points.find((p) => p.attributes['code.function.name'] === '(other)');
    assert.deepEqual(Object.keys(other.attributes), ['code.function.name'], '(other) has no file; no service.version without one in the resource');
    for (const n of names) if (n !== '(other)') everReported.add(n);
    if (period === 0) {
      assert.ok(names.filter((n) => /^hot_\d$/.test(n)).length >= 4, `the hottest of period 0 get series: ${names.join(', ')}`);
    }
  }
  // 6 periods × 5 top functions would be 30 series without the bound across periods.
  assert.equal(everReported.size, 4 * 5, `functions ever reported: ${[...everReported].join(', ')}`);
  await provider.shutdown();
  await meterProvider.shutdown();
});

test('options: wrong values warned once and clamped; the global MeterProvider looked up at each collection; a failing one never throws', async () => {
  const warnings = captureDiag('warn');
  const processor = new ProfilingSpanProcessor({
    minFlushIntervalMillis: 0,
    exporter: [],
    heap: false,
    uploadPeriodMillis: 600_000,
    metrics: { topFunctions: 500, meterProvider: 'nope' },
  });
  const provider = startTracing(processor);
  const tracer = provider.getTracer('t');
  tracer.startActiveSpan('GET /a', (span) => span.end());
  await processor.forceFlush(); // no global MeterProvider yet: recorded nowhere, no error
  // A MeterProvider registered after profiling started is used from the next collection.
  const { meterProvider, take } = startMetrics();
  api.metrics.setGlobalMeterProvider(meterProvider);
  try {
    tracer.startActiveSpan('GET /a', (span) => {
      heavyHotspot(chunksFor(30));
      span.end();
    });
    await processor.forceFlush();
    const m = await take();
    assert.equal(m['spanprof.endpoint.requests']?.points[0]?.value, 1, 'the second period, through the global provider');
  } finally {
    api.metrics.disable();
  }
  await provider.shutdown();
  await meterProvider.shutdown();
  const w = warnings.filter((l) => l.includes('SPANPROF_W001'));
  assert.equal(w.length, 2, w.join('\n'));
  assert.ok(w.some((l) => l.includes('option metrics.topFunctions: 500 is not accepted (an integer from 1 to 200); using 200')));
  assert.ok(w.some((l) => l.includes('option metrics.meterProvider: "nope"')));

  api.diag.disable();
  const warned = captureDiag('warn');
  assert.equal(new ProfileMetrics({ topFunctions: 0 }).constructor, ProfileMetrics);
  assert.match(warned[0], /metrics\.topFunctions: 0 .*using 1/);
  const p2 = new ProfilingSpanProcessor({ exporter: [], heap: false, metrics: 'yes' });
  await p2.shutdown();
  assert.ok(
    warned.some((l) => l.includes('option metrics: "yes" is not accepted (true, false or { meterProvider, topFunctions }); using false')),
    warned.join('\n'),
  );

  // A MeterProvider that fails: nothing thrown. Given as an exporter, its export fails; as the
  // metrics option, the session warns once (SPANPROF_W009) and the exports are not affected.
  const refusing = {
    getMeter: () => {
      throw new Error('meter refused');
    },
  };
  const broken = new ProfileMetrics({ meterProvider: refusing });
  const result = await broken.export({ start: new Date(), end: new Date(), tags: {}, profiles: [], sequence: 1, requests: { 'GET /': 1 } });
  assert.equal(result.code, ExportResultCode.FAILED);
  assert.equal(result.error.message, 'profiling metrics could not be recorded: Error: meter refused');
  const p3 = new ProfilingSpanProcessor({ exporter: [], heap: false, metrics: { meterProvider: refusing } });
  const provider3 = startTracing(p3);
  provider3.getTracer('t').startActiveSpan('GET /b', (span) => span.end());
  await p3.forceFlush();
  await provider3.shutdown();
  assert.equal(p3.stats().failedExports, 0, 'a metrics fault is not a failed export');
  assert.equal(p3.stats().batches, 2, 'two periods, the processor goes on');
  assert.equal(
    warned.filter((l) => l.includes('SPANPROF_W009') && l.includes('profiling metrics could not be recorded: Error: meter refused')).length,
    1,
    'warned once',
  );
  assert.equal(warned.filter((l) => l.includes('SPANPROF_W005')).length, 0);
});
