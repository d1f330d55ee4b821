/**
 * This package's version, from its own package.json (next to `build/`). A plain
 * `require` of the JSON file, which bundlers resolve and inline like any other module.
 */
export const VERSION: string = (require('../../package.json') as { version: string }).version;
