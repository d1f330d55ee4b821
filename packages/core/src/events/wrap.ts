/**
 * Replacing a module's function with a wrapper, and putting it back. The wrapper gets every own
 * property of the original but `prototype` (its `length` and `name`, and symbols such as
 * `util.promisify.custom` and Node's custom promisify arguments on `fs.read`, without which
 * `util.promisify(fs.read)` would resolve to the byte count alone).
 */

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** The key under which a wrapper keeps the function it replaced. */
const ORIGINAL = Symbol('@spanprof/core.original');
type Wrapped = AnyFunction & { [ORIGINAL]?: AnyFunction };

/**
 * Replaces `target[name]` (a function) by `make(original)`; false when there is no such function
 * or it cannot be replaced. Never throws.
 */
export function wrap(target: object, name: string, make: (original: AnyFunction) => AnyFunction): boolean {
  try {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    const original = descriptor?.value as unknown;
    if (descriptor === undefined || typeof original !== 'function' || !(descriptor.writable === true || descriptor.configurable === true)) return false;
    const wrapper = make(original as AnyFunction) as Wrapped;
    for (const key of Reflect.ownKeys(original)) {
      if (key === 'prototype') continue;
      const property = Object.getOwnPropertyDescriptor(original, key);
      if (property !== undefined) Object.defineProperty(wrapper, key, property);
    }
    Object.defineProperty(wrapper, ORIGINAL, { value: original });
    Object.defineProperty(target, name, { ...descriptor, value: wrapper });
    return true;
  } catch {
    return false;
  }
}

/** Puts back what `wrap` replaced, if `target[name]` is still our wrapper. Never throws. */
export function unwrap(target: object, name: string): void {
  try {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    const original = (descriptor?.value as Wrapped | undefined)?.[ORIGINAL];
    if (descriptor !== undefined && original !== undefined) Object.defineProperty(target, name, { ...descriptor, value: original });
  } catch {
    // Left wrapped: the wrapper calls through to the original.
  }
}

/** Whether another library wrapped `fn` the way OpenTelemetry's instrumentations do (shimmer's `__wrapped`). */
export function isInstrumented(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as { __wrapped?: unknown }).__wrapped === true;
}
