// What the face model needs from each network: run at one square input side, return candidates.
import type { tf } from '../../runtime/backend.js';
import type { Candidates } from '../candidates.js';

export interface FaceHead {
  /** Square input side the network runs at. */
  readonly side: number;
  /** NMS IoU threshold the network's own pipeline uses. */
  readonly iouThreshold: number;
  /** x: float32 [b, side, side, 3], raw 0..255 RGB. Candidates in x's pixels, one set per image. */
  detect(x: tf.Tensor4D, scoreThreshold: number): Promise<Candidates[]>;
  dispose(): void;
}
