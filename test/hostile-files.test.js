'use strict';
// Files in a profile directory are data from outside: a gzip bomb of millions of empty samples,
// a FIFO and a link to /dev/zero named like profiles, names full of terminal control sequences.
// `spanprof spans` and `spanprof view` (real children, with a 256 MB heap) must read the valid
// profile beside them, name what they skipped and why, keep serving, stop on SIGTERM, and print
// the control characters as escapes.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { writeWallProfile } = require('./helpers/synthetic');
const { bin, skipBrowser } = require('./helpers/viewer');

const NODE = [process.execPath, '--max-old-space-size=256', bin];
const SPAN = '00000000000000a1';
const TRACE = '000000000000000000000000000000b2';
const FN = 'render\x1b]0;pwned\x07\x1b[2J';
const ENDPOINT = 'GET /orders';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** 32 million empty samples (a sample field: tag 0x12, length 0): 64 MB that gzip to about 65 KB. */
const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, Buffer.from([0x12, 0x00])));

function validProfile(dir, sequence = 1) {
  return writeWallProfile(dir, {
    start: Date.UTC(2026, 0, 1, sequence),
    tags: { 'service.name': 'shop' },
    requests: { [ENDPOINT]: 1 },
    samples: [
      {
        stack: [
          { name: FN, file: '/app/view\x9b2J.js', line: 7 },
          { name: 'handle', file: '/app/server.js', line: 3 },
        ],
        cpu: 20_000_000,
        labels: { span_id: SPAN, local_root_span_id: SPAN, trace_id: TRACE, trace_endpoint: ENDPOINT },
      },
    ],
    sequence,
  });
}

/** A directory holding one valid profile (whose events profile is a bomb) and hostile files named like profiles. */
function hostileDirectory(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-hostile-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const valid = validProfile(dir);
  const files = {
    valid,
    events: valid.replace(/\.wall\.pb\.gz$/, '.events.pb.gz'),
    bomb: path.join(dir, 'bomb.wall.pb.gz'),
    fifo: path.join(dir, 'x.wall.pb.gz'),
    zero: path.join(dir, 'y.wall.pb.gz'),
    named: path.join(dir, 'z\x1b]0;pwned\x07.wall.pb.gz'),
  };
  fs.writeFileSync(files.events, bomb);
  fs.writeFileSync(files.bomb, bomb);
  mkfifo(files.fifo);
  fs.symlinkSync('/dev/zero', files.zero);
  fs.writeFileSync(files.named, 'not a profile');
  return { dir, files };
}

function mkfifo(file) {
  const r = spawnSync('mkfifo', [file]);
  assert.equal(r.status, 0, `mkfifo ${file}: ${r.stderr}`);
}

/** Each hostile file, and a pattern of the reason it is skipped for. */
const reasons = (files) => [
  [files.bomb, /decompresses to more than [\d,]+ bytes, over 100 times .*PROFILE_LIMITS\.inflateRatio/],
  [files.events, /PROFILE_LIMITS\.inflateRatio/],
  [files.fifo, /a FIFO, not a regular file/],
  [files.zero, /a symbolic link/],
];

/** `spanprof ...args` as a child with a 256 MB heap; killed if it does not end (a FIFO read blocks forever). */
function spanprof(...args) {
  const r = spawnSync(NODE[0], [...NODE.slice(1), ...args], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `spanprof ${args[0]} did not end by itself: ${r.stderr}`);
  return r;
}

