'use strict';
// The ways users start spanprof, each as a real process: the examples (NodeSDK
// in code, the --require and --import bundle, Express, Fastify and Koa with
// their spanprof middleware), driven with concurrent requests on 127.0.0.1,
// stopped with SIGTERM, their profiles decoded by the independent decoder.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readProfiles } = require('./helpers/pprof');
const { startReceiver } = require('./helpers/receiver');
const { drive, start, traceExportEnv } = require('./helpers/service');
const { node24 } = require('./helpers/runtimes');

const ROOT = path.join(__dirname, '..');
const USERS = 'GET /users/:id';
const ORDERS = 'GET /orders/:orderId/items';

function workload(n, tenants) {
  const requests = [];
  for (let i = 0; i < n; i++) {
    requests.push({ url: `/users/${1000 + i}`, headers: tenants ? { 'x-tenant': `t${i % 3}` } : {} });
    requests.push({ url: `/orders/${5000 + i}/items?coupon=secret${i}`, headers: {} });
  }
  return requests;
}

/** Samples with `fn` anywhere on their stack. */
const within = (samples, fn) => samples.filter((s) => s.stack.some((f) => f && f.name === fn));
const share = (samples, pred) => samples.filter(pred).length / samples.length;

/** OTLP/JSON trace requests → server spans received. */
function serverSpans(receiver) {
  let n = 0;
  for (const r of receiver.requests) {
    const body = JSON.parse(r.body.toString('utf8'));
    for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) if (s.kind === 2) n++;
  }
  return n;
}

function checkLabels(samples, { users, orders, tenants }) {
  const u = within(samples, 'renderUser');
  const o = within(samples, 'priceOrder');
  assert.ok(u.length >= 20 && o.length >= 20, `hotspot samples: renderUser ${u.length}, priceOrder ${o.length}`);
  for (const [name, list, endpoint] of [
    ['renderUser', u, users],
    ['priceOrder', o, orders],
  ]) {
    const right = share(list, (s) => s.labels.trace_endpoint === endpoint && /^[0-9a-f]{16}$/.test(s.labels.span_id ?? ''));
    assert.ok(right >= 0.995, `${name}: ${(right * 100).toFixed(2)}% of ${list.length} samples labelled ${endpoint} with a span`);
  }
  if (tenants) {
    assert.ok(share(u, (s) => /^t[012]$|^last$/.test(s.labels.tenant ?? '')) >= 0.995, 'users samples carry the tenant label');
    assert.equal(o.filter((s) => s.labels.tenant !== undefined).length, 0, 'no tenant label where no header came');
  }
  // Never the raw URL: no IDs, no query strings in any label.
  for (const s of samples) {
    for (const v of Object.values(s.labels)) {
      assert.ok(!/\/users\/\d|\/orders\/\d|secret|\?/.test(String(v)), `label value ${v} holds a raw URL`);
    }
  }
}

