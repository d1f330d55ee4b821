import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VERSION } from './version';
import { collapsed, compare, filesOf, hotspots, loadProfiles, ProfileDirectoryError, rank, selectProfiles } from '@spanprof/profile';
import type { Comparison, Cost, FunctionChange, LoadResult, ProfileFilter, Scope } from '@spanprof/profile';
import { ms, pct, table, truncate } from './format';
import { DEFAULT_VIEW_PORT, ViewServer } from './ViewServer';

interface CommonOptions {
  tag: Record<string, string>;
  from?: number;
  to?: number;
  json?: boolean;
  limit: number;
}

/** Raised for a user error: the message is printed as is, exit code 2. */
class UsageError extends Error {}

function parseTag(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function parseTime(value: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`expected an ISO date or epoch milliseconds, got "${value}"`);
  return t;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number from 1, got "${value}"`);
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--tag <key=value>', 'only profiles with this tag (repeatable), e.g. service.version=1.4.0', parseTag)
    .option('--from <time>', 'only profiles ending after this time (ISO 8601 or epoch ms)', parseTime)
    .option('--to <time>', 'only profiles starting before this time (ISO 8601 or epoch ms)', parseTime)
    .option('--limit <n>', 'rows per table', parseLimit, 10)
    .option('--json', 'print JSON instead of tables');
}

function load(dir: string, opts: CommonOptions, warn: (line: string) => void): LoadResult {
  const filter: ProfileFilter = { tags: opts.tag, from: opts.from, to: opts.to };
  const result = loadProfiles(dir, filter);
  for (const { file, reason } of result.skipped) warn(`spanprof: skipped ${file}: not a readable profile (${reason})`);
  if (result.total === 0) throw new UsageError(`spanprof: no profiles in ${dir} (expected *.wall.pb.gz files written by spanprof)`);
  if (result.profiles.length === 0 && result.skipped.length < result.total) {
    throw new UsageError(`spanprof: none of the ${result.total} profiles in ${dir} match the tag and time filters`);
  }
  return result;
}

const costColumns = (c: Cost, whole: Cost): string[] => [ms(c.cpuNanos), pct(c.cpuNanos, whole.cpuNanos), ms(c.wallNanos), String(c.samples)];
const COST_HEADER = ['cpu ms', 'cpu %', 'wall ms', 'samples'];

/** Runs the command line; resolves to the exit code. Output goes to `out`/`err` (stdout/stderr by default). */
export async function main(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const print = (text: string): void => out(`${text}\n`);
  const warn = (text: string): void => err(`${text}\n`);
  const program = new Command('spanprof')
    .description('Which functions and lines burned the time of a span, a trace or an endpoint, from spanprof profiles.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });

  withCommon(
    program
      .command('spans')
      .description('the endpoints, traces and spans that cost the most CPU and wall time')
      .argument('<dir>', 'profile directory (FileExporter output)'),
  ).action((dir: string, opts: CommonOptions) => {
    const { profiles } = load(dir, opts, warn);
    const r = rank(profiles);
    if (opts.json) {
      print(
        JSON.stringify(
          { profiles: profiles.length, total: r.total, unattributed: r.unattributed, endpoints: r.endpoints.slice(0, opts.limit), traces: r.traces.slice(0, opts.limit), spans: r.spans.slice(0, opts.limit) },
          null,
          2,
        ),
      );
      return;
    }
    const right = new Set([1, 2, 3, 4, 5]);
    print(`${profiles.length} profile(s); ${ms(r.total.cpuNanos)} ms CPU in all, ${pct(r.total.cpuNanos - r.unattributed.cpuNanos, r.total.cpuNanos)} inside spans\n`);
    print('Endpoints');
    // Requests as the processor counted them ('-' in profiles without counts); traces with samples are fewer.
    const endpointRows = r.endpoints.slice(0, opts.limit).map((e) => [e.endpoint || '(none)', ...costColumns(e, r.total), e.requests > 0 ? e.requests.toLocaleString('en-US') : '-', e.traces.toLocaleString('en-US')]);
    print(table(['endpoint', ...COST_HEADER, 'requests', 'traces sampled'], endpointRows, new Set([...right, 6])));
    print('\nTraces');
    print(table(['trace id', ...COST_HEADER, 'spans', 'endpoint'], r.traces.slice(0, opts.limit).map((t) => [t.traceId, ...costColumns(t, r.total), String(t.spans), t.endpoint]), right));
    print('\nSpans');
    print(table(['span id', ...COST_HEADER, 'local root', 'endpoint'], r.spans.slice(0, opts.limit).map((s) => [s.spanId, ...costColumns(s, r.total), s.localRootSpanId, s.endpoint]), right));
  });

  withCommon(
    program
      .command('hotspots')
      .description('the top functions (self and total, CPU and wall, with file:line) of a span, trace, local root or endpoint')
      .argument('<dir>', 'profile directory (FileExporter output)')
      .option('--span <id>', 'one span (16 hex characters)')
      .option('--trace <id>', 'every span of one trace (32 hex characters)')
      .option('--root <id>', 'one local root span and all spans under it in this process')
      .option('--endpoint <name>', 'every request of an endpoint, e.g. "GET /users/:id"')
      .addOption(new Option('--sort <value>', 'order by self time of').choices(['cpu', 'wall']).default('cpu'))
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'collapsed']).default('table')),
  ).action((dir: string, opts: CommonOptions & { span?: string; trace?: string; root?: string; endpoint?: string; sort: 'cpu' | 'wall'; format: string }) => {
    const chosen: Scope[] = [];
    if (opts.span !== undefined) chosen.push({ kind: 'span', id: opts.span.toLowerCase() });
    if (opts.trace !== undefined) chosen.push({ kind: 'trace', id: opts.trace.toLowerCase() });
    if (opts.root !== undefined) chosen.push({ kind: 'root', id: opts.root.toLowerCase() });
    if (opts.endpoint !== undefined) chosen.push({ kind: 'endpoint', name: opts.endpoint });
    if (chosen.length > 1) throw new UsageError('spanprof: give one of --span, --trace, --root, --endpoint');
    const scope: Scope = chosen[0] ?? { kind: 'all' };
    const { profiles } = load(dir, opts, warn);
    const format = opts.json ? 'json' : opts.format;
    if (format === 'collapsed') {
      const lines = collapsed(profiles, scope, opts.sort);
      if (lines.length === 0) throw new UsageError(`spanprof: no samples for ${describe(scope)}`);
      print(lines.join('\n'));
      return;
    }
    const h = hotspots(profiles, scope, opts.sort);
    if (h.total.samples === 0) throw new UsageError(`spanprof: no samples for ${describe(scope)} in ${profiles.length} profile(s)`);
    const files = scope.kind === 'all' ? undefined : filesOf(profiles, scope);
    if (format === 'json') {
      print(JSON.stringify({ scope, total: h.total, files, functions: h.functions.slice(0, opts.limit) }, null, 2));
      return;
    }
    print(`${describe(scope)}: ${ms(h.total.cpuNanos)} ms CPU, ${ms(h.total.wallNanos)} ms wall, ${h.total.samples} samples`);
    if (files !== undefined) print(`in ${files.length === 1 ? 'file' : `${files.length} files`}: ${files.slice(0, 5).join(', ')}${files.length > 5 ? ', ...' : ''}`);
    print('');
    print(
      table(
        ['self cpu ms', 'self cpu %', 'total cpu ms', 'self wall ms', 'total wall ms', 'function', 'location'],
        h.functions
          .slice(0, opts.limit)
          .map((f) => [
            ms(f.self.cpuNanos),
            pct(f.self.cpuNanos, h.total.cpuNanos),
            ms(f.total.cpuNanos),
            ms(f.self.wallNanos),
            ms(f.total.wallNanos),
            f.name,
            f.file ? `${truncate(f.file, 60)}:${f.line}` : '',
          ]),
        new Set([0, 1, 2, 3, 4]),
      ),
    );
  });

  withCommon(
    program
      .command('diff')
      .description('function cost compared between two selections of profiles (say two versions): change in CPU share, and in CPU time per request endpoint by endpoint')
      .argument('<dir>', 'profile directory (FileExporter output)')
      .requiredOption('--base <key=value>', 'the baseline selection (repeatable), e.g. service.version=1.4.0', parseTag)
      .requiredOption('--head <key=value>', 'the selection compared with it (repeatable), e.g. service.version=1.5.0', parseTag)
      .addOption(new Option('--value <kind>', 'weigh by').choices(['cpu', 'wall']).default('cpu')),
  ).action((dir: string, opts: CommonOptions & { base: Record<string, string>; head: Record<string, string>; value: 'cpu' | 'wall' }) => {
    const { profiles } = load(dir, opts, warn);
    const side = (tags: Record<string, string>, name: string) => {
      const chosen = selectProfiles(profiles, { tags });
      if (chosen.length === 0) throw new UsageError(`spanprof: no profiles match --${name} ${describeTags(tags)}`);
      return chosen;
    };
    const result = compare(side(opts.base, 'base'), side(opts.head, 'head'), { value: opts.value, limit: opts.limit });
    if (opts.json) {
      print(JSON.stringify({ selections: { base: opts.base, head: opts.head }, ...result }, null, 2));
      return;
    }
    printComparison(print, result, describeTags(opts.base), describeTags(opts.head));
  });

  program
    .command('view')
    .description('a local web viewer: search profiles by tags, flame graphs of a span, trace or endpoint, versions compared')
    .argument('<dir>', 'profile directory (FileExporter output); new files are picked up as they arrive')
    .option('--port <n>', `port on 127.0.0.1 (0: any free port)`, parsePort, DEFAULT_VIEW_PORT)
    .action(async (dir: string, opts: { port: number }) => {
      const server = new ViewServer({ directory: dir, port: opts.port });
      let url: string;
      try {
        url = await server.start();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UsageError(`spanprof: port ${opts.port} is in use; choose another with --port (0 picks a free one)`);
        throw e;
      }
      const n = server.profiles.profiles.length;
      print(`spanprof view: ${n} profile(s) from ${server.profiles.directory}`);
      print(`spanprof view: open ${url}   (a span's hotspots: ${url}span/<span id>; Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError || e instanceof ProfileDirectoryError) {
      warn(e.message.startsWith('spanprof:') ? e.message : `spanprof: ${e.message}`);
      return e instanceof UsageError ? 1 : 2;
    }
    warn(`spanprof: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 70;
  }
}

function describe(scope: Scope): string {
  switch (scope.kind) {
    case 'all':
      return 'all samples';
    case 'span':
      return `span ${scope.id}`;
    case 'trace':
      return `trace ${scope.id}`;
    case 'root':
      return `local root ${scope.id}`;
    case 'endpoint':
      return `endpoint "${scope.name}"`;
  }
}

function describeTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const signedPct = (share: number): string => `${share >= 0 ? '+' : ''}${(100 * share).toFixed(1)}%`;
const micros = (nanos: number | undefined): string => (nanos === undefined ? '-' : (nanos / 1000).toFixed(1));
const signedMicros = (nanos: number | undefined): string => (nanos === undefined ? '-' : `${nanos >= 0 ? '+' : ''}${(nanos / 1000).toFixed(1)}`);

function printComparison(print: (text: string) => void, c: Comparison, base: string, head: string): void {
  const time = (s: Comparison['base']): number => (c.value === 'cpu' ? s.total.cpuNanos : s.total.wallNanos);
  const side = (label: string, s: Comparison['base']): string =>
    `${label}: ${s.profiles} profile(s), ${ms(time(s))} ms ${c.value}, ${s.requests} request(s)${s.requestSource === 'sampled' ? ' (seen in samples)' : ''}, ${s.requests > 0 ? `${micros(time(s) / s.requests)} µs ${c.value}/request` : '-'}`;
  print(side(`base ${base}`, c.base));
  print(side(`head ${head}`, c.head));
  const location = (f: FunctionChange): string => (f.file ? f.file : '');
  print(`\nFunctions by change in share of ${c.value} time (self)`);
  print(
    table(
      ['change', 'base %', 'head %', 'base ms', 'head ms', 'function', 'file'],
      c.functions.map((f) => [signedPct(f.shareChange), pct(f.baseShare, 1), pct(f.headShare, 1), ms(f.baseNanos), ms(f.headNanos), f.name, location(f)]),
      new Set([0, 1, 2, 3, 4]),
    ),
  );
  for (const e of c.endpoints) {
    const perRequest = (s: Comparison['base']): string => (s.requests > 0 ? micros(time(s) / s.requests) : '-');
    print(`\n${e.endpoint}: ${e.base.requests} -> ${e.head.requests} request(s), ${perRequest(e.base)} -> ${perRequest(e.head)} µs ${c.value}/request`);
    print(
      table(
        ['change µs/req', 'base µs/req', 'head µs/req', 'share change', 'function', 'file'],
        e.functions.map((f) => [signedMicros(f.perRequestChange), micros(f.basePerRequest), micros(f.headPerRequest), signedPct(f.shareChange), f.name, location(f)]),
        new Set([0, 1, 2, 3]),
      ),
    );
  }
}
