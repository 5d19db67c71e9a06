// Forward pass of the SSD face detector: MobileNetV1 body (ReLU6 everywhere), extra layers, and six
// 1×1 box/class predictors whose outputs are concatenated in prior order.
import { tf } from '../../../runtime/backend.js';
import { MOBILENET_STRIDE2_BLOCKS, SSD_FACE_COLUMN, SSD_LOGITS_PER_ANCHOR } from './config.js';
import type { ConvBias, SsdFaceParams } from './params.js';

function conv(x: tf.Tensor4D, p: ConvBias, stride: number, activation: 'relu6' | 'linear'): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter: p.filters, strides: stride, pad: 'same', bias: p.bias, activation });
}

export interface SsdRaw {
  /** [b, n, 4] box encodings in the export's order: dy, dx, dh, dw. */
  encodings: tf.Tensor3D;
  /** [b, n] face probability (sigmoid of the face logit). */
  faceProb: tf.Tensor2D;
}

/** pixels: float32 [b, 512, 512, 3], raw 0..255 RGB. */
export function ssdFaceForward(p: SsdFaceParams, pixels: tf.Tensor4D): SsdRaw {
  return tf.tidy(() => {
    const b = pixels.shape[0];
    // The body expects inputs in [-1, 1].
    let x = conv(tf.sub(tf.mul(pixels, 1 / 127.5), 1) as tf.Tensor4D, p.conv0, 2, 'relu6');
    let block11: tf.Tensor4D | undefined;
    p.blocks.forEach((blk, i) => {
      const stride = MOBILENET_STRIDE2_BLOCKS.has(i + 1) ? 2 : 1;
      x = tf.fused.depthwiseConv2d({ x, filter: blk.depthwise.filters, strides: stride, pad: 'same', bias: blk.depthwise.bias, activation: 'relu6' });
      x = conv(x, blk.pointwise, 1, 'relu6');
      if (i + 1 === 11) block11 = x;
    });
    if (!block11) throw new Error('ssd: body has fewer than 11 blocks');
    const features: tf.Tensor4D[] = [block11, x];
    let e = x;
    p.extras.forEach((layer, i) => {
      e = conv(e, layer, i % 2 === 1 ? 2 : 1, 'relu6');
      if (i % 2 === 1) features.push(e);
    });
    const boxes: tf.Tensor[] = [];
    const logits: tf.Tensor[] = [];
    features.forEach((f, i) => {
      const pr = p.predictors[i];
      boxes.push(conv(f, pr.box, 1, 'linear').reshape([b, -1, 4]));
      logits.push(conv(f, pr.cls, 1, 'linear').reshape([b, -1, SSD_LOGITS_PER_ANCHOR]));
    });
    const encodings = tf.concat(boxes, 1) as tf.Tensor3D;
    const faceLogit = tf.concat(logits, 1).slice([0, 0, SSD_FACE_COLUMN], [-1, -1, 1]).reshape([b, -1]);
    return { encodings, faceProb: tf.sigmoid(faceLogit) as tf.Tensor2D };
  });
}
