import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { blurRegions, clampRegion, growRegion } from '../../../src/vision/faces/blur.js';

const W = 96;
const H = 64;

// Deterministic high-contrast noise: a blurred or pixelated region is then easy to tell apart.
function noiseImage(): Buffer {
  const px = Buffer.alloc(W * H * 3);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  return px;
}

async function png(px: Buffer): Promise<Buffer> {
  return sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}

async function decode(img: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(img).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function variance(d: { data: Buffer; width: number; channels: number }, x0: number, y0: number, w: number, h: number): number {
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const v = d.data[(y * d.width + x) * d.channels];
      sum += v;
      sq += v * v;
      n++;
    }
  }
  return sq / n - (sum / n) ** 2;
}

const box = { x: 10.4, y: 8.6, width: 40, height: 32 }; // → pixels 10..51 × 8..41

test('clampRegion rounds outward, clips to the image and drops empty regions', () => {
  assert.deepEqual(clampRegion(box, W, H), { x: 10, y: 8, width: 41, height: 33 });
  assert.deepEqual(clampRegion({ x: -5, y: -5, width: 20, height: 10 }, W, H), { x: 0, y: 0, width: 15, height: 5 });
  assert.equal(clampRegion({ x: W + 1, y: 0, width: 5, height: 5 }, W, H), undefined);
  assert.equal(clampRegion({ x: 3, y: 3, width: 0, height: 5 }, W, H), undefined);
  assert.equal(clampRegion({ x: Number.NaN, y: 3, width: 4, height: 5 }, W, H), undefined);
});

for (const mode of ['pixelate', 'gaussian'] as const) {
  test(`${mode}: only the region changes, its detail drops, and the format is kept`, async () => {
    const src = noiseImage();
    const out = await blurRegions(await png(src), [box], { mode, strength: 50 });
    assert.equal((await sharp(out).metadata()).format, 'png');
    const d = await decode(out);
    assert.equal(d.width, W);
    assert.equal(d.height, H);
    const r = clampRegion(box, W, H)!;
    let changedInside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        const inside = x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
        const same = d.data[i] === src[i] && d.data[i + 1] === src[i + 1] && d.data[i + 2] === src[i + 2];
        if (!inside) assert.ok(same, `pixel ${x},${y} outside the region changed`);
        else if (!same) changedInside++;
      }
    }
    assert.ok(changedInside > 0.9 * r.width * r.height, `only ${changedInside} pixels changed inside`);
    const before = variance({ data: src, width: W, channels: 3 }, r.x, r.y, r.width, r.height);
    const after = variance(d, r.x, r.y, r.width, r.height);
    assert.ok(after < before / 4, `variance ${before} → ${after}`);
  });
}

test('pixelate paints constant blocks whose size follows the strength', async () => {
  const src = await png(noiseImage());
  const region = { x: 0, y: 0, width: 64, height: 64 };
  const distinctRows = async (strength: number): Promise<number> => {
    const d = await decode(await blurRegions(src, [region], { mode: 'pixelate', strength }));
    const rows = new Set<string>();
    for (let y = 0; y < 64; y++) rows.add(String(d.data.subarray(y * W * 3, y * W * 3 + 64 * 3).toString('hex')));
    return rows.size;
  };
  // strength 50 → blocks of 8 px → 8 distinct rows; strength 100 → 16 px blocks → 4.
  assert.equal(await distinctRows(50), 8);
  assert.equal(await distinctRows(100), 4);
});

test('stronger gaussian blur removes more detail', async () => {
  const src = await png(noiseImage());
  const region = { x: 8, y: 8, width: 48, height: 48 };
  const v = async (strength: number): Promise<number> =>
    variance(await decode(await blurRegions(src, [region], { mode: 'gaussian', strength })), 16, 16, 32, 32);
  const weak = await v(5);
  const strong = await v(60);
  assert.ok(strong < weak, `weak ${weak} strong ${strong}`);
});

test('jpeg stays jpeg; with nothing to hide the input comes back untouched', async () => {
  const jpeg = await sharp(noiseImage(), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  const out = await blurRegions(jpeg, [box], { mode: 'gaussian', strength: 30 });
  assert.equal((await sharp(out).metadata()).format, 'jpeg');
  assert.notDeepEqual(out, jpeg);
  assert.equal(await blurRegions(jpeg, [], { mode: 'gaussian', strength: 30 }), jpeg);
  assert.equal(await blurRegions(jpeg, [{ x: 500, y: 500, width: 10, height: 10 }], { mode: 'pixelate', strength: 30 }), jpeg);
});

test('regions follow EXIF orientation: boxes are in upright pixels', async () => {
  // A 96×64 picture stored rotated (orientation 6 → displayed 64×96).
  const stored = await sharp(noiseImage(), { raw: { width: W, height: H, channels: 3 } }).png().withMetadata({ orientation: 6 }).toBuffer();
  const out = await blurRegions(stored, [{ x: 0, y: 80, width: 64, height: 16 }], { mode: 'pixelate', strength: 50 });
  // y = 80 exists only in the upright picture: ignoring the orientation would clip the box away.
  assert.notEqual(out, stored);
  const d = await decode(out);
  assert.equal(d.width, H);
  assert.equal(d.height, W);
  const upright = await decode(await sharp(stored).rotate().png().toBuffer());
  assert.ok(variance(d, 0, 80, 64, 16) < variance(upright, 0, 80, 64, 16) / 4);
  assert.equal(variance(d, 0, 0, 64, 64), variance(upright, 0, 0, 64, 64));
});

test('grow widens every side by a fraction of the region', async () => {
  assert.deepEqual(growRegion({ x: 10, y: 20, width: 40, height: 20 }, 0.25), { x: 0, y: 15, width: 60, height: 30 });
  const src = noiseImage();
  const out = await decode(await blurRegions(await png(src), [{ x: 20, y: 20, width: 40, height: 20 }], { mode: 'pixelate', strength: 50, grow: 0.25 }));
  // Pixel (12, 16) lies outside the box but inside the grown one (10..70 × 15..45); (5, 5) outside both.
  const at = (d: Buffer, x: number, y: number): string => d.subarray((y * W + x) * 3, (y * W + x) * 3 + 3).toString('hex');
  assert.notEqual(at(out.data, 12, 16), at(src, 12, 16));
  assert.equal(at(out.data, 5, 5), at(src, 5, 5));
});

test('bad options are rejected', async () => {
  const src = await png(noiseImage());
  await assert.rejects(blurRegions(src, [box], { mode: 'pixelate', strength: 0 }), RangeError);
  await assert.rejects(blurRegions(src, [box], { mode: 'gaussian', strength: 101 }), RangeError);
  await assert.rejects(blurRegions(src, [box], { mode: 'swirl' as 'gaussian', strength: 10 }), RangeError);
  await assert.rejects(blurRegions(src, [box], { mode: 'gaussian', strength: 10, grow: -0.1 }), RangeError);
});
