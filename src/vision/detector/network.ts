// One network, every head of ../heads/index.ts: each head is a 1×1 convolution per feature map it uses, on
// the shared features.
import { tf } from '../../runtime/backend.js';
import { buildBackbone } from '../backbone/backbone.js';
import { FastConv2D } from '../backbone/fast-conv.js';
import type { DetectorConfig } from './config.js';
import { HEAD_TABLE, HEADS, headOutputs, type HeadName } from '../heads/index.js';

type Sym = tf.SymbolicTensor;

/** Output names, in model output order, with the head, stride and per-slot depth each holds. */
export interface OutputInfo {
  name: string;
  head: HeadName;
  stride: number;
  slotsPerCell: number;
  depth: number;
}

export function outputLayout(cfg: DetectorConfig): OutputInfo[] {
  return HEADS.flatMap((head) => headOutputs(head, cfg).map((o) => ({ ...o, name: `${HEAD_TABLE[head].prefix}_s${o.stride}`, head })));
}

export function buildNetwork(cfg: DetectorConfig, opts: { flexibleInput?: boolean } = {}): tf.LayersModel {
  const side = opts.flexibleInput ? null : cfg.inputSize;
  const input = tf.input({ shape: [side, side, 3], name: 'image' });
  const f = buildBackbone(input, cfg.channels, cfg.neckChannels);
  const byStride: Record<number, Sym> = { 8: f.f8, 16: f.f16, 32: f.f32 };
  const outputs = outputLayout(cfg).map((o) => {
    const feat = byStride[o.stride];
    if (!feat) throw new Error(`no feature map at stride ${o.stride} (have 8, 16, 32)`);
    return new FastConv2D({ filters: o.slotsPerCell * o.depth, kernelSize: 1, name: o.name, kernelInitializer: { stddev: 0.01 } }).apply(feat) as Sym;
  });
  const model = tf.model({ inputs: input, outputs, name: 'kestrel_detector' });
  for (const o of outputLayout(cfg)) {
    const layer = model.getLayer(o.name);
    const [k, b] = layer.getWeights();
    const bias = b.arraySync() as number[];
    for (let a = 0; a < o.slotsPerCell; a++) HEAD_TABLE[o.head].initBias(bias, a * o.depth);
    const nb = tf.tensor1d(bias);
    layer.setWeights([k, nb]);
    nb.dispose();
  }
  return model;
}

/** Maps raw pixels (0..255) to the network's input range. */
export function normalizeInput(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.div(tf.cast(x, 'float32'), 127.5), 1));
}

/** Per head, the outputs reshaped to [batch, slots, depth] and concatenated over maps. */
export function gatherHeads(cfg: DetectorConfig, outputs: tf.Tensor[]): Record<HeadName, tf.Tensor3D> {
  const parts = Object.fromEntries(HEADS.map((h) => [h, [] as tf.Tensor3D[]])) as Record<HeadName, tf.Tensor3D[]>;
  outputLayout(cfg).forEach((o, i) => {
    const t = outputs[i];
    parts[o.head].push(tf.reshape(t, [t.shape[0], -1, o.depth]) as tf.Tensor3D);
  });
  const cat = (ts: tf.Tensor3D[]): tf.Tensor3D => (ts.length === 1 ? ts[0] : (tf.concat(ts, 1) as tf.Tensor3D));
  return Object.fromEntries(HEADS.map((h) => [h, cat(parts[h])])) as Record<HeadName, tf.Tensor3D>;
}
