// Where the inference worker's module is and how a thread running it starts.
import type { Worker } from 'node:worker_threads';
import { siblingModuleUrl, startThread } from '../runtime/threads.js';
import type { WorkerInit } from './worker-protocol.js';

export function workerModuleUrl(): URL {
  return siblingModuleUrl(import.meta.url, 'inference-worker');
}

export function startWorker(options: { workerData: WorkerInit; name: string }): Worker {
  return startThread(workerModuleUrl(), options);
}
