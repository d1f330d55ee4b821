'use strict';
// LazySourceMaps (the `sourceMaps` option): a script's map is read the first time a location
// in it is mapped, with maps made by the real TypeScript compiler (external, inline), and
// within its bounds: no map, a missing one, a FIFO, one past the size bound, node_modules.
// End to end (a tsc-built service under the bundle, its profiles decoded): test/sourcemaps.test.js.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const ts = require('typescript');
const build = path.join(__dirname, '..', '..', 'packages', 'core', 'build', 'src');
const { LazySourceMaps, MAX_MAP_BYTES } = require(path.join(build, 'sourceMaps.js'));

const SOURCE = ['export function first(n: number): number {', '  let total = 0;', '  for (let i = 0; i < n; i++) total += i;', '  return total;', '}', ''].join(
  '\n',
);

/**
 * A temporary directory with src/app.ts compiled by tsc into dist/app.js (a map beside it with
 * `sourceMap`, inline with `inline` too), removed after the test.
 */
function compiled(t, options, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-maps-')), inline = false) {
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  const src = path.join(dir, 'src', 'app.ts');
  const js = path.join(dir, 'dist', 'app.js');
  fs.writeFileSync(src, SOURCE);
  const out = ts.transpileModule(SOURCE, { fileName: src, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, ...options } });
  let text = out.outputText;
  if (out.sourceMapText !== undefined) {
    // transpileModule names the map after the source; tsc -p writes it beside the script, relative sources.
    const map = JSON.parse(out.sourceMapText);
    map.sources = [path.relative(path.dirname(js), src)];
    if (inline) {
      // As tsc's inlineSourceMap writes it: the map in a base64 data: URL.
      text = text.replace(/sourceMappingURL=.*$/m, `sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}`);
    } else {
      fs.writeFileSync(`${js}.map`, JSON.stringify(map));
      text = text.replace(/sourceMappingURL=.*$/m, 'sourceMappingURL=app.js.map');
    }
  }
  fs.writeFileSync(js, text);
  return { dir, src, js, line: text.split('\n').findIndex((l) => l.includes('function first')) + 1 };
}

const at = (file, line) => ({ file, line, column: 1, name: 'first' });

test('an external map (tsc, sourceMap): the .ts file and line, read once', (t) => {
  const { src, js, line } = compiled(t, { sourceMap: true });
  const maps = new LazySourceMaps();
  const mapped = maps.mappingInfo(at(js, line));
  assert.equal(mapped.file, src);
  assert.equal(mapped.line, 1);
  assert.equal(mapped.name, 'first');
  assert.deepEqual({ files: maps.figures.files }, { files: 1 });
  // Read once: the map gone from the disk, the script still maps.
  fs.rmSync(`${js}.map`);
  assert.equal(maps.mappingInfo(at(js, line + 1)).file, src);
  assert.equal(maps.figures.files, 1);
});

test('an inline map and a file: URL script name', (t) => {
  const { src, js, line } = compiled(t, { sourceMap: true }, undefined, true);
  assert.ok(!fs.existsSync(`${js}.map`));
  const mapped = new LazySourceMaps().mappingInfo(at(pathToFileURL(js).href, line));
  assert.equal(mapped.file, src);
  assert.equal(mapped.line, 1);
});

test('an inline map longer than the end read for the annotation, with a newline after it', (t) => {
  const { src, js, line } = compiled(t, { sourceMap: true }, undefined, true);
  // Many mappings (the map outgrows 4 KiB), as a bundler writes them, and a final newline.
  const text = fs.readFileSync(js, 'utf8');
  const body = text.slice(0, text.lastIndexOf('//# sourceMappingURL='));
  const map = JSON.parse(Buffer.from(text.slice(text.indexOf('base64,') + 7), 'base64').toString());
  map.sourcesContent = ['x'.repeat(8192)];
  fs.writeFileSync(js, `${body}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n\n`);
  assert.ok(fs.statSync(js).size > 8192);
  assert.equal(new LazySourceMaps().mappingInfo(at(js, line)).file, src);
});

test('a map beside the script without an annotation, by its usual name', (t) => {
  const { src, js, line } = compiled(t, { sourceMap: true });
  fs.writeFileSync(js, fs.readFileSync(js, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, ''));
  assert.equal(new LazySourceMaps().mappingInfo(at(js, line)).file, src);
});

test('no map: the compiled location; a named map that is missing: marked so', (t) => {
  const { js, line } = compiled(t, {});
  const maps = new LazySourceMaps();
  assert.deepEqual(maps.mappingInfo(at(js, line)), at(js, line));
  const named = compiled(t, { sourceMap: true });
  fs.rmSync(`${named.js}.map`);
  assert.deepEqual(maps.mappingInfo(at(named.js, named.line)), { ...at(named.js, named.line), missingMapFile: true });
  assert.equal(maps.figures.files, 0);
  // Names that are not files are not looked up.
  for (const file of ['node:internal/timers', 'evalmachine.<anonymous>', '']) assert.deepEqual(maps.mappingInfo(at(file, 3)), at(file, 3));
});

