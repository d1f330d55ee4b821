import type { Command } from 'commander';
import { rank } from '@spanprof/profile';
import { COST_HEADER, costColumns, load, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { ms, pct, table } from '../format';

/** `spanprof spans DIR`: endpoints, traces and spans ranked by cost. */
export function spansCommand(program: Command, { print, warn }: Output): void {
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
