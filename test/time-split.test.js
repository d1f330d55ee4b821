'use strict';
// Where a request's time went, against known truth: a real HTTP service (test/fixtures/time-split.js)
// whose `GET /io` awaits a 40 ms timer, reads a file, looks up localhost and burns 10 ms of CPU.
// The spans' durations must be the SDK's own, their CPU the burn's, their I/O the read's and the
// lookup's (one event each, on the span, timed within the caller's own timing), the rest waiting;
// request durations per endpoint must match the spans'; the events profile and the samples'
// timestamps are read back with an independent decoder. Then a 300 ms event-loop block with 20
// requests in flight. On Node 20 (OpenTelemetry 2.x) and Node 24 (3.x).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { endpointTimes, loadProfiles, loopBlocks, spanTimes } = require('@spanprof/profile');
const { node24, otel3Fixture } = require('./helpers/runtimes');
const { readProfiles } = require('./helpers/pprof');
const { drive, start, waitingThenBlock } = require('./helpers/service');

const REQUESTS = 40;

async function runService(node, fixtureDir) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-split-'));
  const service = start(path.join(fixtureDir, 'time-split.js'), { node, env: { SPLIT_PROFILES: dir } });
  const port = await service.listening;
  await drive(
    port,
    Array.from({ length: REQUESTS }, () => ({ url: '/io' })),
    4,
  );
  service.child.kill('SIGTERM');
  await service.exited;
  const truth = JSON.parse(service.out.stdout.trim().split('\n').pop());
  return { dir, truth };
}

function percentile(values, share) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(share * sorted.length) - 1];
}

function check({ dir, truth }) {
  const servers = truth.spans.filter((s) => s.parentSpanId === '');
  assert.equal(servers.length, REQUESTS, 'one server span per request');
  const { profiles } = loadProfiles(dir);
  const times = spanTimes(profiles);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = servers.map((s) => ({ truth: s, time: times.get(s.spanId) }));
  const missing = rows.filter((r) => r.time === undefined).length;
  assert.equal(missing, 0, `${missing} of ${REQUESTS} server spans have no time split (each burns 10 ms at 1 kHz)`);
  for (const { truth: s, time } of rows) {
    assert.equal(time.running, false);
    assert.equal(time.name, s.name);
    assert.ok(Math.abs(time.durationNanos / 1e6 - (s.end - s.start)) < 0.01, `duration ${time.durationNanos / 1e6} ms, the SDK says ${s.end - s.start}`);
    assert.equal(time.cpuNanos + time.childCpuNanos + time.ioNanos + time.waitingNanos, time.durationNanos);
    // The 40 ms timer alone is off the CPU, and in no I/O wait (one request's CPU is a sampled estimate: a few ms either way).
    assert.ok(time.waitingNanos / 1e6 >= 30, `waiting ${time.waitingNanos / 1e6} ms, far below the 40 ms timer`);
  }
  // Each request's file read and lookup: one event each, on its span, no longer than the caller saw it.
  const ioEvents = new Map();
  for (const p of profiles)
    for (const e of p.events)
      if (e.kind === 'fs' || e.kind === 'dns') ioEvents.set(`${e.spanId} ${e.name}`, [...(ioEvents.get(`${e.spanId} ${e.name}`) ?? []), e]);
  assert.equal(truth.ops.length, REQUESTS);
  for (const op of truth.ops) {
    const [read, ...moreReads] = ioEvents.get(`${op.spanId} fs.promises.readFile`) ?? [];
    const [lookup, ...moreLookups] = ioEvents.get(`${op.spanId} dns.promises.lookup`) ?? [];
    assert.ok(read !== undefined && moreReads.length === 0, `one readFile event on span ${op.spanId}`);
    assert.ok(lookup !== undefined && moreLookups.length === 0, `one lookup event on span ${op.spanId}`);
    assert.equal(read.resource, truth.file);
    assert.equal(lookup.resource, 'localhost');
    // Timed inside the caller's own measurement: at most as long, and not much shorter.
    for (const [event, seen] of [
      [read, op.readMillis],
      [lookup, op.lookupMillis],
    ]) {
      const took = event.end - event.start;
      assert.ok(took <= seen + 0.05 && took >= seen - 2, `${event.name}: ${took.toFixed(3)} ms, the caller saw ${seen.toFixed(3)} ms`);
    }
    const time = times.get(op.spanId);
    assert.ok(time.ioNanos > 0 && time.ioNanos / 1e6 <= op.readMillis + op.lookupMillis + 0.05, `the span's I/O ${time.ioNanos / 1e6} ms`);
  }
  const waiting = mean(rows.map((r) => r.time.waitingNanos / 1e6));
  assert.ok(waiting >= 38, `waiting ${waiting.toFixed(2)} ms per request, below the 40 ms timer`);
  const cpu = mean(rows.map((r) => (r.time.cpuNanos + r.time.childCpuNanos) / 1e6));
  // Node 24 burns 10 ms of the thread's CPU; Node 20 has no thread CPU clock and burns 10 ms of wall time, less CPU on a busy machine.
  const least = truth.threadCpu ? 9 : 7;
  assert.ok(cpu >= least && cpu <= 14, `CPU per request ${cpu.toFixed(2)} ms; the burn is 10 ms`);

  const endpoints = [...endpointTimes(profiles).values()];
  const io = endpoints.find((e) => e.requests === REQUESTS);
  assert.ok(io !== undefined, `an endpoint with ${REQUESTS} requests: ${JSON.stringify(endpoints)}`);
  const durations = servers.map((s) => s.end - s.start);
  assert.ok(Math.abs(io.meanMillis - mean(durations)) < 0.01, `mean ${io.meanMillis} ms, spans say ${mean(durations)}`);
  const p95 = percentile(durations, 0.95);
  assert.ok(Math.abs(io.p95Millis - p95) / p95 < 0.05, `p95 ${io.p95Millis} ms, spans say ${p95}`);
  assert.ok(io.cpuMillisPerRequest >= least && io.cpuMillisPerRequest <= 15, `CPU per request ${io.cpuMillisPerRequest} ms`);

  // The files, read with an independent decoder: one span event per server span, its end the SDK's.
  const ends = new Map();
  for (const p of readProfiles(dir, 'events')) {
    assert.deepEqual(p.sampleTypes, ['events/count', 'duration/nanoseconds']);
    for (const s of p.samples)
      if (s.labels.event === 'span' && s.labels.running === undefined)
        ends.set(s.labels.span_id, { end: s.labels.end_timestamp_ns, duration: s.values['duration/nanoseconds'] });
  }
  const bySpan = new Map(truth.spans.map((s) => [s.spanId, s]));
  for (const s of servers) {
    const e = ends.get(s.spanId);
    assert.ok(e !== undefined, `span ${s.spanId} in an events profile`);
    assert.ok(Math.abs(Number(e.end) / 1e6 - s.end) < 0.01);
  }
  // Every sample of burnTen (which runs inside its request's span) was taken while that span ran: its
  // timestamp within the span's times, 2 ms of clock slack. (Other code may run in a span's context
  // after the span ended, as the continuations of the handler after `res.end()` do.)
  let timed = 0;
  for (const p of readProfiles(dir, 'wall')) {
    for (const sample of p.samples) {
      const span = bySpan.get(sample.labels.span_id);
      assert.ok(span !== undefined || sample.labels.span_id === undefined, 'a span the SDK ended');
      if (typeof sample.labels.span_id === 'string') assert.equal(typeof sample.labels.end_timestamp_ns, 'bigint', 'a sample in a span has its time');
      if (span === undefined || !sample.stack.some((f) => f?.name === 'burnTen')) continue;
      const at = Number(sample.labels.end_timestamp_ns) / 1e6;
      assert.ok(at >= span.start - 2 && at <= span.end + 2, `burnTen sample at ${at} outside its span ${span.start}–${span.end}`);
      timed++;
    }
  }
  assert.ok(timed >= REQUESTS * 5, `${timed} burnTen samples`);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** 20 requests waiting 2 s in flight, then one that blocks the loop for 300 ms in `blockTheLoop`. */
async function runBlock(node, fixtureDir) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-block-'));
  const service = start(path.join(fixtureDir, 'time-split.js'), { node, env: { SPLIT_PROFILES: dir } });
  const port = await service.listening;
  await waitingThenBlock(port);
  service.child.kill('SIGTERM');
  await service.exited;
  return { dir, truth: JSON.parse(service.out.stdout.trim().split('\n').pop()) };
}

