// Everything needed to rebuild a kestrel detector's network and decode its heads; stored in the manifest's
// config so that a model folder is self-describing.
import { z } from 'zod';
import { FEATURE_TAPS } from '../nanodet/features.js';
import { regionClassifierSchema } from '../region-classifier/config.js';
import { slidingWindowConfigSchema } from '../heads/sliding-window/config.js';
import { ssdConfigSchema } from '../heads/ssd/config.js';
import { yoloConfigSchema } from '../heads/yolo/config.js';

export const pretrainedBackboneSchema = z.object({
  family: z.literal('nanodet'),
  /** Model folder name, looked up beside the detector's folder, then in the package's models/. */
  model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  tap: z.enum(FEATURE_TAPS),
  /** Channels of the maps as extracted: one number when the three levels agree, else one per stride (8, 16, 32). */
  channels: z.union([z.number().int().positive(), z.array(z.number().int().positive()).length(3)]),
  /**
   * Backbone stages that train with the heads ('backbone' tap only): the frozen network stops at each one's
   * entry convolution, and the rest of the stage is a layer of the detector (../nanodet/csp-stage.ts).
   */
  tuned: z.array(z.object({
    stride: z.number().int().refine((s) => [8, 16, 32].includes(s), 'a stride of 8, 16 or 32'),
    channels: z.number().int().positive(),
    blocks: z.number().int().min(1).max(8),
    alpha: z.number(),
  })).optional(),
});
export type PretrainedBackbone = z.infer<typeof pretrainedBackboneSchema>;

/** Channels per stride (8, 16, 32) of a pretrained backbone's maps. */
export const tapChannels = (b: PretrainedBackbone): number[] => (typeof b.channels === 'number' ? [b.channels, b.channels, b.channels] : [...b.channels]);

/** The config's form of per-stride channels: one number when they agree (as older models store it). */
export const channelsField = (c: readonly number[]): number | number[] => (c.every((x) => x === c[0]) ? c[0] : [...c]);

export const detectorConfigSchema = z.object({
  architecture: z.literal('kestrel').default('kestrel'),
  inputSize: z.number().int().positive(),
  numClasses: z.number().int().positive(),
  /** Backbone widths: stem (stride 2), stride 4, stride 8, stride 16, stride 32. */
  channels: z.array(z.number().int().positive()).length(5),
  neckChannels: z.number().int().positive(),
  // One section per head (its configKey in ../heads/index.ts), each defined in the head's folder.
  yolo: yoloConfigSchema,
  ssd: ssdConfigSchema,
  slidingWindow: slidingWindowConfigSchema,
  scoreThreshold: z.number().min(0).max(1).default(0.3),
  /**
   * A pretrained backbone in place of kestrel's own CNN (whose `channels` and `neckChannels` then go
   * unused): the named model folder's features at strides 8, 16 and 32, frozen (../nanodet/features.ts).
   */
  backbone: pretrainedBackboneSchema.optional(),
  /** With a pretrained backbone: trainable 3×3 conv–batch-norm–ReLU layers on each feature map, shared by the heads. */
  adapter: z.object({ depth: z.number().int().min(0).max(4), channels: z.number().int().positive() }).optional(),
  /** Optional second stage that re-reads each box's pixels to name its item (src/vision/region-classifier/). */
  regionClassifier: regionClassifierSchema.optional(),
});

export type DetectorConfig = z.infer<typeof detectorConfigSchema>;
export { HEADS, type HeadName } from '../heads/index.js';

/** The shipped layout at 128×128; YOLO anchors are replaced by k-means ones before training. */
export function defaultConfig(numClasses: number, inputSize = 128): DetectorConfig {
  const k = inputSize / 128;
  const s = (v: number[]): number[] => v.map((x) => Math.round(x * k * 10) / 10);
  return {
    architecture: 'kestrel',
    inputSize,
    numClasses,
    channels: [16, 32, 64, 128, 128],
    neckChannels: 64,
    yolo: {
      scales: [
        { stride: 8, anchors: s([10, 12, 16, 20, 24, 14]) },
        { stride: 16, anchors: s([22, 36, 36, 28, 44, 50]) },
        { stride: 32, anchors: s([56, 80, 82, 56, 90, 92]) },
      ],
    },
    ssd: {
      maps: [
        { stride: 8, sizes: s([14, 24]), aspects: [1, 0.5, 2] },
        { stride: 16, sizes: s([36, 52]), aspects: [1, 0.5, 2] },
        { stride: 32, sizes: s([72, 100]), aspects: [1, 0.5, 2] },
      ],
      variances: [0.1, 0.2],
    },
    slidingWindow: {
      maps: [
        { stride: 8, sizes: s([16, 24, 32, 48]), aspects: [1, 0.5, 2] },
        { stride: 16, sizes: s([64, 96]), aspects: [1, 0.5, 2] },
      ],
      voteIou: 0.2,
    },
    scoreThreshold: 0.3,
  };
}
