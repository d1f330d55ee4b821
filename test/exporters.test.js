'use strict';
// The backend exporters against receivers on 127.0.0.1 that read each request
// the way the backend does (multipart form, gzip, protobuf with the schema,
// pprof with an independent decoder): a known span's samples must arrive with
// their span link, with the batch's tags and time range, and heap profiles too.
const { test, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { OTLPProfileExporter } = require('@spanprof/exporter-otlp');
const { PyroscopeExporter } = require('@spanprof/exporter-pyroscope');
const { DatadogProfileExporter, datadogSpanId } = require('@spanprof/exporter-datadog');
const { startReceiver, contentBody, parseMultipart } = require('./helpers/receiver');
const { decodeOtlpProfiles } = require('./helpers/otlp');
const { decodeProfile } = require('./helpers/pprof');
const { resetTracing } = require('./helpers/otel');
const { captureDiag } = require('./helpers/diag');

const RESOURCE = {
  'service.name': 'checkout',
  'service.version': '1.4.0',
  'deployment.environment.name': 'staging',
};

/** Burns `ms` of CPU time (not wall time: the machine may be busy). */
function burnCharge(ms) {
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const end = cpu() + ms;
  let x = 0;
  while (cpu() < end) for (let i = 0; i < 1000; i++) x = (x * 31 + 7) % 1000003;
  return x;
}

/** Runs one traced request (root + child span burning CPU) through a processor exporting to `exporter`. */
async function profiledRequest(exporter) {
  resetTracing();
  // Every I/O wait, however short: the child span's file read is one.
  const processor = new ProfilingSpanProcessor({ exporter, samplingIntervalMicros: 1000, events: { thresholdMillis: 0 } });
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes(RESOURCE), spanProcessors: [processor] });
  provider.register();
  const tracer = provider.getTracer('test');
  const before = Date.now();
  let ids;
  await tracer.startActiveSpan('GET /cart', { attributes: { 'http.request.method': 'GET' } }, async (root) => {
    await tracer.startActiveSpan('charge', async (child) => {
      await fs.promises.readFile(__filename);
      burnCharge(120);
      ids = { root: root.spanContext().spanId, span: child.spanContext().spanId, trace: root.spanContext().traceId };
      child.end();
    });
    root.setAttribute('http.route', '/cart/:id');
    root.end();
  });
  const shutdownAt = Date.now();
  await provider.shutdown();
  return { ids, before, shutdownAt, after: Date.now() };
}

const envKeys = [];
function setEnv(values) {
  for (const [k, v] of Object.entries(values)) {
    envKeys.push([k, process.env[k]]);
    process.env[k] = v;
  }
}

beforeEach(() => api.diag.disable());
afterEach(() => {
  for (const [k, v] of envKeys.splice(0).reverse()) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetTracing();
});

