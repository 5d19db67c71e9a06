// Box arithmetic over flat typed arrays (n*4 numbers per set). Everything that compares boxes in
// kestrel (NMS, the heads' target encoders, the mAP evaluator) goes through these definitions so
// that "overlap" means the same thing in training, serving and evaluation.
//
// Conventions, shared with src/vision/nms.ts:
// - xyxy is [x1, y1, x2, y2] with x to the right and y down, continuous coordinates: a box from 0
//   to 10 is 10 wide. (The legacy PASCAL VOC devkit counts pixels inclusively, 0..10 is 11 wide;
//   that is an explicit option of iou(), never the default.)
// - Corners that come flipped (x2 < x1 or y2 < y1) are read as the same rectangle with its corners
//   sorted, as TensorFlow's NMS does; heads that regress corners independently can emit them.
// - A box of zero (or NaN) area overlaps nothing: its IoU with any box, itself included, is 0.
//   That keeps degenerate regressions from suppressing real detections.

export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';
export const BOX_FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/** Any flat numeric array of n*4 coordinates. */
export type BoxArray = Float32Array | Float64Array;

function checkLength(boxes: ArrayLike<number>, what = 'boxes'): number {
  if (boxes.length % 4 !== 0) throw new RangeError(`${what} length ${boxes.length} is not a multiple of 4`);
  return boxes.length / 4;
}

/** Converts n boxes between formats; `out` may alias `boxes` (each box is read before it is written). */
export function convertBoxes(boxes: BoxArray, from: BoxFormat, to: BoxFormat, out: BoxArray = new Float32Array(boxes.length)): BoxArray {
  const n = checkLength(boxes);
  if (out.length !== boxes.length) throw new RangeError('out must have the same length as boxes');
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    let x1: number, y1: number, x2: number, y2: number;
    const a = boxes[o], b = boxes[o + 1], c = boxes[o + 2], d = boxes[o + 3];
    if (from === 'xyxy') {
      x1 = a; y1 = b; x2 = c; y2 = d;
    } else if (from === 'xywh') {
      x1 = a; y1 = b; x2 = a + c; y2 = b + d;
    } else {
      x1 = a - c / 2; y1 = b - d / 2; x2 = a + c / 2; y2 = b + d / 2;
    }
    if (to === 'xyxy') {
      out[o] = x1; out[o + 1] = y1; out[o + 2] = x2; out[o + 3] = y2;
    } else if (to === 'xywh') {
      out[o] = x1; out[o + 1] = y1; out[o + 2] = x2 - x1; out[o + 3] = y2 - y1;
    } else {
      out[o] = (x1 + x2) / 2; out[o + 1] = (y1 + y2) / 2; out[o + 2] = x2 - x1; out[o + 3] = y2 - y1;
    }
  }
  return out;
}

/**
 * Pixel coordinates → fractions of the image (any format: x-like entries are divided by width,
 * y-like by height, which is right for all three formats since they alternate x, y, x, y).
 */
export function normalizeBoxes(boxes: BoxArray, width: number, height: number, out: BoxArray = new Float32Array(boxes.length)): BoxArray {
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}x${height}`);
  checkLength(boxes);
  for (let k = 0; k < boxes.length; k += 2) {
    out[k] = boxes[k] / width;
    out[k + 1] = boxes[k + 1] / height;
  }
  return out;
}

/** Fractions of the image → pixel coordinates (inverse of normalizeBoxes). */
export function denormalizeBoxes(boxes: BoxArray, width: number, height: number, out: BoxArray = new Float32Array(boxes.length)): BoxArray {
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}x${height}`);
  checkLength(boxes);
  for (let k = 0; k < boxes.length; k += 2) {
    out[k] = boxes[k] * width;
    out[k + 1] = boxes[k + 1] * height;
  }
  return out;
}

/** Sorts each box's corners so that x1 ≤ x2 and y1 ≤ y2 (xyxy). */
export function orderCorners(boxes: BoxArray, out: BoxArray = new Float32Array(boxes.length)): BoxArray {
  const n = checkLength(boxes);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const a = boxes[o], b = boxes[o + 1], c = boxes[o + 2], d = boxes[o + 3];
    out[o] = Math.min(a, c); out[o + 1] = Math.min(b, d); out[o + 2] = Math.max(a, c); out[o + 3] = Math.max(b, d);
  }
  return out;
}

/** Clips xyxy boxes to [0, width] × [0, height]; corners are ordered first. */
export function clipBoxes(boxes: BoxArray, width: number, height: number, out: BoxArray = new Float32Array(boxes.length)): BoxArray {
  orderCorners(boxes, out);
  for (let k = 0; k < out.length; k += 2) {
    out[k] = Math.min(Math.max(out[k], 0), width);
    out[k + 1] = Math.min(Math.max(out[k + 1], 0), height);
  }
  return out;
}

/** Areas of n xyxy boxes (flipped corners count as sorted; NaN stays NaN). */
export function boxAreas(boxes: BoxArray, out: Float64Array = new Float64Array(boxes.length / 4)): Float64Array {
  const n = checkLength(boxes);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    out[i] = Math.abs(boxes[o + 2] - boxes[o]) * Math.abs(boxes[o + 3] - boxes[o + 1]);
  }
  return out;
}

