// Second opinion on a box's class. The head says how likely the box holds an object (its objectness) and
// gives a class distribution; the region classifier gives another, read from the box's pixels at full
// resolution. The two are mixed log-linearly (a weighted geometric mean, renormalised) and the box's
// score becomes objectness × mixed probability, so ranking by score keeps its meaning.
import type { Candidates } from '../candidates.js';

const EPS = 1e-6;

/**
 * Mixes one row of head probabilities with one row of classifier probabilities (both length K):
 * q ∝ head^(1−w) · clf^w. Writes q into `out` and returns it.
 */
export function mixClassProbs(head: ArrayLike<number>, clf: ArrayLike<number>, weight: number, out: Float32Array): Float32Array {
  let max = -Infinity;
  for (let c = 0; c < out.length; c++) {
    out[c] = (1 - weight) * Math.log(head[c] + EPS) + weight * Math.log(clf[c] + EPS);
    if (out[c] > max) max = out[c];
  }
  let sum = 0;
  for (let c = 0; c < out.length; c++) sum += out[c] = Math.exp(out[c] - max);
  for (let c = 0; c < out.length; c++) out[c] /= sum;
  return out;
}

export interface RescoreInput {
  /** n×4 boxes. */
  boxes: Float32Array;
  /** n objectness values (the part of each score that is not the class probability). */
  objectness: Float32Array;
  /** n×K head class distributions. */
  headProbs: Float32Array;
  /** n×K classifier class distributions. */
  clfProbs: Float32Array;
}

/** New candidates: the best mixed class per box (or every class above the threshold with multiLabel). */
export function rescore(inp: RescoreInput, numClasses: number, weight: number, scoreThreshold: number, multiLabel: boolean): Candidates {
  const n = inp.objectness.length;
  const K = numClasses;
  const q = new Float32Array(K);
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const emit = (i: number, c: number, s: number): void => {
    boxes.push(inp.boxes[4 * i], inp.boxes[4 * i + 1], inp.boxes[4 * i + 2], inp.boxes[4 * i + 3]);
    scores.push(s);
    classes.push(c);
  };
  for (let i = 0; i < n; i++) {
    mixClassProbs(inp.headProbs.subarray(i * K, (i + 1) * K), inp.clfProbs.subarray(i * K, (i + 1) * K), weight, q);
    const obj = inp.objectness[i];
    if (multiLabel) {
      for (let c = 0; c < K; c++) if (obj * q[c] >= scoreThreshold) emit(i, c, obj * q[c]);
      continue;
    }
    let best = 0;
    for (let c = 1; c < K; c++) if (q[c] > q[best]) best = c;
    if (obj * q[best] >= scoreThreshold) emit(i, best, obj * q[best]);
  }
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
}
