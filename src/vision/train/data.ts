// Training data in memory: decoded RGB at the model's input size, boxes in input pixels; plus the
// augmentations (flip, scale/translation jitter, colour jitter) and the per-head target encoding of a batch.
import sharp from 'sharp';
import type { Dataset } from '../datasets/yolo-layout.js';
import type { DetectorConfig } from '../detector/config.js';
import type { GroundTruth } from '../heads/box-math.js';
import { bindHead, HEADS, type HeadName } from '../heads/index.js';
import type { BoundHead } from '../heads/head.js';

export interface LoadedSplit {
  size: number;
  count: number;
  pixels: Uint8Array; // count × size × size × 3
  gts: GroundTruth[];
  classes: string[];
  /** Each image's own width and height before the resize, so that sizes can be judged in its pixels. */
  sourceSizes: [number, number][];
}

/** Decodes every image of a split to size×size RGB (stretching non-square images; fmnist-scenes are square). */
export async function loadSplit(ds: Dataset, size: number, onImage?: () => void): Promise<LoadedSplit> {
  const n = ds.items.length;
  const pixels = new Uint8Array(n * size * size * 3);
  const gts: GroundTruth[] = new Array<GroundTruth>(n);
  const sourceSizes: [number, number][] = new Array<[number, number]>(n);
  const one = async (i: number): Promise<void> => {
    const it = ds.items[i];
    const img = sharp(it.image);
    const meta = await img.metadata();
    sourceSizes[i] = [meta.width ?? size, meta.height ?? size];
    const { data, info } = await img.removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${it.image}: expected RGB, got ${info.channels} channels`);
    pixels.set(data, i * size * size * 3);
    const boxes = new Float32Array(it.boxes.length * 4);
    it.boxes.forEach((b, j) => {
      boxes[4 * j] = (b.cx - b.w / 2) * size;
      boxes[4 * j + 1] = (b.cy - b.h / 2) * size;
      boxes[4 * j + 2] = (b.cx + b.w / 2) * size;
      boxes[4 * j + 3] = (b.cy + b.h / 2) * size;
    });
    gts[i] = { boxes, classes: Int32Array.from(it.boxes, (b) => b.classId) };
    onImage?.();
  };
  // A few decodes in flight: sharp works off the main thread, so they overlap.
  const inFlight = 8;
  for (let at = 0; at < n; at += inFlight) await Promise.all(Array.from({ length: Math.min(inFlight, n - at) }, (_, k) => one(at + k)));
  return { size, count: n, pixels, gts, classes: ds.classes, sourceSizes };
}

export interface AugmentOptions {
  flip: boolean;
  /** Zoom range [min, max]; 1 = no zoom. */
  scale: [number, number];
  /** Brightness/contrast/per-channel gain jitter amplitude (0 = none). */
  colour: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { flip: true, scale: [0.75, 1.3], colour: 0.25 };

/** One augmentation's random draws, in the order `augment` has always consumed them. */
interface AugmentDraw {
  s: number;
  tx: number;
  ty: number;
  flip: boolean;
  gain: number[];
  contrast: number;
  bright: number;
}

function drawAugment(size: number, o: AugmentOptions, r: () => number): AugmentDraw {
  const s = o.scale[0] + r() * (o.scale[1] - o.scale[0]);
  // Translation keeps the zoomed image covering the frame when s ≥ 1, and inside it when s < 1.
  const span = size * s - size;
  const tx = span >= 0 ? -r() * span : r() * -span;
  const ty = span >= 0 ? -r() * span : r() * -span;
  const flip = o.flip && r() < 0.5;
  const gain = [1, 1, 1].map(() => 1 + (r() * 2 - 1) * o.colour * 0.5);
  const contrast = 1 + (r() * 2 - 1) * o.colour;
  const bright = (r() * 2 - 1) * o.colour * 60;
  return { s, tx, ty, flip, gain, contrast, bright };
}

/** The boxes after an augmentation; a box keeps only if at least 60 % of it stays in view. */
function augmentBoxes(gt: GroundTruth, size: number, d: AugmentDraw): GroundTruth {
  const { s, tx, ty, flip } = d;
  const boxes: number[] = [];
  const classes: number[] = [];
  for (let i = 0; i < gt.classes.length; i++) {
    let x1 = gt.boxes[4 * i] * s + tx, x2 = gt.boxes[4 * i + 2] * s + tx;
    const y1 = gt.boxes[4 * i + 1] * s + ty, y2 = gt.boxes[4 * i + 3] * s + ty;
    const area = (x2 - x1) * (y2 - y1);
    const cx1 = Math.max(0, x1), cy1 = Math.max(0, y1), cx2 = Math.min(size, x2), cy2 = Math.min(size, y2);
    if (cx2 - cx1 < 3 || cy2 - cy1 < 3) continue;
    if ((cx2 - cx1) * (cy2 - cy1) < 0.6 * area) continue;
    x1 = cx1;
    x2 = cx2;
    if (flip) [x1, x2] = [size - x2, size - x1];
    boxes.push(x1, cy1, x2, cy2);
    classes.push(gt.classes[i]);
  }
  return { boxes: Float32Array.from(boxes), classes: Int32Array.from(classes) };
}

/**
 * The boxes `augment` would return for the same random stream, without resampling the pixels: for views
 * whose pixels are no longer needed (their backbone features are cached).
 */
export function augmentedBoxes(gt: GroundTruth, size: number, o: AugmentOptions, r: () => number): GroundTruth {
  return augmentBoxes(gt, size, drawAugment(size, o, r));
}

/**
 * Augments one image into `out` (size×size×3): zoom about a random point with bilinear resampling, optional
 * horizontal flip and colour jitter. Boxes follow (augmentBoxes).
 */
export function augment(src: Uint8Array, gt: GroundTruth, size: number, o: AugmentOptions, r: () => number, out: Uint8Array): GroundTruth {
  const d = drawAugment(size, o, r);
  const { s, tx, ty, flip, gain, contrast, bright } = d;
  for (let y = 0; y < size; y++) {
    const sy = (y + 0.5 - ty) / s - 0.5;
    const y0 = Math.floor(sy), fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const xo = flip ? size - 1 - x : x;
      const sx = (x + 0.5 - tx) / s - 0.5;
      const x0 = Math.floor(sx), fx = sx - x0;
      const oi = (y * size + xo) * 3;
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number): number => {
          // Outside the source: mid grey, the dataset's neutral.
          if (xx < 0 || yy < 0 || xx >= size || yy >= size) return 114;
          return src[(yy * size + xx) * 3 + c];
        };
        const v = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
        const j = ((v - 128) * contrast + 128) * gain[c] + bright;
        out[oi + c] = j < 0 ? 0 : j > 255 ? 255 : j;
      }
    }
  }
  return augmentBoxes(gt, size, d);
}

/** Every head bound once (its geometry precomputed), so encoding a batch is only matching. */
export class TargetEncoder {
  private readonly heads: [HeadName, BoundHead<unknown>][];

  constructor(readonly cfg: DetectorConfig) {
    this.heads = HEADS.map((h) => [h, bindHead(h, cfg)]);
  }

  /** Each head's targets for the batch, by head. */
  encode(gts: GroundTruth[]): Record<HeadName, unknown> {
    return Object.fromEntries(this.heads.map(([h, bound]) => [h, bound.encode(gts)])) as Record<HeadName, unknown>;
  }
}
