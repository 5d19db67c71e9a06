// Image bytes → the detector's input tensor bytes, and detections back to the caller's pixels.
// sharp resizes straight to the model size, so no full-resolution pixels ever reach tfjs; the
// letterbox (aspect kept, grey padding) is computed here rather than by sharp's `contain`, so the
// exact scale and offsets are known for undoing it.
import sharp, { type Metadata, type OutputInfo } from 'sharp';

/** Formats we decode. Anything else (SVG above all: it can reference external files) is refused by magic bytes. */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export const IMAGE_CONTENT_TYPES: Record<string, ImageFormat> = {
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/tiff': 'tiff',
  'image/avif': 'avif',
};

export type ImageErrorCode = 'empty' | 'unsupported' | 'too-many-pixels' | 'undecodable';

/** A problem with the image itself; routes map the code to an HTTP status. */
export class ImageError extends Error {
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.name = 'ImageError';
    this.code = code;
  }
}

export interface DecodeLimits {
  /** Width × height above which an image is refused before decoding (decompression bombs). */
  maxPixels: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxPixels: 40_000_000 };

/** How the original (EXIF-upright) image sits inside the model input. */
export interface Letterbox {
  /** Upright size of the original image, the coordinates answers are given in. */
  srcWidth: number;
  srcHeight: number;
  dstWidth: number;
  dstHeight: number;
  /** Size of the resized image inside the padding. */
  innerWidth: number;
  innerHeight: number;
  padLeft: number;
  padTop: number;
}

export interface DecodedImage {
  /** dstHeight × dstWidth × 3 sRGB bytes. */
  pixels: Uint8Array;
  letterbox: Letterbox;
  format: ImageFormat;
}

/** Grey used by YOLO-family letterboxing: neutral for a network that saw such padding in training. */
export const PAD_GREY = 114;

/** Identifies the container from its first bytes; declared content types are not trusted. */
export function sniffFormat(buf: Uint8Array): ImageFormat | undefined {
  const b = buf;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 6 && ascii(b, 0, 4) === 'GIF8' && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a))) return 'tiff';
  // ISO-BMFF: size, 'ftyp', major brand, minor version, compatible brands. Only AVIF brands: other HEIF
  // (HEIC) needs codecs the prebuilt sharp does not carry, so it would fail later with a vaguer error.
  if (b.length >= 16 && ascii(b, 4, 4) === 'ftyp') {
    const size = Math.min(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0, b.length, 256);
    for (let o = 8; o + 4 <= size; o += 4) {
      if (o === 12) continue; // minor version, not a brand
      const brand = ascii(b, o, 4);
      if (brand === 'avif' || brand === 'avis') return 'avif';
    }
  }
  return undefined;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/**
 * Scale and padding that fit src inside dst with the aspect ratio kept: centred, or top-left for networks
 * (face-api's) that were trained with the padding on the right and bottom.
 */
export function letterboxFor(
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
  align: 'center' | 'top-left' = 'center',
): Letterbox {
  const scale = Math.min(dstWidth / srcWidth, dstHeight / srcHeight);
  const innerWidth = Math.max(1, Math.min(dstWidth, Math.round(srcWidth * scale)));
  const innerHeight = Math.max(1, Math.min(dstHeight, Math.round(srcHeight * scale)));
  return {
    srcWidth,
    srcHeight,
    dstWidth,
    dstHeight,
    innerWidth,
    innerHeight,
    padLeft: align === 'top-left' ? 0 : Math.floor((dstWidth - innerWidth) / 2),
    padTop: align === 'top-left' ? 0 : Math.floor((dstHeight - innerHeight) / 2),
  };
}

/**
 * Maps xyxy boxes from model-input pixels to original-image pixels, clipped to the image.
 * Per-axis scales: rounding the inner size makes them differ slightly from the nominal one.
 */
export function undoLetterbox(boxes: Float32Array, lb: Letterbox): Float32Array {
  const sx = lb.srcWidth / lb.innerWidth;
  const sy = lb.srcHeight / lb.innerHeight;
  const out = new Float32Array(boxes.length);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = clip((boxes[i] - lb.padLeft) * sx, lb.srcWidth);
    out[i + 1] = clip((boxes[i + 1] - lb.padTop) * sy, lb.srcHeight);
    out[i + 2] = clip((boxes[i + 2] - lb.padLeft) * sx, lb.srcWidth);
    out[i + 3] = clip((boxes[i + 3] - lb.padTop) * sy, lb.srcHeight);
  }
  return out;
}

