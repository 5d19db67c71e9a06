// Forward pass of the tiny face detector. Every convolution is fused with its bias and leaky ReLU so a
// block is two kernels (depthwise, then pointwise+bias+activation) rather than five.
import { tf } from '../../../runtime/backend.js';
import type { TinyFaceParams } from './params.js';

const LEAK = 0.1;

function pool(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  return tf.maxPool(x, [2, 2], [stride, stride], 'same');
}

/**
 * pixels: float32 [b, S, S, 3] with raw 0..255 RGB (normalisation is folded into conv0).
 * Returns the raw grid [b, g, g, anchors × 5] with, per anchor, tx ty tw th objectness (logits).
 */
export function tinyFaceForward(p: TinyFaceParams, pixels: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    let x = tf.fused.conv2d({
      x: pixels,
      filter: p.conv0.filters,
      strides: 1,
      pad: 'valid',
      bias: p.conv0.bias,
      activation: 'leakyrelu',
      leakyreluAlpha: LEAK,
    });
    x = pool(x, 2);
    p.blocks.forEach((b, i) => {
      // A 3×3 'same' depthwise equals face-api's explicit one-pixel zero pad followed by 'valid'.
      const dw = tf.depthwiseConv2d(x, b.depthwise, 1, 'same');
      x = tf.fused.conv2d({ x: dw, filter: b.pointwise, strides: 1, pad: 'valid', bias: b.bias, activation: 'leakyrelu', leakyreluAlpha: LEAK });
      x = pool(x, i < p.blocks.length - 1 ? 2 : 1);
    });
    return tf.fused.conv2d({ x, filter: p.head.filters, strides: 1, pad: 'valid', bias: p.head.bias });
  });
}
