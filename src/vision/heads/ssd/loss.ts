import { tf } from '../../../runtime/backend.js';
import { mineHardNegatives } from '../mining.js';
import { smoothL1, softmaxCe } from '../loss-functions.js';

export interface SsdBatchTargets {
  loc: Float32Array; // b×n×4
  labels: Int32Array; // b×n
}

/** SSD loss: softmax CE over K+1 classes with hard negatives mined 3:1, plus smooth-L1 on positives' offsets; divided by the positives. */
export function ssdLoss(pred: tf.Tensor3D, t: SsdBatchTargets, negRatio = 3): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const [b, n, d] = pred.shape;
  const ce = softmaxCe(pred.slice([0, 0, 4], [b, n, d - 4]) as tf.Tensor3D, t.labels);
  const { mask, positives } = mineHardNegatives(ce.dataSync() as Float32Array, t.labels, b, negRatio);
  const norm = Math.max(1, positives);
  const lCls = tf.div(tf.sum(tf.mul(ce, tf.tensor2d(mask, [b, n]))), norm);
  const pos = tf.tensor2d(Float32Array.from(t.labels, (l) => (l > 0 ? 1 : 0)), [b, n]);
  const lLoc = tf.div(tf.sum(tf.mul(tf.sum(smoothL1(tf.sub(pred.slice([0, 0, 0], [b, n, 4]), tf.tensor3d(t.loc, [b, n, 4]))), -1), pos)), norm);
  const parts = { cls: lCls as tf.Scalar, loc: lLoc as tf.Scalar };
  return { total: tf.add(lCls, lLoc) as tf.Scalar, parts };
}