function checkBlock({ dir, truth }, name) {
  assert.equal(truth.blocks.length, 1);
  const [known] = truth.blocks;
  const { profiles } = loadProfiles(dir);
  const blocks = loopBlocks(profiles);
  const found = blocks.filter((b) => b.start < known.end && b.end > known.start);
  assert.equal(found.length, 1, `one block over blockTheLoop's 300 ms: ${JSON.stringify(blocks.map((b) => [b.start - known.start, b.durationMillis]))}`);
  const [b] = found;
  // The block holds all of blockTheLoop (15 ms of clock slack) and at most the rest of that loop
  // turn besides (the request's own synchronous work, which a busy machine stretches).
  const truthMillis = known.end - known.start;
  assert.ok(
    b.durationMillis >= truthMillis - 15 && b.durationMillis <= truthMillis + 100,
    `block of ${b.durationMillis.toFixed(1)} ms; blockTheLoop ran ${truthMillis} ms`,
  );
  assert.equal(b.functions[0]?.name, 'blockTheLoop', `the block's function: ${JSON.stringify(b.functions.slice(0, 3))}`);
  const blocker = truth.spans.find((s) => s.route === '/block');
  assert.equal(b.spans[0]?.spanId, blocker.spanId, 'the span that blocked');
  assert.equal(b.spans[0].endpoint, 'GET /block');
  assert.equal(b.requestsInFlight, 20, 'the 20 waiting requests were in flight across it (the one that blocked left out)');
  assert.deepEqual(b.delayed, [{ endpoint: 'GET /wait', count: 20 }]);
  const artifacts = path.join(__dirname, 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const measured = {
    truthMillis: known.end - known.start,
    measuredMillis: b.durationMillis,
    startOffsetMillis: b.start - known.start,
    samples: b.samples,
    functions: b.functions.slice(0, 3),
  };
  fs.writeFileSync(path.join(artifacts, `block-${name}.json`), `${JSON.stringify(measured, null, 2)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

test('time split, Node 20 host, OpenTelemetry 2.x', { skip: !process.version.startsWith('v20.') && 'host is not Node 20' }, async () => {
  check(await runService(process.execPath, path.join(__dirname, 'fixtures')));
});

test('time split, Node 24, OpenTelemetry 3.x', async () => {
  check(await runService(node24(), path.join(otel3Fixture(), 'fixtures')));
});

test(
  'event-loop block, Node 20 host, OpenTelemetry 2.x: its duration, function, span and the requests it delayed',
  { skip: !process.version.startsWith('v20.') && 'host is not Node 20' },
  async () => {
    checkBlock(await runBlock(process.execPath, path.join(__dirname, 'fixtures')), 'node20-otel2');
  },
);

test('event-loop block, Node 24, OpenTelemetry 3.x: its duration, function, span and the requests it delayed', async () => {
  checkBlock(await runBlock(node24(), path.join(otel3Fixture(), 'fixtures')), 'node24-otel3');
});
