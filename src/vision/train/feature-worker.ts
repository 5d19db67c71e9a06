// One feature-extraction thread: its own backend and copy of the frozen backbone, writing the cache files
// of the pairs it is sent (feature-cache.ts hands out the jobs).
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../runtime/backend.js';
import { NanoDetFeatures } from '../nanodet/features.js';
import { FeatureCache, type FeatureWorkerInit } from './feature-cache.js';

const port = parentPort;
if (!port) throw new Error('feature-worker runs as a worker thread');
const init = workerData as FeatureWorkerInit;
const ready = (async () => {
  await initBackend(init.backend as 'wasm');
  return { backbone: await NanoDetFeatures.open(init.backboneDir, init.tap, init.tuned), cache: new FeatureCache(init.cacheDir, init.key) };
})();

port.on('message', (m: { pairs: [number, number][]; pixels: Uint8Array }) => {
  ready
    .then(({ backbone, cache }) => cache.compute(backbone, m.pairs, m.pixels))
    .then(() => port.postMessage({}), (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }));
});
