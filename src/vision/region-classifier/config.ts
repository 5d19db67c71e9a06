// The region classifier's settings, stored in the detector manifest's config so a model folder stays
// self-describing: where its weights are, how crops are cut, and how much its opinion counts.
import { z } from 'zod';

export const regionClassifierSchema = z.object({
  /** Folder inside the detector's folder holding model.json and weights.bin. */
  dir: z.string().regex(/^[\w.-]+$/, 'a plain folder name inside the model folder').default('region-classifier'),
  /** Crop side in pixels that every box is resized to. */
  inputSize: z.number().int().min(8).default(32),
  /** Margin added around the box's longer side, as a share of it (each side). */
  context: z.number().min(0).max(1).default(0.1),
  /** Widths of the three stages (full, 1/2 and 1/4 of the crop side). */
  channels: z.array(z.number().int().positive()).length(3).default([32, 64, 128]),
  /**
   * How the last feature map becomes class scores: 'average' pools it (where a part is, is lost); 'grid'
   * adds one more stride-2 stage and reads the flattened 4×4 map, so the logits see the item's layout
   * (sleeve length, collar, hem), which is what tells shirts, pullovers, coats and T-shirts apart.
   */
  readout: z.enum(['average', 'grid']).default('average'),
  /**
   * With readout 'grid': width of the 4×4 stage (default: the third stage's width) and how many 3×3 convs it
   * has. Capacity there is cheap (a 4×4 map) and sits where the item's parts are put together.
   */
  gridChannels: z.number().int().positive().optional(),
  gridDepth: z.number().int().min(1).max(4).default(1),
  /** Weight of the classifier in the log-linear mix with the head's class probabilities (0: head only, 1: classifier only). */
  weight: z.number().min(0).max(1).default(0.5),
  /** How many boxes per image are classified (best first after a class-agnostic NMS). */
  maxBoxes: z.number().int().positive().default(20),
  /** Whether predictions use it when the caller does not say (it costs more than the head itself). */
  usedByDefault: z.boolean().default(false),
});

export type RegionClassifierConfig = z.infer<typeof regionClassifierSchema>;
export const defaultRegionClassifierConfig = (): RegionClassifierConfig => regionClassifierSchema.parse({});
