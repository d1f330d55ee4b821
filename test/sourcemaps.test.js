'use strict';
// Source maps: a TypeScript service compiled by the real tsc (examples/typescript, with its
// maps beside the JavaScript) and started with the bundle shows its hot function at the .ts
// file and line in the profile files, read by an independent decoder; with
// SPANPROF_SOURCE_MAPS=false, at the compiled .js file and line.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readProfiles } = require('./helpers/pprof');

const example = path.join(__dirname, '..', 'examples', 'typescript');
const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');

before(() => {
  fs.rmSync(path.join(example, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', example], { stdio: 'inherit' });
});

/** Starts the compiled service under the bundle, sends `requests`, stops it with SIGTERM; the wall profiles it wrote. */
async function profileService(t, env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-sourcemaps-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--require', '@spanprof/auto/register', path.join(example, 'dist', 'server.js')], {
    cwd: example,
    env: {
      ...process.env,
      PORT: '0',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      SPANPROF_PROFILES_DIR: dir,
      SPANPROF_SAMPLING_INTERVAL_MICROS: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (const deadline = Date.now() + 20_000; !/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out);) {
      assert.ok(Date.now() < deadline, `the service started: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const port = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)[1];
    for (let i = 0; i < 150; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/cart/${i}`)).status, 200);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return readProfiles(dir, 'wall').flatMap((p) => p.samples);
}

function definitionLine(file, text) {
  return (
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(text)) + 1
  );
}

test('source maps on (the default): the hot function at its .ts file and line', async (t) => {
  const samples = await profileService(t, {});
  const frames = samples.flatMap((s) => s.stack).filter((f) => f.name === 'priceCart');
  assert.ok(frames.length > 20, `samples in priceCart: ${frames.length}`);
  const src = path.join(example, 'src', 'pricing.ts');
  for (const f of frames) {
    assert.equal(f.file, src);
    assert.equal(f.line, definitionLine(src, 'export function priceCart('));
  }
});

test('SPANPROF_SOURCE_MAPS=false: the compiled .js file and line', async (t) => {
  const samples = await profileService(t, { SPANPROF_SOURCE_MAPS: 'false' });
  const frames = samples.flatMap((s) => s.stack).filter((f) => f.name === 'priceCart');
  assert.ok(frames.length > 20, `samples in priceCart: ${frames.length}`);
  const js = path.join(example, 'dist', 'pricing.js');
  for (const f of frames) {
    assert.equal(f.file, js);
    assert.equal(f.line, definitionLine(js, 'function priceCart('));
  }
});
