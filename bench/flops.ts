// Floating-point operations of a tfjs layers network, counted from its layers rather than measured:
// a multiply-add is 2 FLOPs, as peak figures count them. Convolutions and dense layers are nearly all
// of a CNN's work; element-wise layers (batch norm, activations, adds, upsampling) are counted at one
// FLOP per output element so nothing is silently left out.
import { tf } from '../src/runtime/backend.js';

export interface LayerFlops {
  name: string;
  className: string;
  flops: number;
}

const dims = (shape: tf.Shape | tf.Shape[]): number[] => {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[];
  return s.slice(1).map((d) => d ?? 1);
};
const size = (ds: number[]) => ds.reduce((a, b) => a * b, 1);

/** FLOPs of one layer for one input image (batch 1). */
export function layerFlops(layer: tf.layers.Layer): number {
  const out = dims(layer.outputShape);
  const weights = layer.getWeights();
  const cls = layer.getClassName();
  const kernel = weights.find((w) => w.rank === 4 || (w.rank === 2 && cls === 'Dense'));
  const bias = kernel !== undefined && weights.some((w) => w.rank === 1);
  if (kernel && kernel.rank === 4) {
    const [kh, kw, cin, m] = kernel.shape as number[];
    // Spatial output positions × work per position; depthwise filters see one input channel each.
    const positions = out.length === 3 ? out[0] * out[1] : 1;
    const outChannels = /Depthwise/i.test(cls) ? cin * m : m;
    return positions * (2 * kh * kw * cin * m + (bias ? outChannels : 0));
  }
  if (kernel && kernel.rank === 2) {
    const [nin, nout] = kernel.shape as number[];
    return 2 * nin * nout + (bias ? nout : 0);
  }
  if (cls === 'InputLayer') return 0;
  return size(out);
}

/** Per-layer and total FLOPs of a model for one image. */
export function modelFlops(model: tf.LayersModel): { total: number; layers: LayerFlops[] } {
  const layers = model.layers.map((l) => ({ name: l.name, className: l.getClassName(), flops: layerFlops(l) }));
  return { total: layers.reduce((a, l) => a + l.flops, 0), layers };
}

/**
 * Peak FLOP/s of the current backend on this thread: an n×n by n×n matMul (2n³ FLOPs), best of
 * `reps` timed runs after one warm-up, each timed to the moment its result is read back.
 */
export async function matMulPeak(n: number, reps: number): Promise<{ n: number; reps: number; flopsPerSecond: number; bestMs: number }> {
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  let best = Infinity;
  try {
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      const ms = performance.now() - t0;
      c.dispose();
      if (r > 0) best = Math.min(best, ms);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  return { n, reps, flopsPerSecond: (2 * n ** 3) / (best / 1000), bestMs: best };
}
