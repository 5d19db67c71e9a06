import { tf } from '../../../runtime/backend.js';
import { bceWithLogits, softmaxCe } from '../loss-functions.js';

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
