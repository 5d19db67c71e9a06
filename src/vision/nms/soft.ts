// Soft-NMS, Gaussian and linear, with TensorFlow's decay order (conventions in ../nms.ts).
import type { BoxArray } from '../boxes.js';
import { checkInputs, classSlots, rankByScore, type ClassSlots, type Selection } from './rank.js';

export type SoftNmsMethod = 'gaussian' | 'linear';

export interface SoftNmsOptions {
  method?: SoftNmsMethod;
  /**
   * Gaussian width in TensorFlow's convention: a score is multiplied by exp(−IoU²/(2σ)) per kept
   * box. (Bodla et al. write exp(−IoU²/σ'); σ = σ'/2.) Default 0.5.
   */
  sigma?: number;
  /**
   * Gaussian: a candidate overlapping a kept box with IoU ≥ this is dropped outright, as in
   * tf.image.nonMaxSuppressionWithScore; default +∞ (pure Soft-NMS, nothing dropped by overlap).
   * Linear: the overlap from which scores decay by (1 − IoU); default 0.3.
   */
  iouThreshold?: number;
  /** Candidates need score > this, and a decayed score ≤ this drops the box. Default −∞. */
  scoreThreshold?: number;
  maxOutputs?: number;
  maxPerClass?: number;
}

/** Soft-NMS settings with their defaults resolved. */
interface SoftParams {
  linear: boolean;
  sigma: number;
  iouThreshold: number;
  scoreThreshold: number;
  maxOutputs: number;
  maxPerClass: number;
}

/**
 * Soft-NMS, lazily: a candidate is only brought up to date against the boxes selected (in its
 * class) since it was last looked at, when it reaches the top of the heap; if its score did not
 * change it is the true maximum and is selected, otherwise it goes back in. The decays are
 * multiplied in the same order as TensorFlow's kernel (newest selection first), so the scores
 * match it bit for bit in double precision. One heap serves all classes, so the work stops after
 * maxOutputs selections in total instead of running every class to the end; per class, the pops
 * happen in the same order as in a heap of that class alone, so the result is the per-class one.
 */
