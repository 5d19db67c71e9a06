// Shared by hard NMS, Soft-NMS and postprocess: candidates ranked by score, class slots, input checks.
import type { BoxArray } from '../boxes.js';

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

/** Per ranked candidate, its class's dense slot 0..count-1. */
export interface ClassSlots {
  slot: Int32Array;
  count: number;
}

/** Maps class ids to dense slots 0..k-1 (k distinct classes) for per-class bookkeeping. */
export function classSlots(classes: Int32Array, order: Int32Array): ClassSlots {
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

export function checkInputs(boxes: BoxArray, scores: ArrayLike<number>, classes?: Int32Array): void {
  if (boxes.length !== scores.length * 4) throw new RangeError(`boxes has ${boxes.length} numbers for ${scores.length} scores (want 4 per box)`);
  if (classes && classes.length !== scores.length) throw new RangeError(`classes has ${classes.length} entries for ${scores.length} scores`);
}
