// Small numeric helpers shared by the heads' encoders and decoders. Boxes are corners xyxy.

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Inverse of sigmoid, clamped so encoders never produce infinities for offsets at a cell edge. */
export function logit(p: number, eps = 1e-6): number {
  const q = Math.min(1 - eps, Math.max(eps, p));
  return Math.log(q / (1 - q));
}

export function iouXyxy(
  ax1: number, ay1: number, ax2: number, ay2: number,
  bx1: number, by1: number, bx2: number, by2: number,
): number {
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** IoU of two boxes given only their sizes, as if they shared a centre: the anchor-matching distance. */
export function shapeIou(w1: number, h1: number, w2: number, h2: number): number {
  const inter = Math.min(w1, w2) * Math.min(h1, h2);
  return inter / (w1 * h1 + w2 * h2 - inter);
}

/** Ground truth of one image for the encoders: n*4 xyxy boxes in input pixels and n class ids. */
export interface GroundTruth {
  boxes: Float32Array;
  classes: Int32Array;
}

export function emptyCandidates(): { boxes: Float32Array; scores: Float32Array; classes: Int32Array } {
  return { boxes: new Float32Array(0), scores: new Float32Array(0), classes: new Int32Array(0) };
}
