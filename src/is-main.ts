import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` is the script Node was started with. Both sides go through realpath:
 * npm runs a bin as a symlink (node_modules/.bin/kestrel, or the global prefix's bin), so process.argv[1]
 * names the link while import.meta.url names the file.
 */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
