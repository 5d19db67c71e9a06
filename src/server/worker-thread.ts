// Where the inference worker's module is and how a thread running it starts, under tsx and in dist/ alike.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './worker-protocol.js';

/** The worker module beside this one: .ts under tsx (tests, dev), .js in the compiled dist/. */
export function workerModuleUrl(): URL {
  const ext = extname(fileURLToPath(import.meta.url)) || '.js';
  return new URL(`./inference-worker${ext}`, import.meta.url);
}

/**
 * A worker running the module beside this one. Under tsx, Node 20 does not apply the parent's
 * `--import tsx` hooks inside workers, so a tiny bootstrap registers tsx there before importing the .ts.
 */
export function startWorker(options: { workerData: WorkerInit; name: string }): Worker {
  const url = workerModuleUrl();
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
