'use strict';
// Decodes OTLP profiles requests with protobufjs and a schema transcribed here
// from opentelemetry-proto v1.10.0 (field numbers as published), separately from
// the .proto files the exporter ships: a field-number slip on either side fails.
const protobuf = require('protobufjs');

const f = (id, type, rule) => (rule ? { id, type, rule } : { id, type });
const root = protobuf.Root.fromJSON({
  nested: {
    c: {
      nested: {
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'stringValueStrindex'] } },
          fields: {
            stringValue: f(1, 'string'),
            boolValue: f(2, 'bool'),
            intValue: f(3, 'int64'),
            doubleValue: f(4, 'double'),
            bytesValue: f(7, 'bytes'),
            stringValueStrindex: f(8, 'int32'),
          },
        },
        KeyValue: { fields: { key: f(1, 'string'), value: f(2, 'AnyValue'), keyStrindex: f(3, 'int32') } },
        Scope: { fields: { name: f(1, 'string'), version: f(2, 'string') } },
        Resource: { fields: { attributes: f(1, 'KeyValue', 'repeated') } },
        Request: { fields: { resourceProfiles: f(1, 'ResourceProfiles', 'repeated'), dictionary: f(2, 'Dictionary') } },
        ResourceProfiles: { fields: { resource: f(1, 'Resource'), scopeProfiles: f(2, 'ScopeProfiles', 'repeated') } },
        ScopeProfiles: { fields: { scope: f(1, 'Scope'), profiles: f(2, 'Profile', 'repeated') } },
        Dictionary: {
          fields: {
            mappingTable: f(1, 'Mapping', 'repeated'),
            locationTable: f(2, 'Location', 'repeated'),
            functionTable: f(3, 'Function', 'repeated'),
            linkTable: f(4, 'Link', 'repeated'),
            stringTable: f(5, 'string', 'repeated'),
            attributeTable: f(6, 'KeyValueAndUnit', 'repeated'),
            stackTable: f(7, 'Stack', 'repeated'),
          },
        },
        Profile: {
          fields: {
            sampleType: f(1, 'ValueType'),
            samples: f(2, 'Sample', 'repeated'),
            timeUnixNano: f(3, 'fixed64'),
            durationNano: f(4, 'uint64'),
            periodType: f(5, 'ValueType'),
            period: f(6, 'int64'),
            profileId: f(7, 'bytes'),
            attributeIndices: f(11, 'int32', 'repeated'),
          },
        },
        ValueType: { fields: { typeStrindex: f(1, 'int32'), unitStrindex: f(2, 'int32') } },
        Sample: {
          fields: {
            stackIndex: f(1, 'int32'),
            attributeIndices: f(2, 'int32', 'repeated'),
            linkIndex: f(3, 'int32'),
            values: f(4, 'int64', 'repeated'),
            timestampsUnixNano: f(5, 'fixed64', 'repeated'),
          },
        },
        Mapping: { fields: { memoryStart: f(1, 'uint64'), filenameStrindex: f(4, 'int32') } },
        Stack: { fields: { locationIndices: f(1, 'int32', 'repeated') } },
        Location: { fields: { mappingIndex: f(1, 'int32'), address: f(2, 'uint64'), lines: f(3, 'Line', 'repeated') } },
        Line: { fields: { functionIndex: f(1, 'int32'), line: f(2, 'int64'), column: f(3, 'int64') } },
        Function: { fields: { nameStrindex: f(1, 'int32'), systemNameStrindex: f(2, 'int32'), filenameStrindex: f(3, 'int32'), startLine: f(4, 'int64') } },
        Link: { fields: { traceId: f(1, 'bytes'), spanId: f(2, 'bytes') } },
        KeyValueAndUnit: { fields: { keyStrindex: f(1, 'int32'), value: f(2, 'AnyValue'), unitStrindex: f(3, 'int32') } },
      },
    },
  },
});
const Request = root.lookupType('c.Request');
const num = (v) => (v === undefined || v === null ? 0 : Number(v.toString()));

/** Decodes a request body into resource attributes, scope, and per-profile samples with stacks, links and attributes. */
function decodeOtlpProfiles(body) {
  const req = Request.toObject(Request.decode(body), { longs: String, bytes: Buffer, defaults: true, arrays: true });
  const d = req.dictionary;
  const str = (i) => d.stringTable[i] ?? '';
  const anyValue = (v) => (v.stringValue !== undefined && v.stringValue !== '' ? v.stringValue : v.intValue !== undefined ? num(v.intValue) : v.stringValue);
  const [rp] = req.resourceProfiles;
  const resource = Object.fromEntries(rp.resource.attributes.map((a) => [a.key, anyValue(a.value)]));
  const [sp] = rp.scopeProfiles;
  const profiles = sp.profiles.map((p) => ({
    type: `${str(p.sampleType.typeStrindex)}/${str(p.sampleType.unitStrindex)}`,
    timeUnixNano: BigInt(p.timeUnixNano),
    durationNano: BigInt(p.durationNano),
    period: num(p.period),
    samples: p.samples.map((s) => {
      const link = d.linkTable[s.linkIndex];
      const attributes = Object.fromEntries(s.attributeIndices.map((i) => [str(d.attributeTable[i].keyStrindex), anyValue(d.attributeTable[i].value)]));
      const stack = d.stackTable[s.stackIndex].locationIndices.map((li) => {
        const line = d.locationTable[li].lines[0];
        const fn = d.functionTable[line.functionIndex];
        return { name: str(fn.nameStrindex), file: str(fn.filenameStrindex), line: num(line.line) };
      });
      // Samples of one identity are one sample with a value per event (v1.11): `value` is their sum.
      return {
        identity: `${s.stackIndex}|${[...s.attributeIndices].sort((a, b) => a - b).join(',')}|${s.linkIndex}|${s.timestampsUnixNano.length > 0 ? 't' : ''}`,
        values: s.values.map(num),
        timestamps: s.timestampsUnixNano.map((t) => BigInt(t.toString())),
        value: s.values.reduce((n, v) => n + num(v), 0),
        spanId: s.linkIndex ? link.spanId.toString('hex') : undefined,
        traceId: s.linkIndex ? link.traceId.toString('hex') : undefined,
        attributes,
        stack,
      };
    }),
  }));
  return { resource, scope: sp.scope, profiles, dictionary: d };
}

module.exports = { decodeOtlpProfiles };
