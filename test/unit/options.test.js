'use strict';
// The one option checker and the one environment reader (@spanprof/exporter-base), and
// the SPANPROF_* layer over them: what is accepted, what is used instead, what is said.
const { test, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const api = require('@opentelemetry/api');
const {
  booleanOption,
  describeValue,
  integerOption,
  parseBoolean,
  parseKeyValueList,
  parsePositiveInteger,
  positiveIntegerOption,
} = require('@spanprof/exporter-base');
const { readSpanprofEnv } = require('@spanprof/auto');
const { captureDiag } = require('../helpers/diag');

afterEach(() => api.diag.disable());

test('integerOption: unset is the default, silently; a wrong type the default; out of range clamped; fractions rounded; each warned once', () => {
  const lines = captureDiag('warn');
  assert.equal(integerOption('x.n', undefined, 5, 1, 10), 5);
  assert.equal(lines.length, 0);
  assert.equal(integerOption('x.n', '7', 5, 1, 10), 5);
  assert.equal(integerOption('x.n', Number.NaN, 5, 1, 10), 5);
  assert.equal(integerOption('x.n', 0, 5, 1, 10), 1);
  assert.equal(integerOption('x.n', 99, 5, 1, 10), 10);
  assert.equal(integerOption('x.n', 3.6, 5, 1, 10), 4);
  assert.equal(integerOption('x.n', 3, 5, 1, 10), 3);
  assert.deepEqual(
    lines.map((l) => l.trim()),
    [
      'warn @spanprof/exporter-base SPANPROF_W001 option x.n: "7" is not accepted (an integer from 1 to 10); using 5',
      'warn @spanprof/exporter-base SPANPROF_W001 option x.n: NaN is not accepted (an integer from 1 to 10); using 5',
      'warn @spanprof/exporter-base SPANPROF_W001 option x.n: 0 is not accepted (an integer from 1 to 10); using 1',
      'warn @spanprof/exporter-base SPANPROF_W001 option x.n: 99 is not accepted (an integer from 1 to 10); using 10',
      'warn @spanprof/exporter-base SPANPROF_W001 option x.n: 3.6 is not accepted (an integer from 1 to 10); using 4',
    ],
  );
});

test('booleanOption and describeValue: never print an object (it may be huge or circular)', () => {
  const lines = captureDiag('warn');
  const circular = {};
  circular.self = circular;
  assert.equal(booleanOption('x.on', circular, true), true);
  assert.equal(booleanOption('x.on', false, true), false);
  assert.match(lines[0], /option x\.on: an object is not accepted \(true or false\); using true/);
  assert.equal(describeValue([1]), 'an array');
  assert.equal(
    describeValue(() => 1),
    'a function',
  );
  assert.equal(describeValue('x'.repeat(100)), JSON.stringify(`${'x'.repeat(40)}...`));
  assert.equal(describeValue(10n), '10n');
});

test('environment parsers: booleans, positive integers, key=value lists (values never shown)', () => {
  for (const v of ['true', 'TRUE', '1', 'yes', 'on']) assert.equal(parseBoolean(v), true, v);
  for (const v of ['false', '0', 'No', 'off']) assert.equal(parseBoolean(v), false, v);
  assert.equal(parseBoolean('maybe'), undefined);
  assert.equal(parsePositiveInteger('15'), 15);
  for (const v of ['0', '-1', '1.5', '1e3', '2147483648', ' 3']) assert.equal(parsePositiveInteger(v), undefined, v);
  const lines = captureDiag('warn');
  assert.deepEqual(parseKeyValueList('OTEL_X_HEADERS', 'a=1, b = two%20words ,bad,=x,c=%zz-secret'), { a: '1', b: 'two words' });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /OTEL_X_HEADERS: 3 entries are not key=value and were skipped/);
  assert.ok(!lines[0].includes('secret'), 'values are never shown');
});

test('SPANPROF_*: each wrong value one problem naming the variable; unknown variables named with the likely one', () => {
  const c = readSpanprofEnv({ SPANPROF_HEAP: 'sometimes', SPANPROF_UPLOAD_PERIOD_MILLIS: '500', SPANPROF_METRIC: 'true' });
  assert.deepEqual(c.options, { heap: true, uploadPeriodMillis: 500 });
  assert.equal(c.problems.length, 2, c.problems.join('\n'));
  assert.match(c.problems[0], /^SPANPROF_HEAP="sometimes": expected true or false/);
  assert.match(c.problems[1], /^SPANPROF_METRIC is not a spanprof variable and is ignored; did you mean SPANPROF_METRICS\?/);
});

