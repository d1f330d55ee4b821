import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { readEvents } from '@spanprof/profile';
import type { TimelineEvent } from '@spanprof/profile';
import { DD_LABEL_LOCAL_ROOT_SPAN_ID, DD_LABEL_SPAN_ID, DD_LABEL_THREAD_ID, DD_LABEL_THREAD_NAME, spanIdLabel } from './labels';

/** The label names of Datadog's timeline events (its Node.js profiler's `events.pprof`) beside its span and thread labels. */
const EVENT = 'event';
const END_TIMESTAMP = 'end_timestamp_ns';

/** The labels Datadog shows for each kind of event, beside `event`, the time and the span. */
function detailLabels(e: TimelineEvent): [string, string | number][] {
  switch (e.kind) {
    case 'fs':
      return [
        ['operation', e.name.replace(/^fs\.(promises\.)?/, '')],
        ['path', e.resource],
      ];
    case 'dns':
      return [
        ['operation', 'lookup'],
        ['host', e.resource],
      ];
    case 'net': {
      const colon = e.resource.lastIndexOf(':');
      const port = Number(e.resource.slice(colon + 1));
      return colon > 0 && Number.isInteger(port) && port > 0
        ? [
            ['operation', 'connect'],
            ['host', e.resource.slice(0, colon)],
            ['port', port],
          ]
        : [['operation', 'connect']];
    }
    case 'gc':
      return [['gc type', e.name.replace(/^gc\./, '')]];
    default:
      return [];
  }
}

/** The event kinds Datadog's timeline knows; spans, blocks and outgoing HTTP requests (its APM's spans) are not among them. */
const DATADOG_KINDS = new Set(['fs', 'dns', 'net', 'gc']);

/**
 * spanprof's events profile as Datadog's timeline events (`events.pprof`): sample type
 * `timeline`/`nanoseconds`, one sample per event (its duration) on one unnamed location, labels
 * `event`, `end_timestamp_ns`, `span id` and `local root span id` (numeric) and the details
 * Datadog shows per kind (`operation`, `path`, `host`, `port`, `gc type`). Undefined when no
 * event is of a kind Datadog shows.
 */
export function datadogTimeline(events: Profile): Profile | undefined {
  const strings = new StringTable();
  const fn = new PprofFunction({ id: 1, name: strings.dedup('') });
  const location = new Location({ id: 1, line: [new Line({ functionId: 1 })] });
  const key = (name: string): number => strings.dedup(name);
  const sample: Sample[] = [];
  for (const e of readEvents(events)) {
    if (!DATADOG_KINDS.has(e.kind)) continue;
    const label = [new Label({ key: key(EVENT), str: strings.dedup(e.kind) }), new Label({ key: key(END_TIMESTAMP), num: BigInt(Math.round(e.end * 1e6)) })];
    const span = spanIdLabel(e.spanId);
    const root = spanIdLabel(e.localRootSpanId);
    if (span !== undefined) label.push(new Label({ key: key(DD_LABEL_SPAN_ID), num: span }));
    if (root !== undefined) label.push(new Label({ key: key(DD_LABEL_LOCAL_ROOT_SPAN_ID), num: root }));
    if (e.threadId !== '') label.push(new Label({ key: key(DD_LABEL_THREAD_ID), str: strings.dedup(e.threadId) }));
    if (e.thread !== '') label.push(new Label({ key: key(DD_LABEL_THREAD_NAME), str: strings.dedup(e.thread) }));
    for (const [name, value] of detailLabels(e)) {
      label.push(typeof value === 'number' ? new Label({ key: key(name), num: value }) : new Label({ key: key(name), str: strings.dedup(value) }));
    }
    sample.push(new Sample({ locationId: [1], value: [Math.max(0, Math.round((e.end - e.start) * 1e6))], label }));
  }
  if (sample.length === 0) return undefined;
  const type = new ValueType({ type: strings.dedup('timeline'), unit: strings.dedup('nanoseconds') });
  return new Profile({
    sampleType: [type],
    periodType: type,
    period: 1,
    sample,
    location: [location],
    function: [fn],
    stringTable: strings,
    timeNanos: events.timeNanos,
    durationNanos: events.durationNanos,
  });
}
