import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { num, stringsOf } from './decode';
import type { Int64, PprofMessage } from './decode';
import {
  LABEL_DELAYED_COUNT,
  LABEL_DELAYED_ENDPOINT,
  LABEL_END_TIMESTAMP,
  LABEL_ERROR,
  LABEL_EVENT,
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_PARENT_SPAN_ID,
  LABEL_REQUESTS_IN_FLIGHT,
  LABEL_REQUESTS_QUEUED,
  LABEL_RESOURCE,
  LABEL_RUNNING,
  LABEL_SPAN_ID,
  LABEL_THREAD_ID,
  LABEL_THREAD_NAME,
  LABEL_TRACE_ENDPOINT,
  LABEL_TRACE_ID,
} from './schema';

/**
 * The events profile (`<...>.events.pb.gz`): one pprof sample per event of the period, a span
 * with its times, an I/O wait, a GC pause or an event-loop block. Sample types
 * `events/count` and `duration/nanoseconds`; the numeric label `end_timestamp_ns` says when
 * the event ended; the label `event` what it is (`span`, ...); the span labels which span it
 * belongs to (a span event: the span itself, with `parent_span_id`). Each
 * sample's stack is one pseudo-frame named after the event (a span's name), so that
 * `go tool pprof -top` lists where the time went by name.
 */

/**
 * What an event is: the `event` label. `span`: a span with its times. `block`: the event loop did
 * not turn. `fs`, `dns`, `net`, `http`: an I/O wait a span started (a file system call, a DNS
 * lookup, an outgoing TCP connect, an outgoing HTTP request). `gc`: a garbage-collection pause.
 */
export type EventKind = 'span' | 'block' | 'fs' | 'dns' | 'net' | 'http' | 'gc';

/** The event kinds that are I/O waits. */
export const IO_EVENT_KINDS: readonly string[] = Object.freeze(['fs', 'dns', 'net', 'http']);

/** A label of an event beyond its string labels, kept in order (a key may repeat). */
export interface EventLabel {
  readonly key: string;
  readonly str?: string;
  readonly num?: number;
}

/** An event as the profiler hands it to `eventsProfile`: times in nanoseconds since 1970. */
export interface EventInput {
  readonly kind: EventKind;
  /** The span's name, or the operation's. */
  readonly name: string;
  readonly startNanos: bigint;
  readonly endNanos: bigint;
  /** String labels: the span labels, `parent_span_id`, `running` (empty values are left out). */
  readonly labels: Readonly<Record<string, string>>;
  /** More labels, numeric or repeated, in order. */
  readonly extra?: readonly EventLabel[];
}

/** An event as the views read it. */
export interface TimelineEvent {
  readonly kind: string;
  readonly name: string;
  /** Start and end, epoch milliseconds (fractional: to a fraction of a microsecond). */
  readonly start: number;
  readonly end: number;
  /** Its duration exactly, as written (`end - start` rounds at epoch magnitudes). */
  readonly durationNanos: number;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly traceId: string;
  readonly localRootSpanId: string;
  readonly endpoint: string;
  /** A span still running at collection: `end` is the collection's time. */
  readonly running: boolean;
  readonly thread: string;
  /** `thread_id`: `0` on the main thread. */
  readonly threadId: string;
  /** An I/O event's file, host or URL; '' for other events. */
  readonly resource: string;
  /** An I/O event that failed. */
  readonly error: boolean;
  /** A block's requests: in flight when it ended, queued (started in the next turn), and the endpoints most delayed. */
  readonly requestsInFlight: number;
  readonly requestsQueued: number;
  readonly delayed: readonly { endpoint: string; count: number }[];
}

/**
 * Writes an events profile an event at a time, so that a writer can yield between chunks: a
 * period under load holds thousands of span events. `finish()` gives the profile (no tags, no
 * thread labels: the collector adds those as to any profile).
 */
export class EventsProfileWriter {
  private readonly strings = new StringTable();
  private readonly functions: PprofFunction[] = [];
  private readonly locations: Location[] = [];
  private readonly locationOf = new Map<string, number>();
  private readonly samples: Sample[] = [];
  private readonly eventKey = this.strings.dedup(LABEL_EVENT);
  private readonly endKey = this.strings.dedup(LABEL_END_TIMESTAMP);

  get size(): number {
    return this.samples.length;
  }

  add(e: EventInput): void {
    const strings = this.strings;
    const label = [new Label({ key: this.eventKey, str: strings.dedup(e.kind) }), new Label({ key: this.endKey, num: e.endNanos })];
    for (const key in e.labels) {
      const value = e.labels[key];
      if (value !== '') label.push(new Label({ key: strings.dedup(key), str: strings.dedup(value) }));
    }
    for (const l of e.extra ?? []) {
      label.push(
        l.str !== undefined ? new Label({ key: strings.dedup(l.key), str: strings.dedup(l.str) }) : new Label({ key: strings.dedup(l.key), num: l.num ?? 0 }),
      );
    }
    // Durations fit a double: a number encodes faster than a bigint.
    const duration = e.endNanos > e.startNanos ? Number(e.endNanos - e.startNanos) : 0;
    this.samples.push(new Sample({ locationId: [this.location(e.kind, e.name)], value: [1, duration], label }));
  }

