import type { Command } from 'commander';
import { loopBlocks } from '@spanprof/profile';
import { load, withCommon } from '../common';
import type { CommonOptions, Output } from '../common';
import { millis, table, truncate } from '../format';

/** `spanprof blocks DIR`: the event-loop blocks of the selection, longest first. */
export function blocksCommand(program: Command, { print, warn }: Output): void {
  withCommon(
    program
      .command('blocks')
      .description(
        'the times the event loop did not turn (blockThresholdMillis, default 50 ms), longest first: what ran, in which span, and which requests waited',
      )
      .argument('<dir>', 'profile directory (FileExporter output)'),
  ).action((dir: string, opts: CommonOptions) => {
    const { profiles } = load(dir, opts, warn);
    const blocks = loopBlocks(profiles);
    if (opts.json) {
      print(JSON.stringify({ profiles: profiles.length, blocks: blocks.slice(0, opts.limit), count: blocks.length }, null, 2));
      return;
    }
    const recorded = profiles.filter((p) => p.spans.size > 0 || p.events.length > 0).length;
    print(
      `${blocks.length} event-loop block(s) in ${profiles.length} profile(s)${recorded < profiles.length ? ` (${profiles.length - recorded} without an events profile)` : ''}\n`,
    );
    if (blocks.length === 0) return;
    const rows = blocks.slice(0, opts.limit).map((b) => {
      const top = b.functions[0];
      const span = b.spans[0];
      const share = (n: number): string => (b.samples > 0 ? `${Math.round((100 * n) / b.samples)}%` : '');
      return [
        new Date(b.start).toISOString(),
        millis(b.durationMillis),
        b.thread || '-',
        top === undefined ? '-' : `${top.name} (${truncate(top.file, 40)}:${top.line}) ${share(top.samples)}`,
        span === undefined ? '(no span)' : `${span.endpoint || '-'} ${span.spanId} ${share(span.samples)}`,
        String(b.requestsInFlight),
        String(b.requestsQueued),
        b.delayed.map((d) => `${d.endpoint} ×${d.count}`).join(', ') || '-',
      ];
    });
    print(
      table(
        ['start', 'ms', 'thread', 'top function (share of its samples)', 'span that ran', 'in flight', 'queued', 'delayed requests by endpoint'],
        rows,
        new Set([1, 5, 6]),
      ),
    );
    print('\nin flight: requests that had started and waited through it; queued: requests that started right after it.');
    print('`spanprof hotspots DIR --span <id>` shows the span that ran; `--from`/`--to` around a block narrow any view to it.');
  });
}
