// The face-api tiny face detector: a Tiny-YOLOv2-shaped net whose body is depthwise-separable
// convolutions (MobileNet style) instead of plain ones, one class ("face"), five anchors.

/** Anchor sizes in grid cells (width, height), in the order of the output channels. */
export const TINY_FACE_ANCHORS_CELLS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];

/** Per-channel RGB means the network was trained with subtracted (then everything / 255). */
export const TINY_FACE_MEAN_RGB: readonly [number, number, number] = [117.001, 114.697, 97.404];

/** Output channels of the separable blocks conv1..conv5; conv0 is a plain 3×3 convolution to 16. */
export const TINY_FACE_CHANNELS: readonly number[] = [16, 32, 64, 128, 256, 512];

/** tx, ty, tw, th, objectness per anchor; no class logits (a single class). */
export const TINY_FACE_BOX_ENCODING = 5;

/** The peer pipeline's NMS threshold for this network. */
export const TINY_FACE_IOU_THRESHOLD = 0.4;

/** The total stride: five stride-2 poolings. Input sides must be a multiple of it. */
export const TINY_FACE_STRIDE = 32;

/**
 * Grid side for an input side. conv0 is unpadded (side − 2), then five 'same' stride-2 max-pools each
 * round up, and the final stride-1 pool keeps the size.
 */
export function tinyFaceGridSize(inputSide: number): number {
  let s = inputSide - 2;
  for (let i = 0; i < 5; i++) s = Math.ceil(s / 2);
  return s;
}
