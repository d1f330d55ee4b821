import type { HrTime } from '@opentelemetry/api';
import { LABEL_LOCAL_ROOT_SPAN_ID, LABEL_PARENT_SPAN_ID, LABEL_RUNNING, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_TRACE_ID } from '@spanprof/profile';
import type { EventInput } from '@spanprof/profile';
import type { SpanLabels } from './labels';

/**
 * Most span events one period's events profile holds. At the default 99 Hz a thread takes about
 * 6,000 samples a minute, so at most that many spans have samples; with their ancestors this bound
 * is reached only by deep traces under heavy load. Past it, spans are left out (and counted).
 */
export const MAX_SPAN_EVENTS = 20_000;

/**
 * Periods a span still running is written again after the last one in which it or a span under it
 * had samples: a span that never ends (a leak, a long-lived connection's) is not written for ever.
 */
export const MAX_IDLE_PERIODS_CARRIED = 10;

function nanosOf(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

/**
 * The spans of a period's events profile: each span one of the period's samples was taken in,
 * with its local ancestors up to the local root, and the spans that were still running at the
 * last collection. A span still running at collection is written with the collection's time as
 * its end (and `running=true`), and again at the next collection, until one writes its real
 * end, or until `MAX_IDLE_PERIODS_CARRIED` periods passed without samples in it. Only label data is held (never a span), and only until the collection that writes it.
 */
export class SpanTimeline {
  private sampledSpans = new Set<SpanLabels>();
  /** The spans still running at the last collection, with the periods since one had samples. */
  private carried = new Map<SpanLabels, number>();
  private droppedSpans = 0;

  /** A sample of this period was taken in `labels`' span (the collector calls it for every labelled sample). */
  sampled(labels: SpanLabels): void {
    const span = labels.span();
    if (span === undefined || span.startTime === undefined) return;
    if (this.sampledSpans.size < MAX_SPAN_EVENTS) this.sampledSpans.add(span);
    else if (!this.sampledSpans.has(span)) this.droppedSpans++;
  }

  /**
   * The period's span events, ended at `nowNanos` for the spans still running; the next period
   * starts empty but for those. The spans with samples (and their ancestors) come first, then
   * those carried from earlier periods, so that spans which never end cannot crowd out the
   * period's own. `dropped`: spans left out past `MAX_SPAN_EVENTS`.
   */
  take(nowNanos: bigint): { events: EventInput[]; dropped: number } {
    const spans = new Set<SpanLabels>();
    let dropped = this.droppedSpans;
    for (const sampled of this.sampledSpans) {
      for (let at: SpanLabels | undefined = sampled; at !== undefined && !spans.has(at); at = at.parent) {
        if (spans.size >= MAX_SPAN_EVENTS) {
          dropped++;
          break;
        }
        spans.add(at);
      }
    }
    const idle = new Map<SpanLabels, number>();
    for (const [span, periods] of this.carried) {
      if (spans.has(span) || periods >= MAX_IDLE_PERIODS_CARRIED) continue;
      if (spans.size >= MAX_SPAN_EVENTS) {
        dropped++;
        continue;
      }
      spans.add(span);
      idle.set(span, periods + 1);
    }
    this.sampledSpans = new Set();
    this.droppedSpans = 0;
    const carried = new Map<SpanLabels, number>();
    const events: EventInput[] = [];
    for (const span of spans) {
      const start = span.startTime;
      if (start === undefined) continue;
      const end = span.endTime;
      if (end === undefined) carried.set(span, idle.get(span) ?? 0);
      events.push({
        kind: 'span',
        name: span.name,
        startNanos: nanosOf(start),
        endNanos: end === undefined ? nowNanos : nanosOf(end),
        labels: {
          [LABEL_SPAN_ID]: span.spanId,
          [LABEL_LOCAL_ROOT_SPAN_ID]: span.root.spanId,
          [LABEL_TRACE_ID]: span.traceId,
          [LABEL_TRACE_ENDPOINT]: span.root.endpoint,
          [LABEL_PARENT_SPAN_ID]: span.parent?.spanId ?? '',
          [LABEL_RUNNING]: end === undefined ? 'true' : '',
        },
      });
    }
    this.carried = carried;
    return { events, dropped };
  }
}
