'use strict';
// The profile model (@spanprof/profile) every view reads through: one function key,
// diff's matching across releases, endpoint costs, units, and which file holds a span.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Function: PprofFunction, Line, Location, Profile, Sample, StringTable, ValueType, Label } = require('pprof-format');
const model = require('@spanprof/profile');
const { writeWallProfile } = require('../helpers/synthetic');

const MS = 1_000_000;
const span = (n) => n.toString(16).padStart(16, '0');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-model-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const load = (dir, filter = {}) => model.loadProfiles(dir, filter).profiles;

test('one function is its name and path: its frames at any line make one row; same name in another file is another', (t) => {
  const dir = tempDir(t);
  writeWallProfile(dir, {
    start: Date.UTC(2026, 0, 1),
    samples: [
      { stack: [{ name: 'handle', file: '/app/orders/handler.js', line: 4 }], cpu: 10 * MS },
      { stack: [{ name: 'handle', file: '/app/users/handler.js', line: 4 }], cpu: 20 * MS },
      { stack: [{ name: 'spin', file: '/app/twins.js', line: 5 }], cpu: 3 * MS },
      {
        stack: [
          { name: 'spin', file: '/app/twins.js', line: 14 },
          { name: 'spin', file: '/app/twins.js', line: 5 },
        ],
        cpu: 4 * MS,
      },
      { stack: [{ name: '', file: 'file:///app/esm.mjs', line: 2 }], cpu: 1 * MS },
    ],
  });
  const h = model.hotspots(load(dir), { kind: 'all' });
  const rows = Object.fromEntries(h.functions.map((f) => [`${f.name} ${f.file}`, f]));
  assert.deepEqual(Object.keys(rows).sort(), [
    '(anonymous) /app/esm.mjs',
    'handle /app/orders/handler.js',
    'handle /app/users/handler.js',
    'spin /app/twins.js',
  ]);
  assert.equal(rows['spin /app/twins.js'].self.cpuNanos, 7 * MS);
  assert.equal(rows['spin /app/twins.js'].total.cpuNanos, 7 * MS, 'recursion through its own frames counts once');
  assert.equal(rows['spin /app/twins.js'].line, 5, 'the lowest definition line');
  assert.equal(h.total.cpuNanos, 38 * MS);
});

test('diff: the same path first, then the path inside its package or the file name; never two unrelated functions as one', (t) => {
  const base = tempDir(t);
  const start = Date.UTC(2026, 0, 1);
  const sample = (name, file, cpu) => ({ stack: [{ name, file, line: 1 }], cpu, labels: { span_id: span(1), trace_endpoint: 'GET /' } });
  writeWallProfile(base, {
    start,
    tags: { 'service.version': '1.4.0' },
    samples: [
      sample('applyDiscounts', '/srv/releases/1.4.0/pricing.js', 30 * MS),
      sample('next', '/srv/releases/1.4.0/node_modules/router/index.js', 5 * MS),
      sample('next', '/srv/releases/1.4.0/node_modules/send/index.js', 7 * MS),
      sample('handler', '/srv/shared/routes/users/index.js', 11 * MS),
      sample('handler', '/srv/shared/routes/orders/index.js', 13 * MS),
    ],
  });
  writeWallProfile(base, {
    start: start + 60_000,
    sequence: 2,
    tags: { 'service.version': '1.5.0' },
    samples: [
      sample('applyDiscounts', '/srv/releases/1.5.0/pricing.js', 60 * MS),
      sample('next', '/srv/releases/1.5.0/node_modules/router/index.js', 6 * MS),
      sample('next', '/srv/releases/1.5.0/node_modules/send/index.js', 8 * MS),
      sample('handler', '/srv/shared/routes/users/index.js', 12 * MS),
      sample('handler', '/srv/shared/routes/orders/index.js', 14 * MS),
    ],
  });
  const all = load(base);
  const pick = (version) => model.selectProfiles(all, { tags: { 'service.version': version } });
  const c = model.compare(pick('1.4.0'), pick('1.5.0'), { limit: 100 });
  const rows = Object.fromEntries(c.functions.map((f) => [`${f.name} ${f.path}`, [f.file, f.baseNanos, f.headNanos]]));
  assert.deepEqual(rows, {
    'handler /srv/shared/routes/users/index.js': ['index.js', 11 * MS, 12 * MS],
    'handler /srv/shared/routes/orders/index.js': ['index.js', 13 * MS, 14 * MS],
    'applyDiscounts /srv/releases/1.5.0/pricing.js': ['pricing.js', 30 * MS, 60 * MS],
    'next /srv/releases/1.5.0/node_modules/router/index.js': ['router/index.js', 5 * MS, 6 * MS],
    'next /srv/releases/1.5.0/node_modules/send/index.js': ['send/index.js', 7 * MS, 8 * MS],
  });
  assert.equal(c.functions[0].name, 'applyDiscounts', 'the largest change in share first');
});

test('diff: a function gone from one of two same-named files is its own row, not folded into the other', (t) => {
  const dir = tempDir(t);
  const start = Date.UTC(2026, 0, 1);
  const sample = (file, cpu) => ({ stack: [{ name: 'handle', file, line: 1 }], cpu });
  writeWallProfile(dir, { start, tags: { side: 'base' }, samples: [sample('/app/a/handler.js', 100 * MS), sample('/app/b/handler.js', 50 * MS)] });
  writeWallProfile(dir, { start: start + 60_000, sequence: 2, tags: { side: 'head' }, samples: [sample('/app/a/handler.js', 100 * MS)] });
  const all = load(dir);
  const c = model.compare(model.selectProfiles(all, { tags: { side: 'base' } }), model.selectProfiles(all, { tags: { side: 'head' } }));
  const rows = c.functions.map((f) => [f.path, f.baseNanos, f.headNanos]).sort();
  assert.deepEqual(rows, [
    ['/app/a/handler.js', 100 * MS, 100 * MS],
    ['/app/b/handler.js', 50 * MS, 0],
  ]);
});

