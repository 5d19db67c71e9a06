// Starting a worker thread on a module of this package, under tsx and in the compiled dist/ alike.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The module `name` beside `importMetaUrl`'s: .ts under tsx (tests, dev), .js in the compiled dist/. */
export function siblingModuleUrl(importMetaUrl: string, name: string): URL {
  const ext = extname(fileURLToPath(importMetaUrl)) || '.js';
  return new URL(`./${name}${ext}`, importMetaUrl);
}

/**
 * A worker running `url`. Under tsx, Node 20 does not apply the parent's `--import tsx` hooks inside
 * workers, so a tiny bootstrap registers tsx there before importing the .ts.
 */
export function startThread(url: URL, options: WorkerOptions): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
