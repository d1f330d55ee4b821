'use strict';
// The time split, the request durations, the events profile and the blocks, on profiles built
// here with exactly the spans, samples and events a case needs.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Function: PprofFunction, Label, Line, Location, Profile, Sample, ValueType } = require('pprof-format');
const model = require('@spanprof/profile');

const T0 = 1_800_000_000_000; // epoch ms
/** `T0 + offset` ms in nanoseconds, exactly. */
const ns = (offset) => BigInt(T0) * 1_000_000n + BigInt(Math.round(offset * 1e6));

/** A wall profile: samples `{ at (ms after T0), cpu (ms), stack: [{ name, file }] leaf first, span, root }`. */
function wall(samples, comments = []) {
  const p = new Profile();
  const s = (v) => p.stringTable.dedup(v);
  p.sampleType = [
    new ValueType({ type: s('sample'), unit: s('count') }),
    new ValueType({ type: s('wall'), unit: s('nanoseconds') }),
    new ValueType({ type: s('cpu'), unit: s('nanoseconds') }),
  ];
  p.timeNanos = ns(0);
  p.durationNanos = 60_000_000_000n;
  p.comment = comments.map(s);
  const locations = new Map();
  for (const x of samples) {
    const ids = (x.stack ?? [{ name: 'work', file: '/app/work.js' }]).map(({ name, file }) => {
      const key = `${name}|${file}`;
      if (!locations.has(key)) {
        const id = p.location.length + 1;
        p.function.push(new PprofFunction({ id, name: s(name), filename: s(file) }));
        p.location.push(new Location({ id, line: [new Line({ functionId: id, line: 1 })] }));
        locations.set(key, id);
      }
      return locations.get(key);
    });
    const label = [new Label({ key: s('end_timestamp_ns'), num: ns(x.at) }), new Label({ key: s('thread_id'), str: s('0') })];
    if (x.span) label.push(new Label({ key: s('span_id'), str: s(x.span) }), new Label({ key: s('local_root_span_id'), str: s(x.root ?? x.span) }));
    p.sample.push(new Sample({ locationId: ids, value: [1, 10_000_000, Math.round((x.cpu ?? 0) * 1e6)], label }));
  }
  return p;
}

const span = (id, start, end, { parent = '', root = id, running = false, name = id } = {}) => ({
  kind: 'span',
  name,
  startNanos: ns(start),
  endNanos: ns(end),
  labels: {
    span_id: id,
    local_root_span_id: root,
    trace_id: 'ab'.repeat(16),
    trace_endpoint: 'GET /x',
    parent_span_id: parent,
    running: running ? 'true' : '',
  },
});
const io = (spanId, start, end, name = 'fs.readFile') => ({
  kind: name.split('.')[0],
  name,
  startNanos: ns(start),
  endNanos: ns(end),
  labels: { span_id: spanId, local_root_span_id: 'a000000000000001', resource: '/data', error: '' },
});

function indexed(samples, events, comments) {
  const p = wall(samples, comments);
  p.comment.push(p.stringTable.dedup('spanprof:process.pid=1'));
  return model.indexProfile('t', p, new model.FrameTable(), model.indexEvents(model.eventsProfile(events)));
}

const ROOT = 'a000000000000001';
const CHILD = 'a000000000000002';

test('a span splits into own CPU, child CPU, I/O and waiting, adding up to its duration', () => {
  const p = indexed(
    [
      { at: 5, cpu: 5, span: ROOT },
      { at: 25, cpu: 10, span: CHILD, root: ROOT },
      { at: 35, cpu: 10, span: CHILD, root: ROOT },
      { at: 55, cpu: 10, span: CHILD, root: ROOT },
    ],
    [span(ROOT, 0, 100), span(CHILD, 20, 60, { parent: ROOT, root: ROOT }), io(CHILD, 30, 50), io(CHILD, 40, 45, 'dns.lookup')],
  );
  const times = model.spanTimes([p]);
  const child = times.get(CHILD);
  assert.deepEqual(
    [child.durationNanos, child.cpuNanos, child.childCpuNanos, child.ioNanos, child.waitingNanos].map((n) => n / 1e6),
    [40, 30, 0, 10, 0],
    'I/O capped at what CPU leaves',
  );
  const root = times.get(ROOT);
  assert.deepEqual(
    [root.durationNanos, root.cpuNanos, root.childCpuNanos, root.ioNanos, root.waitingNanos].map((n) => n / 1e6),
    [100, 5, 30, 20, 45],
    'overlapping waits count once',
  );
  assert.equal(root.samples, 1);
  const trace = model.traceTimes(times).get('ab'.repeat(16));
  assert.deepEqual(
    [trace.durationNanos, trace.cpuNanos, trace.ioNanos, trace.waitingNanos].map((n) => n / 1e6),
    [100, 35, 20, 45],
  );
});

test('a span never shows more CPU than its duration; an ended record wins over a running one', () => {
  const p = indexed([{ at: 1, cpu: 12, span: ROOT }], [span(ROOT, 0, 2), span(CHILD, 0, 50, { running: true }), span(CHILD, 0, 80)]);
  const times = model.spanTimes([p]);
  assert.equal(times.get(ROOT).cpuNanos, 2e6, 'one sample carrying 12 ms of CPU in a 2 ms span');
  assert.equal(times.get(ROOT).waitingNanos, 0);
  assert.equal(times.get(CHILD).running, false);
  assert.equal(times.get(CHILD).durationNanos, 80e6);
});

