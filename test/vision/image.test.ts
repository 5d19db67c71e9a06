import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import {
  ImageError,
  PAD_GREY,
  applyLetterbox,
  decodeToInput,
  letterboxFor,
  padSquareResizeBilinear,
  probeImage,
  sniffFormat,
  squareLetterboxFor,
  undoLetterbox,
} from '../../src/vision/image.js';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { overlaySvg, renderDetections, escapeXml } from '../../src/vision/render.js';

const DST = { width: 160, height: 128 };

/** A grey canvas with one white rectangle, encoded as asked. */
async function scene(w: number, h: number, rect: { x: number; y: number; w: number; h: number }, fmt: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const patch = await sharp({ create: { width: rect.w, height: rect.h, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const img = sharp({ create: { width: w, height: h, channels: 3, background: '#404040' } }).composite([{ input: patch, left: rect.x, top: rect.y }]);
  return fmt === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

/** Bounding box of near-white pixels in a dst-sized RGB buffer. */
function whiteBox(px: Uint8Array | Float32Array, W: number, H: number): [number, number, number, number] {
  let x1 = W, y1 = H, x2 = -1, y2 = -1;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = 3 * (y * W + x);
      if (px[i] > 200 && px[i + 1] > 200 && px[i + 2] > 200) {
        x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
      }
    }
  return [x1, y1, x2 + 1, y2 + 1];
}

/** PNG with the given header size but almost no data: what a decompression bomb looks like at the door. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0))]);
}

test('sniffFormat recognises each accepted container and refuses SVG and text', async () => {
  const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } });
  assert.equal(sniffFormat(await base.clone().jpeg().toBuffer()), 'jpeg');
  assert.equal(sniffFormat(await base.clone().png().toBuffer()), 'png');
  assert.equal(sniffFormat(await base.clone().webp().toBuffer()), 'webp');
  assert.equal(sniffFormat(await base.clone().gif().toBuffer()), 'gif');
  assert.equal(sniffFormat(await base.clone().tiff().toBuffer()), 'tiff');
  assert.equal(sniffFormat(await base.clone().avif().toBuffer()), 'avif');
  assert.equal(sniffFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
  assert.equal(sniffFormat(Buffer.from('hello world, not an image')), undefined);
  assert.equal(sniffFormat(new Uint8Array(0)), undefined);
});

test('letterbox maps boxes forward and back exactly, for wide and tall images', () => {
  for (const [w, h] of [[1920, 1080], [300, 600], [160, 128], [7, 1000]]) {
    const lb = letterboxFor(w, h, DST.width, DST.height);
    assert.ok(lb.innerWidth <= DST.width && lb.innerHeight <= DST.height);
    // One side fills the input, the other is padded evenly (±1 for odd remainders).
    assert.ok(lb.innerWidth === DST.width || lb.innerHeight === DST.height, `${w}x${h}`);
    assert.ok(Math.abs(DST.width - lb.innerWidth - 2 * lb.padLeft) <= 1);
    const box = Float32Array.from([w * 0.1, h * 0.2, w * 0.7, h * 0.9]);
    const back = undoLetterbox(applyLetterbox(box, lb), lb);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(back[i] - box[i]) < 1e-2 * Math.max(w, h), `${w}x${h} coord ${i}: ${back[i]} vs ${box[i]}`);
  }
});

test('undoLetterbox clips boxes that reach into the padding', () => {
  const lb = letterboxFor(1920, 1080, DST.width, DST.height); // padded top and bottom
  assert.ok(lb.padTop > 0);
  const out = undoLetterbox(Float32Array.from([-10, 0, 200, DST.height]), lb);
  assert.deepEqual(Array.from(out), [0, 0, 1920, 1080]);
});

test('decodeToInput letterboxes with grey padding and keeps the object where the geometry says', async () => {
  const img = await scene(1920, 1080, { x: 400, y: 300, w: 400, h: 400 }, 'jpeg');
  const d = await decodeToInput(img, DST);
  assert.equal(d.pixels.length, DST.width * DST.height * 3);
  assert.equal(d.format, 'jpeg');
  assert.deepEqual([d.letterbox.srcWidth, d.letterbox.srcHeight], [1920, 1080]);
  // The top-left pixel is padding (16:9 into 5:4 pads top and bottom).
  assert.deepEqual(Array.from(d.pixels.subarray(0, 3)), [PAD_GREY, PAD_GREY, PAD_GREY]);
  const found = undoLetterbox(Float32Array.from(whiteBox(d.pixels, DST.width, DST.height)), d.letterbox);
  const want = [400, 300, 800, 700];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(found[i] - want[i]) <= 1920 / DST.width * 1.5, `coord ${i}: ${found[i]} vs ${want[i]}`);
});

test('EXIF orientation is honoured: sizes and positions are those of the upright image', async () => {
  // Stored 200×100 with the patch at x 10..60, y 20..50; orientation 6 shows it rotated 90° clockwise,
  // so upright it is 100×200 with the patch at x 50..80, y 10..60.
  const raw = await scene(200, 100, { x: 10, y: 20, w: 50, h: 30 }, 'png');
  const rotated = await sharp(raw).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const info = await probeImage(rotated);
  assert.deepEqual([info.width, info.height, info.orientation], [100, 200, 6]);
  const d = await decodeToInput(rotated, DST);
  const found = undoLetterbox(Float32Array.from(whiteBox(d.pixels, DST.width, DST.height)), d.letterbox);
  const want = [50, 10, 80, 60];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(found[i] - want[i]) <= 3, `coord ${i}: ${found[i]} vs ${want[i]}`);
});

test('CMYK, 16-bit, 1-channel grey, alpha, animated GIF, WebP, TIFF and AVIF all decode to sRGB RGB bytes', async () => {
  const red = sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 220, g: 30, b: 30 } } });
  const f1 = await red.clone().png().toBuffer();
  const f2 = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#00ff00' } }).png().toBuffer();
  const cases: [string, Buffer, (p: number[]) => boolean][] = [
    ['cmyk jpeg', await red.clone().toColourspace('cmyk').jpeg().toBuffer(), ([r, g, b]) => r > 170 && g < 80 && b < 80],
    ['16-bit png', await red.clone().toColourspace('rgb16').png().toBuffer(), ([r, g, b]) => r > 200 && g < 50 && b < 50],
    ['1-channel grey png', await red.clone().toColourspace('b-w').png().toBuffer(), ([r, g, b]) => r === g && g === b && r > 40 && r < 140],
    ['alpha png', await sharp({ create: { width: 64, height: 48, channels: 4, background: { r: 220, g: 30, b: 30, alpha: 0 } } }).png().toBuffer(), ([r, g, b]) => r === PAD_GREY && g === PAD_GREY && b === PAD_GREY],
    ['animated gif (first frame)', await sharp([f1, f2], { join: { animated: true } }).gif().toBuffer(), ([r, g, b]) => r > 170 && g < 80 && b < 80],
    ['webp', await red.clone().webp().toBuffer(), ([r, g, b]) => r > 170 && g < 80 && b < 80],
    ['tiff', await red.clone().tiff().toBuffer(), ([r, g, b]) => r > 200 && g < 50 && b < 50],
    ['avif', await red.clone().avif().toBuffer(), ([r, g, b]) => r > 170 && g < 80 && b < 80],
  ];
  for (const [name, buf, ok] of cases) {
    const d = await decodeToInput(buf, DST);
    assert.equal(d.pixels.length, DST.width * DST.height * 3, name);
    const mid = 3 * (64 * DST.width + 80);
    const px = Array.from(d.pixels.subarray(mid, mid + 3));
    assert.ok(ok(px), `${name}: centre pixel ${px}`);
  }
});

test('a decompression bomb is refused from its header, before any decoding', async () => {
  const bomb = pngHeaderOnly(30000, 30000);
  assert.ok(bomb.length < 2000);
  await assert.rejects(decodeToInput(bomb, DST, { maxPixels: 40_000_000 }), (e: unknown) => e instanceof ImageError && e.code === 'too-many-pixels' && /900000000/.test(e.message));
});

test('empty, truncated, and non-image inputs fail with the right codes', async () => {
  const jpg = await scene(300, 200, { x: 10, y: 10, w: 50, h: 50 }, 'jpeg');
  await assert.rejects(decodeToInput(new Uint8Array(0), DST), (e: unknown) => e instanceof ImageError && e.code === 'empty');
  await assert.rejects(decodeToInput(jpg.subarray(0, Math.floor(jpg.length / 2)), DST), (e: unknown) => e instanceof ImageError && e.code === 'undecodable');
  const png = await scene(300, 200, { x: 10, y: 10, w: 50, h: 50 }, 'png');
  await assert.rejects(decodeToInput(png.subarray(0, 60), DST), (e: unknown) => e instanceof ImageError && e.code === 'undecodable');
  await assert.rejects(decodeToInput(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), DST), (e: unknown) => e instanceof ImageError && e.code === 'unsupported');
  // Right magic, garbage after it.
  await assert.rejects(decodeToInput(Buffer.concat([jpg.subarray(0, 3), Buffer.alloc(500, 7)]), DST), (e: unknown) => e instanceof ImageError && e.code === 'undecodable');
});

test('overlay SVG escapes labels and draws one box per detection', () => {
  const svg = overlaySvg(100, 80, [
    { label: 'a<b>&"c', classId: 0, score: 0.5, box: { x: 1, y: 2, width: 30, height: 40 } },
    { label: 'dog', classId: 1, score: 0.25, box: { x: 50, y: 0, width: 10, height: 10 } },
  ]);
  assert.ok(svg.includes(escapeXml('a<b>&"c')));
  assert.ok(!svg.includes('a<b>'));
  assert.equal((svg.match(/fill="none"/g) ?? []).length, 2);
  assert.ok(svg.includes('50%') && svg.includes('25%'));
});

test('renderDetections draws on the upright original and the result decodes', async () => {
  const img = await scene(320, 240, { x: 100, y: 80, w: 60, h: 40 }, 'jpeg');
  const dets = [{ label: 'white', classId: 0, score: 0.9, box: { x: 100, y: 80, width: 60, height: 40 } }];
  for (const format of ['png', 'jpeg'] as const) {
    const out = await renderDetections(img, dets, { format, maxPixels: 1e8 });
    const meta = await sharp(out.data).metadata();
    assert.equal(meta.format, format);
    assert.deepEqual([meta.width, meta.height], [320, 240]);
    // The box edge is drawn in the class colour (palette 0 is red): the grey background changed there.
    const { data, info } = await sharp(out.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    const at = (x: number, y: number) => Array.from(data.subarray(3 * (y * 320 + x), 3 * (y * 320 + x) + 3));
    const [r, g, b] = at(100, 100);
    assert.ok(r > 150 && g < 100 && b < 120, `box edge pixel ${[r, g, b]}`);
    const [r2, g2] = at(300, 230);
    assert.ok(Math.abs(r2 - g2) < 20, 'far from any box the image is unchanged');
  }
});

test('renderDetections copes with CMYK, grey, 16-bit, alpha and EXIF-rotated inputs', async () => {
  const base = sharp({ create: { width: 120, height: 80, channels: 3, background: '#3050a0' } });
  const inputs: [string, Buffer, [number, number]][] = [
    ['cmyk', await base.clone().toColourspace('cmyk').jpeg().toBuffer(), [120, 80]],
    ['grey', await base.clone().toColourspace('b-w').png().toBuffer(), [120, 80]],
    ['16-bit', await base.clone().toColourspace('rgb16').png().toBuffer(), [120, 80]],
    ['alpha', await sharp({ create: { width: 120, height: 80, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.3 } } }).png().toBuffer(), [120, 80]],
    ['exif 6', await base.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(), [80, 120]],
  ];
  const dets = [{ label: 'x', classId: 3, score: 0.7, box: { x: 5, y: 5, width: 40, height: 30 } }];
  for (const [name, buf, [w, h]] of inputs) {
    for (const format of ['jpeg', 'png'] as const) {
      const out = await renderDetections(buf, dets, { format, maxPixels: 1e7 });
      const meta = await sharp(out.data).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], [format, w, h], `${name} → ${format}`);
      assert.ok(meta.orientation === undefined || meta.orientation === 1, `${name}: no orientation left to apply twice`);
    }
  }
});

test('top-left letterbox puts the picture in the corner and still maps boxes back', async () => {
  const img = await scene(1920, 1080, { x: 400, y: 300, w: 400, h: 400 }, 'png');
  const d = await decodeToInput(img, DST, undefined, 'top-left');
  assert.equal(d.letterbox.padLeft, 0);
  assert.equal(d.letterbox.padTop, 0);
  // The padding is all at the bottom: the last row is grey, the first row is picture (not padding grey).
  const last = (DST.height - 1) * DST.width * 3;
  assert.deepEqual(Array.from(d.pixels.subarray(last, last + 3)), [PAD_GREY, PAD_GREY, PAD_GREY]);
  assert.ok(Math.abs(d.pixels[0] - 0x40) <= 2, `first pixel ${d.pixels[0]} should be the picture's grey`);
  const found = undoLetterbox(Float32Array.from(whiteBox(d.pixels, DST.width, DST.height)), d.letterbox);
  const want = [400, 300, 800, 700];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(found[i] - want[i]) <= (1920 / DST.width) * 1.5, `coord ${i}: ${found[i]} vs ${want[i]}`);
});

/** Deterministic, varied bytes: h × w × 3. */
function noise(w: number, h: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = s >>> 24;
  }
  return px;
}

test('padSquareResizeBilinear is tf.pad then tf.image.resizeBilinear (no corner alignment, no half-pixel centres)', async () => {
  await initBackend();
  // Down- and upscales, wide and tall, ratios that are and are not exact in binary, both alignments.
  const cases: [number, number, number, 'top-left' | 'center', number][] = [
    [301, 173, 64, 'top-left', 0],
    [173, 301, 64, 'top-left', 0],
    [640, 480, 416, 'top-left', 0],
    [20, 13, 48, 'top-left', 0],
    [301, 174, 64, 'center', 7],
    [13, 20, 48, 'center', 200],
    [64, 64, 64, 'top-left', 0],
  ];
  for (const [w, h, side, align, fill] of cases) {
    const src = noise(w, h, w * 31 + h);
    const m = Math.max(w, h);
    const left = align === 'center' ? Math.floor((m - w) / 2) : 0;
    const top = align === 'center' ? Math.floor((m - h) / 2) : 0;
    const want = tf.tidy(() => {
      const img = tf.tensor3d(src, [h, w, 3], 'float32');
      const sq = tf.pad(img, [[top, m - h - top], [left, m - w - left], [0, 0]], fill);
      return tf.image.resizeBilinear(sq, [side, side], false, false).dataSync() as Float32Array;
    });
    const got = padSquareResizeBilinear(src, w, h, side, fill, align);
    assert.equal(got.length, want.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert.ok(worst <= 1e-3, `${w}×${h} → ${side} ${align}: max |Δ| ${worst}`);
  }
});

test("pad-square-bilinear decodes to floats, pads bottom/right with the model's fill and maps boxes back", async () => {
  const side = 96;
  const img = await scene(1920, 1080, { x: 400, y: 300, w: 400, h: 400 }, 'png');
  const d = await decodeToInput(img, { width: side, height: side }, undefined, 'top-left', 0, 'pad-square-bilinear');
  assert.ok(d.pixels instanceof Float32Array, 'floats: rounding them to bytes moves face scores');
  assert.equal(d.pixels.length, side * side * 3);
  assert.deepEqual(d.letterbox, squareLetterboxFor(1920, 1080, side, 'top-left'));
  assert.deepEqual([d.letterbox.innerWidth, d.letterbox.innerHeight, d.letterbox.padLeft, d.letterbox.padTop], [96, 54, 0, 0]);
  // The same values as the resize over sharp's full-resolution decode.
  const full = await sharp(img).removeAlpha().raw().toBuffer();
  assert.deepEqual(Array.from(d.pixels), Array.from(padSquareResizeBilinear(new Uint8Array(full), 1920, 1080, side, 0)));
  // Rows past the picture are padding: exactly the fill.
  const firstPadRow = Math.ceil((1080 * side) / 1920);
  assert.ok(d.pixels.subarray(firstPadRow * side * 3).every((v) => v === 0), 'padding is black');
  assert.ok(Math.abs(d.pixels[0] - 0x40) < 1e-3, `first pixel ${d.pixels[0]} is the picture's grey`);
  const found = undoLetterbox(Float32Array.from(whiteBox(d.pixels, side, side)), d.letterbox);
  const want = [400, 300, 800, 700];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(found[i] - want[i]) <= (1920 / side) * 1.5, `coord ${i}: ${found[i]} vs ${want[i]}`);
});

test('pad-square-bilinear follows EXIF orientation and centre alignment, and refuses a non-square input', async () => {
  const side = 64;
  // Stored 200 wide and 120 high; upright (EXIF 6) it is 120×200, so the padding goes left and right.
  const stored = await scene(200, 120, { x: 20, y: 10, w: 60, h: 40 }, 'jpeg');
  const rotated = await sharp(stored).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const d = await decodeToInput(rotated, { width: side, height: side }, undefined, 'center', 9, 'pad-square-bilinear');
  assert.deepEqual([d.letterbox.srcWidth, d.letterbox.srcHeight], [120, 200]);
  assert.equal(d.letterbox.innerWidth, Math.round((120 * side) / 200));
  assert.equal(d.letterbox.padLeft, (40 * side) / 200, 'the 80 columns of padding split evenly, in input pixels');
  assert.equal(d.letterbox.padTop, 0);
  assert.equal(d.pixels[0], 9, 'top-left corner is padding');
  assert.equal(d.pixels[(side - 1) * 3], 9, 'top-right corner is padding');
  await assert.rejects(decodeToInput(stored, { width: 64, height: 48 }, undefined, 'top-left', 0, 'pad-square-bilinear'), /square/);
});
