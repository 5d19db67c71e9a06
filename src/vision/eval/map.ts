// Detection quality: PASCAL VOC average precision (all-point and 11-point interpolation) and the
// COCO summary (AP over IoU .50:.05:.95, AP50, AP75, AP by object size, recall at 1/10/100
// detections per image), per class and averaged over classes.
//
// Matching follows the published protocols. VOC: detections of a class in descending confidence
// (ties keep input order); each takes the ground-truth box of its image with the highest IoU, and is
// a true positive when that IoU ≥ the threshold and the box is not taken yet; "difficult" boxes
// neither count nor penalise. COCO: per image at most 100 detections; each detection takes the
// best still-free box with IoU ≥ threshold, preferring boxes inside the size range; boxes outside
// the range and detections matched to them, or unmatched and outside it, are ignored.
import { iouAt } from '../boxes.js';

/** A ground-truth box (xyxy, pixels unless the caller says otherwise). */
export interface GroundTruthBox {
  image: string;
  label: string;
  box: readonly [number, number, number, number];
  /** VOC "difficult": ignored both as a target and as a false positive. */
  difficult?: boolean;
}

export interface DetectionBox {
  image: string;
  label: string;
  score: number;
  box: readonly [number, number, number, number];
}

export interface EvaluateOptions {
  /** IoU threshold of the VOC figures. Default 0.5. */
  iouThreshold?: number;
  /** Legacy VOC devkit IoU (pixels x1..x2 inclusive) for the VOC figures. Default false. */
  pixelInclusive?: boolean;
  /** Also compute the COCO summary. Default true. */
  coco?: boolean;
  /**
   * Whether box areas are in pixels, so that COCO's small/medium/large ranges (32², 96²) apply.
   * Default true; false (e.g. normalized YOLO boxes) reports those figures as NaN.
   */
  pixelAreas?: boolean;
}

export interface CocoFigures {
  /** Mean AP over IoU 0.50:0.05:0.95 (101-point interpolation, at most 100 detections per image). */
  ap: number;
  ap50: number;
  ap75: number;
  apSmall: number;
  apMedium: number;
  apLarge: number;
  /** Mean recall over the IoU thresholds with at most 1, 10, 100 detections per image. */
  ar1: number;
  ar10: number;
  ar100: number;
  arSmall: number;
  arMedium: number;
  arLarge: number;
}

export interface ClassEvaluation {
  /** VOC all-point interpolated AP at the IoU threshold, 0..1. */
  ap: number;
  /** VOC 11-point interpolated AP. */
  ap11: number;
  /** Precision and recall after each detection, in descending confidence. */
  precision: number[];
  recall: number[];
  tp: number;
  fp: number;
  /** Ground-truth boxes that count (not difficult). */
  npos: number;
  coco?: CocoFigures;
}

export interface Evaluation {
  /** Mean over the ground-truth classes of the all-point AP. 0 when there are none. */
  mAP: number;
  ap11: number;
  perClass: Record<string, ClassEvaluation>;
  /** Classes in the ground truth (what the means are over), sorted. */
  classes: string[];
  /** COCO summary averaged over the classes where it is defined. */
  coco?: CocoFigures;
  warnings: string[];
}

/** Precision envelope (non-increasing from the right), area under it at every recall change. */
export function allPointAp(recall: ArrayLike<number>, precision: ArrayLike<number>): number {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i];
    mpre[i + 1] = precision[i];
  }
  mrec[n + 1] = 1;
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 1; i <= n + 1; i++) if (mrec[i] !== mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  return ap;
}

/**
 * VOC2007 11-point AP: mean over r ∈ {0, 0.1, …, 1} of the best precision at recall ≥ r. The r
 * values are k·0.1 in double precision (0.30000000000000004, …) as in the Python reference tools,
 * so that recall exactly 0.3 does not count for r = 0.3 either.
 */
export function elevenPointAp(recall: ArrayLike<number>, precision: ArrayLike<number>): number {
  let sum = 0;
  for (let k = 0; k <= 10; k++) {
    const r = k * 0.1;
    let best = 0;
    for (let i = 0; i < recall.length; i++) if (recall[i] >= r && precision[i] > best) best = precision[i];
    sum += best;
  }
  return sum / 11;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let list = m.get(k);
    if (!list) m.set(k, (list = []));
    list.push(it);
  }
  return m;
}

function flat(boxes: readonly { box: readonly number[] }[]): Float64Array {
  const out = new Float64Array(boxes.length * 4);
  boxes.forEach((b, i) => out.set(b.box, 4 * i));
  return out;
}