  finish(): Profile {
    const strings = this.strings;
    return new Profile({
      sampleType: [
        new ValueType({ type: strings.dedup('events'), unit: strings.dedup('count') }),
        new ValueType({ type: strings.dedup('duration'), unit: strings.dedup('nanoseconds') }),
      ],
      sample: this.samples,
      location: this.locations,
      function: this.functions,
      stringTable: strings,
    });
  }

  /** One pseudo-frame per kind and name. */
  private location(kind: string, name: string): number {
    const key = `${kind}\u0000${name}`;
    let id = this.locationOf.get(key);
    if (id === undefined) {
      id = this.locations.length + 1;
      const strings = this.strings;
      this.functions.push(new PprofFunction({ id, name: strings.dedup(name), systemName: strings.dedup(kind), filename: strings.dedup('') }));
      this.locations.push(new Location({ id, line: [new Line({ functionId: id, line: 0 })] }));
      this.locationOf.set(key, id);
    }
    return id;
  }
}

/** The events of a period as a pprof profile, in one go (see `EventsProfileWriter`). */
export function eventsProfile(events: readonly EventInput[]): Profile {
  const writer = new EventsProfileWriter();
  for (const e of events) writer.add(e);
  return writer.finish();
}

/**
 * The events of an events profile (decoded by `decodePprof`, or a pprof-format `Profile`), or of
 * some of its `samples`; samples that are not events are skipped.
 */
export function readEvents(profile: PprofMessage, samples: PprofMessage['sample'] = profile.sample): TimelineEvent[] {
  const strings = stringsOf(profile);
  const str = (id: Int64 | undefined): string => strings[num(id)] ?? '';
  const durationIndex = profile.sampleType.findIndex((t) => str(t.type) === 'duration');
  const nameOf = new Map<number, string>();
  for (const f of profile.function) nameOf.set(num(f.id), str(f.name));
  const locationName = new Map<number, string>();
  for (const loc of profile.location) locationName.set(num(loc.id), nameOf.get(num(loc.line[0]?.functionId)) ?? '');
  const events: TimelineEvent[] = [];
  for (const sample of samples) {
    const labels = new Map<string, string>();
    const numbers = new Map<string, number>();
    const delayed: { endpoint: string; count: number }[] = [];
    let endNanos: number | undefined;
    for (const l of sample.label) {
      const key = str(l.key);
      if (key === LABEL_END_TIMESTAMP) endNanos = num(l.num);
      else if (key === LABEL_DELAYED_ENDPOINT) delayed.push({ endpoint: str(l.str), count: 0 });
      else if (key === LABEL_DELAYED_COUNT) {
        const last = delayed[delayed.length - 1];
        if (last !== undefined) last.count = num(l.num);
      } else if (num(l.str) !== 0) labels.set(key, str(l.str));
      else numbers.set(key, num(l.num));
    }
    const kind = labels.get(LABEL_EVENT);
    if (kind === undefined || kind === '' || endNanos === undefined) continue;
    const duration = durationIndex < 0 ? 0 : num(sample.value[durationIndex]);
    // Nanoseconds since 1970 exceed 2^53: milliseconds keep them to a fraction of a microsecond.
    const end = endNanos / 1e6;
    events.push({
      kind,
      name: locationName.get(num(sample.locationId[0])) ?? '',
      start: end - duration / 1e6,
      end,
      durationNanos: duration,
      spanId: labels.get(LABEL_SPAN_ID) ?? '',
      parentSpanId: labels.get(LABEL_PARENT_SPAN_ID) ?? '',
      traceId: labels.get(LABEL_TRACE_ID) ?? '',
      localRootSpanId: labels.get(LABEL_LOCAL_ROOT_SPAN_ID) ?? '',
      endpoint: labels.get(LABEL_TRACE_ENDPOINT) ?? '',
      running: labels.get(LABEL_RUNNING) === 'true',
      thread: labels.get(LABEL_THREAD_NAME) ?? '',
      threadId: labels.get(LABEL_THREAD_ID) ?? '',
      resource: labels.get(LABEL_RESOURCE) ?? '',
      error: labels.get(LABEL_ERROR) === 'true',
      requestsInFlight: numbers.get(LABEL_REQUESTS_IN_FLIGHT) ?? 0,
      requestsQueued: numbers.get(LABEL_REQUESTS_QUEUED) ?? 0,
      delayed,
    });
  }
  return events;
}
