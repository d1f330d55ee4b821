'use strict';
// SpanTimeline (the events profile's spans): a span still running is carried from period to
// period, but not for ever, and spans that never end cannot crowd out a period's own.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const build = path.join(__dirname, '..', '..', 'packages', 'core', 'build', 'src');
const { SpanTimeline, MAX_SPAN_EVENTS, MAX_IDLE_PERIODS_CARRIED } = require(path.join(build, 'SpanTimeline.js'));
const { LocalRoot, SpanLabels } = require(path.join(build, 'labels.js'));

let next = 0;
/** A span's label data, started and, with `ended`, ended. */
function span(name, { ended = false, parent } = {}) {
  const id = (++next).toString(16).padStart(16, '0');
  const labels = new SpanLabels(id, 'f'.repeat(32), parent?.root ?? new LocalRoot(id, 'GET /x'));
  labels.name = name;
  labels.startTime = [1_800_000_000, 0];
  if (ended) labels.endTime = [1_800_000_001, 0];
  labels.parent = parent;
  return labels;
}

const names = (events) => events.map((e) => e.name).sort();

test('a running span is carried, written running until it ends, then once with its end', () => {
  const timeline = new SpanTimeline();
  const request = span('request');
  timeline.sampled(request);
  let { events } = timeline.take(10n);
  assert.deepEqual(names(events), ['request']);
  assert.equal(events[0].labels.running, 'true');
  assert.equal(timeline.take(20n).events[0].endNanos, 20n, 'carried: written again, ended at the collection');
  request.endTime = [1_800_000_002, 0];
  ({ events } = timeline.take(30n));
  assert.equal(events[0].labels.running, '');
  assert.equal(timeline.take(40n).events.length, 0, 'ended: not carried any more');
});

test(`a span that never ends is carried at most ${MAX_IDLE_PERIODS_CARRIED} periods after its last sample`, () => {
  const timeline = new SpanTimeline();
  const leaked = span('leaked');
  timeline.sampled(leaked);
  let periods = 0;
  while (timeline.take(BigInt(++periods)).events.length > 0) assert.ok(periods < 100, 'carried for ever');
  assert.equal(periods, MAX_IDLE_PERIODS_CARRIED + 2, 'the sampled period, then the idle ones');
  // A sample in it again: written, and carried again.
  timeline.sampled(leaked);
  assert.equal(timeline.take(1000n).events.length, 1);
  assert.equal(timeline.take(1001n).events.length, 1);
});

test('spans that never end do not crowd out the spans with samples of a later period', () => {
  const timeline = new SpanTimeline();
  for (let i = 0; i < MAX_SPAN_EVENTS; i++) timeline.sampled(span(`leaked${i}`));
  assert.equal(timeline.take(1n).events.length, MAX_SPAN_EVENTS);
  const fresh = span('fresh', { ended: true });
  timeline.sampled(fresh);
  const { events, dropped } = timeline.take(2n);
  assert.ok(
    events.some((e) => e.name === 'fresh'),
    "the period's sampled span is written",
  );
  assert.equal(events.length, MAX_SPAN_EVENTS);
  assert.equal(dropped, 1, 'one carried span left out, and counted');
});
