// One network, every head of ../heads/index.ts: each head is a 1×1 convolution per feature map it uses, on
// the shared features.
import { tf } from '../../runtime/backend.js';
import { buildBackbone, convBnRelu } from '../backbone/backbone.js';
import { FastConv2D } from '../backbone/fast-conv.js';
import { cspStageTail } from '../nanodet/csp-stage.js';
import { tapChannels, type DetectorConfig } from './config.js';
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

/**
 * With kestrel's backbone: image in, every head's outputs out. With a pretrained backbone (cfg.backbone),
 * its three feature maps in (strides 8, 16, 32), through the optional adapter layers, to the same outputs.
 */
export function buildNetwork(cfg: DetectorConfig, opts: { flexibleInput?: boolean } = {}): tf.LayersModel {
  const side = opts.flexibleInput ? null : cfg.inputSize;
  let inputs: Sym[];
  let byStride: Record<number, Sym>;
  if (cfg.backbone) {
    const c = tapChannels(cfg.backbone);
    const at = (s: number): number | null => (side === null ? null : Math.ceil(side / s));
    inputs = [8, 16, 32].map((s, i) => tf.input({ shape: [at(s), at(s), c[i]], name: `features_s${s}` }));
    byStride = Object.fromEntries([8, 16, 32].map((s, i) => {
      let x = inputs[i];
      // A fine-tuned stage reads the cached features at its entry and trains from the backbone's weights.
      const stage = cfg.backbone!.tuned?.find((t) => t.stride === s);
      if (stage) x = cspStageTail(x, stage, `tune${s}`);
      // The frozen features need no gradient: only the first layer reading them is told so.
      for (let d = 0; d < (cfg.adapter?.depth ?? 0); d++) x = convBnRelu(x, cfg.adapter!.channels, 1, `adapt${s}_${d}`, 3, d > 0 || stage !== undefined);
      return [s, x];
    }));
  } else {
    inputs = [tf.input({ shape: [side, side, 3], name: 'image' })];
    const f = buildBackbone(inputs[0], cfg.channels, cfg.neckChannels);
    byStride = { 8: f.f8, 16: f.f16, 32: f.f32 };
  }
  const outputs = outputLayout(cfg).map((o) => {
    const feat = byStride[o.stride];
    if (!feat) throw new Error(`no feature map at stride ${o.stride} (have 8, 16, 32)`);
    const frozenBelow = cfg.backbone !== undefined && (cfg.adapter?.depth ?? 0) === 0 && !cfg.backbone.tuned?.some((t) => t.stride === o.stride);
    return new FastConv2D({ filters: o.slotsPerCell * o.depth, kernelSize: 1, name: o.name, kernelInitializer: { stddev: 0.01 }, inputGradient: !frozenBelow }).apply(feat) as Sym;
  });
  const model = tf.model({ inputs, outputs, name: 'kestrel_detector' });
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
