// YOLOv2-style decoding of one grid's raw output. Layout per cell-anchor: [tx, ty, tw, th, tobj, class logits...],
// cells row-major [gy][gx][anchor], which is what an NHWC conv output of depth anchors*(5+C) holds.
import type { Candidates } from '../../candidates.js';
import { sigmoid } from '../box-math.js';

export interface YoloDecodeOptions {
  gridH: number;
  gridW: number;
  /** [w0, h0, w1, h1, ...] in input pixels. */
  anchors: number[];
  numClasses: number;
  inputWidth: number;
  inputHeight: number;
  classActivation: 'softmax' | 'sigmoid';
  scoreThreshold: number;
  /**
   * One candidate per class scoring above the threshold instead of one per cell-anchor (its best class):
   * the protocol of the YOLO and SSD papers' evaluations, which lets a box whose class is uncertain still
   * count for its second-ranked class.
   */
  multiLabel?: boolean;
  /** Also return each candidate's class distribution (Candidates.classProbs). */
  withClassProbs?: boolean;
}

/**
 * One candidate per cell-anchor (its best class, or every class above the threshold with multiLabel),
 * score = sigmoid(tobj) · P(class).
 * Candidates below scoreThreshold are dropped here because they would be by NMS anyway and
 * skipping their box maths keeps decoding cheap on big grids.
 */
export function decodeYolo(raw: Float32Array, spec: YoloDecodeOptions): Candidates {
  const { gridH, gridW, numClasses: C } = spec;
  const A = spec.anchors.length / 2;
  const D = 5 + C;
  if (!Number.isInteger(A) || A < 1) throw new Error('decodeYolo: anchors must hold w,h pairs');
  if (raw.length !== gridH * gridW * A * D) {
    throw new Error(`decodeYolo: raw has ${raw.length} values, expected ${gridH}×${gridW}×${A}×${D}`);
  }
  const cellW = spec.inputWidth / gridW;
  const cellH = spec.inputHeight / gridH;
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const dist: number[] = [];
  for (let gy = 0; gy < gridH; gy++) {
    for (let gx = 0; gx < gridW; gx++) {
      for (let a = 0; a < A; a++) {
        const off = ((gy * gridW + gx) * A + a) * D;
        const obj = sigmoid(raw[off + 4]);
        // An upper bound on the score (class probability ≤ 1) lets most background cells exit early.
        if (obj < spec.scoreThreshold) continue;
        let best = 0;
        let bestLogit = -Infinity;
        for (let c = 0; c < C; c++) {
          const v = raw[off + 5 + c];
          if (v > bestLogit) {
            bestLogit = v;
            best = c;
          }
        }
        let sum = 0;
        if (C > 0 && spec.classActivation === 'softmax') for (let c = 0; c < C; c++) sum += Math.exp(raw[off + 5 + c] - bestLogit);
        const probOf = (c: number): number => (C === 0 ? 1 : spec.classActivation === 'softmax' ? Math.exp(raw[off + 5 + c] - bestLogit) / sum : sigmoid(raw[off + 5 + c]));
        if (obj * probOf(best) < spec.scoreThreshold) continue;
        const cx = (gx + sigmoid(raw[off])) * cellW;
        const cy = (gy + sigmoid(raw[off + 1])) * cellH;
        const w = spec.anchors[2 * a] * Math.exp(raw[off + 2]);
        const h = spec.anchors[2 * a + 1] * Math.exp(raw[off + 3]);
        const emit = (c: number, score: number): void => {
          boxes.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
          scores.push(score);
          classes.push(c);
          if (spec.withClassProbs) for (let k = 0; k < C; k++) dist.push(probOf(k));
        };
        if (!spec.multiLabel || C === 0) emit(best, obj * probOf(best));
        else {
          for (let c = 0; c < C; c++) {
            const score = obj * probOf(c);
            if (score >= spec.scoreThreshold) emit(c, score);
          }
        }
      }
    }
  }
  const out: Candidates = { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
  if (spec.withClassProbs) out.classProbs = Float32Array.from(dist);
  return out;
}
