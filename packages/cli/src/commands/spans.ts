import type { Command } from 'commander';
import { costByLabel, rank } from '@spanprof/profile';
import type { IndexedProfile, Scope } from '@spanprof/profile';
import { COST_HEADER, costColumns, labelScope, load, parseTag, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { ms, pct, table } from '../format';

/** `spanprof spans DIR`: endpoints, traces and spans ranked by cost. */
export function spansCommand(program: Command, { print, warn }: Output): void {
  withCommon(
    program
      .command('spans')
      .description('the endpoints, traces and spans that cost the most CPU and wall time')
      .argument('<dir>', 'profile directory (FileExporter output)')
      .option('--label <name=value>', 'only the samples with a custom label, e.g. tenant=acme', parseTag)
      .option('--by <label>', 'CPU and wall time per value of a custom label instead, e.g. tenant'),
  ).action((dir: string, opts: CommonOptions & { label?: Record<string, string>; by?: string }) => {
    const { profiles } = load(dir, opts, warn);
    const scope = labelScope(opts.label) ?? { kind: 'all' };
    if (opts.by !== undefined) {
      printByLabel(profiles, opts.by, scope, opts, print);
      return;
    }
    const r = rank(profiles, 'cpu', scope);
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
    const right = new Set([1, 2, 3, 4, 5]);
    print(
      `${profiles.length} profile(s); ${ms(r.total.cpuNanos)} ms CPU in all, ${pct(r.total.cpuNanos - r.unattributed.cpuNanos, r.total.cpuNanos)} inside spans\n`,
    );
    print('Endpoints');
    // Requests as the processor counted them ('-' in profiles without counts); traces with samples are fewer.
    const endpointRows = r.endpoints
      .slice(0, opts.limit)
      .map((e) => [
        e.endpoint || '(none)',
        ...costColumns(e, r.total),
        e.requests > 0 ? e.requests.toLocaleString('en-US') : '-',
        e.traces.toLocaleString('en-US'),
      ]);
    print(table(['endpoint', ...COST_HEADER, 'requests', 'traces sampled'], endpointRows, new Set([...right, 6])));
    print('\nTraces');
    print(
      table(
        ['trace id', ...COST_HEADER, 'spans', 'endpoint'],
        r.traces.slice(0, opts.limit).map((t) => [t.traceId, ...costColumns(t, r.total), String(t.spans), t.endpoint]),
        right,
      ),
    );
    print('\nSpans');
    print(
      table(
        ['span id', ...COST_HEADER, 'local root', 'endpoint'],
        r.spans.slice(0, opts.limit).map((s) => [s.spanId, ...costColumns(s, r.total), s.localRootSpanId, s.endpoint]),
        right,
      ),
    );
  });
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
