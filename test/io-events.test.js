'use strict';
// I/O waits as events, against the real fs, dns, net and http modules: each with the span that
// started it, failures marked, nothing of the modules' behaviour changed (promisify's custom
// arguments, the ES module bindings, an unhandled rejection), everything put back at shutdown;
// no HTTP event where the HTTP instrumentation makes a client span.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readProfiles } = require('./helpers/pprof');
const { node24, otel3Fixture } = require('./helpers/runtimes');

function run(flags = [], node = process.execPath, fixtures = path.join(__dirname, 'fixtures')) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-io-'));
  const out = execFileSync(node, [path.join(fixtures, 'io-events.js'), dir, ...flags], { encoding: 'utf8', timeout: 60_000 });
  const result = JSON.parse(out.trim().split('\n').pop());
  const events = readProfiles(dir, 'events')
    .flatMap((p) => p.samples)
    .filter((s) => s.labels.event !== 'span' && s.labels.event !== 'block' && s.labels.event !== 'gc');
  fs.rmSync(dir, { recursive: true, force: true });
  return { result, events };
}

function checkEvents({ result, events }) {
  assert.equal(result.wrapped, true);
  assert.deepEqual(result.promisifiedRead, ['buffer', 'bytesRead'], "util.promisify(fs.read) keeps Node's custom arguments");
  assert.equal(result.readLength[0], result.readLength[1]);
  assert.equal(result.esmReadFile, true, 'the ES module binding is the wrapper too');
  assert.equal(result.esmPromisesReadFile, true);
  assert.equal(result.unhandled, 'ENOENT', 'an unhandled fs rejection is still unhandled');
  assert.deepEqual(result.restored, [true, true, true, true], 'shutdown puts the functions back');
  assert.equal(result.esmRestored, true);

  const mine = events.filter((e) => e.labels.span_id === result.spanId);
  const names = mine.map((e) => `${e.labels.event} ${e.stack[0].name}${e.labels.error === 'true' ? ' failed' : ''}`).sort();
  assert.deepEqual(names, [
    'dns dns.lookup',
    'fs fs.promises.readFile',
    'fs fs.promises.stat failed',
    'fs fs.readFile failed',
    'http http.request',
    'net net.connect',
  ]);
  const httpEvent = mine.find((e) => e.labels.event === 'http');
  assert.match(httpEvent.labels.resource, /^GET 127\.0\.0\.1:\d+\/items$/, 'no query string');
  assert.match(mine.find((e) => e.labels.event === 'net').labels.resource, /^127\.0\.0\.1:\d+$/);
  for (const e of mine) {
    assert.equal(typeof e.labels.end_timestamp_ns, 'bigint');
    assert.ok(e.values['duration/nanoseconds'] > 0);
  }
}

test('Node 20: fs, dns, net and http events carry their span; failures marked; the modules behave as before and are put back', () => {
  checkEvents(run());
});

test('Node 24, OpenTelemetry 3.x: the same', () => {
  checkEvents(run([], node24(), path.join(otel3Fixture(), 'fixtures')));
});

test('no http event beside the HTTP instrumentation’s client span', () => {
  const { result, events } = run(['--instrument-http']);
  assert.ok(result.clientSpans >= 1, 'the instrumentation made a client span');
  assert.equal(events.filter((e) => e.labels.event === 'http').length, 0);
});
