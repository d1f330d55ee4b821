'use strict';
// Sample labels: what a span's samples carry, and how a framework's custom labels and
// route are bounded (RequestLabeler, for the Express, Fastify and Koa middlewares).
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { LocalRoot, SpanLabels, setSpanLabels } = require('@spanprof/core');
const { MAX_CUSTOM_LABELS, MAX_LABEL_VALUE_LENGTH, MAX_ROUTE_LENGTH, RequestLabeler } = require('@spanprof/core/framework');
const { captureDiag } = require('../helpers/diag');

const SPAN = '00f067aa0ba902b7';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

before(() => api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
after(() => api.context.disable());
afterEach(() => api.diag.disable());

/** Runs `fn` with an active span labelled for spanprof, as the span processor labels it. */
function inLabelledSpan(fn) {
  const span = api.trace.wrapSpanContext({ spanId: SPAN, traceId: TRACE, traceFlags: api.TraceFlags.SAMPLED });
  span.isRecording = () => true;
  const root = new LocalRoot(SPAN, 'GET');
  setSpanLabels(span, new SpanLabels(SPAN, TRACE, root));
  return api.context.with(api.trace.setSpan(api.ROOT_CONTEXT, span), () => fn(root));
}

test('a span carries span_id, local_root_span_id, trace_id and the endpoint; one frozen object until the root changes', () => {
  const root = new LocalRoot('1111111111111111', 'GET');
  const labels = new SpanLabels('2222222222222222', TRACE, root);
  const first = labels.sampleLabels();
  assert.deepEqual(first, { span_id: '2222222222222222', local_root_span_id: '1111111111111111', trace_id: TRACE, trace_endpoint: 'GET' });
  assert.ok(Object.isFrozen(first));
  assert.equal(labels.sampleLabels(), first, 'the same object while nothing changed');
  root.setRouteEndpoint('GET /users/:id');
  assert.equal(labels.sampleLabels().trace_endpoint, 'GET /users/:id', 'the route wins over the span name');
  root.endpoint = 'GET /other';
  assert.equal(labels.sampleLabels().trace_endpoint, 'GET /users/:id', 'and stays the winner');
  root.customLabels = { tenant: 'acme', span_id: 'forged', trace_endpoint: 'forged' };
  assert.deepEqual(labels.sampleLabels(), {
    tenant: 'acme',
    span_id: '2222222222222222',
    local_root_span_id: '1111111111111111',
    trace_id: TRACE,
    trace_endpoint: 'GET /users/:id',
  });
});

test('custom labels: at most 8, names checked, values cut, wrong types and spanprof names left out, each warned once', () => {
  const lines = captureDiag('warn');
  const labeler = new RequestLabeler('@spanprof/test', (req) => req);
  const values = { 'bad name!': 'x', span_id: 'x', obj: {}, none: null, long: 'v'.repeat(500), n: 7, yes: true };
  for (let i = 0; i < 10; i++) values[`extra${i}`] = String(i);
  for (let round = 0; round < 2; round++) {
    inLabelledSpan((root) => {
      assert.equal(labeler.begin(values), root);
      const custom = root.customLabels;
      assert.equal(Object.keys(custom).length, MAX_CUSTOM_LABELS);
      assert.deepEqual(Object.keys(custom), ['long', 'n', 'yes', 'extra0', 'extra1', 'extra2', 'extra3', 'extra4']);
      assert.equal(custom.long.length, MAX_LABEL_VALUE_LENGTH);
      assert.deepEqual([custom.n, custom.yes], ['7', 'true']);
    });
  }
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('"bad name!" left out')));
  assert.ok(lines.some((l) => l.includes('"span_id" left out')));
  assert.ok(lines.some((l) => l.includes('"obj" left out: its value is a object')));
  assert.ok(lines.some((l) => l.includes(`more than ${MAX_CUSTOM_LABELS} custom labels`)));
});

test('routes: METHOD and template, arrays and RegExps as text, cut to the bound; nothing without a method or template', () => {
  const labeler = new RequestLabeler('@spanprof/test', undefined);
  const root = new LocalRoot(SPAN, 'GET');
  labeler.route(root, 'get', '/users/:id');
  assert.equal(root.endpoint, 'GET /users/:id');
  labeler.route(root, 'POST', ['/a', '/b']);
  assert.equal(root.endpoint, 'POST /a|/b');
  labeler.route(root, 'GET', /^\/x$/);
  assert.equal(root.endpoint, 'GET /^\\/x$/');
  labeler.route(root, 'GET', `/${'r'.repeat(1000)}`);
  assert.equal(root.endpoint.length, 'GET '.length + MAX_ROUTE_LENGTH);
  const before = root.endpoint;
  labeler.route(root, '', '/z');
  labeler.route(root, 'GET', undefined);
  labeler.route(root, 'GET', '');
  assert.equal(root.endpoint, before);
});

