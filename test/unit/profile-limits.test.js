'use strict';
// What one profile file may cost to read (@spanprof/profile's PROFILE_LIMITS): the wire-level count
// of a pprof message before it is decoded (scanPprof), the file checks and the bounded gunzip of
// readProfileFile, and the CLI's escaping of control characters from profiles.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { Function: PprofFunction, Label, Line, Location, Profile, Sample, ValueType } = require('pprof-format');
const { decodePprof, PROFILE_LIMITS, ProfileFileError, readProfileFile, scanPprof } = require('@spanprof/profile');
const { main } = require('@spanprof/cli');
const { writeWallProfile } = require('../helpers/synthetic');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-limits-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A small profile as pprof-format encodes it: `samples` samples of two frames and `labels` labels each. */
function encoded(samples, labels = 2) {
  const p = new Profile();
  const s = (v) => p.stringTable.dedup(v);
  p.sampleType = [new ValueType({ type: s('sample'), unit: s('count') }), new ValueType({ type: s('wall'), unit: s('nanoseconds') })];
  for (let id = 1; id <= 3; id++) {
    p.function.push(new PprofFunction({ id, name: s(`f${id}`), filename: s('/app/a.js') }));
    p.location.push(new Location({ id, line: [new Line({ functionId: id, line: id })] }));
  }
  for (let i = 0; i < samples; i++) {
    const label = Array.from({ length: labels }, (_, k) => new Label({ key: s(`k${k}`), str: s(`v${i % 5}`) }));
    p.sample.push(new Sample({ locationId: [1 + (i % 3), 3], value: [1, 10_000 + i], label }));
  }
  p.comment.push(s('spanprof:service.name=x'));
  return Buffer.from(p.encode());
}

/** `n` empty samples: field 2, length 0, as a gzip bomb holds them. */
const emptySamples = (n) => Buffer.alloc(2 * n, Buffer.from([0x12, 0x00]));
const limits = (bounds) => ({ ...PROFILE_LIMITS, ...bounds });

test('scanPprof counts what the decoder builds, without building it', () => {
  const bytes = encoded(50, 3);
  const counts = scanPprof(bytes);
  const decoded = decodePprof(bytes);
  assert.equal(counts.samples, decoded.sample.length);
  assert.equal(counts.locations, decoded.location.length);
  assert.equal(counts.functions, decoded.function.length);
  assert.equal(counts.strings, decoded.stringTable.length);
  assert.equal(counts.labelsPerSample, 3);
  assert.equal(counts.labelNames, 3);
  // A sample more: itself, 2 location IDs, 2 values, and 3 labels of a key and a value each.
  assert.equal(scanPprof(encoded(51, 3)).objects - counts.objects, 1 + 2 + 2 + 3 * 3);
  assert.deepEqual(scanPprof(new Uint8Array(0)), { samples: 0, locations: 0, functions: 0, strings: 0, labelNames: 0, labelsPerSample: 0, objects: 0 });
});

test('scanPprof refuses a message over each bound, naming the bound', () => {
  const over = (bytes, bounds, name) =>
    assert.throws(
      () => scanPprof(bytes, limits(bounds)),
      (e) => e instanceof ProfileFileError && e.message.includes(`PROFILE_LIMITS.${name}`),
    );
  // The default bound of samples, on a million and one empty ones (2 MB, nothing decoded).
  assert.throws(() => scanPprof(emptySamples(PROFILE_LIMITS.samples + 1)), /more than 1,000,000 samples \(the bound PROFILE_LIMITS\.samples\)/);
  assert.equal(scanPprof(emptySamples(1000)).samples, 1000);
  over(encoded(11), { samples: 10 }, 'samples');
  over(encoded(5, 9), { labelsPerSample: 8 }, 'labelsPerSample');
  over(encoded(5, 9), { labelNames: 8 }, 'labelNames');
  over(encoded(5), { locations: 2 }, 'locations');
  over(encoded(5), { functions: 2 }, 'functions');
  over(encoded(5), { strings: 5 }, 'strings');
  over(encoded(50), { objects: 100 }, 'objects');
  assert.doesNotThrow(() => scanPprof(encoded(10, 9), limits({ samples: 10, labelsPerSample: 9, labelNames: 9 })));
});

