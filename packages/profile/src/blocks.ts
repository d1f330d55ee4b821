import type { IndexedProfile } from './ProfileIndex';
import { NONE } from './ProfileIndex';
import { LABEL_THREAD_ID, TAG_PROCESS_PID } from './schema';

/** A function that ran during a block, and how many of the block's samples it holds. */
export interface BlockFunction {
  name: string;
  file: string;
  line: number;
  samples: number;
  cpuNanos: number;
}

/** A span whose code ran during a block. */
export interface BlockSpan {
  spanId: string;
  localRootSpanId: string;
  traceId: string;
  endpoint: string;
  samples: number;
}

/** An event-loop block: when, how long, what ran during it and which requests waited. */
export interface LoopBlock {
  /** Start and end, epoch milliseconds. */
  start: number;
  end: number;
  durationMillis: number;
  /** The thread whose loop it was (`thread_name`). */
  thread: string;
  /** Requests in flight when it ended (without those that ran during it), and those that started in the next turn. */
  requestsInFlight: number;
  requestsQueued: number;
  /** The endpoints with the most delayed requests (in flight or queued), most first. */
  delayed: readonly { endpoint: string; count: number }[];
  /** The samples taken during it. */
  samples: number;
  /** The spans whose code ran during it, most samples first. */
  spans: BlockSpan[];
  /**
   * The functions that ran during it, most samples first: each sample counts for its innermost
   * frame in the application's own code (a file that is neither a Node.js internal nor V8's
   * pseudo-frame), so a loop in `parseAll` shows as `parseAll`, not the built-in it calls.
   */
  functions: BlockFunction[];
}

/** The `thread_id` of a wall profile's samples (one thread per profile); '' when they carry none. */
function threadOf(p: IndexedProfile): string {
  const column = p.custom.get(LABEL_THREAD_ID);
  if (column === undefined) return '';
  for (let i = 0; i < p.size; i++) if (column[i] !== NONE) return p.labels.get(column[i]);
  return '';
}

/** Code of the application, or of a package it uses: a file that is not a Node.js internal. */
function isApplicationFrame(file: string): boolean {
  return file !== '' && !file.startsWith('node:') && !file.startsWith('internal/');
}

/**
 * The event-loop blocks the events profiles recorded (longest first), each with the spans and
 * functions of the wall samples taken inside it (their `end_timestamp_ns`) on the same thread.
 */
export function loopBlocks(profiles: readonly IndexedProfile[], maxFunctions = 10): LoopBlock[] {
  const blocks: LoopBlock[] = [];
  for (const p of profiles) {
    for (const e of p.events) {
      if (e.kind !== 'block') continue;
      const spans = new Map<string, BlockSpan>();
      const functions = new Map<string, BlockFunction>();
      let samples = 0;
      // The wall samples of this profile (one thread) inside the block; a block's samples may
      // also sit in the next period's profile when it straddles a collection.
      for (const q of profiles) {
        if (q.tags[TAG_PROCESS_PID] !== p.tags[TAG_PROCESS_PID] || threadOf(q) !== e.threadId || q.end < e.start || q.start > e.end) continue;
        for (let i = 0; i < q.size; i++) {
          const t = q.time[i];
          if (!(t >= e.start && t <= e.end)) continue;
          samples += q.count[i];
          if (q.span[i] !== NONE) {
            const spanId = q.labels.get(q.span[i]);
            let s = spans.get(spanId);
            if (s === undefined) {
              s = { spanId, localRootSpanId: q.labels.get(q.root[i]), traceId: q.labels.get(q.trace[i]), endpoint: q.labels.get(q.endpoint[i]), samples: 0 };
              spans.set(spanId, s);
            }
            s.samples += q.count[i];
          }
          const stack = q.frames.stacks[q.stack[i]];
          let frameId = stack[0];
          for (const f of stack) {
            if (isApplicationFrame(q.frames.frames[f].file)) {
              frameId = f;
              break;
            }
          }
          if (frameId === undefined) continue;
          const frame = q.frames.frames[frameId];
          const key = `${frame.name}\u0000${frame.file}`;
          let fn = functions.get(key);
          if (fn === undefined) {
            fn = { name: frame.name, file: frame.file, line: frame.line, samples: 0, cpuNanos: 0 };
            functions.set(key, fn);
          }
          fn.samples += q.count[i];
          fn.cpuNanos += q.cpu[i];
        }
      }
      blocks.push({
        start: e.start,
        end: e.end,
        durationMillis: e.end - e.start,
        thread: e.thread,
        requestsInFlight: e.requestsInFlight,
        requestsQueued: e.requestsQueued,
        delayed: e.delayed,
        samples,
        spans: [...spans.values()].sort((a, b) => b.samples - a.samples),
        functions: [...functions.values()].sort((a, b) => b.samples - a.samples).slice(0, maxFunctions),
      });
    }
  }
  return blocks.sort((a, b) => b.durationMillis - a.durationMillis);
}
