'use strict';
// How fast `spanprof view` opens an hour of profiles of a service serving
// 1,000 requests/s.
//
// 1. A real workload: bench/server.js (node:http, OpenTelemetry HTTP tracing,
//    ProfilingSpanProcessor at its defaults: 99 Hz, 60 s periods) under an
//    autocannon load of exactly 1,000 requests/s (0.4 ms of work each) for
//    --seconds (default 60): one real profile of one period.
// 2. The hour: 60 copies of that profile, one per minute, each with its own
//    span, local root and trace IDs (the hex IDs rewritten per copy) so the
//    hour holds as many distinct spans as a real one, gzipped pprof like the
//    FileExporter's; the events profile likewise, beside each.
// 3. `spanprof view DIR --port 0` as a child process: time until it prints
//    its URL (every file read and indexed), then, in Chromium (playwright-core),
//    time from navigation until the page has rendered: the overview (ranking of
//    the whole hour), a span by deep link, and an endpoint's flame graph; the
//    first load (the viewer computes the answers) and the median of the next
//    --loads - 1 (answered from the viewer's cache), each in a fresh browser context;
//    and the viewer's resident memory once indexed, after the loads, and at its peak.
// Results: printed, and written to bench/results/view-load.json.
//
//   node bench/view-load.js [--seconds 60] [--copies 60] [--loads 5]
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { gunzipSync, gzipSync } = require('node:zlib');
const autocannon = require('autocannon');
const { Profile } = require('pprof-format');
const { launchChromium } = require('../test/helpers/viewer');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    copies: { type: 'string', default: '60' },
    loads: { type: 'string', default: '5' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
});
const seconds = Number(args.seconds);
const copies = Number(args.copies);
const loads = Number(args.loads);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function recordOnePeriod(dir) {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
    env: { ...process.env, MODE: 'spanprof', PROFILES_DIR: dir, WORK_UNITS: '10', UPLOAD_PERIOD_MILLIS: String(seconds * 1000 + 60_000) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port)));
  const r = await autocannon({ url: `http://127.0.0.1:${port}/items/42`, connections: 20, overallRate: 1000, duration: seconds });
  // A forced collection writes the period's profile.
  await (await fetch(`http://127.0.0.1:${port}/__stats`)).json();
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  const wall = fs.readdirSync(dir).filter((f) => f.endsWith('.wall.pb.gz'));
  return { requests: r.requests.total, rate: r.requests.average, file: path.join(dir, wall.sort()[0]) };
}

/**
 * Writes `copies` one-minute profiles from `source` (a wall profile, with the events profile
 * beside it), each with its own span, root and trace IDs and its samples' and events' times
 * moved to its minute.
 */
function makeHour(source, dir) {
  const kinds = { wall: fs.readFileSync(source) };
  const events = source.replace(/\.wall\.pb\.gz$/, '.events.pb.gz');
  if (fs.existsSync(events)) kinds.events = fs.readFileSync(events);
  const hourStart = Date.UTC(2026, 0, 1, 10, 0, 0);
  let samples = 0;
  let size = 0;
  for (let i = 0; i < copies; i++) {
    const start = hourStart + i * 60_000;
    const stamp = new Date(start).toISOString().replace(/[-:]/g, '');
    for (const [kind, bytes] of Object.entries(kinds)) {
      const profile = Profile.decode(gunzipSync(bytes));
      const strings = profile.stringTable.strings;
      const prefix = (0x1000 + i).toString(16);
      for (let s = 0; s < strings.length; s++) {
        if (/^(?:[0-9a-f]{16}|[0-9a-f]{32})$/.test(strings[s])) strings[s] = prefix + strings[s].slice(prefix.length);
      }
      // Both files of a period share its start: the wall profile's, moved to this minute.
      const shift = BigInt(start) * 1_000_000n - BigInt(Profile.decode(gunzipSync(kinds.wall)).timeNanos);
      const timeKey = strings.indexOf('end_timestamp_ns');
      for (const sample of profile.sample) for (const label of sample.label) if (Number(label.key) === timeKey) label.num = BigInt(label.num) + shift;
      profile.timeNanos = BigInt(start) * 1_000_000n;
      profile.durationNanos = 60_000_000_000n;
      const out = gzipSync(profile.encode());
      fs.writeFileSync(path.join(dir, `${stamp}.bench.1.${String(i + 1).padStart(6, '0')}.${kind}.pb.gz`), out);
      if (kind === 'wall') samples += profile.sample.length;
      size += out.length;
    }
  }
  return { samples, bytes: size };
}

