// Seeded random box sets for the NMS tests, with the awkward cases mixed in on purpose: tied
// scores, duplicate boxes, integer grids (IoU lands exactly on thresholds), zero-area boxes,
// flipped corners and NaN scores.

import { mulberry32 } from '../../src/runtime/random.js';

/** Seeded generator for spreading test cases. */
export const rng = mulberry32;

export interface BoxCase {
  n: number;
  boxes: Float32Array; // xyxy
  scores: Float32Array;
  classes: Int32Array;
}

export function randomCase(r: () => number, n: number, numClasses = 1): BoxCase {
  const boxes = new Float32Array(n * 4);
  const scores = new Float32Array(n);
  const classes = new Int32Array(n);
  const grid = r() < 0.5; // integer coordinates: many exact IoU ties
  const span = grid ? 4 + Math.floor(r() * 40) : 1 + r() * 500;
  const tiedScores = r() < 0.4;
  const levels = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const u = r();
    let x1: number, y1: number, x2: number, y2: number;
    if (u < 0.08 && i > 0) {
      const j = Math.floor(r() * i); // exact duplicate of an earlier box
      x1 = boxes[4 * j]; y1 = boxes[4 * j + 1]; x2 = boxes[4 * j + 2]; y2 = boxes[4 * j + 3];
    } else {
      const q = (v: number): number => (grid ? Math.floor(v) : v);
      x1 = q(r() * span); y1 = q(r() * span);
      const w = q(r() * span * 0.5), h = q(r() * span * 0.5);
      x2 = x1 + w; y2 = y1 + h;
      if (u < 0.14) x2 = x1; // zero width
      else if (u < 0.18) { y2 = y1; x2 = x1; } // a point
      if (r() < 0.1) [x1, x2] = [x2, x1]; // flipped corners
      if (r() < 0.1) [y1, y2] = [y2, y1];
    }
    if (r() < 0.003) x1 = NaN; // a broken regression
    boxes[4 * i] = x1; boxes[4 * i + 1] = y1; boxes[4 * i + 2] = x2; boxes[4 * i + 3] = y2;
    scores[i] = tiedScores ? Math.floor(r() * levels) / levels : r();
    if (r() < 0.005) scores[i] = NaN;
    else if (tiedScores && r() < 0.02) scores[i] = -0; // must tie with +0
    classes[i] = Math.floor(r() * numClasses);
  }
  return { n, boxes, scores, classes };
}

/** xyxy → TensorFlow's yxyx. */
export function toYxyx(boxes: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let k = 0; k < boxes.length; k += 4) {
    out[k] = boxes[k + 1]; out[k + 1] = boxes[k]; out[k + 2] = boxes[k + 3]; out[k + 3] = boxes[k + 2];
  }
  return out;
}
