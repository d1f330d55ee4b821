import { RESERVED_LABEL_NAMES } from '@spanprof/profile';
import type { SampleLabels } from './labels';

/** At most this many custom labels per request, and per `withLabels` scope; further ones are left out. */
export const MAX_CUSTOM_LABELS = 8;
/** Longest custom label name; longer names are left out. */
export const MAX_LABEL_NAME_LENGTH = 64;
/** Longest custom label value; longer values are cut to this length. */
export const MAX_LABEL_VALUE_LENGTH = 128;

/**
 * `value` cut to `max` characters, as a string of its own: V8 makes a long `slice` a view of the
 * original, so a label cut from a 1 MB value would keep the megabyte alive as long as its span's
 * labels live. A copy through its UTF-16 code units keeps every character, lone surrogates too.
 */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  return Buffer.from(value.slice(0, max), 'utf16le').toString('utf16le');
}

/** What custom labels may be given as: name → value (null and undefined are left out). */
export type CustomLabelValues = Record<string, string | number | boolean | bigint | null | undefined>;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED = new Set(RESERVED_LABEL_NAMES);

/**
 * Custom labels checked and bounded, added to `base` (a name in both takes the new value):
 * names of letters, digits, `_ . -` (not first), at most 64 characters and none of spanprof's
 * own; values strings, numbers or booleans, cut to 128 characters; at most 8 in all. Each
 * problem is handed to `warn(key, text)` (`who` names the caller in the text), and the label
 * left out. Undefined when no label is left.
 */
export function checkLabels(
  values: unknown,
  who: string,
  warn: (key: string, text: string) => void,
  base: SampleLabels | undefined = undefined,
): SampleLabels | undefined {
  if (typeof values !== 'object' || values === null) {
    warn('labels-type', `${who}: labels are ${values === null ? 'null' : typeof values}; expected an object of name: value`);
    return base;
  }
  const out: Record<string, string> = { ...base };
  let count = Object.keys(out).length;
  for (const name of Object.keys(values)) {
    const raw = (values as CustomLabelValues)[name];
    if (raw === undefined || raw === null) continue;
    if (!LABEL_NAME.test(name) || name.length > MAX_LABEL_NAME_LENGTH || RESERVED.has(name)) {
      warn(
        `name:${name.slice(0, MAX_LABEL_NAME_LENGTH)}`,
        `${who}: custom label ${JSON.stringify(name.slice(0, MAX_LABEL_NAME_LENGTH))} left out: names are letters, digits, _ . - (not first), at most ${MAX_LABEL_NAME_LENGTH} characters, and not one of ${RESERVED_LABEL_NAMES.join(', ')}`,
      );
      continue;
    }
    const type = typeof raw;
    if (type !== 'string' && type !== 'number' && type !== 'boolean' && type !== 'bigint') {
      warn(`value:${name}`, `${who}: custom label ${JSON.stringify(name)} left out: its value is a ${type}; expected a string, number or boolean`);
      continue;
    }
    if (!(name in out)) {
      if (count === MAX_CUSTOM_LABELS) {
        warn('count', `${who}: more than ${MAX_CUSTOM_LABELS} custom labels; the rest are left out`);
        break;
      }
      count++;
    }
    out[name] = cut(String(raw), MAX_LABEL_VALUE_LENGTH);
  }
  return count === 0 ? undefined : Object.freeze(out);
}
