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

/** Posts one job to a worker and waits for its answer, or rejects with the error it reports or throws. */
export function askThread<T>(w: Worker, msg: unknown, transfer: ArrayBuffer[], label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (m: T & { error?: string }): void => {
      w.off('error', fail);
      if (m.error) reject(new Error(`${label}: ${m.error}`));
      else resolve(m);
    };
    const fail = (err: Error): void => {
      w.off('message', done);
      reject(err);
    };
    w.once('message', done);
    w.once('error', fail);
    w.postMessage(msg, transfer);
  });
}
