// Sliding windows: a fixed set of boxes (sizes × aspect ratios at every cell of a feature map) each
// classified as one of K classes or background. The box of a detection is the window itself; there is no
// regression, which is what separates this head from SSD.
import type { Candidates } from '../../candidates.js';
import type { GroundTruth } from '../box-math.js';
import { iouXyxy } from '../../boxes.js';
import { makePriors, type PriorSpec } from '../ssd/priors.js';
import { chooseClasses, pushClassDistribution } from '../class-choice.js';

export type WindowSpec = PriorSpec;

/** n×4 xyxy windows in input pixels, in the same order as the head's flattened output. */
export function makeWindows(spec: WindowSpec): Float32Array {
  const p = makePriors(spec);
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length / 4; i++) {
    const cx = p[4 * i] * spec.inputWidth, cy = p[4 * i + 1] * spec.inputHeight;
    const w = p[4 * i + 2] * spec.inputWidth, h = p[4 * i + 3] * spec.inputHeight;
    out[4 * i] = cx - w / 2;
    out[4 * i + 1] = cy - h / 2;
    out[4 * i + 2] = cx + w / 2;
    out[4 * i + 3] = cy + h / 2;
  }
  return out;
}

/**
 * Window labels: c + 1 when the window overlaps a box of class c by at least `positive` IoU (or is that
 * box's best window), 0 when it overlaps every box by less than `negative`, −1 (ignored) in between,
 * because a window that half-covers an object is neither a good detection nor clean background.
 */
export function encodeWindows(gt: GroundTruth, windows: Float32Array, positive = 0.5, negative = 0.3): Int32Array {
  const n = windows.length / 4;
  const count = gt.classes.length;
  const labels = new Int32Array(n);
  const gtBest = new Int32Array(count).fill(-1);
  const gtBestIou = new Float32Array(count);
  for (let i = 0; i < n; i++) {
    let best = -1, bestIou = 0;
    for (let j = 0; j < count; j++) {
      const v = iouXyxy(windows[4 * i], windows[4 * i + 1], windows[4 * i + 2], windows[4 * i + 3],
        gt.boxes[4 * j], gt.boxes[4 * j + 1], gt.boxes[4 * j + 2], gt.boxes[4 * j + 3]);
      if (v > bestIou) {
        bestIou = v;
        best = j;
      }
      if (v > gtBestIou[j]) {
        gtBestIou[j] = v;
        gtBest[j] = i;
      }
    }
    labels[i] = bestIou >= positive ? gt.classes[best] + 1 : bestIou >= negative ? -1 : 0;
  }
  for (let j = 0; j < count; j++) if (gtBest[j] >= 0 && gtBestIou[j] >= negative) labels[gtBest[j]] = gt.classes[j] + 1;
  return labels;
}

export interface WindowDecodeOptions {
  /** Columns of probs: the classes plus background. */
  numClassesWithBackground: number;
  scoreThreshold: number;
  /** Every class above the threshold becomes a candidate, not only the window's best (see class-choice.ts). */
  multiLabel?: boolean;
  /** Also return each candidate's class distribution (Candidates.classProbs). */
  withClassProbs?: boolean;
}

/** probs: n×(K+1) activated, column 0 background. One candidate per window (its best object class), or with multiLabel one per class above the threshold. */
export function decodeWindows(probs: Float32Array, windows: Float32Array, o: WindowDecodeOptions): Candidates {
  const { numClassesWithBackground: C, scoreThreshold, multiLabel = false, withClassProbs = false } = o;
  const n = windows.length / 4;
  if (probs.length !== n * C) throw new Error(`decodeWindows: probs has ${probs.length} values, expected ${n}×${C}`);
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const dist: number[] = [];
  for (let i = 0; i < n; i++) {
    chooseClasses(probs, i, C, 1, scoreThreshold, multiLabel, (c, p) => {
      boxes.push(windows[4 * i], windows[4 * i + 1], windows[4 * i + 2], windows[4 * i + 3]);
      scores.push(p);
      classes.push(c);
      if (withClassProbs) pushClassDistribution(probs, i, C, 1, dist);
    });
  }
  const out: Candidates = { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
  if (withClassProbs) out.classProbs = Float32Array.from(dist);
  return out;
}
