'use strict';
// What source maps cost: a service of --files compiled TypeScript files (tsc, maps beside them)
// is generated, then read two ways, each in a fresh process per run:
//   lazy  spanprof's way (LazySourceMaps): each script's map read the first time a location in
//         it is mapped; here one location in each of --mapped files (the scripts a profile holds)
//   scan  @datadog/pprof's SourceMapper reading the whole directory, as spanprof did at start
//         before 2026-12-08
// Reports the time that takes and the heap kept, median of --repeat runs.
//   node bench/sourcemaps.js [--files 2000] [--mapped 200] [--repeat 5]
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '2000' },
    mapped: { type: 'string', default: '200' },
    repeat: { type: 'string', default: '5' },
    child: { type: 'string' },
    way: { type: 'string' },
  },
});

if (args.child !== undefined) {
  // One measurement, in a fresh process: heap before and after (after a full GC each).
  const measure = async (read) => {
    global.gc();
    const before = process.memoryUsage().heapUsed;
    const began = process.hrtime.bigint();
    const keep = await read();
    const millis = Number(process.hrtime.bigint() - began) / 1e6;
    global.gc();
    process.stdout.write(JSON.stringify({ files: keep.files(), millis, keptBytes: process.memoryUsage().heapUsed - before }));
  };
  if (args.way === 'scan') {
    const { SourceMapper } = require('@datadog/pprof');
    measure(async () => {
      const mapper = new SourceMapper();
      await mapper.loadDirectory(args.child);
      return { files: () => mapper.infoMap.size };
    });
  } else {
    const { LazySourceMaps } = require(path.join(__dirname, '..', 'packages', 'core', 'build', 'src', 'sourceMaps.js'));
    measure(async () => {
      const maps = new LazySourceMaps();
      for (let i = 0; i < Number(args.mapped); i++)
        maps.mappingInfo({ file: path.join(args.child, 'dist', `module${i}.js`), line: 4, column: 1, name: `work${i}` });
      return { files: () => maps.figures.files };
    });
  }
  return;
}

const n = Number(args.files);
const app = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-sourcemaps-bench-'));
fs.mkdirSync(path.join(app, 'src'));
for (let i = 0; i < n; i++) {
  fs.writeFileSync(
    path.join(app, 'src', `module${i}.ts`),
    `export interface Item${i} { id: number; name: string }\n\nexport function work${i}(items: Item${i}[]): number {\n  let total = 0;\n  for (const item of items) total += item.id * ${i} + item.name.length;\n  return total;\n}\n\nexport class Service${i} {\n  constructor(private readonly items: Item${i}[]) {}\n  run(): number {\n    return work${i}(this.items);\n  }\n}\n`,
  );
}
fs.writeFileSync(path.join(app, 'package.json'), '{"private":true}');
fs.writeFileSync(
  path.join(app, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'commonjs', sourceMap: true, rootDir: 'src', outDir: 'dist', strict: true, types: [] },
    include: ['src/**/*.ts'],
  }),
);
execFileSync(process.execPath, [path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app]);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const way of ['lazy', 'scan']) {
  const runs = [];
  for (let r = 0; r < Number(args.repeat); r++) {
    runs.push(
      JSON.parse(execFileSync(process.execPath, ['--expose-gc', __filename, '--child', app, '--way', way, '--mapped', args.mapped], { encoding: 'utf8' })),
    );
  }
  console.log(
    `${way}: ${n} compiled files with maps, ${runs[0].files} maps read in ${median(runs.map((r) => r.millis)).toFixed(0)} ms (runs: ${runs
      .map((r) => r.millis.toFixed(0))
      .join(', ')}), heap kept ${(median(runs.map((r) => r.keptBytes)) / 1048576).toFixed(2)} MiB`,
  );
}
fs.rmSync(app, { recursive: true, force: true });
