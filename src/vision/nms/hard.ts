// Greedy hard NMS, class-agnostic and per class (conventions in ../nms.ts).
import type { BoxArray } from '../boxes.js';
import { checkInputs, classSlots, rankByScore, type ClassSlots } from './rank.js';

export interface NmsOptions {
  /** Suppress a candidate whose IoU with a kept box is ≥ this. Default 0.5. */
  iouThreshold?: number;
  /** Only boxes with score > this are candidates. Default −∞. */
  scoreThreshold?: number;
  /** At most this many boxes are kept (in total). Default: all. */
  maxOutputs?: number;
}

export interface BatchedNmsOptions extends NmsOptions {
  /** At most this many boxes per class. Default: all. */
  maxPerClass?: number;
}

export interface GreedyLimits {
  iouThreshold: number;
  maxOutputs: number;
  maxPerClass: number;
}

/**
 * Greedy hard NMS over `order` (already ranked). With `classes`, boxes only suppress boxes of their
 * own class: kept boxes are chained per class (newest first, where overlaps are likeliest).
 */
export function greedy(boxes: BoxArray, order: Int32Array, classes: ClassSlots | null, limits: GreedyLimits): Int32Array {
  const { iouThreshold, maxOutputs, maxPerClass } = limits;
  const slot = classes?.slot ?? null;
  const slotCount = classes?.count ?? 1;
  const n = order.length;
  const limit = Math.min(n, maxOutputs);
  const out = new Int32Array(limit);
  let kept = 0;
  if (limit === 0) return out;
  if (!(iouThreshold > 0)) return exhaustive(boxes, order, slot, iouThreshold, limit, maxPerClass);
  // Kept boxes that can suppress (positive area): sorted corners, area, and the previous kept box
  // of the same class.
  const store = new Float64Array(5 * limit);
  const prev = new Int32Array(limit);
  const head = new Int32Array(Math.max(slotCount, 1)).fill(-1);
  const perClass = maxPerClass < n ? new Int32Array(Math.max(slotCount, 1)) : null;
  let stored = 0;
  for (let k = 0; k < n && kept < limit; k++) {
    const i = order[k];
    const s = slot ? slot[k] : 0;
    if (perClass && perClass[s] >= maxPerClass) continue;
    const o = 4 * i;
    const a0 = boxes[o], a1 = boxes[o + 1], a2 = boxes[o + 2], a3 = boxes[o + 3];
    const x1 = a0 < a2 ? a0 : a2, x2 = a0 < a2 ? a2 : a0;
    const y1 = a1 < a3 ? a1 : a3, y2 = a1 < a3 ? a3 : a1;
    const area = (y2 - y1) * (x2 - x1);
    if (area > 0) {
      let suppressed = false;
      for (let t = head[s]; t >= 0; t = prev[t]) {
        const p = 5 * t;
        const ih = (y2 < store[p + 3] ? y2 : store[p + 3]) - (y1 > store[p + 1] ? y1 : store[p + 1]);
        if (!(ih > 0)) continue;
        const iw = (x2 < store[p + 2] ? x2 : store[p + 2]) - (x1 > store[p] ? x1 : store[p]);
        if (!(iw > 0)) continue;
        const inter = ih * iw;
        if (inter / (area + store[p + 4] - inter) >= iouThreshold) {
          suppressed = true;
          break;
        }
      }
      if (suppressed) continue;
      const p = 5 * stored;
      store[p] = x1; store[p + 1] = y1; store[p + 2] = x2; store[p + 3] = y2; store[p + 4] = area;
      prev[stored] = head[s];
      head[s] = stored++;
    }
    // Zero-area / NaN boxes are kept but never stored: their IoU with anything is 0 < threshold.
    out[kept++] = i;
    if (perClass) perClass[s]++;
  }
  return kept === limit ? out : out.slice(0, kept);
}

/** IoU as TensorFlow's kernel computes it (NaN stays NaN, so it never reaches a threshold). */
function tfIou(b: BoxArray, i: number, j: number): number {
  const p = 4 * i, q = 4 * j;
  const ax1 = Math.min(b[p], b[p + 2]), ax2 = Math.max(b[p], b[p + 2]);
  const ay1 = Math.min(b[p + 1], b[p + 3]), ay2 = Math.max(b[p + 1], b[p + 3]);
  const bx1 = Math.min(b[q], b[q + 2]), bx2 = Math.max(b[q], b[q + 2]);
  const by1 = Math.min(b[q + 1], b[q + 3]), by2 = Math.max(b[q + 1], b[q + 3]);
  const areaA = (ay2 - ay1) * (ax2 - ax1);
  const areaB = (by2 - by1) * (bx2 - bx1);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0) * Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
  return inter / (areaA + areaB - inter);
}

/** The rare iouThreshold ≤ 0 case, where even IoU 0 suppresses: check every kept box plainly. */
function exhaustive(boxes: BoxArray, order: Int32Array, slot: Int32Array | null, iouThreshold: number, limit: number, maxPerClass: number): Int32Array {
  const keptIdx: number[] = [];
  const keptSlot: number[] = [];
  const perClass = new Map<number, number>();
  for (let k = 0; k < order.length && keptIdx.length < limit; k++) {
    const i = order[k];
    const s = slot ? slot[k] : 0;
    if ((perClass.get(s) ?? 0) >= maxPerClass) continue;
    let suppressed = false;
    for (let t = keptIdx.length - 1; t >= 0; t--) {
      if (keptSlot[t] === s && tfIou(boxes, i, keptIdx[t]) >= iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    keptIdx.push(i);
    keptSlot.push(s);
    perClass.set(s, (perClass.get(s) ?? 0) + 1);
  }
  return Int32Array.from(keptIdx);
}

/** Class-agnostic greedy NMS; returns the kept indices by descending score. */
export function nms(boxes: BoxArray, scores: ArrayLike<number>, opts: NmsOptions = {}): Int32Array {
  checkInputs(boxes, scores);
  const order = rankByScore(scores, opts.scoreThreshold ?? -Infinity, undefined, boxes);
  return greedy(boxes, order, null, { iouThreshold: opts.iouThreshold ?? 0.5, maxOutputs: opts.maxOutputs ?? Infinity, maxPerClass: Infinity });
}

/**
 * Per-class greedy NMS: a box is only suppressed by kept boxes of its own class. The result is the
 * union of the per-class results, by descending score (ties: ascending index), cut to maxOutputs.
 */
export function batchedNms(boxes: BoxArray, scores: ArrayLike<number>, classes: Int32Array, opts: BatchedNmsOptions = {}): Int32Array {
  checkInputs(boxes, scores, classes);
  const order = rankByScore(scores, opts.scoreThreshold ?? -Infinity, undefined, boxes);
  return greedy(boxes, order, classSlots(classes, order), { iouThreshold: opts.iouThreshold ?? 0.5, maxOutputs: opts.maxOutputs ?? Infinity, maxPerClass: opts.maxPerClass ?? Infinity });
}
