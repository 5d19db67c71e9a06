// Which part of the image the region classifier sees for a box: a square around the box's centre, the
// box's longer side plus a margin, so that the item keeps its aspect ratio (a trouser stays tall) and
// some surroundings. Squares may reach past the image; cropAndResize fills those parts with 0, mid-grey
// after input normalisation, and the classifier is trained with the same filling.
import { tf } from '../../runtime/backend.js';

/**
 * Boxes (n×4 x1 y1 x2 y2, pixels) → cropAndResize boxes (n×4 y1 x1 y2 x2, normalised by side − 1).
 * `flip[i]` mirrors crop i left-right (x1 and x2 swapped, which cropAndResize samples backwards).
 */
export function contextSquares(boxes: ArrayLike<number>, n: number, context: number, width: number, height: number, flip?: ArrayLike<boolean>): Float32Array {
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x1 = boxes[4 * i], y1 = boxes[4 * i + 1], x2 = boxes[4 * i + 2], y2 = boxes[4 * i + 3];
    const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
    const half = (Math.max(x2 - x1, y2 - y1, 1) * (1 + 2 * context)) / 2;
    // cropAndResize addresses pixel centres (0 … side − 1); the half-pixel offset from box edges is the same
    // for every crop in training and serving, so it is left out.
    const l = (cx - half) / (width - 1), r = (cx + half) / (width - 1);
    out[4 * i] = (cy - half) / (height - 1);
    out[4 * i + 2] = (cy + half) / (height - 1);
    const mirrored = flip?.[i] ?? false;
    out[4 * i + 1] = mirrored ? r : l;
    out[4 * i + 3] = mirrored ? l : r;
  }
  return out;
}

/** Crops [n, size, size, 3] from normalised images [b, H, W, 3]; `imageOf[i]` is crop i's image. */
export function cropRegions(images: tf.Tensor4D, squares: Float32Array, imageOf: Int32Array, size: number): tf.Tensor4D {
  return tf.image.cropAndResize(images, tf.tensor2d(squares, [imageOf.length, 4]), tf.tensor1d(imageOf, 'int32'), [size, size], 'bilinear', 0);
}