test('OTLP: one gzipped protobuf request per batch, span links, attributes, resource and scope', async () => {
  const receiver = await startReceiver();
  try {
    const exporter = new OTLPProfileExporter({ url: `${receiver.url}/v1development/profiles`, headers: { 'x-team': 'payments' } });
    const { ids, before, shutdownAt, after } = await profiledRequest(exporter);
    assert.equal(receiver.requests.length, 1);
    const [req] = receiver.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.url.pathname, '/v1development/profiles');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    assert.equal(req.headers['content-encoding'], 'gzip');
    assert.equal(req.headers['x-team'], 'payments');
    const otlp = decodeOtlpProfiles(contentBody(req));

    assert.equal(otlp.resource['service.name'], 'checkout');
    assert.equal(otlp.resource['service.version'], '1.4.0');
    assert.equal(otlp.resource['deployment.environment.name'], 'staging');
    assert.equal(otlp.resource['process.pid'], process.pid);
    assert.equal(otlp.scope.name, 'spanprof');
    const d = otlp.dictionary;
    assert.equal(d.stringTable[0], '', 'string_table[0] is ""');
    assert.deepEqual(
      [d.linkTable[0].traceId.toString('hex'), d.linkTable[0].spanId.toString('hex')],
      ['0'.repeat(32), '0'.repeat(16)],
      'link_table[0] is the zero link, 16 and 8 zero bytes (v1.11)',
    );
    assert.equal(d.stackTable[0].locationIndices.length, 0, 'stack_table[0] is the empty stack');
    assert.equal(d.functionTable[0].nameStrindex, 0);
    assert.equal(d.attributeTable[0].keyStrindex, 0);

    const types = otlp.profiles.map((p) => p.type);
    for (const t of ['wall/nanoseconds', 'cpu/nanoseconds', 'inuse_objects/count', 'inuse_space/bytes']) assert.ok(types.includes(t), `a ${t} profile`);
    const cpu = otlp.profiles.find((p) => p.type === 'cpu/nanoseconds');
    const start = Number(cpu.timeUnixNano / 1_000_000n);
    const end = start + Number(cpu.durationNano / 1_000_000n);
    assert.ok(start >= before - 1000 && start <= before + 50, 'starts when profiling started');
    assert.ok(end >= shutdownAt - 5 && end <= after + 5, 'ends at the shutdown');
    const mine = cpu.samples.filter((s) => s.spanId === ids.span);
    const events = mine.reduce((n, s) => n + s.values.length, 0);
    assert.ok(events >= 30, `samples linked to the span: ${events} (in ${mine.length} combined samples)`);
    for (const s of mine) {
      assert.equal(s.traceId, ids.trace);
      assert.equal(s.attributes.local_root_span_id, ids.root);
      assert.equal(s.attributes.trace_endpoint, 'GET /cart/:id');
      assert.equal(s.attributes.span_id, undefined, 'the span travels as a link, not an attribute');
      assert.deepEqual([s.attributes['thread.id'], s.attributes['thread.name']], [0, 'main'], 'the thread under semantic-convention names');
      assert.equal(s.attributes.thread_id, undefined);
      // Each event's time in the sample's own field, one per value, within the batch's period.
      assert.equal(s.timestamps.length, s.values.length, 'a timestamp per value');
      for (const t of s.timestamps) assert.ok(t >= cpu.timeUnixNano && t <= cpu.timeUnixNano + cpu.durationNano + 5_000_000n, `timestamp ${t} in the period`);
      assert.equal(s.attributes.end_timestamp_ns, undefined, 'the time is not an attribute');
    }
    const cpuNanos = mine.reduce((n, s) => n + s.value, 0);
    assert.ok(cpuNanos > 80e6 && cpuNanos < 300e6, `the span's CPU time ~120 ms, got ${cpuNanos / 1e6}`);
    assert.ok(
      mine.some((s) => s.stack.some((f) => f.name === 'burnCharge' && f.file === __filename)),
      'its hot function with file',
    );
    // v1.11: samples of one identity (stack, attributes, link) are one sample, a value per event.
    for (const p of otlp.profiles) assert.equal(new Set(p.samples.map((s) => s.identity)).size, p.samples.length, `${p.type}: one sample per identity`);
    assert.ok(
      otlp.profiles.some((p) => p.samples.some((s) => s.values.length > 1)),
      'repeated samples were combined',
    );
    const heap = otlp.profiles.find((p) => p.type === 'inuse_space/bytes');
    assert.ok(heap.samples.length > 0 && heap.samples.every((s) => s.spanId === undefined), 'heap samples, unlinked');
  } finally {
    await receiver.close();
  }
});

