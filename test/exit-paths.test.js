'use strict';
// The last period at every exit path that runs JavaScript: process.exit(), an uncaught
// exception, an unhandled rejection, an app's own SIGTERM handler that exits (the last
// period written to the FileExporter at once, its loss for other exporters said as
// SPANPROF_W013), and SIGHUP under the bundle (flushed like SIGTERM).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readProfiles } = require('./helpers/pprof');

/** Runs `args` with `env`; sends `signal` once it printed "ready". Resolves with how it ended; killed when the test ends. */
function run(t, args, { env = {}, signal } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (signal !== undefined && stdout.includes('ready\n')) child.kill(signal);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code, sig) => resolve({ code, signal: sig, stdout, stderr }));
  });
}

/** The CPU samples of `burnBeforeExit` in the wall profiles of `dir`. */
function burnSamples(dir) {
  let count = 0;
  for (const profile of readProfiles(dir, 'wall')) {
    for (const s of profile.samples) if (s.stack.some((f) => f?.name === 'burnBeforeExit') && s.labels.span_id) count++;
  }
  return count;
}

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-exit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A URL nothing listens on (a port just freed). */
async function refusedUrl() {
  const http = require('node:http');
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v1development/profiles`;
}

const fixture = path.join(__dirname, 'fixtures', 'exit-paths.js');

for (const [how, ended] of [
  ['exit', (r) => r.code === 3],
  ['throw', (r) => r.code === 1 && /uncaught on purpose/.test(r.stderr)],
  ['reject', (r) => r.code === 1 && /unhandled on purpose/.test(r.stderr)],
  ['app-sigterm', (r) => r.code === 0],
]) {
  test(
    `${how}: the last period is written to the FileExporter at exit, and its loss for the OTLP exporter said on stderr (SPANPROF_W013)`,
    { timeout: 120_000 },
    async (t) => {
      const dir = tmp(t);
      const r = await run(t, [fixture, dir, how, await refusedUrl()], { signal: how === 'app-sigterm' ? 'SIGTERM' : undefined });
      assert.ok(ended(r), `ended as ${how} does: ${r.code} ${r.signal} ${r.stderr}`);
      assert.ok(burnSamples(dir) > 0, `the span's samples are in ${fs.readdirSync(dir).join(', ')}`);
      assert.deepEqual(
        fs.readdirSync(dir).filter((n) => n.endsWith('.partial')),
        [],
      );
      assert.match(
        r.stderr,
        /\[SPANPROF_W013\] Warning: the process exited before spanprof was shut down: the last \d+\.\d s of profiles did not reach OTLPProfileExporter/,
      );
      assert.equal(r.stderr.split('SPANPROF_W013').length - 1, 1, 'said once');
      t.diagnostic(`figure [item 7]: ${how}: ${burnSamples(dir)} samples of the span written at exit; OTLP's loss said once`);
    },
  );
}

/** An app for the bundle: burns 300 ms in `burnBeforeExit` inside a span, then prints "ready"; `extra` is more of its code. */
function bundleApp(dir, extra = '') {
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(
    app,
    `const { trace } = require('@opentelemetry/api');
function burnBeforeExit(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x += Math.sqrt(x + 1); return x; }
trace.getTracer('app').startActiveSpan('work', (span) => { burnBeforeExit(300); span.end(); });
setInterval(() => {}, 1000);
${extra}
process.stdout.write('ready\\n');
`,
  );
  return app;
}

const BUNDLE_ENV = (profiles) => ({
  NODE_PATH: path.join(__dirname, '..', 'node_modules'),
  SPANPROF_EXPORTER: 'file',
  SPANPROF_PROFILES_DIR: profiles,
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
});

test('SIGHUP under the bundle: the last period is flushed as at SIGTERM, then the process ends by SIGHUP', { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const profiles = path.join(dir, 'profiles');
  const r = await run(t, ['--require', '@spanprof/auto/register', bundleApp(dir)], { signal: 'SIGHUP', env: BUNDLE_ENV(profiles) });
  assert.equal(r.signal, 'SIGHUP', `ended by the signal: ${r.code} ${r.stderr}`);
  assert.ok(burnSamples(profiles) > 0, 'flushed before the end');
  assert.doesNotMatch(r.stderr, /SPANPROF_W013/, 'nothing lost');
  t.diagnostic(`figure [item 7]: SIGHUP under the bundle: ${burnSamples(profiles)} samples flushed, ended by ${r.signal}`);
});

test('SIGHUP under the bundle, when the app handles it (a reload): profiling goes on', { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const profiles = path.join(dir, 'profiles');
  // At SIGHUP the app reloads; a second later (past a flush's end, had one started) it burns again
  // and exits by itself: both burns are profiled.
  const extra = `process.on('SIGHUP', () => setTimeout(() => {
  trace.getTracer('app').startActiveSpan('after-reload', (span) => { burnBeforeExit(300); span.end(); });
  process.exit(0);
}, 1000));`;
  const r = await run(t, ['--require', '@spanprof/auto/register', bundleApp(dir, extra)], { signal: 'SIGHUP', env: BUNDLE_ENV(profiles) });
  assert.equal(r.code, 0, r.stderr);
  const spans = new Set();
  for (const profile of readProfiles(profiles, 'wall')) {
    for (const s of profile.samples) if (s.stack.some((f) => f?.name === 'burnBeforeExit')) spans.add(s.labels.span_id);
  }
  assert.equal(spans.size, 2, 'the span before the reload and the one after');
});

test("the bundle with the app's own SIGTERM handler that exits at once: the last period is still written", { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const profiles = path.join(dir, 'profiles');
  const r = await run(t, ['--require', '@spanprof/auto/register', bundleApp(dir, "process.on('SIGTERM', () => process.exit(0));")], {
    signal: 'SIGTERM',
    env: BUNDLE_ENV(profiles),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(burnSamples(profiles) > 0, `written at exit: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /SPANPROF_W013/, 'nothing lost: the FileExporter is the only exporter');
});

test(
  'shutdown is bounded when the last collection cannot finish (the thread pool held by the app): the period is lost, said as SPANPROF_E002',
  { timeout: 120_000 },
  async (t) => {
    const dir = tmp(t);
    const r = await run(t, [path.join(__dirname, 'fixtures', 'hung-shutdown.js'), dir], { env: { UV_THREADPOOL_SIZE: '4' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^shut down after \d+ ms/, 'shutdown() resolved while the pool was held');
    assert.match(r.stderr, /\[SPANPROF_E002\] Warning: the last period was not collected within exportTimeoutMillis \(500 ms\) at shutdown: it is lost/);
    t.diagnostic(`figure [item 7]: ${r.stdout.trim()} with the thread pool held (exportTimeoutMillis 500)`);
  },
);
