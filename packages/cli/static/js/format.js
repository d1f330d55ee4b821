// Formatting for the page: times in ms and µs, percentages, HTML escaping, file names.

/** Nanoseconds as milliseconds, with fewer decimals as the number grows. */
export const ms = (ns) => {
  const v = ns / 1e6;
  if (v === 0) return '0';
  if (v < 10) return v.toFixed(2);
  if (v < 1000) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
};
/** Milliseconds, printed as `ms` prints nanoseconds. */
export const millis = (v) => ms(v * 1e6);
/** A span's or trace's duration; `+` when it was still running at its last collection. */
export const duration = (time) => `${ms(time.durationNanos)}${time.running ? '+' : ''}`;
export const pct = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');
export const signedPct = (share) => `${share >= 0 ? '+' : ''}${(100 * share).toFixed(1)}%`;
export const us = (ns) => (ns === undefined || ns === null ? '-' : (ns / 1000).toFixed(1));
export const signedUs = (ns) => (ns === undefined || ns === null ? '-' : `${ns >= 0 ? '+' : ''}${(ns / 1000).toFixed(1)}`);
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
export const shortFile = (f) => (f.length > 70 ? `…${f.slice(f.length - 69)}` : f);
/** The CPU or wall time (`kind`) of a cost. */
export const timeOf = (cost, kind) => (kind === 'cpu' ? cost.cpuNanos : cost.wallNanos);
