// The three heads' losses over gathered outputs ([batch, slots, depth]); targets come from the encoders.
import { tf } from '../../runtime/backend.js';
import { mineHardNegatives } from './mining.js';

/** Softmax cross-entropy per slot against integer labels (negative labels give 0 and must be masked). */
function softmaxCe(logits: tf.Tensor3D, labels: Int32Array): tf.Tensor2D {
  const [b, n, c] = logits.shape;
  const oh = tf.oneHot(tf.tensor1d(Array.from(labels, (l) => Math.max(0, l)), 'int32'), c).reshape([b, n, c]);
  const lse = tf.logSumExp(logits, -1);
  return tf.sub(lse, tf.sum(tf.mul(logits, oh), -1)) as tf.Tensor2D;
}

function bceWithLogits(x: tf.Tensor, z: tf.Tensor): tf.Tensor {
  // max(x,0) − x·z + log(1 + e^−|x|): stable for large |x|.
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

function smoothL1(d: tf.Tensor): tf.Tensor {
  // 0.5·m² + (|d| − m) with m = min(|d|, 1): the usual piecewise form, written without a comparison op
  // because tfjs has no gradient for Less.
  const a = tf.abs(d);
  const m = tf.minimum(a, 1);
  return tf.add(tf.mul(0.5, tf.square(m)), tf.sub(a, m));
}

export interface YoloBatchTargets {
  obj: Float32Array; // b×n: 1, 0, −1
  xy: Float32Array; // b×n×2
  wh: Float32Array; // b×n×2
  cls: Int32Array; // b×n, −1 none
  boxWeight: Float32Array; // b×n
}

/** YOLO loss: objectness BCE (ignored slots excluded), BCE on sigmoid centre offsets, squared log-size error and class CE, for assigned slots; summed and divided by the batch. */
export function yoloLoss(pred: tf.Tensor3D, t: YoloBatchTargets): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const [b, n] = pred.shape;
  const obj = tf.tensor2d(t.obj, [b, n]);
  const pos = tf.cast(tf.equal(obj, 1), 'float32');
  const notIgnored = tf.cast(tf.greaterEqual(obj, 0), 'float32');
  const bw = tf.mul(pos, tf.tensor2d(t.boxWeight, [b, n]));
  const objLogit = pred.slice([0, 0, 4], [b, n, 1]).reshape([b, n]);
  const lObj = tf.sum(tf.mul(bceWithLogits(objLogit, pos), notIgnored));
  const xyT = tf.tensor3d(t.xy, [b, n, 2]);
  const lXy = tf.sum(tf.mul(tf.sum(bceWithLogits(pred.slice([0, 0, 0], [b, n, 2]), xyT), -1), bw));
  const whT = tf.tensor3d(t.wh, [b, n, 2]);
  const lWh = tf.sum(tf.mul(tf.sum(tf.square(tf.sub(pred.slice([0, 0, 2], [b, n, 2]), whT)), -1), bw));
  const lCls = tf.sum(tf.mul(softmaxCe(pred.slice([0, 0, 5], [b, n, pred.shape[2] - 5]) as tf.Tensor3D, t.cls), pos));
  const parts = { obj: tf.div(lObj, b), xy: tf.div(lXy, b), wh: tf.div(tf.mul(lWh, 2), b), cls: tf.div(lCls, b) } as Record<string, tf.Scalar>;
  const total = tf.addN(Object.values(parts)) as tf.Scalar;
  return { total, parts };
}

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

/** Sliding-window loss: softmax CE over K+1 classes per window, ignored windows excluded, negatives mined 3:1. */
export function windowLoss(pred: tf.Tensor3D, labels: Int32Array, negRatio = 3): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const [b, n] = pred.shape;
  const ce = softmaxCe(pred, labels);
  const { mask, positives } = mineHardNegatives(ce.dataSync() as Float32Array, labels, b, negRatio);
  const l = tf.div(tf.sum(tf.mul(ce, tf.tensor2d(mask, [b, n]))), Math.max(1, positives)) as tf.Scalar;
  return { total: l, parts: { cls: l } };
}