test('no span labelled by spanprof: nothing recorded, and one warning saying what to set up, also without a logger', async () => {
  const lines = captureDiag('warn');
  const warnings = [];
  // Configuration warnings of earlier tests (SPANPROF_W001) may still be on their way.
  const onWarning = (w) => w.code === 'SPANPROF_W010' && warnings.push(`${w.code} ${w.message}`);
  process.on('warning', onWarning);
  try {
    const labeler = new RequestLabeler('@spanprof/test', () => ({ tenant: 'a' }));
    assert.equal(labeler.begin({}), undefined);
    assert.equal(labeler.begin({}), undefined);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0], /no span labelled by spanprof active.*ProfilingSpanProcessor/);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^SPANPROF_W010 @spanprof\/test: a request arrived with no span labelled by spanprof active/);
});

const { setLabels, withLabels } = require('@spanprof/opentelemetry');
/** The labels of the active `withLabels` scope (the fixture of accuracy.test.js reads them the same way). */
const scopeLabels = () => api.context.active().getValue(Symbol.for('@spanprof/core.labelScope'))?.labels;

test('withLabels: nested scopes merge, the inner value wins; bounded and checked like the middleware labels, each problem warned once', async () => {
  const warnings = captureDiag('warn');
  const result = await withLabels({ tenant: 'acme', plan: 'free', n: 3 }, async () => {
    assert.deepEqual(scopeLabels(), { tenant: 'acme', plan: 'free', n: '3' });
    await null;
    return withLabels({ plan: 'pro', span_id: 'forged', 'bad name': 'x', obj: {}, long: 'v'.repeat(500) }, () => {
      assert.deepEqual(scopeLabels(), { tenant: 'acme', plan: 'pro', n: '3', long: 'v'.repeat(MAX_LABEL_VALUE_LENGTH) });
      return 'done';
    });
  });
  assert.equal(result, 'done', "fn's value is returned");
  assert.equal(scopeLabels(), undefined, 'no scope outside');
  withLabels(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`l${i}`, i])), () => {
    assert.equal(Object.keys(scopeLabels()).length, MAX_CUSTOM_LABELS);
  });
  withLabels({ span_id: 'again' }, () => assert.equal(scopeLabels(), undefined, 'nothing valid: no scope'));
  assert.throws(
    () =>
      withLabels({ a: 1 }, () => {
        throw new Error('app');
      }),
    /app/,
    "fn's throw reaches the caller",
  );
  assert.equal(
    withLabels('nope', () => 7),
    7,
    'bad labels: fn still runs',
  );
  const w = warnings.filter((l) => l.includes('SPANPROF_W001'));
  for (const expected of ['"span_id" left out', '"bad name" left out', '"obj" left out', 'more than 8 custom labels', 'labels are string']) {
    assert.equal(w.filter((l) => l.includes(expected)).length, 1, `${expected}:\n${w.join('\n')}`);
  }
});

test('a label cut from a long value keeps only what it holds: 100 values of 1 MB cut to 128 characters hold kilobytes, not 100 MB', (t) => {
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = [];
  for (let i = 0; i < 100; i++) {
    // A string of its own each time (not one shared constant), as a request's value would be.
    const value = `${i}:`.padEnd(1024 * 1024, String.fromCharCode(97 + (i % 26)));
    withLabels({ tenant: value }, () => kept.push(scopeLabels()));
  }
  gc();
  const grew = process.memoryUsage().heapUsed - before;
  assert.equal(kept[99].tenant.length, MAX_LABEL_VALUE_LENGTH);
  assert.ok(grew < 20 * 1024 * 1024, `the labels hold ${(grew / 1024 / 1024).toFixed(1)} MiB`);
  t.diagnostic(`figure [item 8]: 100 labels cut from 1 MB values: heap +${(grew / 1024 / 1024).toFixed(1)} MiB after GC (100 MiB before the fix)`);
});

test('setLabels: adds to the current request (its root), checked and bounded; without a span it warns once and sets nothing', () => {
  const warnings = captureDiag('warn');
  inLabelledSpan((root) => {
    root.customLabels = { tenant: 'acme' };
    setLabels({ region: 'eu', tenant: 'globex', thread_name: 'forged' });
    assert.deepEqual(root.customLabels, { tenant: 'globex', region: 'eu' });
  });
  setLabels({ region: 'us' });
  setLabels({ region: 'us' });
  const w = warnings.filter((l) => l.includes('setLabels: no span'));
  assert.equal(w.length, 1, w.join('\n'));
});
