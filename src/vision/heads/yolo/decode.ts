// TEMPORARY stand-in for the detector branch's decoder (same path and signature); replaced on merge.
import type { Candidates } from '../../../runtime/models.js';

export interface YoloDecodeOptions {
  gridH: number;
  gridW: number;
  anchors: number[];
  numClasses: number;
  inputWidth: number;
  inputHeight: number;
  classActivation: 'softmax' | 'sigmoid';
  scoreThreshold: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function decodeYolo(raw: Float32Array, o: YoloDecodeOptions): Candidates {
  const A = o.anchors.length / 2;
  const D = 5 + o.numClasses;
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const sx = o.inputWidth / o.gridW;
  const sy = o.inputHeight / o.gridH;
  for (let gy = 0; gy < o.gridH; gy++) {
    for (let gx = 0; gx < o.gridW; gx++) {
      for (let a = 0; a < A; a++) {
        const off = ((gy * o.gridW + gx) * A + a) * D;
        const obj = sigmoid(raw[off + 4]);
        let best = 0;
        let bestP = -Infinity;
        let sum = 0;
        let max = -Infinity;
        for (let c = 0; c < o.numClasses; c++) max = Math.max(max, raw[off + 5 + c]);
        for (let c = 0; c < o.numClasses; c++) {
          const v = raw[off + 5 + c];
          const p = o.classActivation === 'softmax' ? Math.exp(v - max) : sigmoid(v);
          sum += p;
          if (p > bestP) {
            bestP = p;
            best = c;
          }
        }
        const prob = o.classActivation === 'softmax' ? bestP / sum : bestP;
        const score = obj * prob;
        if (score < o.scoreThreshold) continue;
        const cx = (gx + sigmoid(raw[off])) * sx;
        const cy = (gy + sigmoid(raw[off + 1])) * sy;
        const w = o.anchors[2 * a] * Math.exp(raw[off + 2]);
        const h = o.anchors[2 * a + 1] * Math.exp(raw[off + 3]);
        boxes.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
        scores.push(score);
        classes.push(best);
      }
    }
  }
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
}
