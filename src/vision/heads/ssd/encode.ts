// SSD matching: each ground-truth box claims its best prior (so none goes unmatched), then every prior whose
// IoU with some box reaches the threshold takes that box. Offsets are encoded relative to the prior and
// divided by the variances, which brings them to roughly unit scale for the smooth-L1 loss.
import type { GroundTruth } from '../box-math.js';
import { iouXyxy } from '../../boxes.js';

export interface SsdTargets {
  /** n×4 encoded offsets (zero for background priors). */
  loc: Float32Array;
  /** Per prior: 0 background, c + 1 for class c. */
  labels: Int32Array;
}

export function encodeSsd(
  gt: GroundTruth,
  priors: Float32Array,
  spec: { variances: readonly [number, number]; inputWidth: number; inputHeight: number; iouThreshold?: number },
): SsdTargets {
  const n = priors.length / 4;
  const thr = spec.iouThreshold ?? 0.5;
  const count = gt.classes.length;
  const W = spec.inputWidth, H = spec.inputHeight;
  const bestGt = new Int32Array(n).fill(-1);
  const bestIou = new Float32Array(n);
  const gtBestPrior = new Int32Array(count).fill(-1);
  const gtBestIou = new Float32Array(count).fill(-1);
  for (let i = 0; i < n; i++) {
    const pcx = priors[4 * i] * W, pcy = priors[4 * i + 1] * H, pw = priors[4 * i + 2] * W, ph = priors[4 * i + 3] * H;
    const px1 = pcx - pw / 2, py1 = pcy - ph / 2, px2 = pcx + pw / 2, py2 = pcy + ph / 2;
    for (let j = 0; j < count; j++) {
      const v = iouXyxy(px1, py1, px2, py2, gt.boxes[4 * j], gt.boxes[4 * j + 1], gt.boxes[4 * j + 2], gt.boxes[4 * j + 3]);
      if (v > bestIou[i]) {
        bestIou[i] = v;
        bestGt[i] = j;
      }
      if (v > gtBestIou[j]) {
        gtBestIou[j] = v;
        gtBestPrior[j] = i;
      }
    }
  }
  const assigned = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) if (bestIou[i] >= thr) assigned[i] = bestGt[i];
  for (let j = 0; j < count; j++) if (gtBestPrior[j] >= 0 && gtBestIou[j] > 0) assigned[gtBestPrior[j]] = j;
  const loc = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  const [vc, vs] = spec.variances;
  for (let i = 0; i < n; i++) {
    const j = assigned[i];
    if (j < 0) continue;
    const gx1 = gt.boxes[4 * j] / W, gy1 = gt.boxes[4 * j + 1] / H, gx2 = gt.boxes[4 * j + 2] / W, gy2 = gt.boxes[4 * j + 3] / H;
    const pcx = priors[4 * i], pcy = priors[4 * i + 1], pw = priors[4 * i + 2], ph = priors[4 * i + 3];
    loc[4 * i] = ((gx1 + gx2) / 2 - pcx) / (vc * pw);
    loc[4 * i + 1] = ((gy1 + gy2) / 2 - pcy) / (vc * ph);
    loc[4 * i + 2] = Math.log((gx2 - gx1) / pw) / vs;
    loc[4 * i + 3] = Math.log((gy2 - gy1) / ph) / vs;
    labels[i] = gt.classes[j] + 1;
  }
  return { loc, labels };
}

/** Probabilities a perfect classifier would output for these labels (for encode→decode tests). */
export function ssdLabelsToProbs(labels: Int32Array, numClassesWithBackground: number): Float32Array {
  const p = new Float32Array(labels.length * numClassesWithBackground);
  for (let i = 0; i < labels.length; i++) p[i * numClassesWithBackground + labels[i]] = 1;
  return p;
}

