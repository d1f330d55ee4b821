import { Option } from 'commander';
import type { Command } from 'commander';
import { costByLabel, rank } from '@spanprof/profile';
import type { IndexedProfile, Scope } from '@spanprof/profile';
import { COST_HEADER, costColumns, labelScope, load, parseTag, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { millis, ms, pct, table } from '../format';

/** `spanprof spans DIR`: endpoints, traces and spans, slowest first, with where their time went. */
export function spansCommand(program: Command, { print, warn }: Output): void {
  withCommon(
    program
      .command('spans')
      .description('endpoints, traces and spans, slowest first: their duration split into CPU time and waiting')
      .argument('<dir>', 'profile directory (FileExporter output)')
      .option('--label <name=value>', 'only the samples with a custom label, e.g. tenant=acme', parseTag)
      .option('--by <label>', 'CPU and running time per value of a custom label instead, e.g. tenant')
      .addOption(
        new Option('--sort <order>', 'duration: slowest first (measured); cpu, running: sampled CPU or running time')
          .choices(['duration', 'cpu', 'running'])
          .default('duration'),
      ),
  ).action((dir: string, opts: CommonOptions & { label?: Record<string, string>; by?: string; sort: 'duration' | 'cpu' | 'running' }) => {
    const { profiles } = load(dir, opts, warn);
    const scope = labelScope(opts.label) ?? { kind: 'all' };
    if (opts.by !== undefined) {
      printByLabel(profiles, opts.by, scope, opts, print);
      return;
    }
    const r = rank(profiles, opts.sort === 'running' ? 'wall' : opts.sort, scope);
    if (opts.json) {
      print(
        JSON.stringify(
          {
            profiles: profiles.length,
            total: r.total,
            unattributed: r.unattributed,
            endpoints: r.endpoints.slice(0, opts.limit),
            traces: r.traces.slice(0, opts.limit),
            spans: r.spans.slice(0, opts.limit),
          },
          null,
          2,
        ),
      );
      return;
    }
    print(
      `${profiles.length} profile(s); ${ms(r.total.cpuNanos)} ms CPU in all, ${pct(r.total.cpuNanos - r.unattributed.cpuNanos, r.total.cpuNanos)} inside spans\n`,
    );
    print('Endpoints (per request: mean duration, and its CPU time, I/O waits and other waiting)');
    // Requests as the processor counted them ('-' in profiles without counts); traces with samples are fewer.
    const endpointRows = r.endpoints.slice(0, opts.limit).map((e) => {
      const t = e.time;
      return [
        e.endpoint || '(none)',
        e.requests > 0 ? e.requests.toLocaleString('en-US') : '-',
        t === undefined ? '-' : millis(t.meanMillis),
        t === undefined ? '-' : millis(t.p95Millis),
        t === undefined ? '-' : millis(t.cpuMillisPerRequest),
        t === undefined ? '-' : millis(t.ioMillisPerRequest),
        t === undefined ? '-' : millis(t.waitingMillisPerRequest),
        ...costColumns(e, r.total),
      ];
    });
    print(
      table(
        ['endpoint', 'requests', 'mean ms', 'p95 ms', 'cpu ms/req', 'io ms/req', 'waiting ms/req', ...COST_HEADER],
        endpointRows,
        new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
      ),
    );
    print("\nTraces (this process's part: first local root start to last end)");
    print(
      table(
        ['trace id', 'name', 'duration ms', 'cpu ms', 'io ms', 'waiting ms', 'spans', 'samples', 'endpoint'],
        r.traces.slice(0, opts.limit).map((t) => {
          const time = t.time;
          return [
            t.traceId,
            time?.name ?? '-',
            time === undefined ? '-' : duration(time.durationNanos, time.running),
            ms(time?.cpuNanos ?? t.cpuNanos),
            time === undefined ? '-' : ms(time.ioNanos),
            time === undefined ? '-' : ms(time.waitingNanos),
            String(t.spans),
            String(t.samples),
            t.endpoint,
          ];
        }),
        new Set([2, 3, 4, 5, 6, 7]),
      ),
    );
    print('\nSpans (own cpu: sampled in the span itself; child cpu: in the spans under it)');
    print(
      table(
        ['span id', 'name', 'duration ms', 'own cpu ms', 'child cpu ms', 'io ms', 'waiting ms', 'samples', 'endpoint'],
        r.spans.slice(0, opts.limit).map((s) => {
          const time = s.time;
          return [
            s.spanId,
            time?.name ?? '-',
            time === undefined ? '-' : duration(time.durationNanos, time.running),
            ms(time?.cpuNanos ?? s.cpuNanos),
            time === undefined ? '-' : ms(time.childCpuNanos),
            time === undefined ? '-' : ms(time.ioNanos),
            time === undefined ? '-' : ms(time.waitingNanos),
            String(s.samples),
            s.endpoint,
          ];
        }),
        new Set([2, 3, 4, 5, 6, 7]),
      ),
    );
  });
}

/** A duration in ms; `+` marks a span still running when its last profile was collected. */
function duration(nanos: number, running: boolean): string {
  return `${ms(nanos)}${running ? '+' : ''}`;
}

/** `--by <label>`: CPU and wall time per value of a custom label, costliest first; `(none)` for samples without it. */
function printByLabel(profiles: IndexedProfile[], name: string, scope: Scope, opts: CommonOptions, print: (text: string) => void): void {
  const values = [...costByLabel(profiles, name, scope)].sort((a, b) => b[1].cpuNanos - a[1].cpuNanos || b[1].wallNanos - a[1].wallNanos);
  const total = values.reduce((t, [, c]) => ({ cpuNanos: t.cpuNanos + c.cpuNanos, wallNanos: t.wallNanos + c.wallNanos, samples: t.samples + c.samples }), {
    cpuNanos: 0,
    wallNanos: 0,
    samples: 0,
  });
  if (opts.json) {
    print(
      JSON.stringify(
        { profiles: profiles.length, label: name, total, values: values.slice(0, opts.limit).map(([value, cost]) => ({ value, ...cost })) },
        null,
        2,
      ),
    );
    return;
  }
  print(`${profiles.length} profile(s); ${ms(total.cpuNanos)} ms CPU in all, by ${name}\n`);
  print(
    table(
      [name, ...COST_HEADER],
      values.slice(0, opts.limit).map(([value, cost]) => [value === '' ? '(none)' : value, ...costColumns(cost, total)]),
      new Set([1, 2, 3, 4]),
    ),
  );
}
