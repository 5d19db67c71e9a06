// Image bytes → the detector's input values, and detections back to the caller's pixels.
// By default sharp resizes straight to the model size, so no full-resolution pixels reach JavaScript;
// models that must match a TF-resizing reference get the full-resolution bytes resized here instead
// (InputResize). The letterbox (aspect kept, grey padding) is computed here rather than by sharp's
// `contain`, so the exact scale and offsets are known for undoing it.
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
  /** dstHeight × dstWidth × 3 sRGB values: bytes, or floats (0–255) from 'pad-square-bilinear'. */
  pixels: Uint8Array | Float32Array;
  letterbox: Letterbox;
  format: ImageFormat;
}

/** Grey used by YOLO-family letterboxing: neutral for a network that saw such padding in training. */
export const PAD_GREY = 114;

/**
 * How decodeToInput reaches the model's input size.
 * - 'letterbox': sharp shrinks the picture (lanczos3, anti-aliased) to the inner size, then pads it. Cheap on
 *   large photos (JPEG shrink-on-load) and the better picture for networks trained on such resizes.
 * - 'pad-square-bilinear': what face-api does before its detectors: pad the full-resolution picture to a square,
 *   then TF's ResizeBilinear (align_corners and half_pixel_centers both false) to the square input. Networks
 *   whose reference pipeline is that one agree with it on any photo only this way, because the point sampling
 *   of that resize aliases on downscales and lanczos does not.
 */
export const INPUT_RESIZES = ['letterbox', 'pad-square-bilinear'] as const;
export type InputResize = (typeof INPUT_RESIZES)[number];

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
 * The geometry of 'pad-square-bilinear': the picture padded to a square of its longer side, that square scaled
 * to dst. The inner size is rounded as face-api rounds it (computeReshapedDimensions) when it maps boxes back,
 * so undoLetterbox gives its coordinates; for 'center' the padding offset is fractional in input pixels.
 */
export function squareLetterboxFor(srcWidth: number, srcHeight: number, side: number, align: 'center' | 'top-left' = 'top-left'): Letterbox {
  const lb = letterboxFor(srcWidth, srcHeight, side, side, 'top-left');
  if (align === 'top-left') return lb;
  const { left, top } = squarePadding(srcWidth, srcHeight, align);
  const k = side / Math.max(srcWidth, srcHeight);
  return { ...lb, padLeft: left * k, padTop: top * k };
}

/** Source pixels of padding before the picture (left, top) inside its square. */
function squarePadding(width: number, height: number, align: 'center' | 'top-left'): { left: number; top: number } {
  if (align === 'top-left') return { left: 0, top: 0 };
  const m = Math.max(width, height);
  return { left: Math.floor((m - width) / 2), top: Math.floor((m - height) / 2) };
}

/**
 * TF's ResizeBilinear (align_corners false, half_pixel_centers false) from `src` (height × width × 3 bytes)
 * padded to a square with `fill`, to side × side × 3 floats. The square is never built: a tap that falls in
 * the padding reads `fill`. TF samples the source at r·M/side only (M the square's side), with no low-pass,
 * so at most two source rows and columns per output row and column are read, whatever the photo's size.
 * Positions are rounded to float32 as TF's are; the blending runs in float64, which leaves outputs within
 * ~3e-5 of tfjs-wasm's.
 */
export function padSquareResizeBilinear(
  src: Uint8Array,
  width: number,
  height: number,
  side: number,
  fill: number,
  align: 'center' | 'top-left' = 'top-left',
): Float32Array {
  if (src.length !== width * height * 3) throw new Error(`padSquareResizeBilinear: ${src.length} bytes is not ${width}×${height}×3`);
  const m = Math.max(width, height);
  const pad = squarePadding(width, height, align);
  // TF's kernels (and tfjs-wasm's) compute the sampling positions in float32; in float64 a fraction
  // differs by ~4e-5 when the ratio is not exact in binary, which was 0.01 on a 0–255 value against
  // tfjs-wasm. (tfjs's pure-JS cpu backend does use float64; kestrel serves from wasm.)
  const ratio = Math.fround(m / side);
  // Per output column (and row): the two source columns sampled (-1 in the padding) and the weight of the second.
  const taps = (n: number, before: number, extent: number): { a: Int32Array; b: Int32Array; f: Float64Array } => {
    const a = new Int32Array(n);
    const b = new Int32Array(n);
    const f = new Float64Array(n);
    const inside = (p: number): number => (p >= before && p < before + extent ? p - before : -1);
    for (let i = 0; i < n; i++) {
      const at = Math.fround(i * ratio);
      const lo = Math.max(0, Math.floor(at));
      const hi = Math.min(m - 1, Math.ceil(at));
      a[i] = inside(lo);
      b[i] = inside(hi);
      f[i] = Math.fround(at - lo);
    }
    return { a, b, f };
  };
  const cols = taps(side, pad.left, width);
  const rows = taps(side, pad.top, height);
  const out = new Float32Array(side * side * 3);
  const stride = width * 3;
  let o = 0;
  for (let r = 0; r < side; r++) {
    const top = rows.a[r] < 0 ? -1 : rows.a[r] * stride;
    const bot = rows.b[r] < 0 ? -1 : rows.b[r] * stride;
    const fy = rows.f[r];
    for (let c = 0; c < side; c++) {
      const left = cols.a[c] < 0 ? -1 : cols.a[c] * 3;
      const right = cols.b[c] < 0 ? -1 : cols.b[c] * 3;
      const fx = cols.f[c];
      for (let ch = 0; ch < 3; ch++) {
        const tl = top < 0 || left < 0 ? fill : src[top + left + ch];
        const tr = top < 0 || right < 0 ? fill : src[top + right + ch];
        const bl = bot < 0 || left < 0 ? fill : src[bot + left + ch];
        const br = bot < 0 || right < 0 ? fill : src[bot + right + ch];
        const t = tl + (tr - tl) * fx;
        const b = bl + (br - bl) * fx;
        out[o++] = t + (b - t) * fy;
      }
    }
  }
  return out;
}

