'use strict';
// Instructions per request, counted by valgrind's callgrind: the same service as
// own-cost.js (bench/server.js), one server process per subject run under
// callgrind, driven by a keep-alive HTTP client in this (uninstrumented)
// process. Counting starts after a warm-up and covers a fixed number of
// requests, so the figure does not depend on what else the machine is doing.
// The window is long (10,000 requests after 3,000): a short one (3,000 after
// 1,500) still held the tail of the warm-up (optimizing compiles: +65k per
// request in every subject) and, in some subjects, the one major GC that
// collects what starting up left in the old generation (+34 to +42k per
// request), which steady state does not pay. It counts work, not time: cache misses and
// the cost of waiting are not in it. Every thread of the server is counted
// (V8's GC helpers and compiler, the profiler's thread).
//
// Under callgrind the server runs about 50 times slower, so the wall profiler
// samples every --interval-micros (default 500 ms) instead of spanprof's 10 ms,
// to take about as many samples per request as it does at full speed, and the
// event-loop block and event thresholds are scaled alike (else every turn of the
// loop is a block). Profiles
// are collected every --upload-period-millis (default an hour): a collection
// that fell into one window and not another would swamp the comparison (on
// Node 20, +140k instructions per request over 3,000 requests), and its cost is
// measured on its own (bench/http-overhead.js, the collection pause).
//
// node bench/instructions.js [--node PATH ...] [--subjects tracing,samplers,spanprof]
//   [--requests 10000] [--warmup 3000] [--repeat 3] [--interval-micros 500000]
//   [--upload-period-millis 3600000] [--json FILE] [--keep-dumps DIR] [--node-flags '...']
// --node-flags: flags for the server's node (e.g. "--min-semi-space-size=16 --max-semi-space-size=16",
// which fixes V8's adaptive young generation, as bench/own-cost.js runs do).
// --keep-dumps keeps each run's callgrind dump of the counted window (for callgrind_annotate).
// The server's environment passes through: EVENTS=0, BLOCKS=0, SOURCE_MAPS=0,
// CONTEXT_MANAGER=stock... take spanprof's cost apart (bench/server.js).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { median, startServer, stopChild, stopChildrenOnSignals } = require('./common');

/** How much slower the server runs under callgrind: time-based settings are scaled by it. */
const SLOWDOWN = 50;

function parseArgs(argv) {
  const opts = {
    nodes: [],
    subjects: ['tracing', 'samplers', 'spanprof'],
    requests: 10_000,
    warmup: 3000,
    repeat: 3,
    intervalMicros: 500_000,
    uploadPeriodMillis: 3_600_000,
    json: undefined,
    keepDumps: undefined,
    nodeFlags: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => inline ?? argv[++i];
    if (flag === '--node') opts.nodes.push(value());
    else if (flag === '--subjects') opts.subjects = value().split(',');
    else if (flag === '--requests') opts.requests = Number(value());
    else if (flag === '--warmup') opts.warmup = Number(value());
    else if (flag === '--repeat') opts.repeat = Number(value());
    else if (flag === '--interval-micros') opts.intervalMicros = Number(value());
    else if (flag === '--upload-period-millis') opts.uploadPeriodMillis = Number(value());
    else if (flag === '--json') opts.json = value();
    else if (flag === '--keep-dumps') opts.keepDumps = value();
    else if (flag === '--node-flags') opts.nodeFlags = value().split(/\s+/).filter(Boolean);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (opts.nodes.length === 0) opts.nodes.push(process.execPath);
  return opts;
}

/** `count` GETs over keep-alive connections, `concurrency` at a time. */
async function drive(port, count, concurrency = 8) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let left = count;
  const one = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/items/${left}`, agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  const worker = async () => {
    while (left > 0) {
      left--;
      await one();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
}

/** Instructions per request of one subject on one Node binary. */
async function measure(node, subject, opts, dir) {
  const out = path.join(dir, `${subject}-${process.hrtime.bigint()}`);
  const { child, port } = await startServer({
    node: 'valgrind',
    args: ['-q', '--tool=callgrind', '--smc-check=all-non-file', '--dump-instr=no', `--callgrind-out-file=${out}`, node, ...opts.nodeFlags],
    env: {
      MODE: subject,
      SAMPLING_INTERVAL_MICROS: String(opts.intervalMicros),
      UPLOAD_PERIOD_MILLIS: String(opts.uploadPeriodMillis),
      // Time-based thresholds scaled as the sampling interval is: at callgrind's pace every
      // turn of the loop would be an event-loop block and every GC pause an event.
      BLOCK_THRESHOLD_MILLIS: String(50 * SLOWDOWN),
      EVENT_THRESHOLD_MILLIS: String(SLOWDOWN),
    },
    timeoutMillis: 600_000,
  });
  try {
    await drive(port, opts.warmup);
    execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
    await drive(port, opts.requests);
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    // The dump after the zeroing is part 1 of the output.
    const dump = fs.readFileSync(`${out}.1`, 'utf8');
    if (opts.keepDumps !== undefined) {
      fs.mkdirSync(opts.keepDumps, { recursive: true });
      fs.copyFileSync(`${out}.1`, path.join(opts.keepDumps, `callgrind.${subject}.${path.basename(out).split('-').pop()}`));
    }
    const summary = /^summary:\s*(\d+)/m.exec(dump);
    if (summary === null) throw new Error(`no summary in ${out}.1`);
    return Number(summary[1]) / opts.requests;
  } finally {
    await stopChild(child);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('bench/instructions.js needs valgrind (Debian: apt-get install valgrind)');
    process.exitCode = 1;
    return;
  }
  stopChildrenOnSignals();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-callgrind-'));
  const results = [];
  try {
    for (const node of opts.nodes) {
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      const counts = Object.fromEntries(opts.subjects.map((s) => [s, []]));
      for (let r = 0; r < opts.repeat; r++) {
        // Alternating order: each repeat starts with the next subject.
        for (let i = 0; i < opts.subjects.length; i++) {
          const subject = opts.subjects[(i + r) % opts.subjects.length];
          const perRequest = await measure(node, subject, opts, dir);
          counts[subject].push(perRequest);
          console.error(`${version} ${subject} repeat ${r + 1}: ${Math.round(perRequest)} instructions/request`);
        }
      }
      results.push({ node: version, counts });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const k = (x) => `${(x / 1000).toFixed(1)}k`;
  console.log(
    `\ninstructions per request (thousands), ${opts.requests} requests after ${opts.warmup} of warm-up: the median of ${opts.repeat} repeats, then each repeat`,
  );
  console.log(
    `| Node | ${opts.subjects.join(' | ')} |${opts.subjects.includes('spanprof') && opts.subjects.includes('samplers') ? ' spanprof − samplers (medians) |' : ''}`,
  );
  console.log(
    `| --- |${opts.subjects.map(() => ' --- |').join('')}${opts.subjects.includes('spanprof') && opts.subjects.includes('samplers') ? ' --- |' : ''}`,
  );
  for (const { node, counts } of results) {
    const cells = opts.subjects.map((s) => `**${k(median(counts[s]))}** (${counts[s].map(k).join(', ')})`);
    const own = counts.spanprof && counts.samplers ? ` ${k(median(counts.spanprof) - median(counts.samplers))} |` : '';
    console.log(`| ${node} | ${cells.join(' | ')} |${own}`);
  }
  const file = opts.json ?? path.join(__dirname, 'results', `instructions-${new Date().toISOString().slice(0, 10)}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), opts, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