test('a script under node_modules keeps its compiled location (its map is not read)', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-maps-'));
  const { js, line } = compiled(t, { sourceMap: true }, path.join(root, 'node_modules', 'dep'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const maps = new LazySourceMaps();
  assert.deepEqual(maps.mappingInfo(at(js, line)), at(js, line));
  assert.equal(maps.figures.files, 0);
});

test('a FIFO named as the map does not hang the collection; a corrupt map leaves the compiled location', (t) => {
  const { js, line } = compiled(t, { sourceMap: true });
  fs.rmSync(`${js}.map`);
  execFileSync('mkfifo', [`${js}.map`]);
  assert.deepEqual(new LazySourceMaps().mappingInfo(at(js, line)), { ...at(js, line), missingMapFile: true });
  const corrupt = compiled(t, { sourceMap: true });
  fs.writeFileSync(`${corrupt.js}.map`, '{"version":3,"mappings":');
  assert.deepEqual(new LazySourceMaps().mappingInfo(at(corrupt.js, corrupt.line)), at(corrupt.js, corrupt.line));
});

test('a map past the size bound is not read, and that is said once, without a logger', async (t) => {
  const { js, line } = compiled(t, { sourceMap: true });
  fs.truncateSync(`${js}.map`, MAX_MAP_BYTES + 1); // sparse: nothing is written
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const maps = new LazySourceMaps();
  assert.deepEqual(maps.mappingInfo(at(js, line)), at(js, line));
  const other = compiled(t, { sourceMap: true });
  fs.truncateSync(`${other.js}.map`, MAX_MAP_BYTES + 1);
  maps.mappingInfo(at(other.js, other.line));
  await new Promise((resolve) => setImmediate(resolve));
  const ours = warnings.filter((w) => w.code === 'SPANPROF_W011');
  assert.equal(ours.length, 1, warnings.map(String).join('\n'));
  assert.match(ours[0].message, /32 MiB per map/);
  assert.equal(maps.figures.skipped, 2);
});

test('a column inside a line maps to the mapping at or before it, and comes back 1-based', (t) => {
  const { js, line } = compiled(t, { sourceMap: true });
  const text = fs.readFileSync(js, 'utf8').split('\n')[line - 1];
  // `first` in `function first(`: its 1-based column in the compiled line, and in the source line 1.
  const column = text.indexOf('first') + 1;
  const mapped = new LazySourceMaps().mappingInfo({ file: js, line, column, name: 'first' });
  assert.equal(mapped.line, 1);
  assert.equal(mapped.column, SOURCE.indexOf('first') + 1);
  // One column before: the mapping before `first` (V8's 1-based column taken as 0-based would land on `first`).
  const before = new LazySourceMaps().mappingInfo({ file: js, line, column: column - 1, name: 'first' });
  assert.ok(before.column < SOURCE.indexOf('first') + 1, `column ${before.column}`);
});

test('a map is the application’s file: an index map, a mappings bomb and malformed answers are not used', async (t) => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const maps = new LazySourceMaps();
  // An index map whose offset alone would make its decoding unbounded.
  const sectioned = compiled(t, { sourceMap: true });
  fs.writeFileSync(
    `${sectioned.js}.map`,
    JSON.stringify({
      version: 3,
      sections: [{ offset: { line: 100_000_000, column: 0 }, map: { version: 3, sources: ['a.ts'], names: [], mappings: 'AAAA' } }],
    }),
  );
  assert.deepEqual(maps.mappingInfo(at(sectioned.js, sectioned.line)), at(sectioned.js, sectioned.line));
  // Two million empty lines: refused before decoding, counted and said.
  const bomb = compiled(t, { sourceMap: true });
  fs.writeFileSync(`${bomb.js}.map`, JSON.stringify({ version: 3, sources: ['a.ts'], names: [], mappings: ';'.repeat(2_000_000) }));
  assert.deepEqual(maps.mappingInfo(at(bomb.js, bomb.line)), at(bomb.js, bomb.line));
  assert.equal(maps.figures.skipped, 1);
  // A name that is no string: the compiled name stays.
  const named = compiled(t, { sourceMap: true });
  const map = JSON.parse(fs.readFileSync(`${named.js}.map`, 'utf8'));
  map.names = [{ toString: 1 }];
  map.mappings = 'AAAAA';
  fs.writeFileSync(`${named.js}.map`, JSON.stringify(map));
  const mapped = maps.mappingInfo({ file: named.js, line: 1, column: 1, name: 'first' });
  assert.equal(mapped.name, 'first');
  assert.equal(typeof mapped.file, 'string');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(warnings.filter((w) => w.code === 'SPANPROF_W011').length, 1);
});

test('paths and annotations as they come: a # in a directory, no space after //#, code before it, CR line ends', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-maps-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const { src, js, line } = compiled(t, { sourceMap: true }, path.join(root, 'p#1?x'));
  assert.equal(new LazySourceMaps().mappingInfo(at(js, line)).file, src);
  for (const ending of ['f();//#sourceMappingURL=app.js.map', '\r//# sourceMappingURL=app.js.map\r']) {
    const body = fs
      .readFileSync(js, 'utf8')
      .replace(/\/\/# sourceMappingURL=.*$/m, '')
      .trimEnd();
    fs.writeFileSync(js, `${body}\n${ending}`);
    assert.equal(new LazySourceMaps().mappingInfo(at(js, line)).file, src, JSON.stringify(ending));
  }
});
