'use strict';
// Memory at out of memory: a process with a small heap that leaks from a named function
// until V8 gives up leaves, in the FileExporter's directory, a heap profile tagged
// spanprof.oom=true whose top in-use function is the leaking one. Node 20 (host,
// OpenTelemetry 2.x) and Node 24 (the OpenTelemetry 3.x fixture, packages from npm pack).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { decodeProfile, readProfiles } = require('./helpers/pprof');
const { parseMultipart, startReceiver } = require('./helpers/receiver');
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
  const bytes = bytesByLeaf(oom);
  const [top] = bytes;
  assert.equal(top[0], 'leakyCache', `top in-use function: ${bytes.slice(0, 5).join(' | ')}`);
  assert.ok(top[1] > 10 * 1024 * 1024, `leakyCache holds ${top[1]} bytes`);
  // The spanprof command finds it: `hotspots --oom`, the same bytes by the same function key.
  const cli = JSON.parse(execFileSync(process.execPath, [bin, 'hotspots', dir, '--oom', '--json'], { encoding: 'utf8' }));
  assert.equal(cli.file, oom.file);
  assert.equal(cli.functions[0].name, 'leakyCache');
  assert.equal(cli.functions[0].self.bytes, top[1]);
}

/** The in-use bytes of a heap profile's samples by leaf function, most first. */
function bytesByLeaf(profile) {
  const bytes = new Map();
  for (const s of profile.samples) {
    const leaf = s.stack[0]?.name;
    bytes.set(leaf, (bytes.get(leaf) ?? 0) + s.values['inuse_space/bytes']);
  }
  return [...bytes].sort((a, b) => b[1] - a[1]);
}

test('out of memory with no FileExporter: the heap profile is sent to Pyroscope from the export process before the process dies', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=48', path.join(__dirname, 'fixtures', 'oom.js'), '-', receiver.url], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  assert.match(r.stderr, /heap out of memory/i);
  assert.match(r.stderr, /spanprof: heap profile at out of memory sent by PyroscopeExporter/);
  assert.doesNotMatch(r.stderr, /written to/, 'no file: there is no FileExporter');
  const ingests = receiver.requests.filter((q) => q.url.pathname === '/ingest');
  assert.equal(ingests.length, 1, `one request, the profile at out of memory: ${receiver.requests.map((q) => q.url.href).join(' ')}`);
  const parts = await parseMultipart(ingests[0]);
  const profile = decodeProfile(parts.profile.data);
  assert.deepEqual(profile.sampleTypes, ['inuse_objects/count', 'inuse_space/bytes']);
  const [top] = bytesByLeaf(profile);
  assert.equal(top[0], 'leakyCache');
  assert.ok(top[1] > 10 * 1024 * 1024, `leakyCache holds ${top[1]} bytes`);
  assert.match(ingests[0].url.searchParams.get('name'), /^oom-fixture\{/, 'under the service name');
});

test('out of memory, Node 20: the heap profile written before the process dies shows the leaking function', (t) => {
  leakUntilOom(t, process.execPath, path.join(__dirname, 'fixtures', 'oom.js'));
});

test('out of memory, Node 24: the same', { timeout: 600_000 }, (t) => {
  const dir = otel3Fixture();
  leakUntilOom(t, node24(), path.join(dir, 'fixtures', 'oom.js'));
});
