/**
 * This package's version, from its own package.json (next to `build/`). A plain
 * `require` of the JSON file, which bundlers resolve and inline like any other module.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain require of the JSON file, which bundlers inline
export const VERSION: string = (require('../../package.json') as { version: string }).version;
