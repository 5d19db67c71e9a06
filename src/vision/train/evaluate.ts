// Detection metrics for eval detector. NOTE: this is the detector branch's own, self-contained
// implementation (greedy per-class NMS, VOC all-point AP@0.5, COCO AP@[.5:.95] with 101-point
// interpolation and COCO area ranges), used because the shared src/vision/eval/ library had not landed
// when the models were measured; the shared one should replace it on merge.
import type { Candidates } from '../../runtime/models.js';
import type { GroundTruth } from '../heads/box-math.js';
import { iouXyxy } from '../heads/box-math.js';

export function nmsPerClass(c: Candidates, iouThreshold: number, scoreThreshold: number, maxDetections = 100): Candidates {
  const order = [...c.scores.keys()].filter((i) => c.scores[i] >= scoreThreshold).sort((a, b) => c.scores[b] - c.scores[a]);
  const keep: number[] = [];
  for (const i of order) {
    let ok = true;
    for (const j of keep) {
      if (c.classes[j] !== c.classes[i]) continue;
      if (iouXyxy(c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3], c.boxes[4 * j], c.boxes[4 * j + 1], c.boxes[4 * j + 2], c.boxes[4 * j + 3]) > iouThreshold) {
        ok = false;
        break;
      }
    }
    if (ok) keep.push(i);
    if (keep.length >= maxDetections) break;
  }
  return {
    boxes: Float32Array.from(keep.flatMap((i) => [c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3]])),
    scores: Float32Array.from(keep, (i) => c.scores[i]),
    classes: Int32Array.from(keep, (i) => c.classes[i]),
  };
}

export const COCO_AREAS = { small: [0, 32 ** 2], medium: [32 ** 2, 96 ** 2], large: [96 ** 2, Infinity] } as const;

interface Det { img: number; score: number; box: number[] }

/** Average precision of one class at one IoU threshold over an area range; NaN when the class has no GT there. */
function classAp(dets: Det[], gts: GroundTruth[], cls: number, thr: number, area: readonly [number, number], mode: 'voc' | 'coco'): number {
  const inRange = (a: number): boolean => a >= area[0] && a < area[1];
  let npos = 0;
  const used = gts.map((g) => new Uint8Array(g.classes.length));
  for (const g of gts) {
    for (let j = 0; j < g.classes.length; j++) {
      if (g.classes[j] === cls && inRange((g.boxes[4 * j + 2] - g.boxes[4 * j]) * (g.boxes[4 * j + 3] - g.boxes[4 * j + 1]))) npos++;
    }
  }
  if (npos === 0) return NaN;
  const tp: number[] = [];
  for (const d of dets) {
    const g = gts[d.img];
    // Prefer an unmatched in-range box; a match to an out-of-range box makes the detection neutral (COCO).
    let best = -1, bestIou = thr, bestIgnored = true;
    for (let j = 0; j < g.classes.length; j++) {
      if (g.classes[j] !== cls || used[d.img][j]) continue;
      const ignored = !inRange((g.boxes[4 * j + 2] - g.boxes[4 * j]) * (g.boxes[4 * j + 3] - g.boxes[4 * j + 1]));
      if (!bestIgnored && ignored) continue;
      const v = iouXyxy(d.box[0], d.box[1], d.box[2], d.box[3], g.boxes[4 * j], g.boxes[4 * j + 1], g.boxes[4 * j + 2], g.boxes[4 * j + 3]);
      if (v >= bestIou || (bestIgnored && !ignored && v >= thr)) {
        best = j;
        bestIou = v;
        bestIgnored = ignored;
      }
    }
    if (best >= 0) {
      used[d.img][best] = 1;
      if (!bestIgnored) tp.push(1);
    } else if (inRange((d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))) tp.push(0);
  }
  const prec: number[] = [];
  const rec: number[] = [];
  let ctp = 0;
  tp.forEach((t, i) => {
    ctp += t;
    prec.push(ctp / (i + 1));
    rec.push(ctp / npos);
  });
  // Precision envelope (monotone non-increasing from the right).
  for (let i = prec.length - 2; i >= 0; i--) prec[i] = Math.max(prec[i], prec[i + 1]);
  if (mode === 'voc') {
    let ap = 0, prevR = 0;
    for (let i = 0; i < prec.length; i++) {
      ap += (rec[i] - prevR) * prec[i];
      prevR = rec[i];
    }
    return ap;
  }
  let sum = 0;
  for (let k = 0; k <= 100; k++) {
    const r = k / 100;
    const i = rec.findIndex((v) => v >= r);
    sum += i >= 0 ? prec[i] : 0;
  }
  return sum / 101;
}

const mean = (xs: number[]): number => {
  const v = xs.filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
};

export interface DetectionMetrics {
  mAP50: number;
  mAP: number;
  apSmall: number;
  apMedium: number;
  apLarge: number;
  /** Ground-truth boxes per COCO area range, so an AP of NaN (no boxes) can be read correctly. */
  counts: { small: number; medium: number; large: number };
}

/** preds: per image, after NMS; gts: per image, boxes in the same pixels. */
export function evaluateDetections(preds: Candidates[], gts: GroundTruth[], numClasses: number): DetectionMetrics {
  const byClass: Det[][] = Array.from({ length: numClasses }, () => []);
  preds.forEach((p, img) => {
    for (let i = 0; i < p.scores.length; i++) byClass[p.classes[i]]?.push({ img, score: p.scores[i], box: [p.boxes[4 * i], p.boxes[4 * i + 1], p.boxes[4 * i + 2], p.boxes[4 * i + 3]] });
  });
  for (const d of byClass) d.sort((a, b) => b.score - a.score);
  const all = [0, Infinity] as const;
  const thresholds = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);
  const cocoOver = (area: readonly [number, number]): number => mean(byClass.map((d, c) => mean(thresholds.map((t) => classAp(d, gts, c, t, area, 'coco')))));
  const counts = { small: 0, medium: 0, large: 0 };
  for (const g of gts) {
    for (let j = 0; j < g.classes.length; j++) {
      const a = (g.boxes[4 * j + 2] - g.boxes[4 * j]) * (g.boxes[4 * j + 3] - g.boxes[4 * j + 1]);
      if (a < COCO_AREAS.small[1]) counts.small++;
      else if (a < COCO_AREAS.medium[1]) counts.medium++;
      else counts.large++;
    }
  }
  return {
    mAP50: mean(byClass.map((d, c) => classAp(d, gts, c, 0.5, all, 'voc'))),
    mAP: cocoOver(all),
    apSmall: cocoOver(COCO_AREAS.small),
    apMedium: cocoOver(COCO_AREAS.medium),
    apLarge: cocoOver(COCO_AREAS.large),
    counts,
  };
}
