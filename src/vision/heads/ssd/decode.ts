// TEMPORARY stand-in for the detector branch's decoder (same path and signature); replaced on merge.
import type { Candidates } from '../../../runtime/models.js';

export interface SsdDecodeOptions {
  priors: Float32Array;
  variances: [number, number] | readonly [number, number];
  numClasses: number;
  background: boolean;
  inputWidth: number;
  inputHeight: number;
  scoreThreshold: number;
}

export function decodeSsd(loc: Float32Array, probs: Float32Array, o: SsdDecodeOptions): Candidates {
  const n = loc.length / 4;
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const first = o.background ? 1 : 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestP = -Infinity;
    for (let c = first; c < o.numClasses; c++) {
      const p = probs[i * o.numClasses + c];
      if (p > bestP) {
        bestP = p;
        best = c - first;
      }
    }
    if (best < 0 || bestP < o.scoreThreshold) continue;
    const pcx = o.priors[4 * i], pcy = o.priors[4 * i + 1], pw = o.priors[4 * i + 2], ph = o.priors[4 * i + 3];
    const cx = pcx + loc[4 * i] * o.variances[0] * pw;
    const cy = pcy + loc[4 * i + 1] * o.variances[0] * ph;
    const w = pw * Math.exp(loc[4 * i + 2] * o.variances[1]);
    const h = ph * Math.exp(loc[4 * i + 3] * o.variances[1]);
    boxes.push((cx - w / 2) * o.inputWidth, (cy - h / 2) * o.inputHeight, (cx + w / 2) * o.inputWidth, (cy + h / 2) * o.inputHeight);
    scores.push(bestP);
    classes.push(best);
  }
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
}