export interface IouOptions {
  /**
   * Legacy PASCAL VOC devkit convention: integer pixel boxes covering x1..x2 inclusive, so widths,
   * heights and intersections all get +1. Only for reproducing published VOC-style numbers.
   */
  pixelInclusive?: boolean;
}

/**
 * IoU of two boxes given by their corners, in either order: the one definition of overlap.
 * The arithmetic order is fixed (areas as height·width products, union as areaA + areaB −
 * intersection, in double precision) so that it decides threshold ties exactly as TensorFlow's
 * NMS kernel does.
 */
export function iouXyxy(
  a0: number, a1: number, a2: number, a3: number,
  b0: number, b1: number, b2: number, b3: number,
  opts?: IouOptions,
): number {
  const ax1 = Math.min(a0, a2), ax2 = Math.max(a0, a2);
  const ay1 = Math.min(a1, a3), ay2 = Math.max(a1, a3);
  const bx1 = Math.min(b0, b2), bx2 = Math.max(b0, b2);
  const by1 = Math.min(b1, b3), by2 = Math.max(b1, b3);
  if (opts?.pixelInclusive) {
    const areaA = (ax2 - ax1 + 1) * (ay2 - ay1 + 1);
    const areaB = (bx2 - bx1 + 1) * (by2 - by1 + 1);
    const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1) + 1;
    const ih = Math.min(ay2, by2) - Math.max(ay1, by1) + 1;
    if (!(iw > 0 && ih > 0)) return 0;
    const inter = iw * ih;
    return inter / (areaA + areaB - inter);
  }
  const areaA = (ay2 - ay1) * (ax2 - ax1);
  const areaB = (by2 - by1) * (bx2 - bx1);
  if (!(areaA > 0 && areaB > 0)) return 0;
  const inter = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0) * Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
  return inter / (areaA + areaB - inter);
}

/** IoU of box i of `a` and box j of `b` (xyxy). */
export function iouAt(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, opts?: IouOptions): number {
  const p = 4 * i, q = 4 * j;
  return iouXyxy(a[p], a[p + 1], a[p + 2], a[p + 3], b[q], b[q + 1], b[q + 2], b[q + 3], opts);
}

/** IoU of two single xyxy boxes. */
export function iou(a: ArrayLike<number>, b: ArrayLike<number>, opts?: IouOptions): number {
  return iouAt(a, 0, b, 0, opts);
}

/**
 * Generalized IoU (Rezatofighi et al. 2019): IoU − (hull − union)/hull, in [−1, 1]. Unlike IoU it
 * still ranks disjoint boxes by distance. Zero-area boxes keep IoU 0 and get the hull term; two
 * boxes whose hull has zero area (both the same point or segment) have GIoU 0.
 */
export function giou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ax1 = Math.min(a[0], a[2]), ax2 = Math.max(a[0], a[2]);
  const ay1 = Math.min(a[1], a[3]), ay2 = Math.max(a[1], a[3]);
  const bx1 = Math.min(b[0], b[2]), bx2 = Math.max(b[0], b[2]);
  const by1 = Math.min(b[1], b[3]), by2 = Math.max(b[1], b[3]);
  const areaA = (ay2 - ay1) * (ax2 - ax1);
  const areaB = (by2 - by1) * (bx2 - bx1);
  const inter = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0) * Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
  const union = areaA + areaB - inter;
  const hull = (Math.max(ay2, by2) - Math.min(ay1, by1)) * (Math.max(ax2, bx2) - Math.min(ax1, bx1));
  if (!(hull > 0)) return 0;
  const v = areaA > 0 && areaB > 0 ? inter / union : 0;
  return v - (hull - union) / hull;
}

/** IoU of every box in `a` (n) with every box in `b` (m): row-major n×m. */
export function iouMatrix(a: BoxArray, b: BoxArray, opts?: IouOptions): Float32Array {
  const n = checkLength(a, 'a');
  const m = checkLength(b, 'b');
  const out = new Float32Array(n * m);
  if (opts?.pixelInclusive) {
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = iouAt(a, i, b, j, opts);
    return out;
  }
  // Sorted corners and areas of b once, then one tight loop per row.
  const bs = orderCorners(b, new Float64Array(b.length));
  const bArea = boxAreas(bs);
  for (let i = 0; i < n; i++) {
    const p = 4 * i;
    const x1 = Math.min(a[p], a[p + 2]), x2 = Math.max(a[p], a[p + 2]);
    const y1 = Math.min(a[p + 1], a[p + 3]), y2 = Math.max(a[p + 1], a[p + 3]);
    const areaA = (y2 - y1) * (x2 - x1);
    if (!(areaA > 0)) continue;
    const row = i * m;
    for (let j = 0; j < m; j++) {
      const areaB = bArea[j];
      if (!(areaB > 0)) continue;
      const q = 4 * j;
      const ih = Math.min(y2, bs[q + 3]) - Math.max(y1, bs[q + 1]);
      if (!(ih > 0)) continue;
      const iw = Math.min(x2, bs[q + 2]) - Math.max(x1, bs[q]);
      if (!(iw > 0)) continue;
      const inter = ih * iw;
      out[row + j] = inter / (areaA + areaB - inter);
    }
  }
  return out;
}
