import type { DiagLogger } from '@opentelemetry/api';
import { message } from './errors';

/**
 * A fault that loses data or turns a feature off, seen without any logger: the
 * first loss of an outage is a process warning (`process.emitWarning`, which
 * Node prints to stderr) as well as a `diag` warning; the next ones are counted
 * and logged at debug level; the first success ends the outage (a `diag` info
 * line with how many were lost) and arms the next warning.
 */
export class Outage {
  private count = 0;

  constructor(
    /** The warning code of the fault (`SPANPROF_W005`, ...). */
    private readonly code: string,
    private readonly log: DiagLogger,
  ) {}

  /** Losses in the current outage (0: none under way). */
  get lost(): number {
    return this.count;
  }

  /**
   * One more loss: `text` says what was lost and why, `countedIn` where the
   * running count is kept (`stats().failedExports`). Returns true when this was
   * the outage's first, the one warned about.
   */
  fail(text: string, countedIn: string): boolean {
    this.count++;
    if (this.count > 1) {
      this.log.debug(message(this.code, `${text} (${this.count} lost in this outage)`));
      return false;
    }
    const line = `${text}; the next ones are counted in ${countedIn} and not warned about until it recovers`;
    this.log.warn(message(this.code, line));
    try {
      process.emitWarning(line, { code: this.code });
    } catch {
      // A warning listener that throws is not ours to break on.
    }
    return true;
  }

  /** The fault is over: `what` works again. */
  recover(what: string): void {
    if (this.count === 0) return;
    this.log.info(message(this.code, `${what} again, after ${this.count} lost`));
    this.count = 0;
  }
}
