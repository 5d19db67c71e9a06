// Window voting: the windows are a fixed grid, so the one that fires most strongly is rarely the one
// that fits the object best; but the windows that fire around an object tend to surround it. Each
// candidate's box becomes the score-weighted mean of the windows that overlap it by at least
// `iouThreshold` (itself included), whatever their class: where an item is is surer than what it is, and
// on the validation split voting across classes gave better boxes than voting within one. Scores and
// classes are unchanged and nothing is regressed: the boxes are still made of windows, only averaged.
import type { Candidates } from '../../candidates.js';
import { iouXyxy } from '../../boxes.js';

export function voteWindows(c: Candidates, iouThreshold: number): Candidates {
  const n = c.scores.length;
  const b = c.boxes;
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    let w = 0, x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    for (let j = 0; j < n; j++) {
      if (j !== i && iouXyxy(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3], b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]) < iouThreshold) continue;
      const s = c.scores[j];
      w += s;
      x1 += s * b[4 * j];
      y1 += s * b[4 * j + 1];
      x2 += s * b[4 * j + 2];
      y2 += s * b[4 * j + 3];
    }
    if (w > 0) boxes.set([x1 / w, y1 / w, x2 / w, y2 / w], 4 * i);
    else boxes.set(b.subarray(4 * i, 4 * i + 4), 4 * i);
  }
  return { ...c, boxes };
}