test('scanPprof refuses what a decoder would read differently from its count', () => {
  const malformed = (bytes) =>
    assert.throws(
      () => scanPprof(Buffer.from(bytes)),
      (e) => e instanceof ProfileFileError && /^malformed profile/.test(e.message),
    );
  malformed([0x10, 0x05]); // field 2 (sample) as a varint
  // field 9 (time_nanos) as a length-delimited value: a decoder reads a number, then two samples
  malformed([0x4a, 0x04, 0x12, 0x00, 0x12, 0x00]);
  malformed([0x12, 0x02, 0x1a, 0x05]); // a label as a varint
  malformed([0x12, 0x04, 0x1a, 0x02, 0x0a, 0x00]); // a label's key as a length
  malformed([0x22, 0x02, 0x22, 0x05]); // a location's line as a varint
  malformed([0x12, 0x03, 0x0a, 0x01, 0x81]); // packed location IDs ending inside a varint
  malformed([0x92, 0x80, 0x80, 0x80, 0x80, 0x00]); // a tag longer than 5 bytes
  malformed([0x12, 0x05, 0x12]); // a length past the end
  malformed([0x12]); // a truncated tag
  malformed([0x13]); // wire type 3 (a group)
  // Fields the views do not read are skipped, as the decoder skips them.
  assert.equal(scanPprof(Buffer.from([0x1a, 0x02, 0x12, 0x00, 0x58, 0x01, 0x12, 0x00])).samples, 1);
});

test('readProfileFile: regular files only, bounded on disk and decompressed', (t) => {
  const dir = tempDir(t);
  const good = writeWallProfile(dir, { start: Date.UTC(2026, 0, 1), samples: [{ stack: [{ name: 'work', file: '/app/w.js', line: 1 }], cpu: 5 }] });
  assert.equal(readProfileFile(good).sample.length, 1);
  const refused = (file, pattern, bounds) =>
    assert.throws(
      () => readProfileFile(file, bounds === undefined ? undefined : limits(bounds)),
      (e) => e instanceof ProfileFileError && pattern.test(e.message),
    );

  const link = path.join(dir, 'link.wall.pb.gz');
  fs.symlinkSync(good, link);
  refused(link, /symbolic link/);
  refused(dir, /a directory, not a regular file/);
  refused(good, /PROFILE_LIMITS\.fileBytes/, { fileBytes: 10 });

  // 8 MB of empty samples gzip to about 8 KB: a thousand times over.
  const bomb = path.join(dir, 'bomb.wall.pb.gz');
  fs.writeFileSync(bomb, zlib.gzipSync(emptySamples(4_000_000)));
  refused(bomb, /decompresses to more than 1,048,576 bytes, over 100 times .*PROFILE_LIMITS\.inflateRatio/, { inflateFloorBytes: 1024 * 1024 });
  refused(bomb, /PROFILE_LIMITS\.decodedBytes/, { inflateRatio: 1e6, decodedBytes: 1024 * 1024 });
  // Within the bytes bounds, its samples are counted before any is decoded.
  refused(bomb, /PROFILE_LIMITS\.samples/, { inflateFloorBytes: 16 * 1024 * 1024 });
  // The same, not gzipped.
  const raw = path.join(dir, 'raw.wall.pb.gz');
  fs.writeFileSync(raw, emptySamples(PROFILE_LIMITS.samples + 1));
  refused(raw, /PROFILE_LIMITS\.samples/);
});

test('the CLI prints control characters from profiles as escapes; its JSON keeps them as JSON escapes', async (t) => {
  const dir = tempDir(t);
  const FN = 'render\x1b]0;pwned\x07\x1b[2J\x9b31m\x7f';
  const FILE = '/app/\x1b]52;c;cHduZWQ=\x07.js';
  const span = 'a'.repeat(16);
  writeWallProfile(dir, {
    start: Date.UTC(2026, 0, 1),
    tags: { 'service.name': 'shop\x1b[2J' },
    samples: [{ stack: [{ name: FN, file: FILE, line: 3 }], cpu: 20_000_000, labels: { span_id: span, trace_endpoint: 'GET /x\r\x1b[1A' } }],
  });
  fs.writeFileSync(path.join(dir, 'bad\x1b[2J.wall.pb.gz'), 'not a profile');
  const run = async (...args) => {
    let out = '';
    let err = '';
    const code = await main(
      ['node', 'spanprof', ...args],
      (s) => (out += s),
      (s) => (err += s),
    );
    return { code, out, err };
  };
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
  for (const args of [
    ['hotspots', dir],
    ['spans', dir],
    ['spans', dir, '--by', 'trace_endpoint'],
    ['hotspots', dir, '--format', 'collapsed'],
  ]) {
    const r = await run(...args);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, CONTROL, `${args.join(' ')}: no raw control character in ${JSON.stringify(r.out)}`);
    assert.doesNotMatch(r.err, CONTROL);
    assert.match(r.err, /skipped .*bad\\u001b\[2J\.wall\.pb\.gz: not a readable profile/);
  }
  const hot = await run('hotspots', dir);
  assert.ok(hot.out.includes('render\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u007f'), hot.out);
  const spans = await run('spans', dir);
  assert.ok(spans.out.includes('GET /x\\u000d\\u001b[1A'), spans.out);

  const json = await run('hotspots', dir, '--json');
  assert.doesNotMatch(json.out, CONTROL);
  const parsed = JSON.parse(json.out);
  assert.equal(parsed.functions[0].name, FN, 'the JSON holds the name itself');
  assert.equal(parsed.functions[0].file, FILE);
});