test('OTLP: endpoint, headers, timeout and compression from the OTEL_EXPORTER_OTLP_* variables; bad values warned', async () => {
  const receiver = await startReceiver();
  try {
    setEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/base/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret,x-a=1',
      OTEL_EXPORTER_OTLP_PROFILES_HEADERS: 'x-a=2',
      OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_TIMEOUT: 'soon',
    });
    const warnings = captureDiag();
    const exporter = new OTLPProfileExporter();
    assert.equal(exporter.url.href, `${receiver.url}/base/v1development/profiles`);
    assert.ok(
      warnings.some((w) => w.includes('OTEL_EXPORTER_OTLP_TIMEOUT') && w.includes('positive integer')),
      warnings.join('\n'),
    );
    await profiledRequest(exporter);
    const [req] = receiver.requests;
    assert.equal(req.url.pathname, '/base/v1development/profiles');
    assert.equal(req.headers.authorization, 'Bearer s3cret');
    assert.equal(req.headers['x-a'], '2', 'the profiles variable wins over the generic one');
    assert.equal(req.headers['content-encoding'], undefined);
    assert.ok(decodeOtlpProfiles(req.body).profiles.length >= 3);
    assert.ok(!warnings.join('\n').includes('s3cret'), 'no secret in the logs');

    setEnv({ OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: `${receiver.url}/exact` });
    assert.equal(new OTLPProfileExporter().url.href, `${receiver.url}/exact`, 'the signal endpoint is used as is');
  } finally {
    await receiver.close();
  }
});

test('Pyroscope: /ingest per profile, multipart `profile` part, app name with tags, span_id per sample, auth headers', async () => {
  const receiver = await startReceiver();
  try {
    setEnv({
      PYROSCOPE_SERVER_ADDRESS: receiver.url,
      PYROSCOPE_TENANT_ID: 'team-a',
      PYROSCOPE_BASIC_AUTH_USER: '123456',
      PYROSCOPE_BASIC_AUTH_PASSWORD: 'glc_s3cret',
    });
    const warnings = captureDiag();
    const exporter = new PyroscopeExporter({ tags: { region: 'eu-west-1', 'bad key': 'x', team: 'a,b' } });
    const { ids, before, shutdownAt, after } = await profiledRequest(exporter);
    assert.equal(receiver.requests.length, 2, 'wall and heap, one request each');
    const log = warnings.join('\n');
    assert.match(log, /tag key "bad key" refused/);
    assert.match(log, /value of tag "team"/);
    assert.ok(!log.includes('glc_s3cret'));

    const byName = {};
    for (const req of receiver.requests) {
      assert.equal(req.url.pathname, '/ingest');
      assert.equal(req.url.searchParams.get('format'), null, 'multipart uploads carry no format parameter');
      assert.equal(
        req.url.searchParams.get('name'),
        'checkout{service_version=1.4.0,deployment_environment_name=staging,host_name=' + require('node:os').hostname() + ',region=eu-west-1}',
      );
      assert.equal(req.url.searchParams.get('spyName'), 'nodespy');
      const from = Number(req.url.searchParams.get('from'));
      const until = Number(req.url.searchParams.get('until'));
      assert.ok(from >= Math.floor(before / 1000) - 1 && from <= Math.ceil(before / 1000), 'from: start of the period, in seconds');
      assert.ok(until >= Math.floor(shutdownAt / 1000) && until <= Math.ceil(after / 1000) + 1, 'until: its end');
      assert.equal(req.headers['x-scope-orgid'], 'team-a');
      assert.equal(req.headers.authorization, `Basic ${Buffer.from('123456:glc_s3cret').toString('base64')}`);
      assert.match(req.headers['content-type'], /^multipart\/form-data; boundary=/);
      const parts = await parseMultipart(req);
      assert.deepEqual(Object.keys(parts), ['profile']);
      assert.equal(parts.profile.data[0], 0x1f, 'gzipped pprof');
      const profile = decodeProfile(parts.profile.data);
      byName[profile.sampleTypes.join(',')] = profile;
    }
    const wall = byName['sample/count,wall/nanoseconds,cpu/nanoseconds'];
    assert.ok(wall, Object.keys(byName).join(' | '));
    assert.ok(byName['inuse_objects/count,inuse_space/bytes'], 'the heap profile');
    // Grafana selects a trace's samples by its local root's ID: the child span's samples are among them.
    const inChild = wall.samples.filter((s) => s.stack.some((f) => f.name === 'burnCharge'));
    assert.ok(inChild.length >= 30, `samples in the child span's code: ${inChild.length}`);
    for (const s of inChild) {
      assert.deepEqual(s.labels, { span_id: ids.root, trace_endpoint: 'GET /cart/:id', thread_name: 'main' }, 'span_id is the local root span');
    }
    assert.ok(!wall.samples.some((s) => s.labels.span_id === ids.span), "the child's own ID is not sent by default");
    assert.ok(
      wall.samples.every((s) => s.labels.trace_id === undefined && s.labels.local_root_span_id === undefined),
      'no per-trace series labels',
    );
  } finally {
    await receiver.close();
  }
});