test("timeouts and delays: out of range is the default, never a clamped 1 ms (0 often means 'none')", () => {
  const lines = captureDiag('warn');
  const { OTLPProfileExporter } = require('@spanprof/exporter-otlp');
  const exporter = new OTLPProfileExporter({ url: 'http://127.0.0.1:9/v1development/profiles', timeoutMillis: 0, maxAttempts: -1, maxQueuedRequests: 2.5 });
  assert.equal(exporter.timeoutMillis, 10_000);
  assert.equal(exporter.maxAttempts, 5);
  assert.equal(exporter.maxQueuedRequests, 8);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0], /option OTLPProfileExporter\.timeoutMillis: 0 is not accepted \(an integer from 1 to 2147483647\); using 10000/);
  assert.equal(integerOption('x.ms', 0, 500, 1, 1000, undefined, 'default'), 500);
  assert.equal(positiveIntegerOption('Mine', 'timeoutMillis', 0, 10_000), 10_000, 'the 0.1 helper keeps its meaning');
  assert.equal(positiveIntegerOption('Mine', 'timeoutMillis', 250, 10_000), 250);
});

test('SPANPROF_OOM_PROFILE turns the heap profile at out of memory off or on; with SPANPROF_HEAP=false there is none', () => {
  assert.deepEqual(readSpanprofEnv({ SPANPROF_OOM_PROFILE: 'false' }).options, { heap: { oomProfile: false } });
  assert.deepEqual(readSpanprofEnv({ SPANPROF_OOM_PROFILE: 'on' }).options, { heap: { oomProfile: true } });
  assert.deepEqual(readSpanprofEnv({ SPANPROF_OOM_PROFILE: 'true', SPANPROF_HEAP: 'false' }).options, { heap: false });
  assert.match(readSpanprofEnv({ SPANPROF_OOM_PROFILE: 'later' }).problems[0], /^SPANPROF_OOM_PROFILE="later": expected true or false/);
});

test('SPANPROF_SOURCE_MAPS turns source maps off or on', () => {
  assert.deepEqual(readSpanprofEnv({ SPANPROF_SOURCE_MAPS: 'false' }).options, { sourceMaps: false });
  assert.deepEqual(readSpanprofEnv({ SPANPROF_SOURCE_MAPS: '1' }).options, { sourceMaps: true });
});

test('SPANPROF_BLOCK_THRESHOLD_MILLIS, SPANPROF_EVENTS, SPANPROF_EVENT_THRESHOLD_MILLIS: 0 turns off; wrong values named', () => {
  assert.deepEqual(readSpanprofEnv({ SPANPROF_BLOCK_THRESHOLD_MILLIS: '0' }).options, { blockThresholdMillis: 0 });
  assert.deepEqual(readSpanprofEnv({ SPANPROF_BLOCK_THRESHOLD_MILLIS: '100' }).options, { blockThresholdMillis: 100 });
  assert.deepEqual(readSpanprofEnv({ SPANPROF_EVENTS: 'false', SPANPROF_EVENT_THRESHOLD_MILLIS: '5' }).options, { events: false });
  assert.deepEqual(readSpanprofEnv({ SPANPROF_EVENT_THRESHOLD_MILLIS: '0' }).options, { events: { thresholdMillis: 0 } });
  const bad = readSpanprofEnv({ SPANPROF_BLOCK_THRESHOLD_MILLIS: 'soon', SPANPROF_EVENTS: 'maybe' });
  assert.deepEqual(bad.options, {});
  assert.match(bad.problems.join('\n'), /SPANPROF_BLOCK_THRESHOLD_MILLIS="soon": expected a positive integer/);
  assert.match(bad.problems.join('\n'), /SPANPROF_EVENTS="maybe": expected true or false.*I\/O and GC events stay on/);
});

test('options blockThresholdMillis and events: a wrong value warned with what is accepted', () => {
  const { ProfilerSession } = require('@spanprof/core');
  const warnings = captureDiag('warn');
  new ProfilerSession({ blockThresholdMillis: 5, events: 'yes' });
  new ProfilerSession({ blockThresholdMillis: 0, events: { thresholdMillis: 5, http: false } });
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0], /blockThresholdMillis.*0 \(off\), or a whole number of milliseconds from 10 to 60000/);
  assert.match(warnings[1], /events.*true, false or \{ thresholdMillis, fs, dns, net, http, gc \}/);
});