async function runExample(name, file, { flags, tenants, users = USERS, orders = ORDERS, bundle = true, node }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `spanprof-${name}-`));
  const traces = bundle ? await startReceiver() : undefined;
  const env = { SPANPROF_PROFILES_DIR: dir, OTEL_SERVICE_NAME: `example-${name}` };
  if (traces !== undefined) {
    // HTTP instrumentation only: the middleware must find the route itself.
    Object.assign(env, traceExportEnv(traces.url));
  }
  const app = start(file, { flags, env, node });
  try {
    const port = await app.listening;
    const requests = workload(40, tenants);
    await drive(port, requests);
    // A last burst, then SIGTERM at once: the final profile must hold it.
    const last = Array.from({ length: 10 }, (_, i) => ({ url: `/users/${9000 + i}`, headers: tenants ? { 'x-tenant': 'last' } : {} }));
    await drive(port, last, 10);
    app.child.kill('SIGTERM');
    const { signal } = await app.exited;
    assert.equal(signal, 'SIGTERM', `${name} ends as SIGTERM asks (stderr: ${app.out.stderr})`);
    const wall = readProfiles(dir, 'wall');
    assert.ok(wall.length >= 1, 'a wall profile was written');
    assert.ok(readProfiles(dir, 'heap').length >= 1, 'a heap profile was written');
    const samples = wall.flatMap((p) => p.samples);
    checkLabels(samples, { users, orders, tenants });
    if (tenants)
      assert.ok(
        within(samples, 'renderUser').some((s) => s.labels.tenant === 'last'),
        'the requests just before SIGTERM are in the final profile',
      );
    if (traces !== undefined) {
      assert.equal(serverSpans(traces), requests.length + last.length, 'every server span was flushed at SIGTERM');
    }
    return { samples, stderr: app.out.stderr };
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await traces?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const REGISTER = ['--require', '@spanprof/auto/register'];

test('example: NodeSDK set up in code (Express, auto-instrumentations, ProfilingSpanProcessor)', async () => {
  await runExample('nodesdk', path.join(ROOT, 'examples/nodesdk/app.js'), { flags: ['--require', './telemetry.js'], bundle: false });
});

test('example: --require @spanprof/auto/register, CommonJS node:http app', async () => {
  // No route is known to plain node:http: the endpoint is the server span's name.
  await runExample('auto-cjs', path.join(ROOT, 'examples/auto-register/app.js'), { flags: REGISTER, users: 'GET', orders: 'GET' });
});

test('example: --import @spanprof/auto/register, ES module node:http app', async () => {
  await runExample('auto-esm', path.join(ROOT, 'examples/auto-register/app.mjs'), {
    flags: ['--import', '@spanprof/auto/register'],
    users: 'GET',
    orders: 'GET',
  });
});

for (const fw of ['express', 'fastify', 'koa']) {
  test(`example: ${fw} with @spanprof/${fw}: route templates and custom labels under concurrent load, without the ${fw} instrumentation`, async () => {
    await runExample(fw, path.join(ROOT, `examples/${fw}/app.js`), { flags: REGISTER, tenants: true });
  });
}

test('Node 24 (AsyncContextFrame): the express example under --require, and the ES module bundle', async () => {
  const node = node24();
  await runExample('express-node24', path.join(ROOT, 'examples/express/app.js'), { flags: REGISTER, tenants: true, node });
  await runExample('auto-esm-node24', path.join(ROOT, 'examples/auto-register/app.mjs'), {
    flags: ['--import', '@spanprof/auto/register'],
    users: 'GET',
    orders: 'GET',
    node,
  });
});

const FIXTURE = path.join(__dirname, 'fixtures/auto/app.cjs');

async function getOnce(port) {
  const res = await fetch(`http://127.0.0.1:${port}/x`);
  assert.equal(res.status, 200);
  await res.text();
}

test('bundle: the app handling SIGTERM itself still decides; the final profile is flushed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-own-signal-'));
  const app = start(FIXTURE, { flags: REGISTER, env: { APP_SIGNAL_HANDLER: '1', SPANPROF_PROFILES_DIR: dir } });
  try {
    const port = await app.listening;
    for (let i = 0; i < 20; i++) await getOnce(port);
    app.child.kill('SIGTERM');
    const { code, signal } = await app.exited;
    assert.match(app.out.stdout, /app: SIGTERM, closing/);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'the app closed its server and the process ended by itself');
    const samples = readProfiles(dir, 'wall').flatMap((p) => p.samples);
    assert.ok(within(samples, 'renderUser').length > 0, 'the final profile holds the requests');
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bundle: an app that also starts its own profiling SDK gets a warning, and one profiler runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-bundle-'));
  const second = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-second-'));
  const app = start(FIXTURE, { flags: REGISTER, env: { DOUBLE_SDK: second, SPANPROF_PROFILES_DIR: dir } });
  try {
    const port = await app.listening;
    for (let i = 0; i < 20; i++) await getOnce(port);
    app.child.kill('SIGTERM');
    await app.exited;
    assert.match(app.out.stderr, /SPANPROF_W002.*started by @spanprof\/auto\/register/);
    assert.equal(fs.readdirSync(second).length, 0, "the app's own processor did not start a second profiler");
    const samples = readProfiles(dir, 'wall').flatMap((p) => p.samples);
    const labelled = within(samples, 'renderUser').filter((s) => s.labels.span_id !== undefined);
    assert.ok(labelled.length > 0, "the bundle's profiler labels the requests");
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(second, { recursive: true, force: true });
  }
});

test('bundle: a wrong SPANPROF_* value is one clear warning and the app still starts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-badenv-'));
  const app = start(FIXTURE, {
    flags: REGISTER,
    env: { SPANPROF_PROFILES_DIR: dir, SPANPROF_SAMPLING_INTERVAL_MICROS: 'fast', SPANPROF_EXPORTER: 'file,jaeger' },
  });
  try {
    const port = await app.listening;
    await getOnce(port);
    app.child.kill('SIGTERM');
    await app.exited;
    const warnings = app.out.stderr.split('\n').filter((l) => l.includes('SPANPROF_W001'));
    assert.equal(warnings.length, 2, app.out.stderr);
    assert.match(app.out.stderr, /SPANPROF_SAMPLING_INTERVAL_MICROS="fast": expected a positive integer; using the default/);
    assert.match(app.out.stderr, /SPANPROF_EXPORTER: "jaeger" not known; accepted: file, otlp, pyroscope, datadog/);
    assert.ok(readProfiles(dir, 'wall').length >= 1, 'profiling went on with the defaults');
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bundle: a flush at exit held up by an OTLP endpoint that never answers ends at SPANPROF_SHUTDOWN_TIMEOUT_MILLIS with a warning saying why', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-stuck-exit-'));
  // A collector address that accepts connections and never answers: the SDK's default OTLP
  // metrics exporter waits on it, as it does on a collector that is not there.
  const silent = require('node:net').createServer(() => {});
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  const endpoint = `http://127.0.0.1:${silent.address().port}/v1/metrics`;
  const app = start(FIXTURE, {
    flags: REGISTER,
    env: { SPANPROF_PROFILES_DIR: dir, SPANPROF_SHUTDOWN_TIMEOUT_MILLIS: '1000', OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint },
  });
  try {
    const port = await app.listening;
    for (let i = 0; i < 5; i++) await getOnce(port);
    app.child.kill('SIGTERM');
    const { signal } = await app.exited;
    assert.equal(signal, 'SIGTERM', 'the process ended as the signal would have');
    assert.match(app.out.stderr, /\[SPANPROF_W007\] Warning: .*SPANPROF_SHUTDOWN_TIMEOUT_MILLIS=1000 ms; exiting without it\. .*OTEL_METRICS_EXPORTER=none/);
    assert.ok(readProfiles(dir, 'wall').length >= 1, 'the final profile was written meanwhile');
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    silent.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
