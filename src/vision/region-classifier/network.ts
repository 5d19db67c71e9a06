// A small CNN that names the item in one box crop: three stages of 3×3 conv + batch norm + ReLU (full,
// half and quarter resolution), global average pool (or, with readout 'grid', one more stage read as a
// flattened grid), one dense layer. It reuses the backbone's fast conv and batch norm layers, so it trains at
// the same wasm speed and folds the same way for inference.
import { tf } from '../../runtime/backend.js';
import { convBnRelu } from '../backbone/backbone.js';
import type { RegionClassifierConfig } from './config.js';

type Sym = tf.SymbolicTensor;

export function buildRegionClassifier(cfg: Pick<RegionClassifierConfig, 'inputSize' | 'channels'> & Partial<Pick<RegionClassifierConfig, 'readout' | 'gridChannels' | 'gridDepth'>>, numClasses: number): tf.LayersModel {
  const [c0, c1, c2] = cfg.channels;
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'crop' });
  let x = convBnRelu(input, c0, 1, 'rc1a');
  x = convBnRelu(x, c1, 2, 'rc2a');
  x = convBnRelu(x, c1, 1, 'rc2b');
  x = convBnRelu(x, c2, 2, 'rc3a');
  x = convBnRelu(x, c2, 1, 'rc3b');
  let logits: Sym;
  if (cfg.readout === 'grid') {
    const c3 = cfg.gridChannels ?? c2;
    x = convBnRelu(x, c3, 2, 'rc4a');
    // Layer names go on from 'rc4a' ('rc4b', 'rc4c', …), so a deeper grid stage warm-starts from a shallower one.
    for (let i = 1; i < (cfg.gridDepth ?? 1); i++) x = convBnRelu(x, c3, 1, `rc4${String.fromCharCode(97 + i)}`);
    const flat = tf.layers.flatten({ name: 'rc_flatten' }).apply(x) as Sym;
    // Its own name: a warm start from an 'average' classifier keeps the convolutions and starts this fresh.
    logits = tf.layers.dense({ units: numClasses, name: 'rc_grid_logits', kernelInitializer: 'glorotUniform' }).apply(flat) as Sym;
  } else {
    const pooled = tf.layers.globalAveragePooling2d({ name: 'rc_gap' }).apply(x) as Sym;
    logits = tf.layers.dense({ units: numClasses, name: 'rc_logits', kernelInitializer: 'glorotUniform' }).apply(pooled) as Sym;
  }
  return tf.model({ inputs: input, outputs: logits, name: 'kestrel_region_classifier' });
}

/**
 * Copies the weights of every layer of `from` into the layer of `to` with the same name and the same weight
 * shapes (a warm start across a changed readout); returns the names copied and the names of `to` left as
 * initialised.
 */
export function copyMatchingWeights(from: tf.LayersModel, to: tf.LayersModel): { copied: string[]; fresh: string[] } {
  const copied: string[] = [], fresh: string[] = [];
  for (const layer of to.layers) {
    const mine = layer.getWeights();
    if (mine.length === 0) continue;
    const src = from.layers.find((l) => l.name === layer.name);
    const theirs = src?.getWeights();
    if (theirs && theirs.length === mine.length && theirs.every((w, i) => w.shape.join() === mine[i].shape.join())) {
      layer.setWeights(theirs);
      copied.push(layer.name);
    } else fresh.push(layer.name);
  }
  return { copied, fresh };
}