test('request durations: buckets within 5%, written and read back, malformed comments skipped', () => {
  const buckets = new Map();
  const durations = Array.from({ length: 200 }, (_, i) => 1 + i * 0.5);
  for (const d of durations) buckets.set(model.durationBucket(d), (buckets.get(model.durationBucket(d)) ?? 0) + 1);
  for (const share of [0.5, 0.95, 0.99]) {
    const exact = durations[Math.ceil(share * durations.length) - 1];
    const read = model.percentileMillis(buckets, share);
    assert.ok(Math.abs(read - exact) / exact < 0.05, `p${share * 100}: ${read} vs ${exact}`);
  }
  const p = new Profile();
  model.writeRequestTimes(p, new Map([['GET /a:b=c d', { count: 200, sumMillis: durations.reduce((a, b) => a + b, 0), buckets }]]));
  const comments = [
    ...p.comment.map((id) => p.stringTable.strings[Number(id)]),
    'spanprof.request_times:x:1=1:GET /bad',
    'spanprof.request_times:5:1=a:GET /bad',
  ];
  const read = model.readRequestTimes(comments);
  assert.deepEqual([...read.keys()], ['GET /a:b=c d']);
  assert.equal(read.get('GET /a:b=c d').count, 200);
  assert.deepEqual(read.get('GET /a:b=c d').buckets, buckets);
});

test('endpoint times: mean of every counted request, CPU and I/O per request', () => {
  const buckets = new Map([[model.durationBucket(100), 4]]);
  const times = new Map([['GET /x', { count: 4, sumMillis: 400, buckets }]]);
  const profile = wall([{ at: 5, cpu: 8, span: ROOT }]);
  model.writeRequestTimes(profile, times);
  const endpointLabel = profile.stringTable.dedup('trace_endpoint');
  for (const s of profile.sample) s.label.push(new Label({ key: endpointLabel, str: profile.stringTable.dedup('GET /x') }));
  const p = model.indexProfile('t', profile, new model.FrameTable(), model.indexEvents(model.eventsProfile([span(ROOT, 0, 100), io(ROOT, 10, 30)])));
  const e = model.endpointTimes([p]).get('GET /x');
  assert.equal(e.requests, 4);
  assert.equal(e.meanMillis, 100);
  assert.equal(e.cpuMillisPerRequest, 2);
  assert.equal(e.ioMillisPerRequest, 5, "one request's 20 ms of I/O over 4 requests");
  assert.equal(e.ioP95Millis, 20, 'the p95 of 0, 0, 0 and 20 ms');
  assert.equal(e.waitingMillisPerRequest, 93);
});

test('events profile round trip: kinds, times, labels, repeated pairs', () => {
  const block = {
    kind: 'block',
    name: 'event loop blocked',
    startNanos: ns(100),
    endNanos: ns(400),
    labels: {},
    extra: [
      { key: 'requests_in_flight', num: 3 },
      { key: 'requests_queued', num: 2 },
      { key: 'delayed_endpoint', str: 'GET /a' },
      { key: 'delayed_count', num: 4 },
      { key: 'delayed_endpoint', str: 'GET /b' },
      { key: 'delayed_count', num: 1 },
    ],
  };
  const [s, b, f] = model.readEvents(model.eventsProfile([span(CHILD, 0, 10, { parent: ROOT, root: ROOT, name: 'child' }), block, io(CHILD, 2, 4)]));
  assert.deepEqual([s.kind, s.name, s.parentSpanId, s.durationNanos], ['span', 'child', ROOT, 10e6]);
  assert.ok(Math.abs(s.end - (T0 + 10)) < 0.001 && Math.abs(s.start - T0) < 0.001);
  assert.deepEqual(
    [b.kind, b.requestsInFlight, b.requestsQueued, b.delayed],
    [
      'block',
      3,
      2,
      [
        { endpoint: 'GET /a', count: 4 },
        { endpoint: 'GET /b', count: 1 },
      ],
    ],
  );
  assert.deepEqual([f.kind, f.name, f.resource, f.error, f.durationNanos], ['fs', 'fs.readFile', '/data', false, 2e6]);
});

test('a block names the innermost application frame of its samples, and their spans', () => {
  const block = { kind: 'block', name: 'event loop blocked', startNanos: ns(100), endNanos: ns(400), labels: { thread_id: '0' } };
  const inLoop = [
    { name: 'now', file: '' },
    { name: 'parseAll', file: '/app/parse.js' },
    { name: 'emit', file: 'node:events' },
  ];
  const p = indexed(
    [
      ...Array.from({ length: 9 }, (_, i) => ({ at: 110 + 30 * i, cpu: 10, span: ROOT, stack: inLoop })),
      { at: 50, cpu: 10, span: CHILD, stack: [{ name: 'other', file: '/app/other.js' }] },
    ],
    [block],
  );
  const [b] = model.loopBlocks([p]);
  assert.equal(b.durationMillis, 300);
  assert.equal(b.samples, 9, 'only the samples inside it');
  assert.deepEqual([b.functions[0].name, b.functions[0].samples], ['parseAll', 9]);
  assert.deepEqual([b.spans[0].spanId, b.spans[0].samples], [ROOT, 9]);
});
