import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This package's version, read from its own package.json (next to `build/`). */
export const VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
