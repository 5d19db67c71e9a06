import { initBackend, tf } from '../src/runtime/backend.js';
import { readManifest } from '../src/runtime/registry.js';
import { loaderFor } from '../src/runtime/loaders.js';
import { FusedNetwork } from '../src/vision/detector/fused.js';
await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
const dir = 'models/kestrel-fmnist';
const man = await readManifest(dir);
const det = await (await loaderFor(man))(man, dir);
for (const [head, sub] of (det as unknown as { subModels: Map<string, tf.LayersModel> }).subModels) {
  const f = FusedNetwork.compile(sub)!;
  console.log(head, 'layers', sub.layers.length, 'steps', f.stepCount);
  for (const b of [1, 8]) {
    const x = tf.randomUniform([b, 128, 128, 3], -1, 1);
    const a = tf.tidy(() => (sub.predict(x) as tf.Tensor[]).map((t) => t.dataSync()));
    const c = tf.tidy(() => f.run(x).map((t) => t.dataSync()));
    let md = 0, mx = 0;
    a.forEach((arr, i) => arr.forEach((v, j) => { md = Math.max(md, Math.abs(v - c[i][j])); mx = Math.max(mx, Math.abs(v)); }));
    const time = (fn: () => void) => { fn(); const ts: number[] = []; for (let r = 0; r < Math.max(4, 32 / b); r++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); } ts.sort((p, q) => p - q); return [ts[ts.length >> 1] / b, ts[0] / b]; };
    const tl = time(() => tf.tidy(() => (sub.predict(x) as tf.Tensor[]).forEach((t) => t.dataSync())));
    const tfz = time(() => tf.tidy(() => f.run(x).forEach((t) => t.dataSync())));
    const t0 = tf.memory().numTensors; tf.tidy(() => f.run(x)); const t1 = tf.memory().numTensors;
    console.log(` b=${b} maxdiff ${md.toExponential(2)} (max |v| ${mx.toFixed(2)}) layers ms/img med ${tl[0].toFixed(2)} min ${tl[1].toFixed(2)}  fused med ${tfz[0].toFixed(2)} min ${tfz[1].toFixed(2)} leak ${t1 - t0}`);
    x.dispose();
  }
}