test('Pyroscope: bearer token; sampleLabels opts trace_id and the active span in', async () => {
  const receiver = await startReceiver();
  try {
    setEnv({ PYROSCOPE_AUTH_TOKEN: 'psx-token', PYROSCOPE_APPLICATION_NAME: 'cart.api' });
    const exporter = new PyroscopeExporter({ url: `${receiver.url}/pyro/`, sampleLabels: ['span_id', 'trace_id', 'active_span_id'] });
    const { ids } = await profiledRequest(exporter);
    const [req] = receiver.requests;
    assert.equal(req.url.pathname, '/pyro/ingest');
    assert.match(req.url.searchParams.get('name'), /^cart\.api\{/);
    assert.equal(req.headers.authorization, 'Bearer psx-token');
    const wall = decodeProfile((await parseMultipart(req)).profile.data);
    const mine = wall.samples.filter((s) => s.labels.active_span_id === ids.span);
    assert.ok(mine.length > 0 && mine.every((s) => s.labels.trace_id === ids.trace && s.labels.span_id === ids.root));
  } finally {
    await receiver.close();
  }
});

test('Datadog: /profiling/v1/input with event.json, wall.pprof, space.pprof and events.pprof; Code Hotspots labels as 64-bit IDs; the timeline', async () => {
  const receiver = await startReceiver();
  try {
    setEnv({ DD_TRACE_AGENT_URL: receiver.url, DD_TAGS: 'team:payments,region:eu', DD_ENV: 'prod' });
    const exporter = new DatadogProfileExporter();
    const { ids, before, shutdownAt, after } = await profiledRequest(exporter);
    assert.equal(receiver.requests.length, 1);
    const [req] = receiver.requests;
    assert.equal(req.url.pathname, '/profiling/v1/input');
    assert.equal(req.headers['dd-evp-origin'], 'spanprof');
    const parts = await parseMultipart(req);
    assert.deepEqual(Object.keys(parts).sort(), ['event', 'events.pprof', 'space.pprof', 'wall.pprof']);
    assert.equal(parts.event.filename, 'event.json');
    assert.equal(parts.event.mimeType, 'application/json');
    assert.equal(parts['wall.pprof'].filename, 'wall.pprof');
    const event = JSON.parse(parts.event.data);
    assert.deepEqual(event.attachments, ['wall.pprof', 'space.pprof', 'events.pprof']);
    assert.equal(event.family, 'node');
    assert.equal(event.version, '4');
    assert.ok(Date.parse(event.start) >= before - 1000 && Date.parse(event.start) <= before + 50);
    assert.ok(Date.parse(event.end) >= shutdownAt - 5 && Date.parse(event.end) <= after + 5);
    const tags = Object.fromEntries(event.tags_profiler.split(',').map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)]));
    assert.equal(tags.service, 'checkout');
    assert.equal(tags.env, 'prod', 'DD_ENV wins over the resource');
    assert.equal(tags.version, '1.4.0');
    assert.equal(tags.host, require('node:os').hostname());
    assert.equal(tags.runtime, 'nodejs');
    assert.equal(tags.team, 'payments');
    assert.equal(tags.region, 'eu');

    const wall = decodeProfile(parts['wall.pprof'].data);
    const unsigned = (v) => BigInt.asUintN(64, v).toString(10);
    const mine = wall.samples.filter((s) => typeof s.labels['span id'] === 'bigint' && unsigned(s.labels['span id']) === datadogSpanId(ids.span));
    assert.ok(mine.length >= 30, `samples of the span: ${mine.length}`);
    assert.equal(datadogSpanId(ids.span), BigInt.asUintN(64, BigInt(`0x${ids.span}`)).toString(10));
    for (const s of mine) {
      assert.equal(unsigned(s.labels['local root span id']), datadogSpanId(ids.root));
      assert.equal(s.labels['trace endpoint'], 'GET /cart/:id');
      assert.deepEqual([s.labels['thread id'], s.labels['thread name']], ['0', 'main'], "Datadog's thread labels");
      assert.equal(s.labels.thread_id, undefined);
      assert.equal(s.labels.span_id, undefined);
      assert.equal(s.labels.trace_id, undefined);
    }
    // The timeline: every wall sample at its time, and the I/O wait as Datadog's event.
    for (const s of mine) assert.equal(typeof s.labels.end_timestamp_ns, 'bigint');
    const space = decodeProfile(parts['space.pprof'].data);
    assert.deepEqual(space.sampleTypes, ['inuse_objects/count', 'inuse_space/bytes']);
    const timeline = decodeProfile(parts['events.pprof'].data);
    assert.deepEqual(timeline.sampleTypes, ['timeline/nanoseconds']);
    const read = timeline.samples.find((s) => s.labels.event === 'fs' && s.labels.operation === 'readFile');
    assert.ok(read, `the file read: ${JSON.stringify(timeline.samples.map((s) => s.labels.operation ?? s.labels.event))}`);
    assert.equal(read.labels.path, __filename);
    assert.equal(unsigned(read.labels['span id']), datadogSpanId(ids.span));
    assert.equal(unsigned(read.labels['local root span id']), datadogSpanId(ids.root));
    const end = Number(read.labels.end_timestamp_ns / 1_000_000n);
    assert.ok(end >= before && end <= after, 'ends within the period');
    assert.ok(
      timeline.samples.every((s) => ['fs', 'dns', 'net', 'gc'].includes(s.labels.event)),
      'only the kinds Datadog shows',
    );
  } finally {
    await receiver.close();
  }
});

