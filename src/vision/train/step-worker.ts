// One training-step thread: its own backend and copy of the network, answering with the gradients of the
// batch share it is sent (step.ts hands out the shares and averages the answers).
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../runtime/backend.js';
import { stepWorker, type StepWorkerInit } from './step.js';

const port = parentPort;
if (!port) throw new Error('step-worker runs as a worker thread');
const init = workerData as StepWorkerInit;
const ready = initBackend(init.backend as 'wasm').then(() => stepWorker(init));

port.on('message', (m: Parameters<ReturnType<typeof stepWorker>>[0]) => {
  ready
    .then((step) => {
      const out = step(m);
      port.postMessage(out, [out.grads.buffer as ArrayBuffer]);
    })
    .catch((err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }));
});
