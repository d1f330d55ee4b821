'use strict';
// HTTP delivery's pure parts (@spanprof/exporter-base): Retry-After, backoff, redaction, headers.
const { test, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const api = require('@opentelemetry/api');
const { backoffMillis, parseRetryAfter, redactUrl, validHeaders } = require('@spanprof/exporter-base');
const { captureDiag } = require('../helpers/diag');

afterEach(() => api.diag.disable());

test('Retry-After: delta seconds or an HTTP date, anything else ignored', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(' 0 '), 0);
  for (const v of [null, '', '1.5', '-1', 'soon', 'Wed, 21 Oct 2015 07:28:00']) assert.equal(parseRetryAfter(v), undefined, String(v));
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT'), 0, 'a date in the past: retry now');
  const inAMinute = new Date(Date.now() + 60_000).toUTCString();
  const ms = parseRetryAfter(inAMinute);
  assert.ok(ms > 55_000 && ms <= 60_000, `${ms}`);
});

test('backoff: the upper half of the doubled delay, capped; Retry-After wins, capped too', () => {
  const at = (attempt, r) => backoffMillis(attempt, 1000, 30_000, undefined, () => r);
  assert.deepEqual([at(1, 0), at(1, 1)], [500, 1000]);
  assert.deepEqual([at(2, 0), at(2, 1)], [1000, 2000]);
  assert.deepEqual([at(3, 0.5), at(10, 1), at(50, 0)], [3000, 30_000, 15_000]);
  assert.equal(backoffMillis(2, 1000, 30_000, 7000), 7000);
  assert.equal(backoffMillis(2, 1000, 30_000, 600_000), 30_000);
  for (let i = 0; i < 100; i++) {
    const ms = backoffMillis(4, 1000, 30_000);
    assert.ok(ms >= 4000 && ms <= 8000, `${ms}`);
  }
});

test('redaction and headers: URLs logged without credentials or query; bad headers left out, named, never shown', () => {
  assert.equal(redactUrl(new URL('https://user:pw@example.com:8443/v1/profiles?token=abc')), 'https://example.com:8443/v1/profiles');
  const lines = captureDiag('warn');
  const headers = validHeaders('TestExporter', { 'x-ok': 'yes', 'bad name': 'v', 'x-secret': 'line\nbreak-s3cret', 'x-num': 5 });
  assert.deepEqual(headers, { 'x-ok': 'yes' });
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.ok(lines.every((l) => l.includes('SPANPROF_W001 TestExporter header') && !l.includes('s3cret')));
});

test("each HTTP exporter gives the recipe that makes it again (for the heap profile at out of memory): its name among spanprof's exporters and JSON options", () => {
  const { KNOWN_EXPORTERS } = require('@spanprof/exporter-base');
  const { OTLPProfileExporter } = require('@spanprof/exporter-otlp');
  const { PyroscopeExporter } = require('@spanprof/exporter-pyroscope');
  const { DatadogProfileExporter } = require('@spanprof/exporter-datadog');
  for (const [Exporter, options] of [
    [OTLPProfileExporter, { url: 'http://127.0.0.1:4318/v1development/profiles', headers: { 'x-token': 't' } }],
    [PyroscopeExporter, { url: 'http://127.0.0.1:4040', tags: { region: 'eu' } }],
    [DatadogProfileExporter, { url: 'http://127.0.0.1:8126', tags: { team: 'a' } }],
  ]) {
    const exporter = new Exporter({ ...options, onSomething: () => {} });
    const recipe = exporter.recipe();
    assert.deepEqual(Object.keys(recipe).sort(), ['exporter', 'options'], 'a name, never a module path');
    const known = KNOWN_EXPORTERS[recipe.exporter];
    assert.equal(require(known.module)[known.exportName], Exporter, `${Exporter.name}: the known package exports the class`);
    const { timeoutMillis, ...given } = recipe.options; // OTLP resolves its timeout (OTEL_EXPORTER_OTLP_TIMEOUT) before the base sees it
    assert.deepEqual(given, options, `${Exporter.name}: the options as JSON, functions left out`);
    assert.ok(timeoutMillis === undefined || timeoutMillis === 10_000);
    void exporter.shutdown();
  }
});
