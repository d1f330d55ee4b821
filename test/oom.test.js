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

// The out-of-memory export's options file: nothing another local user can plant, read or rewrite.

/** This process's PID namespace, as the out-of-memory directories' names carry it. */
const NAMESPACE = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))[1];

/** A temporary directory of the test's own, handed to the child as TMPDIR. */
function privateTmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-tmp-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs test/fixtures/oom-armed.js; resolves with its JSON lines once it exits (or `kill`s it after the first line). */
function runArmed(tmp, profiles, ending, { kill } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'oom-armed.js'), profiles, ending], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (kill !== undefined && out.includes('\n')) child.kill(kill);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) =>
      resolve({
        code,
        signal,
        stderr: err,
        lines: out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      }),
    );
  });
}

/** A pid no process has now: one that just exited. */
function deadPid() {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('out-of-memory options: in a private mkdtemp directory (0700, file 0600), nothing at the predictable path; planted files untouched; gone after exit and shutdown', async (t) => {
  const tmp = privateTmp(t);
  const profiles = path.join(tmp, 'profiles');
  // Another user's plant for the next PIDs: a link to a file of the victim's, and a file of their own.
  const victim = path.join(tmp, 'victim.txt');
  fs.writeFileSync(victim, 'precious');
  const last = Number(fs.readFileSync('/proc/loadavg', 'utf8').trim().split('/').pop().split(' ').pop());
  for (let pid = last + 1; pid < last + 400; pid++) {
    if (pid % 2 === 0) fs.symlinkSync(victim, path.join(tmp, `spanprof-oom-${pid}.json`));
    else fs.writeFileSync(path.join(tmp, `spanprof-oom-${pid}.json`), '{"recipes":[]}', { mode: 0o666 });
  }
  for (const ending of ['exit', 'shutdown']) {
    const r = await runArmed(tmp, profiles, ending);
    assert.equal(r.code, 0, r.stderr);
    const { pid, armed } = r.lines[0];
    const own = armed.filter((e) => e.name.startsWith(`spanprof-oom-${pid}-`));
    assert.equal(own.length, 2, `one directory and one file: ${JSON.stringify(own)}`);
    const [dir, file] = own;
    assert.match(dir.name, new RegExp(`^spanprof-oom-${pid}-${NAMESPACE}-[A-Za-z0-9]{6}$`));
    assert.ok(dir.directory);
    assert.equal(dir.mode, 0o700);
    assert.equal(file.name, `${dir.name}/options.json`);
    assert.equal(file.mode, 0o600);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious', 'the planted link was not written through');
    const plant = path.join(tmp, `spanprof-oom-${pid}.json`);
    if (fs.existsSync(plant)) assert.equal(fs.readFileSync(plant, 'utf8'), pid % 2 === 0 ? 'precious' : '{"recipes":[]}', 'the plant at its PID untouched');
    if (ending === 'shutdown') assert.ok(!r.lines[1].shutdown.some((e) => e.name === dir.name), 'removed when the profiler stops');
    assert.ok(!fs.existsSync(path.join(tmp, dir.name)), `removed by ${ending}`);
    const left = fs.readdirSync(tmp).filter((n) => n.startsWith(`spanprof-oom-${pid}-`));
    assert.deepEqual(left, [], 'nothing of its own left');
    t.diagnostic(
      `figure [item 1]: ${ending}: options in ${dir.name} (mode ${dir.mode.toString(8)}, file ${file.mode.toString(8)}); entries left after ${ending}: ${left.length}`,
    );
  }
});

test('out-of-memory options: directories of processes that died without removing theirs are removed by the next one (only dead ones, only directories)', async (t) => {
  const tmp = privateTmp(t);
  const dead = deadPid();
  fs.mkdirSync(path.join(tmp, `spanprof-oom-${dead}-${NAMESPACE}-AbC123`), { mode: 0o700 });
  fs.writeFileSync(path.join(tmp, `spanprof-oom-${dead}-${NAMESPACE}-AbC123`, 'options.json'), '{}');
  // An earlier version's file, a day old.
  const old = path.join(tmp, `spanprof-oom-${dead}.json`);
  fs.writeFileSync(old, '{}');
  fs.utimesSync(old, new Date(Date.now() - 25 * 3600_000), new Date(Date.now() - 25 * 3600_000));
  // A live process's (this one's) stays; so does a link (never followed or removed), a directory
  // of another PID namespace (its PIDs are not ours to judge) and a recent earlier-version file.
  fs.mkdirSync(path.join(tmp, `spanprof-oom-${process.pid}-${NAMESPACE}-XyZ789`));
  fs.symlinkSync(path.join(tmp, 'elsewhere'), path.join(tmp, `spanprof-oom-${dead}-${NAMESPACE}-LiNk00`));
  fs.mkdirSync(path.join(tmp, `spanprof-oom-${dead}-12345-OtHeR0`));
  fs.writeFileSync(path.join(tmp, `spanprof-oom-${dead + 1}.json`), '{}');
  const r = await runArmed(tmp, path.join(tmp, 'profiles'), 'wait', { kill: 'SIGKILL' });
  assert.equal(r.signal, 'SIGKILL');
  // Killed: it left its own directory, which the next process removes like the others.
  const leftBy = r.lines[0].armed.find((e) => e.name.startsWith(`spanprof-oom-${r.lines[0].pid}-`) && e.directory).name;
  assert.ok(fs.existsSync(path.join(tmp, leftBy)));
  // The removal runs beside start-up; the next process is asked to wait for it by a shutdown.
  const next = await runArmed(tmp, path.join(tmp, 'profiles'), 'shutdown');
  assert.equal(next.code, 0, next.stderr);
  const names = fs
    .readdirSync(tmp)
    .filter((n) => n !== 'profiles')
    .sort();
  assert.deepEqual(
    names,
    [
      `spanprof-oom-${dead}-${NAMESPACE}-LiNk00`,
      `spanprof-oom-${process.pid}-${NAMESPACE}-XyZ789`,
      `spanprof-oom-${dead}-12345-OtHeR0`,
      `spanprof-oom-${dead + 1}.json`,
    ].sort(),
    names.join(' '),
  );
});

test('the out-of-memory export process reads only a private file of its user, and loads only spanprof exporters by name', (t) => {
  const script = path.join(__dirname, '..', 'packages', 'core', 'build', 'src', 'oom', 'exportOomProfile.js');
  const tmp = privateTmp(t);
  const marker = path.join(tmp, 'ran');
  const evil = path.join(tmp, 'evil.js');
  fs.writeFileSync(evil, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); exports.Evil = class {};`);
  const profile = path.join(tmp, 'profile.json');
  fs.writeFileSync(profile, JSON.stringify({ name: '(root)', scriptName: '', scriptId: 0, lineNumber: 0, columnNumber: 0, allocations: [], children: [] }));
  const recipes = [
    { module: evil, exportName: 'Evil', options: {} },
    { exporter: evil, options: {} },
    { exporter: '__proto__', options: {} },
  ];
  const options = JSON.stringify({ directory: undefined, pid: 1, intervalBytes: 1024, tags: {}, recipes });
  // 1. Where another user could have written it: a file of the shared directory, a group-writable one, a link.
  const shared = path.join(tmp, 'spanprof-oom-1.json');
  fs.writeFileSync(shared, options);
  const groupWritable = fs.mkdtempSync(path.join(tmp, 'spanprof-oom-1-'));
  fs.chmodSync(groupWritable, 0o770);
  fs.writeFileSync(path.join(groupWritable, 'options.json'), options, { mode: 0o600 });
  const linked = fs.mkdtempSync(path.join(tmp, 'spanprof-oom-2-'));
  fs.symlinkSync(shared, path.join(linked, 'options.json'));
  for (const file of [shared, path.join(groupWritable, 'options.json'), path.join(linked, 'options.json')]) {
    const r = spawnSync(process.execPath, [script, file, profile], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `${file}: refused`);
    assert.match(r.stderr, /not a private|ELOOP/, r.stderr);
  }
  // 2. A private file whose recipes name modules: none is loaded.
  const own = fs.mkdtempSync(path.join(tmp, 'spanprof-oom-3-'));
  fs.writeFileSync(path.join(own, 'options.json'), options, { mode: 0o600 });
  const r = spawnSync(process.execPath, [script, path.join(own, 'options.json'), profile], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.equal((r.stderr.match(/not one of spanprof's exporters/g) ?? []).length, 3, r.stderr);
  assert.ok(!fs.existsSync(marker), 'the named module never ran');
});

test('out of memory under the bundle with SPANPROF_EXPORTER=file: the profiles directory is made, the heap profile written', { timeout: 180_000 }, (t) => {
  const tmp = privateTmp(t);
  const profiles = path.join(tmp, 'not', 'yet', 'profiles');
  const r = spawnSync(process.execPath, ['--require', '@spanprof/auto/register', '--max-old-space-size=64', path.join(__dirname, 'fixtures', 'leak.js')], {
    encoding: 'utf8',
    timeout: 150_000,
    env: {
      ...process.env,
      TMPDIR: tmp,
      SPANPROF_EXPORTER: 'file',
      SPANPROF_PROFILES_DIR: profiles,
      OTEL_SERVICE_NAME: 'leak-bundle',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    },
  });
  assert.match(r.stderr, /heap out of memory/i);
  assert.match(r.stderr, /spanprof: heap profile at out of memory written to /, r.stderr.slice(-2000));
  const [oom] = readProfiles(profiles, 'heap').filter((p) => p.comments.includes('spanprof:spanprof.oom=true'));
  assert.ok(oom, `a heap profile at out of memory in ${profiles}`);
  // Most of the heap in use was allocated under leakyCache (at the bundle's 512 KiB sampling
  // interval, the leaf is sometimes the builtin it calls, String.prototype.repeat).
  let total = 0;
  let leaky = 0;
  for (const s of oom.samples) {
    total += s.values['inuse_space/bytes'];
    if (s.stack.some((f) => f?.name === 'leakyCache')) leaky += s.values['inuse_space/bytes'];
  }
  assert.ok(leaky > total / 2, `leakyCache holds ${leaky} of ${total} bytes: ${bytesByLeaf(oom).slice(0, 3).join(' | ')}`);
  t.diagnostic(
    `figure [item 6]: heap profile at out of memory written into a directory made for it; under leakyCache: ${(leaky / 1024 / 1024).toFixed(1)} of ${(total / 1024 / 1024).toFixed(1)} MiB`,
  );
  assert.deepEqual(
    fs.readdirSync(tmp).filter((n) => n.startsWith('spanprof-oom-') && fs.readdirSync(path.join(tmp, n)).length > 0).length <= 1,
    true,
    "at most the dead process's own directory is left (the next process removes it)",
  );
});
