import { tf } from '../../../runtime/backend.js';
import { mineHardNegatives } from '../mining.js';
import { softmaxCe } from '../loss-functions.js';

/** Sliding-window loss: softmax CE over K+1 classes per window, ignored windows excluded, negatives mined 3:1. */
export function windowLoss(pred: tf.Tensor3D, labels: Int32Array, negRatio = 3): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const [b, n] = pred.shape;
  const ce = softmaxCe(pred, labels);
  const { mask, positives } = mineHardNegatives(ce.dataSync() as Float32Array, labels, b, negRatio);
  const l = tf.div(tf.sum(tf.mul(ce, tf.tensor2d(mask, [b, n]))), Math.max(1, positives)) as tf.Scalar;
  return { total: l, parts: { cls: l } };
}
