// Candidates are what every detection head hands to post-processing; they live in vision because
// heads, NMS and the region classifier produce and consume them, and the runtime layer only passes
// them through. Everything that copies a subset of candidates goes through pick or sliceCandidates
// so that classProbs, when present, always travels with its box.

/** Candidate boxes for one image before NMS, in model-input pixels, corners xyxy. */
export interface Candidates {
  boxes: Float32Array; // n*4: x1 y1 x2 y2
  scores: Float32Array; // n
  classes: Int32Array; // n
  /**
   * n×K, only when asked for (a decoder's withClassProbs): the head's class distribution for each
   * candidate's box, summing to 1, so that score / classProbs[class] is the box's objectness.
   */
  classProbs?: Float32Array;
}

/** Width of one candidate's classProbs row (0 without them or without candidates). */
function probWidth(c: Candidates): number {
  return c.classProbs && c.scores.length ? c.classProbs.length / c.scores.length : 0;
}

export function emptyCandidates(): Candidates {
  return { boxes: new Float32Array(0), scores: new Float32Array(0), classes: new Int32Array(0) };
}

/** The candidates of all parts, in order; classProbs only when every part has them. */
export function mergeCandidates(parts: Candidates[]): Candidates {
  const n = parts.reduce((a, p) => a + p.scores.length, 0);
  const out: Candidates = { boxes: new Float32Array(n * 4), scores: new Float32Array(n), classes: new Int32Array(n) };
  const withProbs = parts.length > 0 && parts.every((p) => p.classProbs);
  const K = withProbs ? Math.max(0, ...parts.map(probWidth)) : 0;
  if (withProbs) out.classProbs = new Float32Array(n * K);
  let o = 0;
  for (const p of parts) {
    out.boxes.set(p.boxes.subarray(0, 4 * p.scores.length), o * 4);
    out.scores.set(p.scores, o);
    out.classes.set(p.classes.subarray(0, p.scores.length), o);
    if (out.classProbs && p.scores.length) out.classProbs.set(p.classProbs as Float32Array, o * K);
    o += p.scores.length;
  }
  return out;
}

/** Copies of the candidates at `idx`, in that order. */
export function pick(c: Candidates, idx: ArrayLike<number>): Candidates {
  const m = idx.length;
  const out: Candidates = { boxes: new Float32Array(4 * m), scores: new Float32Array(m), classes: new Int32Array(m) };
  const K = probWidth(c);
  const probs = c.classProbs;
  if (probs) out.classProbs = new Float32Array(m * K);
  for (let j = 0; j < m; j++) {
    const i = idx[j];
    out.boxes.set(c.boxes.subarray(4 * i, 4 * i + 4), 4 * j);
    out.scores[j] = c.scores[i];
    out.classes[j] = c.classes[i];
    if (probs) out.classProbs?.set(probs.subarray(i * K, (i + 1) * K), j * K);
  }
  return out;
}

/** Candidates start..end-1 as views (no copy) into `c`'s arrays. */
export function sliceCandidates(c: Candidates, start: number, end: number): Candidates {
  const out: Candidates = { boxes: c.boxes.subarray(4 * start, 4 * end), scores: c.scores.subarray(start, end), classes: c.classes.subarray(start, end) };
  const K = probWidth(c);
  if (c.classProbs) out.classProbs = c.classProbs.subarray(start * K, end * K);
  return out;
}

/** Keeps the `k` best-scoring candidates: a cap on what NMS and evaluation must sort through. */
export function topK(c: Candidates, k: number): Candidates {
  if (c.scores.length <= k) return c;
  const idx = [...c.scores.keys()].sort((a, b) => c.scores[b] - c.scores[a]).slice(0, k);
  return pick(c, idx);
}