/** The forward mapping, for tests and for callers that place boxes on the model input. */
export function applyLetterbox(boxes: Float32Array, lb: Letterbox): Float32Array {
  const sx = lb.innerWidth / lb.srcWidth;
  const sy = lb.innerHeight / lb.srcHeight;
  const out = new Float32Array(boxes.length);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = boxes[i] * sx + lb.padLeft;
    out[i + 1] = boxes[i + 1] * sy + lb.padTop;
    out[i + 2] = boxes[i + 2] * sx + lb.padLeft;
    out[i + 3] = boxes[i + 3] * sy + lb.padTop;
  }
  return out;
}

function clip(v: number, hi: number): number {
  return v < 0 ? 0 : v > hi ? hi : v;
}

/** Header facts needed before decoding: the upright size and the format. */
export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  pages: number;
}

/** Reads the header only: cheap, and it lets the pixel limit be checked before any decoding. */
export async function probeImage(buf: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Promise<ImageInfo> {
  if (buf.length === 0) throw new ImageError('empty', 'the image is empty (0 bytes)');
  const format = sniffFormat(buf);
  if (!format) throw new ImageError('unsupported', `not a supported image format (accepted: ${IMAGE_FORMATS.join(', ')})`);
  let meta: Metadata;
  try {
    // limitInputPixels off here: the limit is checked below with a clearer message; metadata never decodes pixels.
    meta = await sharp(buf, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (err) {
    throw new ImageError('undecodable', `cannot read the ${format} header: ${firstLine(err)}`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!(w > 0 && h > 0)) throw new ImageError('undecodable', `the ${format} header gives no image size`);
  // For multi-page images sharp's height is one page's; pageHeight when present is authoritative.
  const pageH = meta.pageHeight && meta.pageHeight > 0 ? meta.pageHeight : h;
  if (w * pageH > limits.maxPixels) {
    throw new ImageError('too-many-pixels', `the image is ${w}×${pageH} = ${w * pageH} pixels; the limit is ${limits.maxPixels}`);
  }
  const orientation = meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  const upright = orientation >= 5 ? { width: pageH, height: w } : { width: w, height: pageH };
  return { format, ...upright, orientation, pages: meta.pages ?? 1 };
}

/**
 * Decodes one image to dst × 3 sRGB bytes, letterboxed, EXIF-upright, first frame only,
 * alpha flattened onto the padding grey (`fill`, the model's), whatever the colour space or bit depth of the source.
 */
export async function decodeToInput(
  buf: Uint8Array,
  dst: { width: number; height: number },
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  align: 'center' | 'top-left' = 'center',
  fill: number = PAD_GREY,
): Promise<DecodedImage> {
  const info = await probeImage(buf, limits);
  const lb = letterboxFor(info.width, info.height, dst.width, dst.height, align);
  const grey = { r: fill, g: fill, b: fill };
  let data: Buffer;
  let out: OutputInfo;
  try {
    ({ data, info: out } = await sharp(buf, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1, page: 0 })
      .rotate()
      .resize(lb.innerWidth, lb.innerHeight, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: grey })
      .extend({
        top: lb.padTop,
        bottom: dst.height - lb.innerHeight - lb.padTop,
        left: lb.padLeft,
        right: dst.width - lb.innerWidth - lb.padLeft,
        background: grey,
      })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (err) {
    const msg = firstLine(err);
    if (/pixel limit/i.test(msg)) throw new ImageError('too-many-pixels', msg);
    throw new ImageError('undecodable', `cannot decode the ${info.format} image: ${msg}`);
  }
  if (out.width !== dst.width || out.height !== dst.height || out.channels !== 3) {
    // Guards the assumption every model makes about the buffer layout.
    throw new ImageError('undecodable', `decoder produced ${out.width}×${out.height}×${out.channels}, expected ${dst.width}×${dst.height}×3`);
  }
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), letterbox: lb, format: info.format };
}

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0].trim();
}
