import { randomBytes } from 'node:crypto';
import type { Profile } from 'pprof-format';

import { VERSION } from './version';
import { LABEL_END_TIMESTAMP, LABEL_SPAN_ID, LABEL_THREAD_ID, LABEL_THREAD_NAME, LABEL_TRACE_ID } from '@spanprof/profile';
import type { ProfileBatch } from '@spanprof/exporter-base';

/** The instrumentation scope of every exported profile. */
export const SCOPE_NAME = 'spanprof';

/** OTLP messages as plain objects (protobufjs field names), enough to build a request. */
interface AnyValue {
  stringValue?: string;
  intValue?: string;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface KeyValueAndUnit {
  keyStrindex: number;
  value: AnyValue;
  unitStrindex: number;
}
interface OtlpSample {
  stackIndex: number;
  attributeIndices: number[];
  linkIndex: number;
  values: string[];
  /** One per value when the samples carry their time (`end_timestamp_ns`), else empty. */
  timestampsUnixNano: string[];
}
interface OtlpProfile {
  sampleType: { typeStrindex: number; unitStrindex: number };
  samples: OtlpSample[];
  timeUnixNano: string;
  durationNano: string;
  periodType?: { typeStrindex: number; unitStrindex: number };
  period: string;
  profileId: Uint8Array;
  attributeIndices: number[];
}
export interface OtlpRequest {
  resourceProfiles: {
    resource: { attributes: KeyValue[] };
    scopeProfiles: { scope: { name: string; version: string }; profiles: OtlpProfile[] }[];
  }[];
  dictionary: {
    mappingTable: object[];
    locationTable: { mappingIndex: number; address: string; lines: { functionIndex: number; line: string; column: string }[] }[];
    functionTable: { nameStrindex: number; systemNameStrindex: number; filenameStrindex: number; startLine: string }[];
    linkTable: { traceId?: Uint8Array; spanId?: Uint8Array }[];
    stringTable: string[];
    attributeTable: KeyValueAndUnit[];
    stackTable: { locationIndices: number[] }[];
  };
}

/**
 * The samples of one sample type, zero values left out. Samples of one identity (stack, set of
 * attributes, link) are one sample with a value per event, as v1.11 says they SHOULD be.
 */
function combined(
  converted: { stackIndex: number; linkIndex: number; attributeIndices: number[]; values: readonly (number | bigint)[]; timestamp: string | undefined }[],
  i: number,
): OtlpSample[] {
  const byIdentity = new Map<string, OtlpSample>();
  for (const s of converted) {
    const value = s.values[i] ?? 0;
    if (Number(value) === 0) continue;
    // Samples with a time and samples without are kept apart: a sample's timestamps are one per value or none.
    const identity = `${s.stackIndex}|${[...s.attributeIndices].sort((a, b) => a - b).join(',')}|${s.linkIndex}|${s.timestamp === undefined ? '' : 't'}`;
    let sample = byIdentity.get(identity);
    if (sample === undefined) {
      sample = { stackIndex: s.stackIndex, attributeIndices: s.attributeIndices, linkIndex: s.linkIndex, values: [], timestampsUnixNano: [] };
      byIdentity.set(identity, sample);
    }
    sample.values.push(String(value));
    if (s.timestamp !== undefined) sample.timestampsUnixNano.push(s.timestamp);
  }
  return [...byIdentity.values()];
}

/** Resource attributes whose values are integers in OpenTelemetry's semantic conventions. */
const INTEGER_ATTRIBUTES = new Set(['process.pid']);

const HEX = /^[0-9a-f]+$/;

/** OpenTelemetry's semantic-convention attributes for the thread a sample was taken on. */
const ATTR_THREAD_ID = 'thread.id';
const ATTR_THREAD_NAME = 'thread.name';

/**
 * One OTLP `ExportProfilesServiceRequest` (opentelemetry-proto v1.11, wire-identical to v1.10) for a batch: one
 * `Profile` per pprof sample type, all sharing one dictionary whose tables start
 * with their zero value. A sample's `span_id`/`trace_id` labels become a link;
 * `thread_id`/`thread_name` the attributes `thread.id`/`thread.name`; its time
 * (`end_timestamp_ns`) the sample's `timestamps_unix_nano`, one per value; its other
 * labels (`local_root_span_id`, `trace_endpoint`, ...) attributes of their own name.
 * Batch tags become resource attributes; the scope names spanprof.
 */
export function toOtlpRequest(batch: ProfileBatch): OtlpRequest {
  const dict = new Dictionary();
  const profiles: OtlpProfile[] = [];
  for (const collected of batch.profiles) {
    profiles.push(...dict.convert(collected.profile, batch));
  }
  const attributes: KeyValue[] = Object.entries(batch.tags).map(([key, value]) => ({
    key,
    value: INTEGER_ATTRIBUTES.has(key) && /^\d+$/.test(value) ? { intValue: value } : { stringValue: value },
  }));
  return {
    resourceProfiles: [{ resource: { attributes }, scopeProfiles: [{ scope: { name: SCOPE_NAME, version: VERSION }, profiles }] }],
    dictionary: dict.tables,
  };
}

class Dictionary {
  readonly tables: OtlpRequest['dictionary'] = {
    mappingTable: [{}],
    locationTable: [{ mappingIndex: 0, address: '0', lines: [] }],
    functionTable: [{ nameStrindex: 0, systemNameStrindex: 0, filenameStrindex: 0, startLine: '0' }],
    // v1.11: the zero link SHOULD carry 16 and 8 zero bytes, for codecs that expect those lengths.
    linkTable: [{ traceId: new Uint8Array(16), spanId: new Uint8Array(8) }],
    stringTable: [''],
    attributeTable: [{ keyStrindex: 0, value: {}, unitStrindex: 0 }],
    stackTable: [{ locationIndices: [] }],
  };
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly stacks = new Map<string, number>();
  private readonly links = new Map<string, number>();
  private readonly attributes = new Map<string, number>();
  private readonly functionIndex = new Map<string, number>();
  private readonly locationIndex = new Map<string, number>();

