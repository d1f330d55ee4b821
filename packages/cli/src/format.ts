/** Plain-text tables and durations for the terminal. */

export function ms(nanos: number): string {
  const v = nanos / 1e6;
  if (v === 0) return '0';
  if (v < 10) return v.toFixed(2);
  if (v < 1000) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

/** A duration given in milliseconds, as `ms` prints nanoseconds. */
export function millis(value: number): string {
  return ms(value * 1e6);
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

// Control characters: C0, DEL and C1. A terminal acts on them (a window title, a cleared screen, the
// clipboard through OSC 52); the names, files, labels and tags printed come from profiles.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_LINE_BREAK = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `text` with every control character (C0, DEL, C1) written as an escape such as `\u001b`,
 * which a terminal shows instead of acting on; line breaks are kept unless `lineBreaks` is false.
 * In JSON output the escape is JSON's own, so the text stays valid JSON of the same value.
 */
export function printable(text: string, lineBreaks = true): string {
  return text.replace(lineBreaks ? CONTROLS_BUT_LINE_BREAK : CONTROLS, escape);
}

/** Left-aligns text columns and right-aligns the columns listed in `right`; a cell's line breaks are escaped too. */
export function table(header: string[], cells: string[][], right: ReadonlySet<number> = new Set()): string {
  const rows = cells.map((r) => r.map((c) => printable(c, false)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}
