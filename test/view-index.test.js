'use strict';
// The viewer's index over a directory the exporter prunes: `spanprof view`
// runs for days while files come and go, so what it keeps must follow the
// files it still has, not every file it ever read.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ProfileDirectory, hotspots, flameGraph, rank } = require('@spanprof/cli');
const { writeWallProfile } = require('./helpers/synthetic');

const FUNCTIONS_PER_RELEASE = 40;

/** A wall profile of one release: its own function names (as after a deploy), shared callers, two spans. */
function writeProfile(dir, generation) {
  const spans = [1, 2].map((k) => (generation * 16 + k).toString(16).padStart(16, '0'));
  const labels = (span) => ({
    span_id: span,
    local_root_span_id: spans[0],
    trace_id: generation.toString(16).padStart(32, '0'),
    trace_endpoint: 'GET /work',
  });
  const samples = [];
  for (let k = 0; k < FUNCTIONS_PER_RELEASE; k++) {
    const stack = [
      { name: `work_${generation}_${k}`, file: `/app/releases/${generation}/work.js`, line: 100 + k },
      { name: 'handler', file: '/app/server.js', line: 20 },
      { name: 'main', file: '/app/server.js', line: 10 },
    ];
    for (const [i, span] of spans.entries()) samples.push({ stack, cpu: (k + 1) * 1000 * (i + 1), labels: labels(span) });
  }
  const file = writeWallProfile(dir, {
    start: Date.UTC(2026, 10, 24, 12) + generation * 60_000,
    tags: { 'service.name': 'rolling', 'service.version': `1.${generation}.0` },
    samples,
    sequence: generation,
  });
  return { file, spans };
}

/** Everything a view shows of `profiles`, for comparing two indexes of the same files. */
function views(profiles, spanId) {
  return {
    ranking: rank(profiles),
    all: hotspots(profiles, { kind: 'all' }),
    span: hotspots(profiles, { kind: 'span', id: spanId }),
    flame: flameGraph(profiles, { kind: 'endpoint', name: 'GET /work' }, 'cpu'),
  };
}

test('view index: frames of pruned profiles are let go, and views stay exactly what a fresh index shows', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-rolling-'));
  const directory = new ProfileDirectory(dir);
  const kept = [];
  let largest = 0;
  // A rolling directory: each minute one new release's profile, the exporter keeping the newest 3.
  for (let generation = 0; generation < 60; generation++) {
    kept.push(writeProfile(dir, generation));
    if (kept.length > 3) fs.rmSync(kept.shift().file);
    directory.refresh();
    assert.equal(directory.profiles.length, kept.length);
    largest = Math.max(largest, directory.frames.frames.length);

    // The kept profiles need main, handler and their own functions; every frame more is held for a pruned file.
    const needed = 2 + kept.length * FUNCTIONS_PER_RELEASE;
    assert.ok(directory.frames.frames.length <= 2 * needed + 2, `generation ${generation}: ${directory.frames.frames.length} frames held, ${needed} in use`);
    assert.ok(directory.frames.stacks.length <= 2 * kept.length * FUNCTIONS_PER_RELEASE + 2, `${directory.frames.stacks.length} stacks held`);

    if (generation % 7 === 6) {
      const fresh = new ProfileDirectory(dir);
      fresh.refresh();
      const spanId = kept[1].spans[1];
      const seen = views(directory.profiles, spanId);
      assert.deepEqual(seen, views(fresh.profiles, spanId));
      assert.equal(seen.span.functions.length, FUNCTIONS_PER_RELEASE + 2, "the span's release functions, its handler and main");
      assert.ok(seen.span.functions.every((f) => f.name.startsWith(`work_${generation - 1}_`) || f.name === 'handler' || f.name === 'main'));
    }
  }
  assert.ok(largest > 3 * FUNCTIONS_PER_RELEASE, 'the table did grow between rebuilds (the test exercises them)');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('view index: label values come back exactly, packed or not, and are found by value', () => {
  const { LabelTable } = require('@spanprof/cli');
  const table = new LabelTable();
  const values = [
    '0000000000000000',
    'ffffffffffffffff',
    '00000000000000a1',
    '0123456789abcdef0123456789abcdef',
    'ffffffffffffffffffffffffffffffff',
    '0123456789ABCDEF', // not spanprof's form: kept as it came
    '0123456789abcdeg',
    '0123456789abcdef0',
    'GET /users/:id',
    '',
    '<b>x</b>',
  ];
  // Enough to make the packed stores grow several times.
  for (let i = 0; i < 500; i++) values.push((0x9e3779b9 * (i + 1)).toString(16).padStart(16, '0').slice(-16), `${i.toString(16).padStart(8, '0')}`.repeat(4));
  const ids = values.map((v) => table.add(v));
  table.trim();
  assert.equal(new Set(ids).size, values.length, 'one ID per value');
  values.forEach((v, i) => {
    assert.equal(table.get(ids[i]), v);
    assert.equal(table.find(v), ids[i], v);
  });
  assert.equal(table.get(-1), '', 'NONE reads as no value');
  for (const missing of ['00000000000000a2', '0123456789abcdef0123456789abcdee', 'GET /', '1123456789abcdef']) {
    assert.equal(table.find(missing), undefined, missing);
  }
});

test('view index: a value the string table holds twice is one label', () => {
  // pprof-format always deduplicates its string table, so this profile is encoded with protobufjs.
  const protobuf = require('protobufjs');
  const { decodePprof, FrameTable, indexProfile } = require('@spanprof/cli');
  const ProfileType = protobuf.loadSync(path.join(__dirname, 'helpers', 'profile.proto')).lookupType('perftools.profiles.Profile');
  const span = '00000000000000a1';
  const strings = ['', 'sample', 'count', 'wall', 'nanoseconds', 'cpu', 'work', '/app/work.js', 'span_id', span, span];
  const buffer = ProfileType.encode(
    ProfileType.fromObject({
      sampleType: [
        { type: 1, unit: 2 },
        { type: 3, unit: 4 },
        { type: 5, unit: 4 },
      ],
      function: [{ id: 1, name: 6, filename: 7 }],
      location: [{ id: 1, line: [{ functionId: 1, line: 3 }] }],
      sample: [
        { locationId: [1], value: [1, 10_000, 1000], label: [{ key: 8, str: 9 }] },
        { locationId: [1], value: [1, 10_000, 2000], label: [{ key: 8, str: 10 }] },
      ],
      stringTable: strings,
    }),
  ).finish();
  const indexed = indexProfile('twice', decodePprof(Buffer.from(buffer)), new FrameTable());
  assert.notEqual(indexed.span[0], -1);
  assert.equal(indexed.span[0], indexed.span[1], 'one label ID for both string-table entries');
  assert.equal(hotspots([indexed], { kind: 'span', id: span }).total.cpuNanos, 3000);
});