test('datadogSpanId reads the 8 bytes as an unsigned big-endian integer', () => {
  assert.equal(datadogSpanId('0000000000000001'), '1');
  assert.equal(datadogSpanId('ffffffffffffffff'), '18446744073709551615');
  assert.equal(datadogSpanId('8000000000000000'), '9223372036854775808');
  assert.equal(datadogSpanId('00f067aa0ba902b7'), String(0x00f067aa0ba902b7n));
});

test('several exporters at once: file, OTLP and Datadog each get the batch; one failing does not stop the others', async () => {
  const ok = await startReceiver();
  const failing = await startReceiver([{ status: 400, body: 'bad profile\nmore' }]);

  const os = require('node:os');
  const path = require('node:path');
  const { FileExporter } = require('@spanprof/core');
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-multi-'));
    const warnings = captureDiag();
    await profiledRequest([
      new FileExporter({ directory: dir }),
      new OTLPProfileExporter({ url: `${failing.url}/v1development/profiles` }),
      new DatadogProfileExporter({ url: ok.url }),
    ]);
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.wall.pb.gz')).length, 1);
    assert.equal(ok.requests.length, 1);
    assert.equal(failing.requests.length, 1, '400 is not retried');
    assert.ok(
      warnings.some((w) => w.includes('answered 400: bad profile') && !w.includes('more')),
      warnings.join('\n'),
    );
  } finally {
    await ok.close();
    await failing.close();
  }
});