function vocClass(gts: GroundTruthBox[], dets: DetectionBox[], iouThreshold: number, pixelInclusive: boolean): ClassEvaluation {
  const byImage = new Map<string, { boxes: Float64Array; difficult: boolean[]; used: Uint8Array }>();
  for (const [image, list] of groupBy(gts, (g) => g.image)) {
    byImage.set(image, { boxes: flat(list), difficult: list.map((g) => !!g.difficult), used: new Uint8Array(list.length) });
  }
  const npos = gts.reduce((s, g) => s + (g.difficult ? 0 : 1), 0);
  const sorted = dets.slice().sort((a, b) => b.score - a.score); // stable: ties keep input order
  const opts = { pixelInclusive };
  const precision: number[] = [];
  const recall: number[] = [];
  let tp = 0, fp = 0;
  for (const d of sorted) {
    const g = byImage.get(d.image);
    let best = -Infinity, arg = -1;
    if (g) {
      for (let j = 0; j < g.difficult.length; j++) {
        const v = iouAt(d.box, 0, g.boxes, j, opts);
        if (v > best) {
          best = v;
          arg = j;
        }
      }
    }
    if (g && arg >= 0 && best >= iouThreshold) {
      if (g.difficult[arg]) continue;
      if (!g.used[arg]) {
        g.used[arg] = 1;
        tp++;
      } else fp++;
    } else fp++;
    precision.push(tp / (tp + fp));
    recall.push(npos > 0 ? tp / npos : 0);
  }
  return { ap: npos > 0 ? allPointAp(recall, precision) : 0, ap11: npos > 0 ? elevenPointAp(recall, precision) : 0, precision, recall, tp, fp, npos };
}

// ---- COCO ----

const IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : 0.5 + i * (0.45 / 9)));
const RECALL_POINTS = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));
const AREA_RANGES: readonly [number, number][] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];

function area(b: readonly number[]): number {
  return Math.abs(b[2] - b[0]) * Math.abs(b[3] - b[1]);
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/**
 * COCO figures of one class. Detections of all images are numbered in one flat space (image order,
 * then descending score, at most 100 per image) so that matching results per (area range, IoU
 * threshold) are plain byte arrays and accumulation is a tight loop.
 */
function cocoClass(gts: GroundTruthBox[], dets: DetectionBox[], pixelAreas: boolean): CocoFigures {
  const T = IOU_THRESHOLDS.length, A = AREA_RANGES.length;
  const gBy = groupBy(gts, (g) => g.image);
  const dBy = groupBy(dets, (d) => d.image);
  const names = [...new Set([...gBy.keys(), ...dBy.keys()])].sort();
  const perImage = names.map((im) => (dBy.get(im) ?? []).slice().sort((a, b) => b.score - a.score).slice(0, 100));
  const total = perImage.reduce((s, d) => s + d.length, 0);
  const scores = new Float64Array(total);
  const rankInImage = new Int32Array(total);
  const matched = Array.from({ length: A * T }, () => new Uint8Array(total));
  const ignored = Array.from({ length: A * T }, () => new Uint8Array(total));
  const counted = new Float64Array(A);
  let base = 0;
  names.forEach((im, k) => {
    const g = gBy.get(im) ?? [];
    const ds = perImage[k];
    const nd = ds.length;
    const dBoxes = flat(ds);
    const gBoxes = flat(g);
    const ious = new Float64Array(nd * g.length);
    for (let d = 0; d < nd; d++) for (let j = 0; j < g.length; j++) ious[d * g.length + j] = iouAt(dBoxes, d, gBoxes, j);
    const gArea = g.map((x) => area(x.box));
    const dArea = ds.map((x) => area(x.box));
    for (let d = 0; d < nd; d++) {
      scores[base + d] = ds[d].score;
      rankInImage[base + d] = d;
    }
    AREA_RANGES.forEach(([lo, hi], a) => {
      const gIgnore = g.map((x, j) => !!x.difficult || gArea[j] < lo || gArea[j] > hi);
      // Counted boxes first, so a detection prefers them.
      const gOrder = g.map((_, j) => j).sort((x, y) => Number(gIgnore[x]) - Number(gIgnore[y]));
      counted[a] += gIgnore.filter((x) => !x).length;
      IOU_THRESHOLDS.forEach((thr, t) => {
        const taken = new Uint8Array(g.length);
        const mRow = matched[a * T + t], iRow = ignored[a * T + t];
        for (let d = 0; d < nd; d++) {
          let best = Math.min(thr, 1 - 1e-10);
          let m = -1;
          for (const j of gOrder) {
            if (taken[j]) continue;
            if (m > -1 && !gIgnore[m] && gIgnore[j]) break;
            const v = ious[d * g.length + j];
            if (v < best) continue;
            best = v;
            m = j;
          }
          if (m > -1) {
            taken[m] = 1;
            mRow[base + d] = 1;
            iRow[base + d] = gIgnore[m] ? 1 : 0;
          } else if (dArea[d] < lo || dArea[d] > hi) iRow[base + d] = 1;
        }
      });
    });
    base += nd;
  });
  // One ranking per detection cap (stable: ties keep image order), shared by thresholds and ranges.
  const rank = (maxDet: number): Int32Array => {
    const ids: number[] = [];
    for (let i = 0; i < total; i++) if (rankInImage[i] < maxDet) ids.push(i);
    ids.sort((x, y) => scores[y] - scores[x]);
    return Int32Array.from(ids);
  };
  const ranked = new Map([1, 10, 100].map((m) => [m, rank(m)] as const));
  const rc = new Float64Array(total);
  const pr = new Float64Array(total);
  const cache = new Map<string, { ap: number; recall: number } | null>();
  const at = (t: number, a: number, m: number): { ap: number; recall: number } | null => {
    const key = `${t},${a},${m}`;
    if (cache.has(key)) return cache.get(key)!;
    let out: { ap: number; recall: number } | null = null;
    const npig = counted[a];
    if (npig > 0) {
      const ids = ranked.get(m)!;
      const mRow = matched[a * T + t], iRow = ignored[a * T + t];
      let tp = 0, fp = 0, n = 0;
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k];
        if (iRow[id]) continue;
        if (mRow[id]) tp++;
        else fp++;
        rc[n] = tp / npig;
        pr[n++] = tp / (tp + fp + Number.EPSILON);
      }
      for (let i = n - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
      let sum = 0;
      let pi = 0;
      for (const r of RECALL_POINTS) {
        while (pi < n && rc[pi] < r) pi++;
        if (pi < n) sum += pr[pi];
      }
      out = { ap: sum / RECALL_POINTS.length, recall: n ? rc[n - 1] : 0 };
    }
    cache.set(key, out);
    return out;
  };
  const apOver = (ts: number[], a: number, m: number): number => mean(ts.map((t) => at(t, a, m)).filter((x) => x !== null).map((x) => x.ap));
  const arOver = (a: number, m: number): number => mean(IOU_THRESHOLDS.map((_, t) => at(t, a, m)).filter((x) => x !== null).map((x) => x.recall));
  const all = IOU_THRESHOLDS.map((_, t) => t);
  const sized = (v: number): number => (pixelAreas ? v : NaN);
  return {
    ap: apOver(all, 0, 100),
    ap50: apOver([0], 0, 100),
    ap75: apOver([5], 0, 100),
    apSmall: sized(apOver(all, 1, 100)),
    apMedium: sized(apOver(all, 2, 100)),
    apLarge: sized(apOver(all, 3, 100)),
    ar1: arOver(0, 1),
    ar10: arOver(0, 10),
    ar100: arOver(0, 100),
    arSmall: sized(arOver(1, 100)),
    arMedium: sized(arOver(2, 100)),
    arLarge: sized(arOver(3, 100)),
  };
}

