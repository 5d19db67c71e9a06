// Hostile and awkward inputs for the hardening suite, built in memory at test time so nothing large is
// committed. Each builder is small and deterministic.
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  td.copy(out, 4);
  out.writeUInt32BE(crc32(td), 8 + data.length);
  return out;
}

/**
 * A PNG whose header claims width × height (8-bit RGB) with a deflate stream of zero rows: a few kilobytes
 * on disk, width × height × 3 bytes if anyone decoded it. Only the first rows are actually compressed,
 * which keeps building it fast; a decoder that trusts the header still has to allocate the whole image.
 */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc((1 + width * 3) * 64); // 64 zero rows, filter byte 0
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows, { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A GIF89a with `frames` 1 × 1 frames on a `screen` × `screen` canvas (at most 65535), written byte by byte (the classic minimal LZW block). */
export function manyFrameGif(frames: number, screen = 1): Buffer {
  const head = Buffer.from([
    ...Buffer.from('GIF89a', 'latin1'),
    screen & 0xff, screen >> 8, screen & 0xff, screen >> 8, // screen × screen logical screen
    0x80, 0, 0, // global colour table of 2 entries
    0, 0, 0, 255, 255, 255,
    0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 3, 1, 0, 0, 0, // loop forever
  ]);
  const frame = Buffer.from([
    0x21, 0xf9, 4, 0, 1, 0, 0, 0, // graphic control: 10 ms delay
    0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, // image descriptor 1 × 1 at 0,0
    2, 2, 0x44, 0x01, 0, // LZW min code 2: clear, index 0, end
  ]);
  return Buffer.concat([head, ...Array.from({ length: frames }, () => frame), Buffer.from([0x3b])]);
}

/** A small scene with a white square the fake detector finds, as raw RGB. */
async function scene(width = 160, height = 120): Promise<Sharp> {
  const square = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ffffff' } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#404860' } }).composite([{ input: square, left: 30, top: 30 }]);
}

export interface Images {
  jpeg: Buffer;
  png: Buffer;
  cmykJpeg: Buffer;
  png16: Buffer;
  grayPng: Buffer;
  grayJpeg: Buffer;
  alphaPng: Buffer;
  exifRotatedJpeg: Buffer;
}

/** Valid images in the formats a camera or editor produces; the service must accept every one. */
export async function validImages(): Promise<Images> {
  const base = await (await scene()).png().toBuffer();
  const s = () => sharp(base);
  return {
    jpeg: await s().jpeg().toBuffer(),
    png: await s().png().toBuffer(),
    cmykJpeg: await s().toColourspace('cmyk').jpeg().toBuffer(),
    png16: await s().toColourspace('rgb16').png().toBuffer(),
    grayPng: await s().grayscale().png().toBuffer(),
    grayJpeg: await s().grayscale().jpeg().toBuffer(),
    alphaPng: await s().ensureAlpha(0.5).png().toBuffer(),
    // EXIF orientation 6: stored landscape, shown portrait.
    exifRotatedJpeg: await s().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
  };
}

export const SVG_PLAIN = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#fff"/></svg>';
/** An SVG that would make a naive renderer fetch from the network (nothing listens there). */
export const SVG_EXTERNAL =
  '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">' +
  '<image href="http://127.0.0.1:9/x.png" xlink:href="http://127.0.0.1:9/x.png" width="64" height="64"/></svg>';

/** A JSON document nested `depth` arrays deep, as text (never parsed here). */
export function deepJson(depth: number, key = 'image'): string {
  return `{"${key}":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

/** A minimal zip local file header + end-of-central-directory, enough to make a polyglot look like a zip. */
export function zipTail(): Buffer {
  const name = Buffer.from('evil.html', 'latin1');
  const body = Buffer.from('<html><script>alert(1)</script></html>', 'latin1');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt32LE(body.length, 18);
  local.writeUInt32LE(body.length, 22);
  local.writeUInt16LE(name.length, 26);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  return Buffer.concat([local, name, body, eocd]);
}