function softSelect(boxes: BoxArray, scores: ArrayLike<number>, order: Int32Array, slots: ClassSlots | null, p: SoftParams): Selection {
  const { linear, sigma, iouThreshold, scoreThreshold, maxOutputs, maxPerClass } = p;
  const slot = slots?.slot ?? null;
  const slotCount = slots?.count ?? 1;
  const n = order.length;
  const cap = Math.min(n, maxOutputs);
  const outIdx = new Int32Array(cap);
  const outScore = new Float32Array(cap);
  if (cap === 0) return { indices: outIdx, scores: outScore };
  const cur = new Float64Array(n);
  const begin = new Int32Array(n); // per candidate: its class's selection count when last updated
  const geo = new Float64Array(5 * n); // sorted corners and area per ranked position
  for (let s = 0; s < n; s++) {
    const i = order[s];
    cur[s] = scores[i];
    const o = 4 * i;
    const x1 = Math.min(boxes[o], boxes[o + 2]), x2 = Math.max(boxes[o], boxes[o + 2]);
    const y1 = Math.min(boxes[o + 1], boxes[o + 3]), y2 = Math.max(boxes[o + 1], boxes[o + 3]);
    const g = 5 * s;
    geo[g] = x1; geo[g + 1] = y1; geo[g + 2] = x2; geo[g + 3] = y2; geo[g + 4] = (y2 - y1) * (x2 - x1);
  }
  // Selected boxes: geometry, the previous selection of the same class, and the position in it.
  const sel = new Float64Array(5 * cap);
  const selPrev = new Int32Array(cap);
  const selPos = new Int32Array(cap);
  const classes = Math.max(slotCount, 1);
  const head = new Int32Array(classes).fill(-1);
  const perClass = new Int32Array(classes);
  // Max-heap of ranked positions keyed by (current score desc, box index asc); the ranked order
  // already is one.
  const heap = new Int32Array(n);
  for (let s = 0; s < n; s++) heap[s] = s;
  let size = n;
  const above = (a: number, b: number): boolean => cur[a] > cur[b] || (cur[a] === cur[b] && order[a] < order[b]);
  const scale = sigma > 0 ? -0.5 / sigma : 0;
  const zeroIsInert = linear || iouThreshold > 0;
  let nSel = 0;
  while (nSel < cap && size > 0) {
    const s = heap[0];
    const last = heap[--size];
    if (size > 0) {
      // Sift the last element down from the root.
      let pos = 0;
      for (;;) {
        let c = 2 * pos + 1;
        if (c >= size) break;
        if (c + 1 < size && above(heap[c + 1], heap[c])) c++;
        if (!above(heap[c], last)) break;
        heap[pos] = heap[c];
        pos = c;
      }
      heap[pos] = last;
    }
    const c = slot ? slot[s] : 0;
    if (perClass[c] >= maxPerClass) continue;
    const original = cur[s];
    let score = original;
    let dropped = false;
    const g = 5 * s;
    const x1 = geo[g], y1 = geo[g + 1], x2 = geo[g + 2], y2 = geo[g + 3], area = geo[g + 4];
    const from = begin[s];
    for (let t = head[c]; t >= 0 && selPos[t] >= from; t = selPrev[t]) {
      const h = 5 * t;
      let v = 0;
      const areaJ = sel[h + 4];
      if (area > 0 && areaJ > 0) {
        const sy2 = sel[h + 3], sy1 = sel[h + 1], sx2 = sel[h + 2], sx1 = sel[h];
        const ih = (y2 < sy2 ? y2 : sy2) - (y1 > sy1 ? y1 : sy1);
        // No overlap: the weight is exactly 1 in both variants, so skip it (exp is slow); only a
        // threshold ≤ 0 could act on IoU 0. (ih is NaN only for infinite corners; then compute.)
        if (!(ih > 0) && zeroIsInert && ih === ih) continue;
        const iw = (x2 < sx2 ? x2 : sx2) - (x1 > sx1 ? x1 : sx1);
        if (!(iw > 0) && zeroIsInert && iw === iw) continue;
        const inter = Math.max(ih, 0) * Math.max(iw, 0);
        v = inter / (area + areaJ - inter);
      } else if (area <= 0 || areaJ <= 0) {
        if (zeroIsInert) continue; // IoU 0 by convention
      } else {
        v = NaN; // infinite corners (Inf − Inf): TensorFlow's arithmetic yields NaN too
      }
      if (!linear && v >= iouThreshold) {
        dropped = true;
        break;
      }
      score = score * (linear ? (v >= iouThreshold ? 1 - v : 1) : Math.exp(scale * v * v));
      if (score <= scoreThreshold) break;
    }
    cur[s] = score;
    begin[s] = perClass[c];
    if (dropped) continue;
    if (score === original) {
      sel.set(geo.subarray(g, g + 5), 5 * nSel);
      selPrev[nSel] = head[c];
      selPos[nSel] = perClass[c]++;
      head[c] = nSel;
      outIdx[nSel] = order[s];
      outScore[nSel] = score;
      nSel++;
    } else if (score > scoreThreshold) {
      // Back into the heap: sift up from the end.
      let pos = size++;
      while (pos > 0) {
        const p = (pos - 1) >> 1;
        if (!above(s, heap[p])) break;
        heap[pos] = heap[p];
        pos = p;
      }
      heap[pos] = s;
    }
  }
  return nSel === cap ? { indices: outIdx, scores: outScore } : { indices: outIdx.slice(0, nSel), scores: outScore.slice(0, nSel) };
}

/**
 * Soft-NMS (Bodla et al. 2017): instead of removing overlapping boxes, decay their scores, Gaussian
 * exp(−IoU²/(2σ)) or linear (1 − IoU above iouThreshold). Returns the selected boxes with their
 * decayed scores, by descending decayed score (ties: ascending index). With `classes`, boxes only
 * decay boxes of their own class.
 */
export function softNms(boxes: BoxArray, scores: ArrayLike<number>, opts: SoftNmsOptions = {}, classes?: Int32Array): Selection {
  checkInputs(boxes, scores, classes);
  const linear = (opts.method ?? 'gaussian') === 'linear';
  if (opts.method && opts.method !== 'gaussian' && opts.method !== 'linear') throw new RangeError(`unknown Soft-NMS method "${opts.method}"`);
  const sigma = opts.sigma ?? 0.5;
  if (!linear && !(sigma > 0)) throw new RangeError(`Soft-NMS sigma must be > 0, got ${sigma}`);
  const iouThreshold = opts.iouThreshold ?? (linear ? 0.3 : Infinity);
  const scoreThreshold = opts.scoreThreshold ?? -Infinity;
  const order = rankByScore(scores, scoreThreshold, undefined, boxes);
  const slots = classes ? classSlots(classes, order) : null;
  return softSelect(boxes, scores, order, slots, { linear, sigma, iouThreshold, scoreThreshold, maxOutputs: opts.maxOutputs ?? Infinity, maxPerClass: opts.maxPerClass ?? Infinity });
}
