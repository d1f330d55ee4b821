'use strict';
// The public types as users compile against them, with the real TypeScript compiler:
// a ProfilingSpanProcessor is a SpanProcessor of both OpenTelemetry JS lines (2.x's
// sdk-trace-base, 3.x's sdk-trace), taken by their tracer providers and NodeSDK with no cast.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { otel3Fixture } = require('./helpers/runtimes');

const repo = path.resolve(__dirname, '..');
const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const FLAGS = [
  '--noEmit',
  '--strict',
  '--target',
  'ES2022',
  '--module',
  'node16',
  '--moduleResolution',
  'node16',
  '--types',
  'node',
  '--typeRoots',
  path.join(repo, 'node_modules', '@types'),
  '--skipLibCheck',
];

function compile(file, cwd) {
  const r = spawnSync(process.execPath, [tsc, ...FLAGS, file], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('types: ProfilingSpanProcessor is an OpenTelemetry JS 2.x SpanProcessor (NodeTracerProvider, NodeSDK)', () => {
  const r = compile(path.join(__dirname, 'fixtures', 'types', 'sdk2.ts'), repo);
  assert.equal(r.code, 0, r.out);
});

test('types: ProfilingSpanProcessor is an OpenTelemetry JS 3.x SpanProcessor (sdk-trace TracerProvider)', { timeout: 600_000 }, () => {
  const dir = otel3Fixture();
  const r = compile(path.join(dir, 'fixtures', 'types', 'sdk3.ts'), dir);
  assert.equal(r.code, 0, r.out);
});
