import { Option } from 'commander';
import type { Command } from 'commander';
import { collapsed, filesOf, heapHotspots, hotspots, newestHeapProfile, scopeTime, TAG_OOM } from '@spanprof/profile';
import type { Scope, ScopeTime } from '@spanprof/profile';
import { describe, labelScope, load, parseTag, UsageError, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { millis, ms, pct, table, truncate } from '../format';

/** `spanprof hotspots DIR [--span|--trace|--root|--endpoint]`: the top functions of a scope. */
export function hotspotsCommand(program: Command, { print, warn }: Output): void {
  withCommon(
    program
      .command('hotspots')
      .description('the top functions (self and total, CPU and wall, with file:line) of a span, trace, local root or endpoint')
      .argument('<dir>', 'profile directory (FileExporter output)')
      .option('--span <id>', 'one span (16 hex characters)')
      .option('--trace <id>', 'every span of one trace (32 hex characters)')
      .option('--root <id>', 'one local root span and all spans under it in this process')
      .option('--endpoint <name>', 'every request of an endpoint, e.g. "GET /users/:id"')
      .option('--label <name=value>', 'the samples with a custom label, e.g. tenant=acme (set by a framework integration)', parseTag)
      .option('--heap', 'memory in use instead: the newest heap profile (with the --tag filters)')
      .option('--oom', 'memory in use when the process ran out of memory: the newest heap profile written then')
      .addOption(
        new Option('--sort <value>', 'order by self time of (running: sampled running time, what pprof calls wall)')
          .choices(['cpu', 'running', 'wall'])
          .default('cpu'),
      )
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'collapsed']).default('table')),
  ).action(
    (
      dir: string,
      opts: CommonOptions & {
        span?: string;
        trace?: string;
        root?: string;
        endpoint?: string;
        label?: Record<string, string>;
        sort: 'cpu' | 'running' | 'wall';
        format: string;
        heap?: boolean;
        oom?: boolean;
      },
    ) => {
      if (opts.heap === true || opts.oom === true) {
        heapHotspotsOf(dir, opts, { print, warn });
        return;
      }
      const chosen: Scope[] = [];
      if (opts.span !== undefined) chosen.push({ kind: 'span', id: opts.span.toLowerCase() });
      if (opts.trace !== undefined) chosen.push({ kind: 'trace', id: opts.trace.toLowerCase() });
      if (opts.root !== undefined) chosen.push({ kind: 'root', id: opts.root.toLowerCase() });
      if (opts.endpoint !== undefined) chosen.push({ kind: 'endpoint', name: opts.endpoint });
      const label = labelScope(opts.label);
      if (label !== undefined) chosen.push(label);
      if (chosen.length > 1) throw new UsageError('spanprof: give one of --span, --trace, --root, --endpoint, --label');
      const scope: Scope = chosen[0] ?? { kind: 'all' };
      const sort = opts.sort === 'running' ? 'wall' : opts.sort;
      const { profiles } = load(dir, opts, warn);
      const format = opts.json ? 'json' : opts.format;
      if (format === 'collapsed') {
        const lines = collapsed(profiles, scope, sort);
        if (lines.length === 0) throw new UsageError(`spanprof: no samples for ${describe(scope)}`);
        print(lines.join('\n'));
        return;
      }
      const h = hotspots(profiles, scope, sort);
      if (h.total.samples === 0) throw new UsageError(`spanprof: no samples for ${describe(scope)} in ${profiles.length} profile(s)`);
      const files = scope.kind === 'all' ? undefined : filesOf(profiles, scope);
      const time = scopeTime(profiles, scope);
      if (format === 'json') {
        print(JSON.stringify({ scope, total: h.total, time, files, functions: h.functions.slice(0, opts.limit) }, null, 2));
        return;
      }
      print(`${describe(scope)}: ${ms(h.total.cpuNanos)} ms CPU, ${ms(h.total.wallNanos)} ms running (sampled), ${h.total.samples} samples`);
      if (time !== undefined) print(describeTime(time));
      if (files !== undefined)
        print(`in ${files.length === 1 ? 'file' : `${files.length} files`}: ${files.slice(0, 5).join(', ')}${files.length > 5 ? ', ...' : ''}`);
      print('');
      print(
        table(
          ['self cpu ms', 'self cpu %', 'total cpu ms', 'self running ms', 'total running ms', 'function', 'location'],
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
    },
  );
}

function describeTime({ kind, time }: ScopeTime): string {
  if (kind === 'endpoint') {
    return `${time.requests.toLocaleString('en-US')} requests: mean ${millis(time.meanMillis)} ms (p50 ${millis(time.p50Millis)}, p95 ${millis(time.p95Millis)}), per request ${millis(time.cpuMillisPerRequest)} ms CPU, ${millis(time.ioMillisPerRequest)} ms I/O (p95 ${millis(time.ioP95Millis)}) and ${millis(time.waitingMillisPerRequest)} ms waiting`;
  }
  const lasted = `${ms(time.durationNanos)} ms${time.running ? ' so far (still running)' : ''}`;
  if (kind === 'trace') return `"${time.name}": ${lasted}, ${ms(time.cpuNanos)} ms CPU, ${ms(time.ioNanos)} ms I/O, ${ms(time.waitingNanos)} ms waiting`;
  return `"${time.name}": ${lasted}, ${ms(time.cpuNanos)} ms CPU in it, ${ms(time.childCpuNanos)} ms CPU in its child spans, ${ms(time.ioNanos)} ms I/O, ${ms(time.waitingNanos)} ms waiting`;
}

const mib = (bytes: number): string => (bytes / 1048576).toFixed(bytes >= 10 * 1048576 ? 1 : 2);

/** `--heap`, `--oom`: the functions holding memory in the newest heap profile (heap profiles are snapshots, never summed). */
function heapHotspotsOf(
  dir: string,
  opts: CommonOptions & { oom?: boolean; span?: string; trace?: string; root?: string; endpoint?: string },
  { print, warn }: Output,
): void {
  if (opts.span !== undefined || opts.trace !== undefined || opts.root !== undefined || opts.endpoint !== undefined) {
    throw new UsageError(
      'spanprof: heap profiles carry no span labels (V8 gives allocations none): --heap and --oom take no --span, --trace, --root or --endpoint',
    );
  }
  const tags = opts.oom === true ? { ...opts.tag, [TAG_OOM]: 'true' } : { ...opts.tag };
  const { found, skipped } = newestHeapProfile(dir, tags);
  for (const { file, reason } of skipped) warn(`spanprof: skipped ${file}: not a readable profile (${reason})`);
  if (found === undefined)
    throw new UsageError(
      `spanprof: no ${opts.oom === true ? 'heap profile written at out of memory' : 'heap profile'} in ${dir}${Object.keys(opts.tag ?? {}).length > 0 ? ' with those tags' : ''}`,
    );
  const h = heapHotspots(found.profile);
  if (opts.json) {
    print(JSON.stringify({ file: found.file, tags: found.tags, time: found.time, total: h.total, functions: h.functions.slice(0, opts.limit) }, null, 2));
    return;
  }
  print(
    `${found.tags[TAG_OOM] === 'true' ? 'at out of memory' : 'heap in use'}, ${new Date(found.time).toISOString()}: ${mib(h.total.bytes)} MiB in ${h.total.objects} objects (sampled)`,
  );
  print(`in file: ${found.file}\n`);
  print(
    table(
      ['self MiB', 'self %', 'total MiB', 'self objects', 'function', 'location'],
      h.functions
        .slice(0, opts.limit)
        .map((f) => [
          mib(f.self.bytes),
          pct(f.self.bytes, h.total.bytes),
          mib(f.total.bytes),
          String(f.self.objects),
          f.name,
          f.file ? `${truncate(f.file, 60)}:${f.line}` : '',
        ]),
      new Set([0, 1, 2, 3]),
    ),
  );
}