test(
  'spanprof spans and hotspots read the valid profile beside a gzip bomb, a FIFO and a link to /dev/zero',
  { skip: process.platform === 'win32' && 'no FIFOs' },
  (t) => {
    const { dir, files } = hostileDirectory(t);
    const began = performance.now();
    const spans = spanprof('spans', dir);
    assert.equal(spans.status, 0, spans.stderr);
    t.diagnostic(
      `figure [item 4]: spanprof spans beside a 32M-sample gzip bomb, a FIFO and a link to /dev/zero, with a 256 MB heap: exit ${spans.status} in ${((performance.now() - began) / 1000).toFixed(1)} s, ${reasons(files).length} files skipped`,
    );
    assert.match(spans.stdout, /^1 profile\(s\)/);
    assert.match(spans.stdout, new RegExp(`${SPAN}\\s`));
    assert.match(spans.stdout, new RegExp(`${TRACE}\\s`));
    assert.match(spans.stdout, new RegExp(`^${ENDPOINT}\\s+1\\s`, 'm'));
    for (const [file, reason] of reasons(files)) {
      assert.match(spans.stderr, new RegExp(`spanprof: skipped ${escapeRe(file)}: not a readable profile \\(.*${reason.source}`), `${file} in ${spans.stderr}`);
    }

    const hot = spanprof('hotspots', dir, '--span', SPAN);
    assert.equal(hot.status, 0, hot.stderr);
    assert.ok(hot.stdout.includes('render\\u001b]0;pwned\\u0007\\u001b[2J'), hot.stdout);
    assert.ok(hot.stdout.includes('/app/view\\u009b2J.js'), hot.stdout);
    assert.ok(hot.stderr.includes(`skipped ${path.join(dir, 'z\\u001b]0;pwned\\u0007.wall.pb.gz')}: not a readable profile`), hot.stderr);
    for (const r of [spans, hot]) {
      assert.doesNotMatch(r.stdout, CONTROL, 'no control character reaches the terminal');
      assert.doesNotMatch(r.stderr, CONTROL);
    }
    const json = spanprof('hotspots', dir, '--span', SPAN, '--json');
    assert.equal(json.status, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).functions[0].name, FN, 'JSON holds the name itself, escaped as JSON');
  },
);

test(
  'spanprof view serves the valid profile among hostile files, takes in new ones, and stops on SIGTERM',
  { skip: process.platform === 'win32' && 'no FIFOs', timeout: 180_000 },
  async (t) => {
    const { dir, files } = hostileDirectory(t);
    const child = spawn(NODE[0], [...NODE.slice(1), 'view', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stderr.on('data', (c) => (out += c));
    const url = await new Promise((resolve, reject) => {
      child.stdout.on('data', (c) => {
        out += c;
        const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then(({ code, signal }) => reject(new Error(`spanprof view exited (${code ?? signal}): ${out}`)));
    });
    const get = async (query) => {
      const res = await fetch(`${url}${query}`);
      assert.equal(res.status, 200, query);
      return res.json();
    };

    let meta = await get('api/meta');
    assert.equal(meta.profiles, 1);
    for (const [file] of reasons(files)) assert.ok(meta.skipped.includes(file), `${file} listed as skipped: ${meta.skipped}`);
    const hot = await get(`api/hotspots?scope=span&id=${SPAN}`);
    assert.equal(hot.functions[0].name, FN, 'control characters reach the page as JSON string escapes');
    assert.equal((await fetch(url)).status, 200);

    // Dropped into the watched directory while it runs: another bomb and FIFO, and a valid profile.
    const later = { bomb: path.join(dir, 'later.wall.pb.gz'), fifo: path.join(dir, 'later-fifo.wall.pb.gz') };
    fs.writeFileSync(later.bomb, bomb);
    mkfifo(later.fifo);
    validProfile(dir, 2);
    for (;;) {
      meta = await get('api/meta');
      if (meta.profiles === 2 && meta.skipped.includes(later.bomb) && meta.skipped.includes(later.fifo)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal((await get(`api/hotspots?scope=span&id=${SPAN}`)).total.samples, 2);

    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, out);
  },
);

test('spanprof view: a function name holding control characters shows in the page', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  const { openViewerPage, viewReady } = require('./helpers/viewer');
  const { dir } = hostileDirectory(t);
  const { page, url, foreign, pageErrors, close } = await openViewerPage(dir);
  try {
    await page.goto(`${url}span/${SPAN}`);
    await viewReady(page);
    assert.match(await page.locator('table').first().innerText(), /render/);
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  } finally {
    await close();
  }
});
