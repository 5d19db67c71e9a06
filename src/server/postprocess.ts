// Raw head candidates → the detections a request asked for: class filter, score threshold, NMS
// per class, top-k. Interim implementation until the shared library (src/vision/nms.ts, postproc
// branch) lands; then this file only adapts request options to it.
import type { Candidates } from '../runtime/models.js';

export const NMS_MODES = ['hard', 'soft-linear', 'soft-gaussian', 'none'] as const;
export type NmsMode = (typeof NMS_MODES)[number];

export interface PostprocessOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  nms: NmsMode;
  /** Class ids to keep; all when undefined. */
  keep?: Set<number>;
  /** Gaussian soft-NMS width. */
  sigma?: number;
}

function iou(b: Float32Array, i: number, j: number): number {
  const ix1 = Math.max(b[4 * i], b[4 * j]);
  const iy1 = Math.max(b[4 * i + 1], b[4 * j + 1]);
  const ix2 = Math.min(b[4 * i + 2], b[4 * j + 2]);
  const iy2 = Math.min(b[4 * i + 3], b[4 * j + 3]);
  const inter = Math.max(0, ix2 - ix1) * Math.max(0, iy2 - iy1);
  const ai = Math.max(0, b[4 * i + 2] - b[4 * i]) * Math.max(0, b[4 * i + 3] - b[4 * i + 1]);
  const aj = Math.max(0, b[4 * j + 2] - b[4 * j]) * Math.max(0, b[4 * j + 3] - b[4 * j + 1]);
  const union = ai + aj - inter;
  return union > 0 ? inter / union : 0;
}

/** Returns the kept candidates, highest score first. */
export function postprocess(c: Candidates, o: PostprocessOptions): Candidates {
  const n = c.scores.length;
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!(c.scores[i] >= o.scoreThreshold)) continue; // also drops NaN
    if (o.keep && !o.keep.has(c.classes[i])) continue;
    idx.push(i);
  }
  const score = new Float32Array(n);
  for (const i of idx) score[i] = c.scores[i];
  const kept: number[] = [];
  if (o.nms === 'none') {
    idx.sort((a, b) => score[b] - score[a]);
    kept.push(...idx.slice(0, o.maxDetections));
  } else {
    // Greedy per class: pick the best remaining, suppress or decay its same-class neighbours.
    const sigma = o.sigma ?? 0.5;
    let pool = idx.slice();
    while (pool.length > 0 && kept.length < o.maxDetections) {
      let best = 0;
      for (let k = 1; k < pool.length; k++) if (score[pool[k]] > score[pool[best]]) best = k;
      const i = pool[best];
      kept.push(i);
      pool.splice(best, 1);
      const next: number[] = [];
      for (const j of pool) {
        if (c.classes[j] !== c.classes[i]) {
          next.push(j);
          continue;
        }
        const v = iou(c.boxes, i, j);
        if (o.nms === 'hard') {
          if (v <= o.iouThreshold) next.push(j);
        } else {
          const decay = o.nms === 'soft-linear' ? (v > o.iouThreshold ? 1 - v : 1) : Math.exp(-(v * v) / sigma);
          score[j] *= decay;
          if (score[j] >= o.scoreThreshold) next.push(j);
        }
      }
      pool = next;
    }
  }
  const out: Candidates = {
    boxes: new Float32Array(kept.length * 4),
    scores: new Float32Array(kept.length),
    classes: new Int32Array(kept.length),
  };
  kept.forEach((i, k) => {
    out.boxes.set(c.boxes.subarray(4 * i, 4 * i + 4), 4 * k);
    out.scores[k] = score[i];
    out.classes[k] = c.classes[i];
  });
  return out;
}