  /** The profiles of one pprof profile, one per sample type. */
  convert(profile: Profile, batch: ProfileBatch): OtlpProfile[] {
    const pstr = (id: unknown): string => profile.stringTable.strings[Number(id)] ?? '';
    // pprof function and location IDs → this dictionary's indices.
    const functions = new Map<string, number>();
    for (const fn of profile.function) {
      const entry = {
        nameStrindex: this.str(pstr(fn.name)),
        systemNameStrindex: this.str(pstr(fn.systemName)),
        filenameStrindex: this.str(pstr(fn.filename)),
        startLine: String(fn.startLine),
      };
      functions.set(String(fn.id), this.intern(this.functionIndex, this.tables.functionTable, entry));
    }
    const locations = new Map<string, number>();
    for (const loc of profile.location) {
      const entry = {
        mappingIndex: 0,
        address: String(loc.address),
        lines: loc.line.map((l) => ({ functionIndex: functions.get(String(l.functionId)) ?? 0, line: String(l.line), column: String(l.column) })),
      };
      locations.set(String(loc.id), this.intern(this.locationIndex, this.tables.locationTable, entry));
    }
    // Per pprof sample: its stack, link and attributes, shared by every sample type.
    const converted = profile.sample.map((sample) => {
      const stack = sample.locationId.map((id) => locations.get(String(id)) ?? 0);
      let spanId: string | undefined;
      let traceId: string | undefined;
      let timestamp: string | undefined;
      const attributeIndices: number[] = [];
      for (const label of sample.label) {
        const key = pstr(label.key);
        if (Number(label.str) !== 0) {
          const value = pstr(label.str);
          if (key === LABEL_SPAN_ID) spanId = value;
          else if (key === LABEL_TRACE_ID) traceId = value;
          // The thread under OpenTelemetry's semantic-convention names, the ID as the integer it is.
          else if (key === LABEL_THREAD_ID && /^\d+$/.test(value)) attributeIndices.push(this.attribute(ATTR_THREAD_ID, { intValue: value }, ''));
          else if (key === LABEL_THREAD_NAME) attributeIndices.push(this.attribute(ATTR_THREAD_NAME, { stringValue: value }, ''));
          else attributeIndices.push(this.attribute(key, { stringValue: value }, ''));
        } else if (key === LABEL_END_TIMESTAMP) {
          // The sample's time: OTLP's own field for it, not an attribute.
          timestamp = String(label.num);
        } else {
          attributeIndices.push(this.attribute(key, { intValue: String(label.num) }, pstr(label.numUnit)));
        }
      }
      return { stackIndex: this.stack(stack), linkIndex: this.link(traceId, spanId), attributeIndices, values: sample.value, timestamp };
    });
    const start = BigInt(batch.start.getTime()) * 1_000_000n;
    const duration = BigInt(Math.max(0, batch.end.getTime() - batch.start.getTime())) * 1_000_000n;
    const periodType = profile.periodType
      ? { typeStrindex: this.str(pstr(profile.periodType.type)), unitStrindex: this.str(pstr(profile.periodType.unit)) }
      : undefined;
    return profile.sampleType.map((type, i) => ({
      sampleType: { typeStrindex: this.str(pstr(type.type)), unitStrindex: this.str(pstr(type.unit)) },
      samples: combined(converted, i),
      timeUnixNano: String(start),
      durationNano: String(duration),
      periodType,
      period: String(profile.period),
      profileId: randomBytes(16),
      attributeIndices: [],
    }));
  }

