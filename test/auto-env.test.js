'use strict';
// The SPANPROF_* environment layer (@spanprof/auto): what each variable does, one
// clear warning per wrong value (naming the variable, what it accepts and what
// is used instead), and a processor that profiles to the exporters named.
const { test, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const api = require('@opentelemetry/api');
const { readSpanprofEnv, profilingSpanProcessorFromEnv } = require('@spanprof/auto');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { startTracing, resetTracing } = require('./helpers/otel');
const { startReceiver, contentBody } = require('./helpers/receiver');
const { decodeOtlpProfiles } = require('./helpers/otlp');
const { readProfiles } = require('./helpers/pprof');
const { captureDiag } = require('./helpers/diag');

beforeEach(() => api.diag.disable());
afterEach(() => {
  api.diag.disable();
  resetTracing();
});

test('defaults: enabled, the file exporter, no option overridden', () => {
  assert.deepEqual(readSpanprofEnv({}), { enabled: true, exporters: ['file'], profilesDir: undefined, options: {}, shutdownTimeoutMillis: 5000, problems: [] });
});

test('every variable read', () => {
  const c = readSpanprofEnv({
    SPANPROF_ENABLED: 'true',
    SPANPROF_EXPORTER: ' otlp, file ,OTLP,datadog',
    SPANPROF_PROFILES_DIR: '/var/profiles',
    SPANPROF_SAMPLING_INTERVAL_MICROS: '1000',
    SPANPROF_UPLOAD_PERIOD_MILLIS: '15000',
    SPANPROF_CPU_TIME: 'no',
    SPANPROF_HEAP: 'off',
    SPANPROF_METRICS: 'yes',
    SPANPROF_SHUTDOWN_TIMEOUT_MILLIS: '2500',
  });
  assert.deepEqual(c, {
    enabled: true,
    exporters: ['otlp', 'file', 'datadog'],
    profilesDir: '/var/profiles',
    options: { samplingIntervalMicros: 1000, uploadPeriodMillis: 15000, cpuTime: false, heap: false, metrics: true },
    shutdownTimeoutMillis: 2500,
    problems: [],
  });
  assert.equal(readSpanprofEnv({ SPANPROF_ENABLED: '0' }).enabled, false);
  assert.equal(readSpanprofEnv({ SPANPROF_METRICS: 'false' }).options.metrics, false);
  const wrong = readSpanprofEnv({ SPANPROF_METRICS: 'sure' });
  assert.deepEqual(wrong.options, { metrics: false });
  assert.match(wrong.problems[0], /^SPANPROF_METRICS="sure": expected true or false .*; profiling metrics stay off \(the default\)$/);
});

test('wrong values: one problem each, naming the variable, what it accepts and what is used', () => {
  const c = readSpanprofEnv({
    SPANPROF_ENABLED: 'maybe',
    SPANPROF_EXPORTER: 'otlp,jaeger,zipkin',
    SPANPROF_SAMPLING_INTERVAL_MICROS: '10ms',
    SPANPROF_UPLOAD_PERIOD_MILLIS: '-5',
    SPANPROF_HEAP: 'sometimes',
  });
  assert.equal(c.enabled, true);
  assert.deepEqual(c.exporters, ['otlp']);
  assert.deepEqual(c.options, { heap: true });
  assert.equal(c.problems.length, 5, c.problems.join('\n'));
  const [enabled, exporter, sampling, period, heap] = c.problems;
  assert.match(enabled, /^SPANPROF_ENABLED="maybe": expected true or false .*; profiling stays on \(the default\)$/);
  assert.match(exporter, /^SPANPROF_EXPORTER: "jaeger", "zipkin" not known; accepted: file, otlp, pyroscope, datadog \(comma-separated\); using otlp$/);
  assert.match(sampling, /^SPANPROF_SAMPLING_INTERVAL_MICROS="10ms": expected a positive integer; using the default$/);
  assert.match(period, /^SPANPROF_UPLOAD_PERIOD_MILLIS="-5": expected a positive integer/);
  assert.match(heap, /^SPANPROF_HEAP="sometimes": .*the heap profile stays on/);
  assert.match(readSpanprofEnv({ SPANPROF_EXPORTER: 'nope' }).problems[0], /using file \(the default\)$/);
});

test('a misspelled SPANPROF_ variable is named, with the variable it likely meant', () => {
  const c = readSpanprofEnv({
    SPANPROF_EXPORTERS: 'otlp',
    SPANPROF_PROFILE_DIR: '/tmp/p',
    SPANPROF_WHATEVER_THIS_IS: '1',
    SPANPROFILER: 'x',
    SPANPROF_ENABLED: 'true',
  });
  assert.deepEqual(c.exporters, ['file'], 'the misspelled variable is not read');
  assert.equal(c.profilesDir, undefined);
  assert.equal(c.problems.length, 3, c.problems.join('\n'));
  assert.match(c.problems[0], /^SPANPROF_EXPORTERS is not a spanprof variable and is ignored; did you mean SPANPROF_EXPORTER\? Known: SPANPROF_ENABLED, /);
  assert.match(c.problems[1], /^SPANPROF_PROFILE_DIR is not a spanprof variable and is ignored; did you mean SPANPROF_PROFILES_DIR\? /);
  assert.match(c.problems[2], /^SPANPROF_WHATEVER_THIS_IS is not a spanprof variable and is ignored\. Known: /);
});

test('problems are logged once each as SPANPROF_W001 warnings when the processor is built', async () => {
  const warnings = captureDiag('info');
  const processor = profilingSpanProcessorFromEnv(
    {},
    { SPANPROF_CPU_TIME: 'bogus', SPANPROF_PROFILES_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-auto-')) },
  );
  await processor.shutdown();
  const warned = warnings.filter((w) => w.startsWith('warn'));
  assert.equal(warned.length, 1, warnings.join('\n'));
  assert.match(warned[0], /SPANPROF_W001 SPANPROF_CPU_TIME="bogus": expected true or false/);
});

test('the processor from the environment profiles into SPANPROF_PROFILES_DIR and, with otlp, to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-auto-'));
  const receiver = await startReceiver();
  // The OTLP exporter reads its own variables when it is built.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  try {
    const processor = profilingSpanProcessorFromEnv(
      {},
      {
        SPANPROF_EXPORTER: 'file,otlp',
        SPANPROF_PROFILES_DIR: dir,
        SPANPROF_SAMPLING_INTERVAL_MICROS: '1000',
        SPANPROF_HEAP: 'false',
      },
    );
    assert.ok(processor instanceof ProfilingSpanProcessor);
    const { provider } = startTracing([processor]);
    let spanId;
    await provider.getTracer('t').startActiveSpan('work', async (span) => {
      await null;
      spanId = span.spanContext().spanId;
      const end = performance.now() + 60;
      while (performance.now() < end);
      span.end();
    });
    await provider.shutdown();
    const files = readProfiles(dir, 'wall');
    assert.ok(
      files.some((p) => p.samples.some((s) => s.labels.span_id === spanId)),
      'the file exporter wrote the span',
    );
    assert.equal(readProfiles(dir, 'heap').length, 0, 'SPANPROF_HEAP=false');
    assert.equal(receiver.requests.length, 1, 'the OTLP exporter sent the batch');
    assert.equal(receiver.requests[0].url.pathname, '/v1development/profiles');
    const otlp = decodeOtlpProfiles(contentBody(receiver.requests[0]));
    assert.ok(otlp.profiles.find((p) => p.type === 'wall/nanoseconds').samples.some((s) => s.spanId === spanId));
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    await receiver.close();
  }
});