/** xyxy corners mapped axis by axis: fx for the x coordinates, fy for the y ones. */
function mapCorners(boxes: Float32Array, fx: (x: number) => number, fy: (y: number) => number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = fx(boxes[i]);
    out[i + 1] = fy(boxes[i + 1]);
    out[i + 2] = fx(boxes[i + 2]);
    out[i + 3] = fy(boxes[i + 3]);
  }
  return out;
}

/**
 * Maps xyxy boxes from model-input pixels to original-image pixels, clipped to the image.
 * Per-axis scales: rounding the inner size makes them differ slightly from the nominal one.
 */
export function undoLetterbox(boxes: Float32Array, lb: Letterbox): Float32Array {
  const sx = lb.srcWidth / lb.innerWidth;
  const sy = lb.srcHeight / lb.innerHeight;
  return mapCorners(
    boxes,
    (x) => clip((x - lb.padLeft) * sx, lb.srcWidth),
    (y) => clip((y - lb.padTop) * sy, lb.srcHeight),
  );
}

/** The forward mapping, for tests and for callers that place boxes on the model input. */
export function applyLetterbox(boxes: Float32Array, lb: Letterbox): Float32Array {
  const sx = lb.innerWidth / lb.srcWidth;
  const sy = lb.innerHeight / lb.srcHeight;
  return mapCorners(
    boxes,
    (x) => x * sx + lb.padLeft,
    (y) => y * sy + lb.padTop,
  );
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
 * `resize` chooses how the picture is brought to dst (InputResize); 'pad-square-bilinear' needs a square dst.
 */
export async function decodeToInput(
  buf: Uint8Array,
  dst: { width: number; height: number },
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  align: 'center' | 'top-left' = 'center',
  fill: number = PAD_GREY,
  resize: InputResize = 'letterbox',
): Promise<DecodedImage> {
  const info = await probeImage(buf, limits);
  if (resize === 'pad-square-bilinear') return decodePadSquare(buf, info, dst, limits, align, fill);
  const lb = letterboxFor(info.width, info.height, dst.width, dst.height, align);
  const grey = { r: fill, g: fill, b: fill };
  const { data, info: out } = await runSharp(info, () =>
    sharp(buf, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1, page: 0 })
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
      .toBuffer({ resolveWithObject: true }),
  );
  checkLayout(out, dst.width, dst.height);
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), letterbox: lb, format: info.format };
}

/**
 * 'pad-square-bilinear': sharp decodes at full resolution (no shrink-on-load: its block averages are not the
 * point samples the reference takes) and the resize runs over those bytes here, on the calling thread, since
 * it reads only ~4 source pixels per output pixel (a few ms), whereas moving the full picture to a worker
 * would copy it whole. The result stays in floats: rounding it to bytes moved face-api's own SSD score by
 * 0.03 on a 640×480 photograph.
 */
async function decodePadSquare(
  buf: Uint8Array,
  info: ImageInfo,
  dst: { width: number; height: number },
  limits: DecodeLimits,
  align: 'center' | 'top-left',
  fill: number,
): Promise<DecodedImage> {
  if (dst.width !== dst.height) throw new Error(`pad-square-bilinear needs a square input, not ${dst.width}×${dst.height}`);
  const { data, info: out } = await runSharp(info, () =>
    sharp(buf, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1, page: 0 })
      .rotate()
      .flatten({ background: { r: fill, g: fill, b: fill } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }),
  );
  checkLayout(out, info.width, info.height);
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const pixels = padSquareResizeBilinear(src, out.width, out.height, dst.width, fill, align);
  return { pixels, letterbox: squareLetterboxFor(info.width, info.height, dst.width, align), format: info.format };
}

async function runSharp(info: ImageInfo, run: () => Promise<{ data: Buffer; info: OutputInfo }>): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    return await run();
  } catch (err) {
    const msg = firstLine(err);
    if (/pixel limit/i.test(msg)) throw new ImageError('too-many-pixels', msg);
    throw new ImageError('undecodable', `cannot decode the ${info.format} image: ${msg}`);
  }
}

/** Guards the assumption every model makes about the buffer layout. */
function checkLayout(out: OutputInfo, width: number, height: number): void {
  if (out.width !== width || out.height !== height || out.channels !== 3) {
    throw new ImageError('undecodable', `decoder produced ${out.width}×${out.height}×${out.channels}, expected ${width}×${height}×3`);
  }
}

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0].trim();
}
