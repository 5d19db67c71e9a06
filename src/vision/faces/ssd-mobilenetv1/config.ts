// The face-api SSD MobileNetV1 face detector (a TensorFlow object-detection-API export): a MobileNetV1
// body at depth multiplier 1, four extra feature layers, six box predictors, 5118 fixed priors at 512².

/** The only input side the network's priors were generated for. */
export const SSD_FACE_INPUT = 512;

/** Number of priors (anchors) over all six feature maps at 512². */
export const SSD_FACE_PRIORS = 5118;

/** Centre and size variances of the box encoding (the TF OD API's 10, 10, 5, 5 scale factors). */
export const SSD_FACE_VARIANCES: readonly [number, number] = [0.1, 0.2];

/** Epsilon of the body's batch-norm layers (as exported). */
export const SSD_FACE_BN_EPSILON = 0.0010000000474974513;

/** Output channels of MobileNetV1 conv_0 (3×3 full conv) and of the pointwise half of blocks 1..13. */
export const MOBILENET_CHANNELS: readonly number[] = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024];

/** Blocks whose depthwise convolution has stride 2. */
export const MOBILENET_STRIDE2_BLOCKS: ReadonlySet<number> = new Set([2, 4, 6, 12]);

/** Extra feature layers after the body: [kernel, output channels, stride]. */
export const SSD_EXTRA_LAYERS: readonly (readonly [number, number, number])[] = [
  [1, 256, 1],
  [3, 512, 2],
  [1, 128, 1],
  [3, 256, 2],
  [1, 128, 1],
  [3, 256, 2],
  [1, 64, 1],
  [3, 128, 2],
];

/** Each box predictor's input channels and anchors per cell; the logits are 3 per anchor. */
export const SSD_PREDICTORS: readonly { channels: number; anchors: number }[] = [
  { channels: 512, anchors: 3 }, // body block 11, 32×32
  { channels: 1024, anchors: 6 }, // body block 13, 16×16
  { channels: 512, anchors: 6 }, // extra 1, 8×8
  { channels: 256, anchors: 6 }, // extra 3, 4×4
  { channels: 256, anchors: 6 }, // extra 5, 2×2
  { channels: 128, anchors: 6 }, // extra 7, 1×1
];

/** Class logits per anchor as exported; column 1 is the face (column 0 background, 2 unused). */
export const SSD_LOGITS_PER_ANCHOR = 3;
export const SSD_FACE_COLUMN = 1;

/** The peer pipeline's NMS threshold for this network. */
export const SSD_FACE_IOU_THRESHOLD = 0.5;
