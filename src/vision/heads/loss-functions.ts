// Loss building blocks the heads share; each head's own loss lives in its folder.
import { tf } from '../../runtime/backend.js';

/**
 * Softmax cross-entropy per slot against integer labels (negative labels count as class 0 and must be
 * masked). Its gradient is written out (softmax − one-hot): differentiating logSumExp goes through max's
 * gradient, a broadcast Equal that cost more on wasm than the whole forward pass of a head.
 */
export function softmaxCe(logits: tf.Tensor3D, labels: Int32Array): tf.Tensor2D {
  const [b, n, c] = logits.shape;
  const oh = tf.oneHot(tf.tensor1d(Array.from(labels, (l) => Math.max(0, l)), 'int32'), c).reshape([b, n, c]);
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor3D;
    // The one-hot is saved with the logits: tensors made outside are gone by the time gradients run.
    (args[1] as tf.GradSaveFunc)([x, oh]);
    return {
      value: tf.sub(tf.logSumExp(x, -1), tf.sum(tf.mul(x, oh), -1)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(tf.expandDims(dy as tf.Tensor, -1), tf.sub(tf.softmax(saved[0]), saved[1])),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Tensor2D;
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
