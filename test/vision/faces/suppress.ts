// Threshold + greedy hard NMS for the face tests. Interim: replaced by the shared src/vision/nms.ts
// (postproc branch) once that is merged.
import type { Candidates } from '../../../src/runtime/models.js';

export function suppress(c: Candidates, scoreThreshold: number, iouThreshold: number): Candidates {
  const idx: number[] = [];
  for (let i = 0; i < c.scores.length; i++) if (c.scores[i] >= scoreThreshold) idx.push(i);
  idx.sort((a, b) => c.scores[b] - c.scores[a]);
  const b = c.boxes;
  const area = (i: number): number => Math.max(0, b[4 * i + 2] - b[4 * i]) * Math.max(0, b[4 * i + 3] - b[4 * i + 1]);
  const kept: number[] = [];
  for (const i of idx) {
    let ok = true;
    for (const k of kept) {
      const w = Math.max(0, Math.min(b[4 * i + 2], b[4 * k + 2]) - Math.max(b[4 * i], b[4 * k]));
      const h = Math.max(0, Math.min(b[4 * i + 3], b[4 * k + 3]) - Math.max(b[4 * i + 1], b[4 * k + 1]));
      const inter = w * h;
      const u = area(i) + area(k) - inter;
      if (u > 0 && inter / u > iouThreshold) {
        ok = false;
        break;
      }
    }
    if (ok) kept.push(i);
  }
  return {
    boxes: Float32Array.from(kept.flatMap((i) => Array.from(b.subarray(4 * i, 4 * i + 4)))),
    scores: Float32Array.from(kept.map((i) => c.scores[i])),
    classes: Int32Array.from(kept.map((i) => c.classes[i])),
  };
}
