import { performance } from 'node:perf_hooks';
import { LABEL_ERROR, LABEL_LOCAL_ROOT_SPAN_ID, LABEL_RESOURCE, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_TRACE_ID } from '@spanprof/profile';
import type { EventInput, EventKind } from '@spanprof/profile';
import type { SpanLabels } from '../labels';
import { lastStartingBy } from './sorted';

/** Most I/O and GC events one period keeps; past it they are counted, not kept. */
export const MAX_IO_EVENTS_PER_PERIOD = 20_000;
/** Longest `resource` kept (a path, a host name), characters. */
const MAX_RESOURCE_LENGTH = 256;

/** An I/O wait or GC pause as recorded: times on the performance clock (ms), the span that started it. */
interface RecordedEvent {
  kind: EventKind;
  name: string;
  resource: string;
  start: number;
  end: number;
  span: SpanLabels | undefined;
  error: boolean;
}

/**
 * The I/O waits and GC pauses of a period, at least `thresholdMillis` long each, with the span
 * that started them (a GC pause: the span of a sample taken during it, if one was). Bounded per
 * period; the collector takes them as events of the events profile.
 */
export class EventRecorder {
  private events: RecordedEvent[] = [];
  private droppedEvents = 0;
  /** GC pauses of the period not yet matched to a sample, sorted by start. */
  private unattributedGc: RecordedEvent[] = [];

  constructor(private readonly thresholdMillis: number) {}

  /** An operation started at `start` (performance.now()) by `span` ended now. Kept when long enough; never throws. */
  ended(kind: EventKind, name: string, resource: string, start: number, span: SpanLabels | undefined, error: boolean): void {
    const end = performance.now();
    if (end - start < this.thresholdMillis) return;
    this.add({ kind, name, resource: resource.length > MAX_RESOURCE_LENGTH ? resource.slice(0, MAX_RESOURCE_LENGTH) : resource, start, end, span, error });
  }

  /** A GC pause (a `gc` performance entry); its span is found from the samples at collection. */
  gc(name: string, start: number, duration: number): void {
    if (duration < this.thresholdMillis) return;
    const event: RecordedEvent = { kind: 'gc', name, resource: '', start, end: start + duration, span: undefined, error: false };
    if (this.add(event)) this.unattributedGc.push(event);
  }

  /** Whether GC pauses wait for a sample to name their span. */
  hasUnattributedGc(): boolean {
    return this.unattributedGc.length > 0;
  }

  /**
   * A sample taken at `micros` (µs since 1970) in `span`: a GC pause it fell in (or ended less
   * than a millisecond before) gets that span, the one whose code triggered it.
   */
  sampledAt(micros: bigint, span: SpanLabels | undefined, epochOffset: number): void {
    if (span === undefined) return;
    const at = Number(micros) / 1000 - epochOffset;
    // The pauses come in order and never overlap: the last one starting by `at` is the only candidate.
    const e = lastStartingBy(this.unattributedGc, at, (gc) => gc.start);
    if (e !== undefined && e.span === undefined && at <= e.end + 1) e.span = span;
  }

  /** The spans of the period's events (so that the events profile records them too). */
  spans(): Iterable<SpanLabels> {
    const spans = new Set<SpanLabels>();
    for (const e of this.events) if (e.span !== undefined) spans.add(e.span);
    return spans;
  }

  /**
   * The period's events, times on the system clock (`epochOffset`: system clock minus the
   * performance clock, ms); the next period starts empty. `dropped`: events past the bound.
   */
  take(epochOffset: number): { events: EventInput[]; dropped: number } {
    const recorded = this.events;
    const dropped = this.droppedEvents;
    this.events = [];
    this.droppedEvents = 0;
    this.unattributedGc = [];
    const nanos = (ms: number): bigint => BigInt(Math.round((ms + epochOffset) * 1e6));
    const events = recorded.map((e): EventInput => {
      const span = e.span?.span();
      return {
        kind: e.kind,
        name: e.name,
        startNanos: nanos(e.start),
        endNanos: nanos(e.end),
        labels: {
          [LABEL_SPAN_ID]: span?.spanId ?? '',
          [LABEL_LOCAL_ROOT_SPAN_ID]: span?.root.spanId ?? '',
          [LABEL_TRACE_ID]: span?.traceId ?? '',
          [LABEL_TRACE_ENDPOINT]: span?.root.endpoint ?? '',
          [LABEL_RESOURCE]: e.resource,
          [LABEL_ERROR]: e.error ? 'true' : '',
        },
      };
    });
    return { events, dropped };
  }

  private add(event: RecordedEvent): boolean {
    if (this.events.length >= MAX_IO_EVENTS_PER_PERIOD) {
      this.droppedEvents++;
      return false;
    }
    this.events.push(event);
    return true;
  }
}
