import { rename, writeFile } from 'node:fs/promises';

/**
 * Writes through a temporary file and a rename, so that a crash or a kill mid-write leaves the
 * previous file (or none) rather than a torn one that the next start would fail to load. The
 * process id in the temporary name keeps two writers of the same path from sharing one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
