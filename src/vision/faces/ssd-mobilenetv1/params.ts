// Turns the SSD face detector's weight map into forward-pass tensors. The body's inference-time batch
// norm is folded into the depthwise filters (scale) and a bias (shift), so each depthwise layer is a
// single fused kernel; priors are converted to centre form once.
import { tf } from '../../../runtime/backend.js';
import { takeWeight, type WeightMap } from '../weights.js';
import {
  MOBILENET_CHANNELS,
  SSD_EXTRA_LAYERS,
  SSD_FACE_BN_EPSILON,
  SSD_FACE_PRIORS,
  SSD_LOGITS_PER_ANCHOR,
  SSD_PREDICTORS,
} from './config.js';

export interface ConvBias {
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
}

export interface SsdFaceParams {
  conv0: ConvBias; // 3×3 stride 2, 3 → 32
  blocks: { depthwise: ConvBias; pointwise: ConvBias }[]; // 1..13
  extras: ConvBias[];
  predictors: { box: ConvBias; cls: ConvBias }[];
  /** n×4 cx, cy, w, h, normalised to the input. */
  priors: Float32Array;
}

const P = 'MobilenetV1';
const PRED = 'Prediction';

function convBias(m: WeightMap, w: string, b: string, wShape: number[]): ConvBias {
  return {
    filters: tf.clone(takeWeight(m, w, wShape)) as tf.Tensor4D,
    bias: tf.clone(takeWeight(m, b, [wShape[3]])) as tf.Tensor1D,
  };
}

function foldedDepthwise(m: WeightMap, i: number, c: number): ConvBias {
  const pre = `${P}/Conv2d_${i}_depthwise`;
  return tf.tidy(() => {
    const w = takeWeight(m, `${pre}/depthwise_weights`, [3, 3, c, 1]);
    const gamma = takeWeight(m, `${pre}/BatchNorm/gamma`, [c]);
    const beta = takeWeight(m, `${pre}/BatchNorm/beta`, [c]);
    const mean = takeWeight(m, `${pre}/BatchNorm/moving_mean`, [c]);
    const variance = takeWeight(m, `${pre}/BatchNorm/moving_variance`, [c]);
    const scale = tf.div(gamma, tf.sqrt(tf.add(variance, SSD_FACE_BN_EPSILON)));
    return {
      filters: tf.mul(w, scale.reshape([1, 1, c, 1])) as tf.Tensor4D,
      bias: tf.sub(beta, tf.mul(mean, scale)) as tf.Tensor1D,
    };
  });
}

/** [ymin, xmin, ymax, xmax] (as exported) → [cx, cy, w, h]. */
function priorsToCentre(corners: Float32Array): Float32Array {
  const n = corners.length / 4;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const y0 = corners[4 * i], x0 = corners[4 * i + 1], y1 = corners[4 * i + 2], x1 = corners[4 * i + 3];
    out[4 * i] = (x0 + x1) / 2;
    out[4 * i + 1] = (y0 + y1) / 2;
    out[4 * i + 2] = x1 - x0;
    out[4 * i + 3] = y1 - y0;
  }
  return out;
}

/** The weight map stays the caller's; on a missing or misshapen weight nothing allocated here is left behind. */
export function ssdFaceParams(m: WeightMap): SsdFaceParams {
  return tf.tidy(() => buildParams(m) as unknown as tf.TensorContainer) as unknown as SsdFaceParams;
}

function buildParams(m: WeightMap): SsdFaceParams {
  const c = MOBILENET_CHANNELS;
  const conv0 = convBias(m, `${P}/Conv2d_0_pointwise/weights`, `${P}/Conv2d_0_pointwise/convolution_bn_offset`, [3, 3, 3, c[0]]);
  const blocks: SsdFaceParams['blocks'] = [];
  for (let i = 1; i < c.length; i++) {
    blocks.push({
      depthwise: foldedDepthwise(m, i, c[i - 1]),
      pointwise: convBias(m, `${P}/Conv2d_${i}_pointwise/weights`, `${P}/Conv2d_${i}_pointwise/convolution_bn_offset`, [1, 1, c[i - 1], c[i]]),
    });
  }
  let cin = c[c.length - 1];
  const extras = SSD_EXTRA_LAYERS.map(([k, cout], i) => {
    const layer = convBias(m, `${PRED}/Conv2d_${i}_pointwise/weights`, `${PRED}/Conv2d_${i}_pointwise/convolution_bn_offset`, [k, k, cin, cout]);
    cin = cout;
    return layer;
  });
  const predictors = SSD_PREDICTORS.map(({ channels, anchors }, i) => {
    const pre = `${PRED}/BoxPredictor_${i}`;
    return {
      box: convBias(m, `${pre}/BoxEncodingPredictor/weights`, `${pre}/BoxEncodingPredictor/biases`, [1, 1, channels, anchors * 4]),
      cls: convBias(m, `${pre}/ClassPredictor/weights`, `${pre}/ClassPredictor/biases`, [1, 1, channels, anchors * SSD_LOGITS_PER_ANCHOR]),
    };
  });
  const priorsT = takeWeight(m, 'Output/extra_dim', [1, SSD_FACE_PRIORS, 4]);
  const priors = priorsToCentre(priorsT.dataSync() as Float32Array);
  return { conv0, blocks, extras, predictors, priors };
}

export function disposeSsdFaceParams(p: SsdFaceParams): void {
  const all: ConvBias[] = [p.conv0, ...p.blocks.flatMap((b) => [b.depthwise, b.pointwise]), ...p.extras, ...p.predictors.flatMap((q) => [q.box, q.cls])];
  for (const cb of all) {
    cb.filters.dispose();
    cb.bias.dispose();
  }
}
