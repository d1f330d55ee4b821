'use strict';
// What source maps cost at start: a service of --files compiled TypeScript files (tsc, maps
// beside them) is generated, then @datadog/pprof's SourceMapper reads its directory the way
// spanprof does at start (in the background). Reports the time that takes and the heap it
// keeps, median of --repeat runs, each in a fresh process.
//   node bench/sourcemaps.js [--files 2000] [--repeat 5]
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values: args } = parseArgs({
  options: { files: { type: 'string', default: '2000' }, repeat: { type: 'string', default: '5' }, child: { type: 'string' } },
});

if (args.child !== undefined) {
  // One measurement, in a fresh process: heap before and after (after a full GC each).
  const { SourceMapper } = require('@datadog/pprof');
  global.gc();
  const before = process.memoryUsage().heapUsed;
  const mapper = new SourceMapper();
  const began = process.hrtime.bigint();
  mapper.loadDirectory(args.child).then(() => {
    const millis = Number(process.hrtime.bigint() - began) / 1e6;
    global.gc();
    const kept = process.memoryUsage().heapUsed - before;
    process.stdout.write(JSON.stringify({ files: mapper.infoMap.size, millis, keptBytes: kept }));
  });
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
const runs = [];
for (let r = 0; r < Number(args.repeat); r++) {
  runs.push(JSON.parse(execFileSync(process.execPath, ['--expose-gc', __filename, '--child', app], { encoding: 'utf8' })));
}
fs.rmSync(app, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `${n} compiled files with maps: ${runs[0].files} maps read in ${median(runs.map((r) => r.millis)).toFixed(0)} ms (runs: ${runs
    .map((r) => r.millis.toFixed(0))
    .join(', ')}), heap kept ${(median(runs.map((r) => r.keptBytes)) / 1048576).toFixed(1)} MiB`,
);
