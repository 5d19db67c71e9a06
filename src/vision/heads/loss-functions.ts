// Loss building blocks the heads share; each head's own loss lives in its folder.
import { tf } from '../../runtime/backend.js';

/** Softmax cross-entropy per slot against integer labels (negative labels give 0 and must be masked). */
export function softmaxCe(logits: tf.Tensor3D, labels: Int32Array): tf.Tensor2D {
  const [b, n, c] = logits.shape;
  const oh = tf.oneHot(tf.tensor1d(Array.from(labels, (l) => Math.max(0, l)), 'int32'), c).reshape([b, n, c]);
  const lse = tf.logSumExp(logits, -1);
  return tf.sub(lse, tf.sum(tf.mul(logits, oh), -1)) as tf.Tensor2D;
}

export function bceWithLogits(x: tf.Tensor, z: tf.Tensor): tf.Tensor {
  // max(x,0) − x·z + log(1 + e^−|x|): stable for large |x|.
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

export function smoothL1(d: tf.Tensor): tf.Tensor {
  // 0.5·m² + (|d| − m) with m = min(|d|, 1): the usual piecewise form, written without a comparison op
  // because tfjs has no gradient for Less.
  const a = tf.abs(d);
  const m = tf.minimum(a, 1);
  return tf.add(tf.mul(0.5, tf.square(m)), tf.sub(a, m));
}
