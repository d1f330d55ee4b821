'use strict';
// @spanprof/profile: the file format without the profiler. The spanprof command
// reads profile files through it, so loading the command loads no native code
// and no OpenTelemetry; tags and request counts survive a real file round trip.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { Profile, StringTable } = require('pprof-format');

/** The modules a fresh process has loaded after requiring `name`. */
function modulesLoadedBy(name) {
  const script = `require(${JSON.stringify(name)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8' }));
}

for (const name of ['@spanprof/profile', '@spanprof/cli']) {
  test(`${name} loads neither @datadog/pprof (native) nor @opentelemetry/api`, () => {
    const loaded = modulesLoadedBy(name);
    assert.ok(loaded.length > 0);
    assert.deepEqual(
      loaded.filter((m) => m.includes(`${path.sep}@datadog${path.sep}`) || m.endsWith('.node')),
      [],
    );
    assert.deepEqual(
      loaded.filter((m) => m.includes(`${path.sep}@opentelemetry${path.sep}`)),
      [],
    );
    assert.deepEqual(
      loaded.filter((m) => m.includes(`${path.sep}@spanprof${path.sep}core`) || m.includes(`packages${path.sep}core${path.sep}`)),
      [],
    );
  });
}

for (const name of ['@spanprof/exporter-base', '@spanprof/exporter-otlp', '@spanprof/exporter-pyroscope', '@spanprof/exporter-datadog']) {
  test(`${name} builds on @spanprof/exporter-base and loads neither @spanprof/core nor @datadog/pprof (native)`, () => {
    const loaded = modulesLoadedBy(name);
    assert.ok(loaded.some((m) => m.includes(`packages${path.sep}exporter-base${path.sep}`) || m.includes(`@spanprof${path.sep}exporter-base`)));
    assert.deepEqual(
      loaded.filter((m) => m.includes(`${path.sep}@datadog${path.sep}`) || m.endsWith('.node')),
      [],
    );
    assert.deepEqual(
      loaded.filter((m) => m.includes(`${path.sep}@spanprof${path.sep}core`) || m.includes(`packages${path.sep}core${path.sep}`)),
      [],
    );
  });
}

test('tags and request counts written with @spanprof/profile are read back from a gzipped pprof file', (t) => {
  const { readProfileTags, readRequestCounts, writeProfileTags, writeRequestCounts, PROFILE_FILE_SUFFIX } = require('@spanprof/profile');
  const strings = new StringTable();
  const profile = new Profile({ stringTable: strings, comment: [strings.dedup('not spanprof')] });
  writeProfileTags(profile, { 'service.name': 'shop', 'service.version': '1.5.0' });
  writeRequestCounts(profile, { 'GET /items/:id': 3, 'POST /a:b=c d': 2, 'GET /none': 0 });
  // Writing again replaces spanprof's comments and keeps the others.
  writeProfileTags(profile, { 'service.name': 'shop' });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-profile-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, `x.wall${PROFILE_FILE_SUFFIX}`);
  fs.writeFileSync(file, zlib.gzipSync(profile.encode()));

  const read = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
  const comments = read.comment.map((id) => read.stringTable.strings[Number(id)]);
  assert.ok(comments.includes('not spanprof'));
  assert.deepEqual(readProfileTags(comments), { 'service.name': 'shop' });
  assert.deepEqual(readRequestCounts(comments), { 'GET /items/:id': 3, 'POST /a:b=c d': 2 });
});
