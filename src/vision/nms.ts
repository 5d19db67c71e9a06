// Non-maximum suppression: greedy hard NMS (class-agnostic and per class) and Soft-NMS (Gaussian
// and linear), over flat xyxy boxes.
//
// Conventions (the oracle tests in test/vision/nms-oracle.test.ts hold them against tfjs):
// - Candidates are those with score > scoreThreshold (strictly, as TensorFlow; NaN scores never
//   pass). They are visited by descending score; equal scores go in ascending index order.
// - A candidate is suppressed by a kept box when IoU ≥ iouThreshold (≥, as TensorFlow; note that
//   torchvision uses >). With iouThreshold ≤ 0 every candidate after the first is suppressed.
// - Flipped corners are read as the sorted rectangle; zero-area and NaN boxes have IoU 0 with
//   everything, so they are never suppressed and suppress nothing (except when iouThreshold ≤ 0).
// - IoU is computed in double precision from the given values, in the same operation order as
//   TensorFlow's kernel, so threshold ties are decided identically.
// - Output indices are in selection order, which is descending (decayed) score.
// Deliberate differences from tf.image.nonMaxSuppression*: boxes are xyxy (TensorFlow: yxyx);
// maxOutputs is optional; iouThreshold may lie outside [0, 1] (> 1 disables hard suppression);
// Soft-NMS also has the linear variant; per-class NMS is built in; a box with a NaN coordinate is
// never a candidate (in tfjs its NaN IoU multiplies into the score of every later candidate compared
// with it, silently dropping them, even in hard NMS).
//
// One file per job under nms/: rank.ts (ranking, class slots), hard.ts, soft.ts, postprocess.ts.
export { rankByScore, type Selection } from './nms/rank.js';
export { nms, batchedNms, type NmsOptions, type BatchedNmsOptions } from './nms/hard.js';
export { softNms, type SoftNmsMethod, type SoftNmsOptions } from './nms/soft.js';
export { postprocess, postprocessCandidates, POSTPROCESS_METHODS, type PostprocessMethod, type PostprocessOptions } from './nms/postprocess.js';
