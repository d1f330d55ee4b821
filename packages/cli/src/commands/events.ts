import type { Command } from 'commander';
import { spanTimes } from '@spanprof/profile';
import type { TimelineEvent } from '@spanprof/profile';
import { load, UsageError, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { millis, table, truncate } from '../format';

/** `spanprof events DIR --span ID | --trace ID`: the I/O waits and GC pauses of a span or a trace. */
export function eventsCommand(program: Command, { print, warn }: Output): void {
  withCommon(
    program
      .command('events')
      .description('the I/O waits (file system, DNS, connects, outgoing HTTP) and GC pauses of a span (and the spans under it) or a trace, in time order')
      .argument('<dir>', 'profile directory (FileExporter output)')
      .option('--span <id>', 'one span and the spans under it (16 hex characters)')
      .option('--trace <id>', 'every span of one trace (32 hex characters)'),
  ).action((dir: string, opts: CommonOptions & { span?: string; trace?: string }) => {
    if ((opts.span === undefined) === (opts.trace === undefined)) throw new UsageError('spanprof: give one of --span, --trace');
    const { profiles } = load(dir, opts, warn);
    const spans = spanTimes(profiles);
    let chosen: (e: TimelineEvent) => boolean;
    let from: number | undefined;
    if (opts.span !== undefined) {
      const id = opts.span.toLowerCase();
      from = spans.get(id)?.start;
      // The span and every recorded span under it.
      const under = (spanId: string): boolean => {
        for (let at: string | undefined = spanId, depth = 0; at !== undefined && at !== '' && depth < 100; at = spans.get(at)?.parentSpanId, depth++) {
          if (at === id) return true;
        }
        return false;
      };
      chosen = (e) => e.spanId !== '' && under(e.spanId);
    } else {
      const id = (opts.trace ?? '').toLowerCase();
      chosen = (e) => e.traceId === id;
    }
    const events = profiles
      .flatMap((p) => p.events)
      .filter((e) => e.kind !== 'span' && e.kind !== 'block' && chosen(e))
      .sort((a, b) => a.start - b.start);
    from ??= events[0]?.start;
    if (opts.json) {
      print(JSON.stringify({ profiles: profiles.length, events: events.slice(0, opts.limit) }, null, 2));
      return;
    }
    const kinds = new Map<string, { count: number; millis: number }>();
    for (const e of events) {
      const k = kinds.get(e.kind) ?? { count: 0, millis: 0 };
      k.count++;
      k.millis += e.end - e.start;
      kinds.set(e.kind, k);
    }
    const scope = opts.span !== undefined ? `span ${opts.span}` : `trace ${opts.trace}`;
    print(`${scope}: ${events.length} event(s)${[...kinds].map(([kind, k]) => `; ${kind} ${k.count} (${millis(k.millis)} ms)`).join('')}\n`);
    if (events.length === 0) {
      print('No I/O waits or GC pauses of at least events.thresholdMillis (1 ms by default) were recorded for it.');
      return;
    }
    print(
      table(
        ['at ms', 'ms', 'event', 'name', 'resource', 'span'],
        events
          .slice(0, opts.limit)
          .map((e) => [
            from === undefined ? '-' : millis(e.start - from),
            millis(e.end - e.start),
            e.kind,
            `${e.name}${e.error ? ' (failed)' : ''}`,
            truncate(e.resource, 60),
            e.spanId || '(none)',
          ]),
        new Set([0, 1]),
      ),
    );
  });
}
