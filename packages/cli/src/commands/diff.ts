import { Option } from 'commander';
import type { Command } from 'commander';
import { compare, selectProfiles } from '@spanprof/profile';
import type { Comparison, FunctionChange } from '@spanprof/profile';
import { describeTags, load, parseTag, UsageError, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { ms, pct, table } from '../format';

/** `spanprof diff DIR --base key=value --head key=value`: function cost compared between two selections. */
export function diffCommand(program: Command, { print, warn }: Output): void {
  withCommon(
    program
      .command('diff')
      .description(
        'function cost compared between two selections of profiles (say two versions): change in CPU share, and in CPU time per request endpoint by endpoint',
      )
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
        e.functions.map((f) => [
          signedMicros(f.perRequestChange),
          micros(f.basePerRequest),
          micros(f.headPerRequest),
          signedPct(f.shareChange),
          f.name,
          location(f),
        ]),
        new Set([0, 1, 2, 3]),
      ),
    );
  }
}
