// Small numeric helpers shared by the heads' encoders and decoders. Boxes are corners xyxy.

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Inverse of sigmoid, clamped so encoders never produce infinities for offsets at a cell edge. */
export function logit(p: number, eps = 1e-6): number {
  const q = Math.min(1 - eps, Math.max(eps, p));
  return Math.log(q / (1 - q));
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
