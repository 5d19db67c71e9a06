// Turns the tiny face detector's weight map into the tensors the forward pass uses, folding the input
// normalisation into conv0 so the network consumes raw 0..255 pixels.
import { tf } from '../../../runtime/backend.js';
import { takeWeight, type WeightMap } from '../weights.js';
import { TINY_FACE_ANCHORS_CELLS, TINY_FACE_BOX_ENCODING, TINY_FACE_CHANNELS, TINY_FACE_MEAN_RGB } from './config.js';

export interface SeparableBlock {
  depthwise: tf.Tensor4D; // [3,3,cin,1]
  pointwise: tf.Tensor4D; // [1,1,cin,cout]
  bias: tf.Tensor1D;
}

export interface TinyFaceParams {
  conv0: { filters: tf.Tensor4D; bias: tf.Tensor1D };
  blocks: SeparableBlock[]; // conv1..conv5
  head: { filters: tf.Tensor4D; bias: tf.Tensor1D }; // conv8: 1×1 to anchors × 5
}

/**
 * conv0 is a 'valid' convolution, so no padding value ever enters it and
 * conv((x − mean)/255, W) + b = conv(x, W/255) + (b − Σ W·mean/255) holds exactly.
 */
function foldInputNormalisation(filters: tf.Tensor4D, bias: tf.Tensor1D): { filters: tf.Tensor4D; bias: tf.Tensor1D } {
  return tf.tidy(() => {
    const scaled = tf.div(filters, 255) as tf.Tensor4D;
    const mean = tf.tensor1d([...TINY_FACE_MEAN_RGB]).reshape([1, 1, 3, 1]);
    const shift = tf.sum(tf.mul(scaled, mean), [0, 1, 2]) as tf.Tensor1D;
    return { filters: scaled, bias: tf.sub(bias, shift) as tf.Tensor1D };
  });
}

/** The weight map stays the caller's; on a missing or misshapen weight nothing allocated here is left behind. */
export function tinyFaceParams(m: WeightMap): TinyFaceParams {
  return tf.tidy(() => buildParams(m) as unknown as tf.TensorContainer) as unknown as TinyFaceParams;
}

function buildParams(m: WeightMap): TinyFaceParams {
  const c = TINY_FACE_CHANNELS;
  const conv0 = foldInputNormalisation(
    takeWeight(m, 'conv0/filters', [3, 3, 3, c[0]]) as tf.Tensor4D,
    takeWeight(m, 'conv0/bias', [c[0]]) as tf.Tensor1D,
  );
  const blocks: SeparableBlock[] = [];
  for (let i = 1; i < c.length; i++) {
    blocks.push({
      depthwise: tf.clone(takeWeight(m, `conv${i}/depthwise_filter`, [3, 3, c[i - 1], 1])) as tf.Tensor4D,
      pointwise: tf.clone(takeWeight(m, `conv${i}/pointwise_filter`, [1, 1, c[i - 1], c[i]])) as tf.Tensor4D,
      bias: tf.clone(takeWeight(m, `conv${i}/bias`, [c[i]])) as tf.Tensor1D,
    });
  }
  const outC = TINY_FACE_ANCHORS_CELLS.length * TINY_FACE_BOX_ENCODING;
  const head = {
    filters: tf.clone(takeWeight(m, 'conv8/filters', [1, 1, c[c.length - 1], outC])) as tf.Tensor4D,
    bias: tf.clone(takeWeight(m, 'conv8/bias', [outC])) as tf.Tensor1D,
  };
  return { conv0, blocks, head };
}

export function disposeTinyFaceParams(p: TinyFaceParams): void {
  p.conv0.filters.dispose();
  p.conv0.bias.dispose();
  for (const b of p.blocks) {
    b.depthwise.dispose();
    b.pointwise.dispose();
    b.bias.dispose();
  }
  p.head.filters.dispose();
  p.head.bias.dispose();
}
