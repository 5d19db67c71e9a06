// Privacy rendering: hide regions of an image (typically detected faces) by pixelating or blurring them.
// The strength is relative to each region's size, so a large face is as unrecognisable as a small one.
import sharp, { type FormatEnum, type OverlayOptions } from 'sharp';

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type BlurMode = 'pixelate' | 'gaussian';

export interface BlurOptions {
  mode: BlurMode;
  /**
   * 1..100. Pixelate: a block is strength/400 of the region's longer side (50 → 8 blocks across).
   * Gaussian: sigma is strength/400 of the longer side (50 → sigma = side/8).
   */
  strength: number;
  /**
   * Optional margin added on every side, as a fraction of the region's width (left/right) and height
   * (top/bottom); 0 when absent. Face boxes are tight (SSD's stop at brow and chin), so 0.1–0.25
   * also hides hairline and jaw.
   */
  grow?: number;
}

export const MIN_STRENGTH = 1;
export const MAX_STRENGTH = 100;

const OUTPUT_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif', 'heif']);

/** Integer pixel rectangle of a region inside a width × height image, or undefined when empty. */
export function clampRegion(r: Region, width: number, height: number): Region | undefined {
  if (![r.x, r.y, r.width, r.height].every(Number.isFinite)) return undefined;
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(width, Math.ceil(r.x + r.width));
  const y1 = Math.min(height, Math.ceil(r.y + r.height));
  if (x1 - x0 < 1 || y1 - y0 < 1) return undefined;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function growRegion(r: Region, by: number): Region {
  const dx = r.width * by;
  const dy = r.height * by;
  return { x: r.x - dx, y: r.y - dy, width: r.width + 2 * dx, height: r.height + 2 * dy };
}

/**
 * Returns the image with every region hidden, encoded in the input's format (formats sharp cannot
 * write, such as SVG, come back as PNG). Regions are in the pixels of the upright image: EXIF
 * orientation is applied first, as detection does. Regions are clipped to the image; empty ones ignored;
 * when none is left the input buffer itself is returned.
 */
export async function blurRegions(image: Buffer, boxes: readonly Region[], opts: BlurOptions): Promise<Buffer> {
  if (opts.mode !== 'pixelate' && opts.mode !== 'gaussian') throw new RangeError(`unknown blur mode ${String(opts.mode)}`);
  if (!Number.isFinite(opts.strength) || opts.strength < MIN_STRENGTH || opts.strength > MAX_STRENGTH) {
    throw new RangeError(`blur strength must be within ${MIN_STRENGTH}..${MAX_STRENGTH}`);
  }
  const grow = opts.grow ?? 0;
  if (!Number.isFinite(grow) || grow < 0 || grow > 1) throw new RangeError('blur grow must be within 0..1');
  if (grow > 0) boxes = boxes.map((b) => growRegion(b, grow));
  const meta = await sharp(image).metadata();
  // Nothing to hide: hand the original back rather than a lossy re-encode of it.
  if (meta.width !== undefined && meta.height !== undefined) {
    const upright = (meta.orientation ?? 1) >= 5 ? { w: meta.height, h: meta.width } : { w: meta.width, h: meta.height };
    if (!boxes.some((b) => clampRegion(b, upright.w, upright.h))) return image;
  }
  const format = meta.format && OUTPUT_FORMATS.has(meta.format) ? meta.format : 'png';
  // Decode once; every crop and the final composite read these upright raw pixels.
  const { data, info } = await sharp(image).rotate().raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } } as const;

  const overlays: OverlayOptions[] = [];
  for (const box of boxes) {
    const r = clampRegion(box, info.width, info.height);
    if (!r) continue;
    const side = Math.max(r.width, r.height);
    const crop = sharp(data, raw).extract({ left: r.x, top: r.y, width: r.width, height: r.height });
    let hidden: Buffer;
    if (opts.mode === 'pixelate') {
      const block = Math.max(2, Math.round((side * opts.strength) / 400));
      const small = await crop
        .resize(Math.max(1, Math.ceil(r.width / block)), Math.max(1, Math.ceil(r.height / block)), { fit: 'fill', kernel: 'linear' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      hidden = await sharp(small.data, { raw: { width: small.info.width, height: small.info.height, channels: small.info.channels } })
        .resize(r.width, r.height, { fit: 'fill', kernel: 'nearest' })
        .raw()
        .toBuffer();
    } else {
      const sigma = Math.max(0.3, (side * opts.strength) / 400);
      hidden = await crop.blur(sigma).raw().toBuffer();
    }
    overlays.push({ input: hidden, raw: { width: r.width, height: r.height, channels: info.channels }, left: r.x, top: r.y });
  }
  // Compositing adds an alpha band; drop it again when the picture had none.
  let outImg = sharp(data, raw).composite(overlays);
  if (!meta.hasAlpha) outImg = outImg.removeAlpha();
  return outImg.toFormat(format as keyof FormatEnum, format === 'jpeg' || format === 'webp' ? { quality: 90 } : {}).toBuffer();
}
