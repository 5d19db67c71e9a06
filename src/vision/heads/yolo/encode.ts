// YOLO targets: each ground-truth box goes to the anchor (over all scales) whose shape fits it best, in the
// cell holding its centre. Unassigned slots whose anchor, placed at the cell, already overlaps a box well are
// ignored rather than pushed towards "no object" (YOLOv2's ignore rule, computed from the anchors so it
// needs no prediction).
import { logit, shapeIou, type GroundTruth } from '../box-math.js';
import { iouXyxy } from '../../boxes.js';

export interface YoloScale {
  stride: number;
  /** [w0, h0, w1, h1, ...] in input pixels. */
  anchors: number[];
}

export interface YoloSpec {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  scales: YoloScale[];
  /** Anchor-at-cell IoU above which an unassigned slot is ignored by the objectness loss. */
  ignoreIou?: number;
}

/** Slots of one scale, in the order of the flattened NHWC output: [gy][gx][anchor]. */
export function yoloGrid(spec: YoloSpec, s: number): { gridH: number; gridW: number; A: number } {
  const sc = spec.scales[s];
  return { gridH: Math.ceil(spec.inputHeight / sc.stride), gridW: Math.ceil(spec.inputWidth / sc.stride), A: sc.anchors.length / 2 };
}

export function yoloSlots(spec: YoloSpec): number {
  let n = 0;
  for (let s = 0; s < spec.scales.length; s++) {
    const g = yoloGrid(spec, s);
    n += g.gridH * g.gridW * g.A;
  }
  return n;
}

export interface YoloTargets {
  /** Per slot: 1 object, 0 no object, -1 ignored. */
  obj: Float32Array;
  /** Per slot: centre offsets inside the cell, in (0, 1). */
  xy: Float32Array;
  /** Per slot: log(size / anchor). */
  wh: Float32Array;
  /** Per slot: class id, -1 where no object. */
  cls: Int32Array;
  /** Per slot: 2 − area/inputArea, so small boxes weigh more in the box loss (as in YOLOv3). */
  boxWeight: Float32Array;
}

export function encodeYolo(gt: GroundTruth, spec: YoloSpec): YoloTargets {
  const n = yoloSlots(spec);
  const t: YoloTargets = {
    obj: new Float32Array(n),
    xy: new Float32Array(n * 2),
    wh: new Float32Array(n * 2),
    cls: new Int32Array(n).fill(-1),
    boxWeight: new Float32Array(n),
  };
  const offsets: number[] = [];
  let acc = 0;
  for (let s = 0; s < spec.scales.length; s++) {
    offsets.push(acc);
    const g = yoloGrid(spec, s);
    acc += g.gridH * g.gridW * g.A;
  }
  const ignoreIou = spec.ignoreIou ?? 0.5;
  const count = gt.classes.length;
  // Ignore pass first, so that assignments below overwrite it.
  for (let s = 0; s < spec.scales.length; s++) {
    const sc = spec.scales[s];
    const g = yoloGrid(spec, s);
    for (let i = 0; i < count; i++) {
      const [x1, y1, x2, y2] = [gt.boxes[4 * i], gt.boxes[4 * i + 1], gt.boxes[4 * i + 2], gt.boxes[4 * i + 3]];
      const gx0 = Math.max(0, Math.floor(x1 / sc.stride));
      const gx1 = Math.min(g.gridW - 1, Math.floor(x2 / sc.stride));
      const gy0 = Math.max(0, Math.floor(y1 / sc.stride));
      const gy1 = Math.min(g.gridH - 1, Math.floor(y2 / sc.stride));
      for (let gy = gy0; gy <= gy1; gy++) {
        for (let gx = gx0; gx <= gx1; gx++) {
          const cx = (gx + 0.5) * sc.stride;
          const cy = (gy + 0.5) * sc.stride;
          for (let a = 0; a < g.A; a++) {
            const aw = sc.anchors[2 * a] / 2;
            const ah = sc.anchors[2 * a + 1] / 2;
            if (iouXyxy(cx - aw, cy - ah, cx + aw, cy + ah, x1, y1, x2, y2) > ignoreIou) {
              t.obj[offsets[s] + (gy * g.gridW + gx) * g.A + a] = -1;
            }
          }
        }
      }
    }
  }
  const area = spec.inputWidth * spec.inputHeight;
  for (let i = 0; i < count; i++) {
    const x1 = gt.boxes[4 * i], y1 = gt.boxes[4 * i + 1], x2 = gt.boxes[4 * i + 2], y2 = gt.boxes[4 * i + 3];
    const w = x2 - x1, h = y2 - y1;
    if (!(w > 0 && h > 0)) continue;
    const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
    let bestS = 0, bestA = 0, bestIou = -1;
    for (let s = 0; s < spec.scales.length; s++) {
      const sc = spec.scales[s];
      for (let a = 0; a < sc.anchors.length / 2; a++) {
        const v = shapeIou(w, h, sc.anchors[2 * a], sc.anchors[2 * a + 1]);
        if (v > bestIou) {
          bestIou = v;
          bestS = s;
          bestA = a;
        }
      }
    }
    const sc = spec.scales[bestS];
    const g = yoloGrid(spec, bestS);
    const gx = Math.min(g.gridW - 1, Math.max(0, Math.floor(cx / sc.stride)));
    const gy = Math.min(g.gridH - 1, Math.max(0, Math.floor(cy / sc.stride)));
    const k = offsets[bestS] + (gy * g.gridW + gx) * g.A + bestA;
    t.obj[k] = 1;
    t.xy[2 * k] = cx / sc.stride - gx;
    t.xy[2 * k + 1] = cy / sc.stride - gy;
    t.wh[2 * k] = Math.log(w / sc.anchors[2 * bestA]);
    t.wh[2 * k + 1] = Math.log(h / sc.anchors[2 * bestA + 1]);
    t.cls[k] = gt.classes[i];
    t.boxWeight[k] = 2 - (w * h) / area;
  }
  return t;
}

/**
 * The raw output that would decode to exactly these targets: what a perfect network emits. Used to test
 * that encoding and decoding agree; per scale, in decodeYolo's layout.
 */
export function yoloTargetsToRaw(t: YoloTargets, spec: YoloSpec, confident = 12): Float32Array[] {
  const C = spec.numClasses;
  const D = 5 + C;
  const out: Float32Array[] = [];
  let k = 0;
  for (let s = 0; s < spec.scales.length; s++) {
    const g = yoloGrid(spec, s);
    const raw = new Float32Array(g.gridH * g.gridW * g.A * D);
    for (let j = 0; j < g.gridH * g.gridW * g.A; j++, k++) {
      const o = j * D;
      const pos = t.obj[k] === 1;
      raw[o] = logit(t.xy[2 * k]);
      raw[o + 1] = logit(t.xy[2 * k + 1]);
      raw[o + 2] = t.wh[2 * k];
      raw[o + 3] = t.wh[2 * k + 1];
      raw[o + 4] = pos ? confident : -confident;
      for (let c = 0; c < C; c++) raw[o + 5 + c] = pos && t.cls[k] === c ? confident : 0;
    }
    out.push(raw);
  }
  return out;
}