test('SPANPROF_ENABLED=false: a processor that does nothing, and the app runs', async () => {
  const lines = captureDiag('info');
  const processor = profilingSpanProcessorFromEnv({}, { SPANPROF_ENABLED: 'false' });
  assert.ok(!(processor instanceof ProfilingSpanProcessor));
  assert.ok(lines.some((l) => l.includes('profiling is off')));
  const { provider } = startTracing([processor]);
  await provider.getTracer('t').startActiveSpan('work', async (span) => span.end());
  await provider.shutdown();
});

test('SPANPROF_METRICS=true: profiling metrics go to the global MeterProvider', async () => {
  const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
  const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  api.metrics.setGlobalMeterProvider(meterProvider);
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-auto-'));
    const processor = profilingSpanProcessorFromEnv({}, { SPANPROF_METRICS: 'true', SPANPROF_PROFILES_DIR: dir, SPANPROF_HEAP: 'false' });
    const { provider } = startTracing([processor]);
    provider.getTracer('t').startActiveSpan('nightly-report', (span) => span.end());
    await provider.shutdown();
    await reader.forceFlush();
    const names = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const requests = names.find((m) => m.descriptor.name === 'spanprof.endpoint.requests');
    assert.ok(requests, `metrics: ${names.map((m) => m.descriptor.name).join(', ')}`);
    assert.deepEqual(
      requests.dataPoints.map((p) => [p.attributes['spanprof.trace.endpoint'], p.value]),
      [['nightly-report', 1]],
    );
  } finally {
    api.metrics.disable();
    await meterProvider.shutdown();
  }
});

