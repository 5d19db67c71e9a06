// Where does a training step spend its time? Aggregates tf.profile kernel times by kernel name.
//   node --import tsx bench/profile-kernels.ts conv|lstm1|lstm2 [--lstm fused|layers]
import { tf, initBackend, type BackendChoice } from '../src/runtime/backend.js';

export async function profileStep(step: () => void, label: string): Promise<void> {
  step(); // warm-up (operator packing, allocation)
  const t0 = performance.now();
  const prof = await tf.profile(step);
  const wall = performance.now() - t0;
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) {
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n += 1;
    by.set(key, e);
  }
  const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`${label}: wall ${wall.toFixed(0)} ms (profiled), kernel sum ${total.toFixed(0)} ms, ${prof.kernels.length} kernels`);
  for (const [k, e] of rows.slice(0, 30)) console.log(`${e.ms.toFixed(1).padStart(8)} ms ${String(e.n).padStart(5)}×  ${k}`);
}

if (process.argv[1]?.endsWith('profile-kernels.ts')) {
  await initBackend((process.env.KESTREL_BACKEND ?? 'wasm') as BackendChoice);
  const what = process.argv[2] ?? 'conv';
  if (what === 'lstm1' || what === 'lstm2') {
    const { fusedCharModel } = await import('./train-fused.js');
    const m = fusedCharModel({ layers: what === 'lstm1' ? 1 : 2, vocab: 65, hidden: 256 });
    const ids = tf.randomUniform([32, 64], 0, 65, 'int32') as tf.Tensor2D;
    const tg = tf.randomUniform([32, 64], 0, 65, 'int32') as tf.Tensor2D;
    await profileStep(() => m.step(ids, tg), `${what} train step`);
  }
  if (what === 'conv' || what === 'convbn') {
    const model = tf.sequential();
    [16, 32, 64, 128].forEach((filters, i) => {
      const first = i === 0 ? { inputShape: [128, 128, 3] } : {};
      if (what === 'conv') {
        model.add(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', ...first }));
      } else {
        model.add(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, ...first }));
        model.add(tf.layers.batchNormalization());
        model.add(tf.layers.reLU());
      }
      model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    });
    model.add(tf.layers.conv2d({ filters: 8, kernelSize: 1 }));
    const x = tf.randomUniform([16, 128, 128, 3]);
    const y = tf.randomNormal([16, 8, 8, 8]);
    const opt = tf.train.adam(1e-3);
    await profileStep(() => {
      const l = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor), true);
      l?.dataSync();
      l?.dispose();
    }, `${what} train step`);
  }
}
