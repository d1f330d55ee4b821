'use strict';
// Worker threads, as users run them: the worker-threads example (Express handing CPU work to
// a worker inside the request's span, trace context sent with each job) under the
// --require bundle on Node 20 and 24; and workers created and terminate()d while profiled,
// in rounds, with the process's memory flat. (The 13 context patterns inside a worker are
// in accuracy.test.js.)
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { readProfiles } = require('./helpers/pprof');
const { startReceiver } = require('./helpers/receiver');
const { node24 } = require('./helpers/runtimes');
const { drive, start, traceExportEnv } = require('./helpers/service');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'packages/cli/bin/spanprof.js');
const REGISTER = ['--require', '@spanprof/auto/register'];
/** The bundle from a working directory outside the repository. */
const REGISTER_ANYWHERE = ['--require', require.resolve('@spanprof/auto/register')];
const run = promisify(execFile);

/** The spans of OTLP/JSON trace requests, each with its resource's attributes. */
function receivedSpans(receiver) {
  const spans = [];
  for (const r of receiver.requests) {
    for (const rs of JSON.parse(r.body.toString('utf8')).resourceSpans ?? []) {
      const resource = Object.fromEntries((rs.resource?.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
      for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, resource });
    }
  }
  return spans;
}

async function workerExample(node, threadName) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-workers-'));
  const traces = await startReceiver();
  const app = start(path.join(ROOT, 'examples/worker-threads/app.js'), {
    flags: REGISTER,
    node,
    env: {
      SPANPROF_PROFILES_DIR: dir,
      // A misspelt variable: warned once for the process, not once per thread.
      SPANPROF_EXPORTERS: 'file',
      ...traceExportEnv(traces.url),
      // The main thread's detectors find what a worker's would not: the worker must get them.
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
    },
  });
  try {
    const port = await app.listening;
    const requests = [];
    for (let i = 0; i < 30; i++) requests.push({ url: `/reports/${i}` }, { url: `/users/${i}` });
    await drive(port, requests, 6);
    app.child.kill('SIGTERM');
    const { code, signal } = await app.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `the example stops in order (stderr: ${app.out.stderr})`);
    assert.equal(app.out.stderr.match(/SPANPROF_W001/g)?.length, 1, `one warning for the process:\n${app.out.stderr}`);

    // Spans: each worker span continues its request's trace, under the process's resource.
    const spans = receivedSpans(traces);
    const reports = spans.filter((s) => s.name === 'build report');
    const requestSpans = new Map(spans.filter((s) => s.kind === 2).map((s) => [s.spanId, s]));
    assert.equal(reports.length, 30, 'every worker span exported');
    for (const r of reports) {
      const parent = requestSpans.get(r.parentSpanId);
      assert.ok(parent !== undefined && parent.traceId === r.traceId, 'the worker span is a child of the request span');
      assert.equal(r.resource['service.instance.id'], parent.resource['service.instance.id'], 'the process resource');
      assert.equal(r.resource['host.arch'], parent.resource['host.arch']);
    }

    // Profiles: the worker's own files, its samples on its spans, labelled with the thread.
    const files = fs.readdirSync(dir);
    const workerFiles = files.filter((f) => /\.\d+-\d+\.\d{6}\.wall\.pb\.gz$/.test(f));
    assert.ok(workerFiles.length >= 1, `a worker's wall profile: ${files.join(', ')}`);
    const samples = readProfiles(dir, 'wall').flatMap((p) => p.samples);
    const crunch = samples.filter((s) => s.stack.some((f) => f?.name === 'crunchNumbers'));
    assert.ok(crunch.length >= 20, `crunchNumbers samples: ${crunch.length}`);
    const reportsById = new Map(reports.map((r) => [r.spanId, r]));
    for (const s of crunch) {
      const span = reportsById.get(s.labels.span_id);
      assert.ok(span !== undefined, `a worker sample on a worker span: ${JSON.stringify(s.labels, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      assert.equal(s.labels.trace_id, span.traceId);
      assert.equal(s.labels.thread_name, threadName);
      assert.notEqual(s.labels.thread_id, '0');
    }
    const main = samples.filter((s) => s.stack.some((f) => f?.name === 'renderUser'));
    assert.ok(main.length >= 5 && main.every((s) => s.labels.thread_name === 'main' && s.labels.thread_id === '0'), 'main-thread samples say so');
    const others = samples.filter((s) => s.stack[0]?.name === 'Non JS threads activity');
    assert.ok(
      others.every((s) => s.labels.thread_id === undefined && s.labels.span_id === undefined),
      'other threads CPU: no thread, no span',
    );

    // Views: a trace gathers both threads; spans group by thread.
    const onMain = new Set(samples.filter((s) => s.labels.thread_id === '0' && s.stack.some((f) => f?.name === 'priceOrder')).map((s) => s.labels.trace_id));
    const traceId = crunch.map((s) => s.labels.trace_id).find((t) => onMain.has(t));
    assert.ok(traceId !== undefined, `a report's trace with samples on both threads (${onMain.size} on the main thread)`);
    const { stdout: hot } = await run(process.execPath, [CLI, 'hotspots', dir, '--trace', traceId, '--json']);
    const hotspots = JSON.parse(hot);
    assert.ok(hotspots.files.length >= 2, `the trace is in the main thread's and the worker's files: ${hotspots.files}`);
    assert.ok(hotspots.functions.some((f) => f.name === 'crunchNumbers'));
    const { stdout: byThread } = await run(process.execPath, [CLI, 'spans', dir, '--by', 'thread_name', '--json']);
    const groups = JSON.parse(byThread).values.map((g) => g.value);
    assert.ok(groups.includes('main') && groups.includes(threadName), `groups: ${groups}`);
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await traces.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('worker-threads example under --require on Node 20: the worker span continues the trace, its samples carry it and the thread', async () => {
  // Node 20 has no worker_threads.threadName: every worker is `worker`.
  await workerExample(process.execPath, process.version.startsWith('v20.') ? 'worker' : 'reports');
});

test('worker-threads example under --require on Node 24: the worker named by its Worker `name`', async () => {
  await workerExample(node24(), 'reports');
});

/**
 * Runs fixtures/worker-churn.js: `rounds` rounds of 50 workers, each ended by terminate()
 * in the middle of its spans; returns the RSS after each round. glibc keeps a malloc arena
 * per thread, and the memory of ended threads in them: two arenas keep that from reading as
 * growth. A leak of a worker's isolate, profiler or session (megabytes each) grows the RSS
 * by that much times 50 every round.
 */
async function churn(node, mode, rounds, flags = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-churn-'));
  try {
    const { stdout, stderr } = await run(node, [...flags, path.join(__dirname, 'fixtures/worker-churn.js'), String(rounds), '50', mode], {
      cwd: dir,
      env: {
        ...process.env,
        MALLOC_ARENA_MAX: '2',
        SPANPROF_PROFILES_DIR: dir,
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      },
      timeout: 300_000,
    });
    assert.doesNotMatch(stderr, /FATAL|Abort|Segmentation/i);
    const rss = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).rss);
    assert.equal(rss.length, rounds, stdout);
    // Flat: from the second round on (the first sets the high-water mark), within 10% and 16 MiB.
    const limit = rss[1] * 1.1 + 16 * 2 ** 20;
    assert.ok(
      rss.slice(2).every((r) => r <= limit),
      `RSS per round (MiB): ${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(', ')}`,
    );
    if (flags.length > 0)
      assert.ok(
        fs.readdirSync(dir).some((f) => f.endsWith('.wall.pb.gz')),
        'the main thread was profiled',
      );
    return rss;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('50 workers under the bundle, terminate()d mid-span, 4 rounds, on Node 20: no crash, memory flat', async () => {
  await churn(process.execPath, 'bundle', 4, REGISTER_ANYWHERE);
});

test('50 workers under the bundle, terminate()d mid-span, 4 rounds, on Node 24: no crash, memory flat', async () => {
  await churn(node24(), 'bundle', 4, REGISTER_ANYWHERE);
});

test('50 workers each with its own ProfilingSpanProcessor, terminate()d mid-span, 3 rounds, on Node 24', async () => {
  await churn(node24(), 'code', 3);
});
