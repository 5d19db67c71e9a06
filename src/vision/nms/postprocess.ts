// Head candidates → the detections to report, through the NMS of the caller's choice.
import { pick, type Candidates } from '../candidates.js';
import { greedy } from './hard.js';
import { checkInputs, classSlots, rankByScore, type Selection } from './rank.js';
import { softNms } from './soft.js';

export const POSTPROCESS_METHODS = ['hard', 'soft-linear', 'soft-gaussian', 'none'] as const;
export type PostprocessMethod = (typeof POSTPROCESS_METHODS)[number];

export interface PostprocessOptions {
  /** Keep candidates with score > this. */
  scoreThreshold: number;
  /** hard: suppression IoU (≥). soft-linear: IoU from which scores decay. soft-gaussian: unused. */
  iouThreshold: number;
  maxDetections: number;
  method: PostprocessMethod;
  /** Gaussian width, TensorFlow convention (see SoftNmsOptions.sigma). Default 0.5. */
  sigma?: number;
  /** Suppress across classes instead of within each class. Default false. */
  classAgnostic?: boolean;
  /** Only these class ids are considered. */
  keepClasses?: ReadonlySet<number>;
  maxPerClass?: number;
}

/**
 * Head candidates → the detections to report: score threshold, optional class filter, NMS of the
 * chosen kind, top maxDetections by (decayed) score. Indices refer to the candidates.
 */
export function postprocess(c: Candidates, o: PostprocessOptions): Selection {
  checkInputs(c.boxes, c.scores, c.classes);
  const keep = o.keepClasses;
  const maxOutputs = Math.max(0, Math.floor(o.maxDetections));
  if (o.method === 'none' || o.method === 'hard') {
    const order = rankByScore(c.scores, o.scoreThreshold, keep ? (i) => keep.has(c.classes[i]) : undefined, c.boxes);
    let indices: Int32Array;
    if (o.method === 'none') {
      indices = order.slice(0, maxOutputs);
    } else if (o.classAgnostic) {
      indices = greedy(c.boxes, order, null, { iouThreshold: o.iouThreshold, maxOutputs, maxPerClass: Infinity });
    } else {
      indices = greedy(c.boxes, order, classSlots(c.classes, order), { iouThreshold: o.iouThreshold, maxOutputs, maxPerClass: o.maxPerClass ?? Infinity });
    }
    const scores = new Float32Array(indices.length);
    for (let k = 0; k < indices.length; k++) scores[k] = c.scores[indices[k]];
    return { indices, scores };
  }
  if (o.method !== 'soft-linear' && o.method !== 'soft-gaussian') throw new RangeError(`unknown NMS method "${String(o.method)}"`);
  let { boxes, scores, classes } = c;
  let back: Int32Array | null = null;
  if (keep) {
    // Filtering first keeps softNms free of a predicate; indices are mapped back afterwards.
    const sel: number[] = [];
    for (let i = 0; i < scores.length; i++) if (keep.has(classes[i])) sel.push(i);
    back = Int32Array.from(sel);
    ({ boxes, scores, classes } = pick({ boxes, scores, classes }, back));
  }
  const linear = o.method === 'soft-linear';
  const r = softNms(
    boxes,
    scores,
    {
      method: linear ? 'linear' : 'gaussian',
      sigma: o.sigma,
      iouThreshold: linear ? o.iouThreshold : Infinity,
      scoreThreshold: o.scoreThreshold,
      maxOutputs,
      maxPerClass: o.maxPerClass,
    },
    o.classAgnostic ? undefined : classes,
  );
  if (back) for (let k = 0; k < r.indices.length; k++) r.indices[k] = back[r.indices[k]];
  return r;
}

/** postprocess, answered with the kept candidates themselves (decayed scores for Soft-NMS), best first. */
export function postprocessCandidates(c: Candidates, o: PostprocessOptions): Candidates {
  const { indices, scores } = postprocess(c, o);
  const { boxes, classes } = pick(c, indices);
  return { boxes, scores, classes };
}
