// A small CNN that names the item in one box crop: three stages of 3×3 conv + batch norm + ReLU (full,
// half and quarter resolution), global average pool, one dense layer. It reuses the backbone's fast conv and
// batch norm layers, so it trains at the same wasm speed and folds the same way for inference.
import { tf } from '../../runtime/backend.js';
import { convBnRelu } from '../backbone/backbone.js';
import type { RegionClassifierConfig } from './config.js';

type Sym = tf.SymbolicTensor;

export function buildRegionClassifier(cfg: Pick<RegionClassifierConfig, 'inputSize' | 'channels'>, numClasses: number): tf.LayersModel {
  const [c0, c1, c2] = cfg.channels;
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'crop' });
  let x = convBnRelu(input, c0, 1, 'rc1a');
  x = convBnRelu(x, c1, 2, 'rc2a');
  x = convBnRelu(x, c1, 1, 'rc2b');
  x = convBnRelu(x, c2, 2, 'rc3a');
  x = convBnRelu(x, c2, 1, 'rc3b');
  const pooled = tf.layers.globalAveragePooling2d({ name: 'rc_gap' }).apply(x) as Sym;
  const logits = tf.layers.dense({ units: numClasses, name: 'rc_logits', kernelInitializer: 'glorotUniform' }).apply(pooled) as Sym;
  return tf.model({ inputs: input, outputs: logits, name: 'kestrel_region_classifier' });
}