/**
 * Evaluates detections against ground truth. Classes are compared as strings. A detection class
 * absent from the ground truth is reported in perClass (all its detections false positives, AP 0)
 * with a warning, but is not part of the means: there is nothing in the data to recall for it.
 */
export function evaluateDetections(groundTruth: readonly GroundTruthBox[], detections: readonly DetectionBox[], opts: EvaluateOptions = {}): Evaluation {
  const iouThreshold = opts.iouThreshold ?? 0.5;
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) throw new RangeError(`iouThreshold must be in [0, 1], got ${iouThreshold}`);
  for (const d of detections) if (!Number.isFinite(d.score)) throw new RangeError(`detection on ${d.image} has a non-finite score`);
  const warnings: string[] = [];
  const gBy = groupBy(groundTruth, (g) => g.label);
  const dBy = groupBy(detections, (d) => d.label);
  const classes = [...gBy.keys()].sort();
  const extra = [...dBy.keys()].filter((c) => !gBy.has(c)).sort();
  if (classes.length === 0) warnings.push('no ground-truth boxes: mAP is 0');
  for (const c of extra) warnings.push(`class "${c}" appears only in detections: its ${dBy.get(c)!.length} detection(s) count as false positives`);
  const perClass: Record<string, ClassEvaluation> = {};
  const wantCoco = opts.coco ?? true;
  for (const c of [...classes, ...extra]) {
    const g = gBy.get(c) ?? [];
    const d = dBy.get(c) ?? [];
    const r = vocClass(g, d, iouThreshold, !!opts.pixelInclusive);
    if (wantCoco && g.length > 0) r.coco = cocoClass(g, d, opts.pixelAreas ?? true);
    perClass[c] = r;
  }
  const mAP = classes.length ? mean(classes.map((c) => perClass[c].ap)) : 0;
  const ap11 = classes.length ? mean(classes.map((c) => perClass[c].ap11)) : 0;
  const out: Evaluation = { mAP, ap11, perClass, classes, warnings };
  if (wantCoco) {
    const keys = ['ap', 'ap50', 'ap75', 'apSmall', 'apMedium', 'apLarge', 'ar1', 'ar10', 'ar100', 'arSmall', 'arMedium', 'arLarge'] as const;
    const coco = {} as CocoFigures;
    for (const k of keys) coco[k] = mean(classes.map((c) => perClass[c].coco?.[k] ?? NaN).filter((v) => !Number.isNaN(v)));
    out.coco = coco;
  }
  return out;
}
