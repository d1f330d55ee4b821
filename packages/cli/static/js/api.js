// The viewer's JSON queries (/api/*), answers to pages left behind dropped, and the last /api/meta answer.

/** Thrown instead of an answer that arrives after the user moved on to another page. */
export class Superseded extends Error {}

let current = 0;

/** Starts drawing a new page: answers to queries asked for earlier ones become `Superseded`. Returns its number. */
export const nextPage = () => ++current;
/** Whether page `seq` is still the one on screen. */
export const isCurrent = (seq) => seq === current;

export async function api(path, query) {
  const asked = current;
  const res = await fetch(`/api/${path}?${query.toString()}`);
  const body = await res.json();
  if (asked !== current) throw new Superseded();
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

/** The profile directory: profile count, time range, tags and their values (from /api/meta). */
export let meta = { tags: {}, searchTags: [], profiles: 0 };

export async function loadMeta() {
  meta = await api('meta', new URLSearchParams());
}
