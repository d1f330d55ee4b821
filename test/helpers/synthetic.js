'use strict';
// Wall profiles written the way the FileExporter writes them (gzipped pprof,
// tags as `spanprof:<key>=<value>` comments), with exactly the frames, labels
// and costs a test chooses.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { Function: PprofFunction, Label, Line, Location, Profile, Sample, ValueType } = require('pprof-format');
const { writeRequestCounts } = require('@spanprof/core');

/**
 * Writes one wall profile into `dir` and returns its path.
 * - `samples`: `{ stack: [{ name, file, line }] (leaf first), cpu, wall (ns), labels: { name: value } }`
 * - `tags`: profile tags; `requests`: counted requests by endpoint.
 */
function writeWallProfile(dir, { start, durationMillis = 60_000, tags = {}, requests, samples, sequence = 1 }) {
  const profile = new Profile();
  const s = (value) => profile.stringTable.dedup(value);
  profile.sampleType = [
    new ValueType({ type: s('sample'), unit: s('count') }),
    new ValueType({ type: s('wall'), unit: s('nanoseconds') }),
    new ValueType({ type: s('cpu'), unit: s('nanoseconds') }),
  ];
  profile.timeNanos = BigInt(start) * 1_000_000n;
  profile.durationNanos = BigInt(durationMillis) * 1_000_000n;
  for (const [key, value] of Object.entries(tags)) profile.comment.push(s(`spanprof:${key}=${value}`));
  if (requests) writeRequestCounts(profile, requests);
  const locations = new Map();
  const locationOf = ({ name, file, line }) => {
    const key = `${name}\u0000${file}\u0000${line}`;
    let id = locations.get(key);
    if (id === undefined) {
      id = profile.location.length + 1;
      profile.function.push(new PprofFunction({ id, name: s(name), filename: s(file) }));
      profile.location.push(new Location({ id, line: [new Line({ functionId: id, line })] }));
      locations.set(key, id);
    }
    return id;
  };
  for (const sample of samples) {
    profile.sample.push(
      new Sample({
        locationId: sample.stack.map(locationOf),
        value: [1, sample.wall ?? 10_101_000, sample.cpu ?? 0],
        label: Object.entries(sample.labels ?? {}).map(([key, value]) => new Label({ key: s(key), str: s(value) })),
      }),
    );
  }
  const stamp = new Date(start).toISOString().replace(/[-:]/g, '');
  const file = path.join(dir, `${stamp}.synthetic.1.${String(sequence).padStart(6, '0')}.wall.pb.gz`);
  fs.writeFileSync(file, zlib.gzipSync(profile.encode()));
  return file;
}

module.exports = { writeWallProfile };
