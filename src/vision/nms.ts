// Non-maximum suppression: greedy hard NMS (class-agnostic and per class) and Soft-NMS (Gaussian
// and linear), over flat xyxy boxes.
//
// Conventions (the oracle tests in test/vision/nms-oracle.test.ts hold them against tfjs):
// - Candidates are those with score > scoreThreshold (strictly, as TensorFlow; NaN scores never
//   pass). They are visited by descending score; equal scores go in ascending index order.
// - A candidate is suppressed by a kept box when IoU ≥ iouThreshold (≥, as TensorFlow; note that
//   torchvision uses >). With iouThreshold ≤ 0 every candidate after the first is suppressed.
// - Flipped corners are read as the sorted rectangle; zero-area and NaN boxes have IoU 0 with
//   everything, so they are never suppressed and suppress nothing (except when iouThreshold ≤ 0).
// - IoU is computed in double precision from the given values, in the same operation order as
//   TensorFlow's kernel, so threshold ties are decided identically.
// - Output indices are in selection order, which is descending (decayed) score.
// Deliberate differences from tf.image.nonMaxSuppression*: boxes are xyxy (TensorFlow: yxyx);
// maxOutputs is optional; iouThreshold may lie outside [0, 1] (> 1 disables hard suppression);
// Soft-NMS also has the linear variant; per-class NMS is built in; a box with a NaN coordinate is
// never a candidate (in tfjs its NaN IoU multiplies into the score of every later candidate compared
// with it, silently dropping them, even in hard NMS).
import { pick, type Candidates } from './candidates.js';
import type { BoxArray } from './boxes.js';

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

export interface Selection {
  /** Indices into the input, in selection order. */
  indices: Int32Array;
  /** The selected boxes' scores (decayed, for Soft-NMS). */
  scores: Float32Array;
}

const TIE_BITS = 2 ** 21; // index space packed under the score key; larger inputs use a comparator sort

/**
 * Indices of the scores above the threshold (optionally filtered), sorted by descending score and
 * ascending index. Float32 scores are sorted through one numeric key per candidate (score bits
 * made monotone, index packed below) so the native sort needs no comparator.
 */
export function rankByScore(scores: ArrayLike<number>, scoreThreshold = -Infinity, accept?: (i: number) => boolean, boxes?: BoxArray): Int32Array {
  const n = scores.length;
  let count = 0;
  const picked = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (!(scores[i] > scoreThreshold) || (accept && !accept(i))) continue;
    // A box with a NaN corner is no detection at all (see the header).
    if (boxes) {
      const o = 4 * i;
      if (boxes[o] !== boxes[o] || boxes[o + 1] !== boxes[o + 1] || boxes[o + 2] !== boxes[o + 2] || boxes[o + 3] !== boxes[o + 3]) continue;
    }
    picked[count++] = i;
  }
  if (scores instanceof Float32Array && n <= TIE_BITS) {
    const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
    const keys = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      const i = picked[k];
      const u = bits[i] === 0x80000000 ? 0 : bits[i]; // −0 ties with +0, as in a numeric comparison
      // IEEE order as unsigned: negative floats reversed, positive ones above them.
      const mono = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
      keys[k] = mono * TIE_BITS + (TIE_BITS - 1 - i);
    }
    keys.sort();
    const out = new Int32Array(count);
    for (let k = 0; k < count; k++) out[k] = TIE_BITS - 1 - (keys[count - 1 - k] % TIE_BITS);
    return out;
  }
  const out = picked.slice(0, count);
  out.sort((a, b) => scores[b] - scores[a] || a - b);
  return out;
}

/** Maps class ids to dense slots 0..k-1 (k distinct classes) for per-class bookkeeping. */
function classSlots(classes: Int32Array, order: Int32Array): { slot: Int32Array; count: number } {
  const slot = new Int32Array(order.length);
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < order.length; k++) {
    const c = classes[order[k]];
    if (c < lo) lo = c;
    if (c > hi) hi = c;
  }
  if (order.length === 0) return { slot, count: 0 };
  if (hi - lo <= 1 << 16) {
    const map = new Int32Array(hi - lo + 1).fill(-1);
    let count = 0;
    for (let k = 0; k < order.length; k++) {
      const c = classes[order[k]] - lo;
      if (map[c] < 0) map[c] = count++;
      slot[k] = map[c];
    }
    return { slot, count };
  }
  const map = new Map<number, number>();
  for (let k = 0; k < order.length; k++) {
    const c = classes[order[k]];
    let s = map.get(c);
    if (s === undefined) map.set(c, (s = map.size));
    slot[k] = s;
  }
  return { slot, count: map.size };
}

function checkInputs(boxes: BoxArray, scores: ArrayLike<number>, classes?: Int32Array): void {
  if (boxes.length !== scores.length * 4) throw new RangeError(`boxes has ${boxes.length} numbers for ${scores.length} scores (want 4 per box)`);
  if (classes && classes.length !== scores.length) throw new RangeError(`classes has ${classes.length} entries for ${scores.length} scores`);
}

/**
 * Greedy hard NMS over `order` (already ranked). With `slot`, boxes only suppress boxes of their
 * own class: kept boxes are chained per class (newest first, where overlaps are likeliest).
 */
function greedy(
  boxes: BoxArray,
  order: Int32Array,
  slot: Int32Array | null,
  slotCount: number,
  iouThreshold: number,
  maxOutputs: number,
  maxPerClass: number,
): Int32Array {
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
  return greedy(boxes, order, null, 1, opts.iouThreshold ?? 0.5, opts.maxOutputs ?? Infinity, Infinity);
}

/**
 * Per-class greedy NMS: a box is only suppressed by kept boxes of its own class. The result is the
 * union of the per-class results, by descending score (ties: ascending index), cut to maxOutputs.
 */
export function batchedNms(boxes: BoxArray, scores: ArrayLike<number>, classes: Int32Array, opts: BatchedNmsOptions = {}): Int32Array {
  checkInputs(boxes, scores, classes);
  const order = rankByScore(scores, opts.scoreThreshold ?? -Infinity, undefined, boxes);
  const { slot, count } = classSlots(classes, order);
  return greedy(boxes, order, slot, count, opts.iouThreshold ?? 0.5, opts.maxOutputs ?? Infinity, opts.maxPerClass ?? Infinity);
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
function softSelect(
  boxes: BoxArray,
  scores: ArrayLike<number>,
  order: Int32Array,
  slot: Int32Array | null,
  slotCount: number,
  linear: boolean,
  sigma: number,
  iouThreshold: number,
  scoreThreshold: number,
  maxOutputs: number,
  maxPerClass: number,
): Selection {
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
  const { slot, count } = classes ? classSlots(classes, order) : { slot: null, count: 1 };
  return softSelect(boxes, scores, order, slot, count, linear, sigma, iouThreshold, scoreThreshold, opts.maxOutputs ?? Infinity, opts.maxPerClass ?? Infinity);
}

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
      indices = greedy(c.boxes, order, null, 1, o.iouThreshold, maxOutputs, Infinity);
    } else {
      const { slot, count } = classSlots(c.classes, order);
      indices = greedy(c.boxes, order, slot, count, o.iouThreshold, maxOutputs, o.maxPerClass ?? Infinity);
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