/** A process's resident set now and at its peak, MiB (Linux: /proc/<pid>/status). */
function memoryOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

function startViewer(dir) {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'packages', 'cli', 'bin', 'spanprof.js'), 'view', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve({ child, url: m[1], startMillis: performance.now() - started });
    });
    child.once('exit', (code) => reject(new Error(`spanprof view exited (${code})`)));
  });
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-view-load-'));
  const recorded = path.join(work, 'recorded');
  const hour = path.join(work, 'hour');
  fs.mkdirSync(recorded);
  fs.mkdirSync(hour);
  console.log(`recording ${seconds} s of a service at 1,000 requests/s ...`);
  const one = await recordOnePeriod(recorded);
  const made = makeHour(one.file, hour);
  console.log(`hour: ${copies} profiles, ${made.samples} samples, ${(made.bytes / 1e6).toFixed(1)} MB (from ${one.requests} requests at ${one.rate}/s)`);

  const viewer = await startViewer(hour);
  const browser = await launchChromium(args.chromium);
  const indexed = memoryOf(viewer.child.pid);
  const result = {
    seconds,
    copies,
    samples: made.samples,
    megabytes: made.bytes / 1e6,
    requests: one.requests,
    viewerStartMillis: viewer.startMillis,
    viewerRssAfterStartMiB: indexed.rssMiB,
    pages: {},
  };
  try {
    const ranking = await (await fetch(`${viewer.url}api/ranking?limit=1`)).json();
    const pages = {
      overview: '',
      span: `span/${ranking.spans[0].spanId}`,
      endpoint: `endpoint/${encodeURIComponent(ranking.endpoints[0].endpoint)}`,
    };
    for (const [name, page] of Object.entries(pages)) {
      // Each load in a new browser context (a first visit for the browser). The first load is also
      // the viewer's first answer to these queries (cold); later ones are answered from its cache.
      const times = [];
      for (let i = 0; i < loads; i++) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
        const tab = await context.newPage();
        const t0 = performance.now();
        await tab.goto(`${viewer.url}${page}`);
        await tab.waitForFunction(() => document.body.dataset.ready !== undefined && document.body.dataset.ready !== '', null, { timeout: 60_000 });
        times.push(performance.now() - t0);
        await context.close();
      }
      const cold = times[0];
      const warm = median(times.slice(1));
      result.pages[name] = { coldMillis: cold, warmMedianMillis: warm };
      console.log(`${name.padEnd(9)} page ready in ${cold.toFixed(0)} ms on first load, ${warm.toFixed(0)} ms after (median of ${loads - 1})`);
    }
    const end = memoryOf(viewer.child.pid);
    result.viewerRssMiB = end.rssMiB;
    result.viewerPeakRssMiB = end.peakRssMiB;
  } finally {
    await browser.close();
    viewer.child.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`viewer start (read and index ${copies} files): ${viewer.startMillis.toFixed(0)} ms`);
  console.log(
    `viewer memory: ${result.viewerRssAfterStartMiB.toFixed(0)} MiB resident once indexed, ${result.viewerRssMiB?.toFixed(0)} MiB after the page loads, peak ${result.viewerPeakRssMiB?.toFixed(0)} MiB`,
  );
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'view-load.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
