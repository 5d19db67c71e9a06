// Decoding of a Generalized Focal Loss head (NanoDet's): per position, class scores (already sigmoid) and,
// for each of the four sides, logits over reg_max + 1 distance bins. The distance is the expectation of the
// softmax over the bins, in strides, measured from the cell centre. Pure functions over typed arrays.
import type { Candidates } from '../candidates.js';

/** One feature level's raw outputs, positions in row-major (y, x) order. */
export interface GflLevel {
  stride: number;
  /** Feature map size in cells. */
  width: number;
  height: number;
  /** positions × classes, sigmoid scores. */
  scores: Float32Array;
  /** positions × 4 × (regMax + 1) bin logits, sides in the order left, top, right, bottom. */
  bins: Float32Array;
}

export interface GflDecodeOptions {
  classes: number;
  regMax: number;
  scoreThreshold: number;
  /** Positions kept per level before NMS, ranked by their best class score (upstream: 1000). */
  topKPerLevel: number;
  /** Boxes are clamped to [0, width] × [0, height] of the network input. */
  inputWidth: number;
  inputHeight: number;
  /**
   * Where the cell's anchor point sits: 0.5 is upstream gfl_head.py's (x + 0.5) · stride; some of its
   * demos use 0. Measured on photos in docs/coco.md.
   */
  centerOffset: number;
}

/** Expected bin index of one side's logits (softmax-weighted mean of 0..regMax). */
export function expectedBin(logits: Float32Array, offset: number, n: number): number {
  let m = -Infinity;
  for (let b = 0; b < n; b++) if (logits[offset + b] > m) m = logits[offset + b];
  let sum = 0;
  let weighted = 0;
  for (let b = 0; b < n; b++) {
    const e = Math.exp(logits[offset + b] - m);
    sum += e;
    weighted += e * b;
  }
  return weighted / sum;
}

/**
 * Candidates of every level, one per (position, class) scoring at least the threshold, as upstream's
 * multi-class NMS sees them: a position may stand for several classes.
 */
export function decodeGfl(levels: readonly GflLevel[], o: GflDecodeOptions): Candidates {
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const nBins = o.regMax + 1;
  for (const lv of levels) {
    const n = lv.width * lv.height;
    if (lv.scores.length !== n * o.classes || lv.bins.length !== n * 4 * nBins) {
      throw new Error(`gfl: level of stride ${lv.stride} has ${lv.scores.length} scores and ${lv.bins.length} bins for ${n} positions`);
    }
    const positions = topPositions(lv.scores, n, o.classes, o.scoreThreshold, o.topKPerLevel);
    for (const p of positions) {
      const cx = ((p % lv.width) + o.centerOffset) * lv.stride;
      const cy = (Math.floor(p / lv.width) + o.centerOffset) * lv.stride;
      const base = p * 4 * nBins;
      const x1 = clamp(cx - expectedBin(lv.bins, base, nBins) * lv.stride, o.inputWidth);
      const y1 = clamp(cy - expectedBin(lv.bins, base + nBins, nBins) * lv.stride, o.inputHeight);
      const x2 = clamp(cx + expectedBin(lv.bins, base + 2 * nBins, nBins) * lv.stride, o.inputWidth);
      const y2 = clamp(cy + expectedBin(lv.bins, base + 3 * nBins, nBins) * lv.stride, o.inputHeight);
      for (let c = 0; c < o.classes; c++) {
        const s = lv.scores[p * o.classes + c];
        if (s < o.scoreThreshold) continue;
        boxes.push(x1, y1, x2, y2);
        scores.push(s);
        classes.push(c);
      }
    }
  }
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
}

/** Positions whose best class reaches the threshold, the k best of them, in position order. */
function topPositions(scores: Float32Array, n: number, k: number, threshold: number, topK: number): number[] {
  const best: { p: number; s: number }[] = [];
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let c = 0; c < k; c++) if (scores[p * k + c] > s) s = scores[p * k + c];
    if (s >= threshold) best.push({ p, s });
  }
  if (best.length > topK) {
    best.sort((a, b) => b.s - a.s);
    best.length = topK;
    best.sort((a, b) => a.p - b.p);
  }
  return best.map((b) => b.p);
}

function clamp(v: number, hi: number): number {
  return v < 0 ? 0 : v > hi ? hi : v;
}