test("the bundle's resource detectors: Google Cloud's only where Google Cloud is likely, or when asked for", () => {
  const { resourceDetectors } = require('@spanprof/auto');
  const names = (env) => resourceDetectors(env).map((d) => d.constructor.name);
  const onGoogle = (() => {
    try {
      return /google/i.test(fs.readFileSync('/sys/class/dmi/id/product_name', 'utf8'));
    } catch {
      return false;
    }
  })();
  const unset = names({});
  assert.ok(unset.includes('HostDetector') && unset.includes('EnvDetector') && unset.includes('AwsEc2Detector'), unset.join(' '));
  assert.equal(unset.includes('GcpDetector'), onGoogle, 'offline, no metadata server probe (and no MetadataLookupWarning) at every start');
  assert.equal(process.env.OTEL_NODE_RESOURCE_DETECTORS, undefined, 'the environment is left as it was');
  // Asked for: the bundle's own routine reads the variable (unset in this process: its `all`).
  assert.ok(names({ OTEL_NODE_RESOURCE_DETECTORS: 'all' }).includes('GcpDetector'), 'all, asked for, keeps it');
  assert.ok(names({ K_SERVICE: 'checkout' }).includes('GcpDetector'), 'Cloud Run');
});

/** Runs `code` (or the bundle with `--require`) in a child with `env` and no diag logger; its stderr. */
function stderrOf(args, env) {
  const { spawnSync } = require('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-auto-'));
  try {
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: path.join(__dirname, '..'),
      env: { ...process.env, SPANPROF_PROFILES_DIR: dir, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BAD_SETTINGS = {
  SPANPROF_EXPORTER: 'otlp,pyroscope',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'collector.internal:4318',
  OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli',
  OTEL_EXPORTER_OTLP_TIMEOUT: '10s',
  OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s3cret,broken',
  PYROSCOPE_SERVER_ADDRESS: 'pyroscope:4040',
  PYROSCOPE_APPLICATION_NAME: 'my app',
  SPANPROF_SAMPLNG_INTERVAL_MICROS: '1000',
};

/** Each bad setting is one process warning (SPANPROF_W001) naming the variable and what is used instead; how many were said. */
function assertEveryProblemSaid(stderr) {
  const said = (pattern) => assert.match(stderr, pattern, stderr);
  said(
    /\[SPANPROF_W001\] Warning: OTLPProfileExporter OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL \(it has no scheme: did you mean http:\/\/collector\.internal:4318\?\); using http:\/\/localhost:4318\/v1development\/profiles/,
  );
  said(/\[SPANPROF_W001\] Warning: OTLPProfileExporter OTEL_EXPORTER_OTLP_COMPRESSION="brotli": expected "gzip" or "none"; using "gzip"/);
  said(/\[SPANPROF_W001\] Warning: environment variable OTEL_EXPORTER_OTLP_TIMEOUT="10s": expected a positive integer .*; using 10000/);
  said(/\[SPANPROF_W001\] Warning: environment variable OTEL_EXPORTER_OTLP_HEADERS: 1 entry is not key=value and was skipped/);
  said(
    /\[SPANPROF_W001\] Warning: PyroscopeExporter option url \(or serverAddress, PYROSCOPE_SERVER_ADDRESS\): expected an http:\/\/ or https:\/\/ URL \(it has no scheme: did you mean http:\/\/pyroscope:4040\?\); using http:\/\/localhost:4040/,
  );
  said(/\[SPANPROF_W001\] Warning: PyroscopeExporter appName \(or PYROSCOPE_APPLICATION_NAME\) "my app": .*; using the resource's service\.name/);
  said(
    /\[SPANPROF_W001\] Warning: SPANPROF_SAMPLNG_INTERVAL_MICROS is not a spanprof variable and is ignored; did you mean SPANPROF_SAMPLING_INTERVAL_MICROS\?/,
  );
  assert.ok(!stderr.includes('s3cret'), 'no header value in any warning');
  const lines = stderr.split('\n').filter((l) => l.includes('[SPANPROF_W001]'));
  for (const line of lines) assert.equal(stderr.split(line).length - 1, 1, `said once: ${line}`);
  return lines.length;
}

test('bad exporter and spanprof settings are process warnings at start, with no logger: under the bundle', (t) => {
  const n = assertEveryProblemSaid(stderrOf(['--require', '@spanprof/auto/register', '-e', 'setTimeout(() => process.exit(0), 50)'], BAD_SETTINGS));
  t.diagnostic(`figure [item 5]: bundle: ${n} process warnings for 7 bad settings, each once`);
});

test('bad exporter and spanprof settings are process warnings at start, with no logger: profilingSpanProcessorFromEnv', (t) => {
  const code = "const p = require('@spanprof/auto').profilingSpanProcessorFromEnv(); setTimeout(() => p.shutdown().then(() => process.exit(0)), 50);";
  const n = assertEveryProblemSaid(stderrOf(['-e', code], BAD_SETTINGS));
  t.diagnostic(`figure [item 5]: profilingSpanProcessorFromEnv: ${n} process warnings for 7 bad settings, each once`);
});
