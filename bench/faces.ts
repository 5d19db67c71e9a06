// npm run bench:faces — ms per image for both face heads, kestrel versus face-api, same tfjs backend,
// same pixels, same input size and thresholds, measured interleaved in one run.
// Each timing runs from the RGB bytes at the network's input size to the final, suppressed faces.
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../src/runtime/backend.js';
import { kestrelFaces, loadFacesModel, loadPeer, peerFaces, photographs, pixelsAt } from '../test/vision/faces/peer-helpers.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'auto' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run bench:faces -- [--runs 15] [--warmup 3] [--backend auto|wasm|cpu|tensorflow]');
  process.exit(0);
}
const backend = values.backend as BackendChoice;
if (!BACKEND_CHOICES.includes(backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}`);
const runs = Number(values.runs);
const warmup = Number(values.warmup);

const info = await initBackend(backend);
const [model, peer, photos] = await Promise.all([loadFacesModel(), loadPeer(), photographs()]);
const THRESHOLD = 0.5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

console.log(`backend ${info.name} (tfjs ${info.versions.tfjs}, node ${info.versions.node}); ${photos.length} photographs, ${runs} timed runs each after ${warmup} warm-up`);
console.log('head  input  kestrel ms/img  face-api ms/img  kestrel/face-api');
for (const [head, side] of [
  ['yolo', 416],
  ['ssd', 512],
] as const) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (const { image } of photos) {
    const px = await pixelsAt(image, side);
    for (let r = 0; r < warmup + runs; r++) {
      // Alternate which goes first so neither always runs on a cache the other warmed.
      const order = r % 2 === 0 ? ['k', 'f'] : ['f', 'k'];
      for (const who of order) {
        const t0 = performance.now();
        if (who === 'k') await kestrelFaces(model, head, px, side, THRESHOLD);
        else await peerFaces(peer, head, px, side, side, THRESHOLD);
        const dt = performance.now() - t0;
        if (r >= warmup) (who === 'k' ? ours : theirs).push(dt);
      }
    }
  }
  const k = median(ours);
  const f = median(theirs);
  console.log(`${head.padEnd(5)} ${String(side).padEnd(6)} ${k.toFixed(1).padStart(14)} ${f.toFixed(1).padStart(16)} ${(k / f).toFixed(2).padStart(17)}`);
}
model.dispose();