  /** The index of an equal entry already in `table` (the same function or location from another profile), else a new one. */
  private intern<T>(index: Map<string, number>, table: T[], entry: T): number {
    const key = JSON.stringify(entry);
    let at = index.get(key);
    if (at === undefined) {
      at = table.length;
      table.push(entry);
      index.set(key, at);
    }
    return at;
  }

  str(value: string): number {
    let index = this.strings.get(value);
    if (index === undefined) {
      index = this.tables.stringTable.length;
      this.tables.stringTable.push(value);
      this.strings.set(value, index);
    }
    return index;
  }

  private stack(locationIndices: number[]): number {
    const key = locationIndices.join(',');
    let index = this.stacks.get(key);
    if (index === undefined) {
      index = this.tables.stackTable.length;
      this.tables.stackTable.push({ locationIndices });
      this.stacks.set(key, index);
    }
    return index;
  }

  /** The link of a span (index 0, the zero link, when the sample has none or the IDs are malformed). */
  private link(traceId: string | undefined, spanId: string | undefined): number {
    if (spanId === undefined || spanId.length !== 16 || !HEX.test(spanId)) return 0;
    const trace = traceId !== undefined && traceId.length === 32 && HEX.test(traceId) ? traceId : undefined;
    const key = `${trace ?? ''}/${spanId}`;
    let index = this.links.get(key);
    if (index === undefined) {
      index = this.tables.linkTable.length;
      this.tables.linkTable.push({ traceId: trace !== undefined ? Buffer.from(trace, 'hex') : undefined, spanId: Buffer.from(spanId, 'hex') });
      this.links.set(key, index);
    }
    return index;
  }

  private attribute(key: string, value: AnyValue, unit: string): number {
    const id = `${key}\u0000${value.stringValue ?? ''}\u0000${value.intValue ?? ''}\u0000${unit}`;
    let index = this.attributes.get(id);
    if (index === undefined) {
      index = this.tables.attributeTable.length;
      this.tables.attributeTable.push({ keyStrindex: this.str(key), value, unitStrindex: this.str(unit) });
      this.attributes.set(id, index);
    }
    return index;
  }
}
