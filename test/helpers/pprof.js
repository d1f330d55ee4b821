'use strict';
// Reads gzipped pprof files with protobufjs and the schema in profile.proto:
// a decoder independent of pprof-format, which wrote them.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const protobuf = require('protobufjs');

const root = protobuf.loadSync(path.join(__dirname, 'profile.proto'));
const ProfileType = root.lookupType('perftools.profiles.Profile');

const num = (v) => (v === undefined || v === null ? 0 : typeof v === 'number' ? v : Number(v.toString()));

/** Decodes one profile into plain samples: { values, labels, stack (leaf first) }. */
function decodeProfile(buffer) {
  const raw = buffer[0] === 0x1f && buffer[1] === 0x8b ? zlib.gunzipSync(buffer) : buffer;
  const p = ProfileType.decode(raw);
  const str = (i) => p.stringTable[num(i)] ?? '';
  const functions = new Map(p.function.map((f) => [num(f.id), { name: str(f.name), file: str(f.filename) }]));
  const locations = new Map(
    p.location.map((l) => {
      const line = l.line[0] ?? {};
      const fn = functions.get(num(line.functionId)) ?? { name: '?', file: '' };
      return [num(l.id), { name: fn.name, file: fn.file, line: num(line.line) }];
    }),
  );
  const sampleTypes = p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`);
  const samples = p.sample.map((s) => {
    const labels = {};
    // Numeric labels exactly (64-bit IDs do not fit a double).
    for (const l of s.label) labels[str(l.key)] = num(l.str) !== 0 ? str(l.str) : BigInt(l.num.toString());
    const values = {};
    s.value.forEach((v, i) => (values[sampleTypes[i]] = num(v)));
    return { values, labels, stack: s.locationId.map((id) => locations.get(num(id))) };
  });
  return {
    sampleTypes,
    samples,
    timeNanos: BigInt(p.timeNanos.toString()),
    durationNanos: BigInt(p.durationNanos.toString()),
    comments: p.comment.map(str),
    period: num(p.period),
  };
}

function decodeProfileFile(file) {
  return decodeProfile(fs.readFileSync(file));
}

/** Every profile file of a kind (`wall` or `heap`) in a directory, decoded. */
function readProfiles(dir, kind) {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(`.${kind}.pb.gz`))
    .sort()
    .map((n) => ({ file: path.join(dir, n), ...decodeProfileFile(path.join(dir, n)) }));
}

module.exports = { decodeProfile, decodeProfileFile, readProfiles };
