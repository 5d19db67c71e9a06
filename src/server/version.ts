import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from './config.js';

let cached: string | undefined;

/** The kestrel package version, read once from package.json. */
export function packageVersion(): string {
  cached ??= (JSON.parse(readFileSync(resolve(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
