// Decode cost per request: image bytes → letterboxed model input, for photo-sized and small inputs.
// Run: npx tsx bench/decode.ts  (prints medians of N runs measured in this process)
import sharp from 'sharp';
import { decodeToInput, type InputResize } from '../src/vision/image.js';

const N = Number(process.env.N ?? 30);

async function photo(w: number, h: number, fmt: 'jpeg' | 'png' | 'webp'): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  let s = 1;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    raw[i] = ((i / 3) % w) / 8 + ((s >>> 16) & 63);
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).toFormat(fmt, { quality: 90 }).toBuffer();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const big = await photo(4000, 3000, 'jpeg');
const cases: [string, Buffer, { width: number; height: number }, InputResize?][] = [
  ['jpeg 1920×1080 → 128²', await photo(1920, 1080, 'jpeg'), { width: 128, height: 128 }],
  ['jpeg 1920×1080 → 512²', await photo(1920, 1080, 'jpeg'), { width: 512, height: 512 }],
  ['jpeg 4032×3024 → 128²', await photo(4032, 3024, 'jpeg'), { width: 128, height: 128 }],
  ['jpeg 4000×3000 → 512²', big, { width: 512, height: 512 }],
  // The faces model's decode: full-resolution decode, then TF's bilinear resize of the padded square.
  ['jpeg 4000×3000 → 512² pad-sq', big, { width: 512, height: 512 }, 'pad-square-bilinear'],
  ['png 1920×1080 → 128²', await photo(1920, 1080, 'png'), { width: 128, height: 128 }],
  ['webp 1920×1080 → 128²', await photo(1920, 1080, 'webp'), { width: 128, height: 128 }],
  ['jpeg 128×128 → 128²', await photo(128, 128, 'jpeg'), { width: 128, height: 128 }],
];
console.log(`sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, sharp threads ${sharp.concurrency()}, N=${N}`);
for (const [name, buf, dst, resize] of cases) {
  const run = () => (resize ? decodeToInput(buf, dst, undefined, 'top-left', 0, resize) : decodeToInput(buf, dst));
  await run(); // warm
  const t: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await run();
    t.push(performance.now() - t0);
  }
  console.log(`${name.padEnd(26)} ${(buf.length / 1024).toFixed(0).padStart(6)} KiB  median ${median(t).toFixed(2)} ms  min ${Math.min(...t).toFixed(2)} ms`);
}
