// Annotated images: the upright original with each detection's box, label and score drawn on it.
// Drawing is an SVG overlay composited by sharp, so no canvas dependency and no per-pixel JS.
import sharp from 'sharp';

export interface DrawnDetection {
  label: string;
  classId: number;
  score: number;
  /** Original-image pixels. */
  box: { x: number; y: number; width: number; height: number };
}

export type RenderFormat = 'jpeg' | 'png';

export interface RenderOptions {
  format: RenderFormat;
  /** sharp's decode limit; the caller has already checked the image against it. */
  maxPixels: number;
}

// Distinct, readable on both light and dark scenes; class id picks one so a class keeps its colour.
const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe', '#008080', '#e6beff', '#9a6324', '#800000', '#aaffc3', '#000075'];

export function colourFor(classId: number): string {
  const i = ((classId % PALETTE.length) + PALETTE.length) % PALETTE.length;
  return PALETTE[i];
}

/** Labels come from model manifests and land inside SVG markup. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** Dark text on light colours, white on dark, by relative luminance. */
function textColourOn(hex: string): string {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 150 ? '#000000' : '#ffffff';
}

/** The overlay alone, sized to the image; exported so its markup can be tested without decoding. */
export function overlaySvg(width: number, height: number, dets: readonly DrawnDetection[]): string {
  // Line and text scale with the image so a 4K photo and a thumbnail both stay legible.
  const side = Math.max(width, height);
  const stroke = Math.max(2, Math.round(side / 300));
  const font = Math.max(10, Math.round(side / 60));
  const parts: string[] = [];
  for (const d of dets) {
    const c = colourFor(d.classId);
    const { x, y, width: w, height: h } = d.box;
    const text = `${escapeXml(d.label)} ${(d.score * 100).toFixed(0)}%`;
    // Rough advance width of a sans-serif glyph; the tag only needs to cover the text.
    const tagW = Math.ceil(font * 0.62 * (d.label.length + 5)) + 2 * stroke;
    const tagH = Math.ceil(font * 1.3);
    // The tag sits above the box, or inside it when the box touches the top edge.
    const tagY = y - tagH >= 0 ? y - tagH : y;
    const tagX = Math.min(Math.max(0, x), Math.max(0, width - tagW));
    parts.push(
      `<rect x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="none" stroke="${c}" stroke-width="${stroke}"/>`,
      `<rect x="${f(tagX)}" y="${f(tagY)}" width="${tagW}" height="${tagH}" fill="${c}"/>`,
      `<text x="${f(tagX + stroke + 1)}" y="${f(tagY + tagH * 0.78)}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${font}" fill="${textColourOn(c)}">${text}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

function f(v: number): string {
  return Number.isFinite(v) ? (Math.round(v * 10) / 10).toString() : '0';
}

/** Draws the detections on the upright original and encodes it; returns the bytes and the mime type. */
export async function renderDetections(
  image: Uint8Array,
  dets: readonly DrawnDetection[],
  opts: RenderOptions,
): Promise<{ data: Buffer; contentType: string; width: number; height: number }> {
  // Rotate to upright into raw pixels first: composite must see the same orientation the boxes use.
  const upright = await sharp(image, { limitInputPixels: opts.maxPixels, failOn: 'error', pages: 1, page: 0 })
    .rotate()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = upright.info;
  const svg = Buffer.from(overlaySvg(width, height, dets));
  let pipe = sharp(upright.data, { raw: { width, height, channels } }).composite([{ input: svg, top: 0, left: 0 }]);
  if (opts.format === 'jpeg') pipe = pipe.flatten({ background: '#ffffff' }).jpeg({ quality: 88, mozjpeg: false });
  else pipe = pipe.png({ compressionLevel: 6 });
  const data = await pipe.toBuffer();
  return { data, contentType: opts.format === 'jpeg' ? 'image/jpeg' : 'image/png', width, height };
}