test('portable paths and file URLs', () => {
  assert.equal(model.portablePath('/a/node_modules/@scope/pkg/lib/x.js'), '@scope/pkg/lib/x.js');
  assert.equal(model.portablePath('/a/node_modules/x/node_modules/y/i.js'), 'y/i.js');
  assert.equal(model.portablePath('/srv/app/pricing.js'), 'pricing.js');
  assert.equal(model.portablePath('node:internal/timers'), 'node:internal/timers');
  assert.equal(model.normalizeFile('file:///srv/app/a%20b.mjs'), '/srv/app/a b.mjs');
  assert.equal(model.normalizeFile('node:internal/x'), 'node:internal/x');
  assert.equal(model.functionKey('f', '/a.js'), model.functionKey('f', model.normalizeFile('file:///a.js')));
});

test('endpoints, requests and the files that hold a span', (t) => {
  const dir = tempDir(t);
  const start = Date.UTC(2026, 0, 1);
  const f1 = writeWallProfile(dir, {
    start,
    requests: { 'GET /a': 2 },
    samples: [
      {
        stack: [{ name: 'a', file: '/x.js', line: 1 }],
        cpu: 2 * MS,
        wall: 3 * MS,
        labels: { span_id: span(1), trace_id: span(9).repeat(2), local_root_span_id: span(1), trace_endpoint: 'GET /a' },
      },
      { stack: [{ name: 'idle', file: '', line: 0 }], cpu: 0, wall: 5 * MS },
    ],
  });
  const f2 = writeWallProfile(dir, {
    start: start + 60_000,
    sequence: 2,
    requests: { 'GET /a': 1 },
    samples: [{ stack: [{ name: 'a', file: '/x.js', line: 1 }], cpu: 4 * MS, wall: 4 * MS, labels: { span_id: span(2), trace_endpoint: 'GET /a' } }],
  });
  const profiles = load(dir);
  const byEndpoint = model.costByEndpoint(profiles);
  assert.deepEqual(Object.fromEntries([...byEndpoint].map(([k, c]) => [k, [c.cpuNanos, c.wallNanos, c.samples]])), {
    'GET /a': [6 * MS, 7 * MS, 2],
    '': [0, 5 * MS, 1],
  });
  assert.equal(model.rank(profiles).endpoints[0].requests, 3, 'counted requests summed over periods');
  assert.deepEqual(model.filesOf(profiles, { kind: 'span', id: span(2) }), [f2]);
  assert.deepEqual(model.filesOf(profiles, { kind: 'endpoint', name: 'GET /a' }).sort(), [f1, f2].sort());
  assert.deepEqual(model.filesOf(profiles, { kind: 'span', id: span(3) }), []);
});

test('a collected profile in memory (pprof-format) reads like a file, its times converted to nanoseconds by unit', () => {
  const profile = new Profile();
  const s = (v) => profile.stringTable.dedup(v);
  profile.sampleType = [new ValueType({ type: s('wall'), unit: s('microseconds') }), new ValueType({ type: s('cpu'), unit: s('milliseconds') })];
  profile.function.push(new PprofFunction({ id: 1, name: s('work'), filename: s('/w.js') }));
  profile.location.push(new Location({ id: 1, line: [new Line({ functionId: 1, line: 3 })] }));
  profile.sample.push(new Sample({ locationId: [1], value: [1500, 2], label: [new Label({ key: s('trace_endpoint'), str: s('GET /w') })] }));
  const indexed = model.indexProfile('', profile, new model.FrameTable());
  const [fn] = model.hotspots([indexed], { kind: 'all' }).functions;
  assert.deepEqual([fn.name, fn.file, fn.line, fn.self.wallNanos, fn.self.cpuNanos], ['work', '/w.js', 3, 1_500_000, 2_000_000]);
  assert.equal(model.costByEndpoint([indexed]).get('GET /w').cpuNanos, 2_000_000);
});

test('addSampleLabels: every sample once, a label array shared by samples (the heap serializer does) included; the pseudo-frame left out', () => {
  const strings = new StringTable();
  const profile = new Profile({
    stringTable: strings,
    function: [new PprofFunction({ id: 1, name: strings.dedup('work') }), new PprofFunction({ id: 2, name: strings.dedup('Non JS threads activity') })],
    location: [new Location({ id: 1, line: [new Line({ functionId: 1 })] }), new Location({ id: 2, line: [new Line({ functionId: 2 })] })],
  });
  const shared = [];
  profile.sample = [
    new Sample({ locationId: [1], value: [1], label: shared }),
    new Sample({ locationId: [1], value: [1], label: shared }),
    new Sample({ locationId: [1], value: [1], label: [] }),
    new Sample({ locationId: [2], value: [1], label: [] }),
  ];
  model.addSampleLabels(profile, { thread_id: '0', thread_name: 'main' }, ['Non JS threads activity']);
  const names = (s) => s.label.map((l) => strings.strings[Number(l.key)]);
  assert.deepEqual(profile.sample.map(names), [['thread_id', 'thread_name'], ['thread_id', 'thread_name'], ['thread_id', 'thread_name'], []]);
});
