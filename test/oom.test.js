'use strict';
// Memory at out of memory: a process with a small heap that leaks from a named function
// until V8 gives up leaves, in the FileExporter's directory, a heap profile tagged
// spanprof.oom=true whose top in-use function is the leaking one. Node 20 (host,
// OpenTelemetry 2.x) and Node 24 (the OpenTelemetry 3.x fixture, packages from npm pack).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readProfiles } = require('./helpers/pprof');
const { node24, otel3Fixture } = require('./helpers/runtimes');

const bin = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'spanprof.js');

function leakUntilOom(t, node, fixture) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-oom-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(node, ['--max-old-space-size=48', fixture, dir], { encoding: 'utf8', timeout: 120_000 });
  assert.ok(r.status !== 0 || r.signal !== null, `the process died of out of memory: ${r.status} ${r.signal}`);
  assert.match(r.stderr, /heap out of memory/i);
  assert.match(r.stderr, /spanprof: heap profile at out of memory written to /);
  const [oom, ...rest] = readProfiles(dir, 'heap').filter((p) => p.comments.includes('spanprof:spanprof.oom=true'));
  assert.ok(oom, `a heap profile at out of memory in ${fs.readdirSync(dir).join(', ')}`);
  assert.equal(rest.length, 0);
  assert.match(path.basename(oom.file), /^\d{8}T\d{6}\.\d{3}Z\.oom-fixture\.\d+\.oom\.heap\.pb\.gz$/);
  assert.ok(oom.comments.includes('spanprof:service.name=oom-fixture'), 'tagged like the process');
  const bytes = new Map();
  for (const s of oom.samples) {
    const leaf = s.stack[0]?.name;
    bytes.set(leaf, (bytes.get(leaf) ?? 0) + s.values['inuse_space/bytes']);
  }
  const [top] = [...bytes].sort((a, b) => b[1] - a[1]);
  assert.equal(top[0], 'leakyCache', `top in-use function: ${[...bytes].slice(0, 5).join(' | ')}`);
  assert.ok(top[1] > 10 * 1024 * 1024, `leakyCache holds ${top[1]} bytes`);
  // The spanprof command finds it: `hotspots --oom`, the same bytes by the same function key.
  const cli = JSON.parse(execFileSync(process.execPath, [bin, 'hotspots', dir, '--oom', '--json'], { encoding: 'utf8' }));
  assert.equal(cli.file, oom.file);
  assert.equal(cli.functions[0].name, 'leakyCache');
  assert.equal(cli.functions[0].self.bytes, top[1]);
}

test('out of memory, Node 20: the heap profile written before the process dies shows the leaking function', (t) => {
  leakUntilOom(t, process.execPath, path.join(__dirname, 'fixtures', 'oom.js'));
});

test('out of memory, Node 24: the same', { timeout: 600_000 }, (t) => {
  const dir = otel3Fixture();
  leakUntilOom(t, node24(), path.join(dir, 'fixtures', 'oom.js'));
});
