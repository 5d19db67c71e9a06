// fmnist-scenes: synthetic detection images made of Fashion-MNIST items on procedural clutter. Every image
// draws from its own generator seeded by (seed, split, index), so output is byte-identical for a seed and
// does not depend on generation order.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../runtime/random.js';
import { iouXyxy } from '../boxes.js';
import { FMNIST_CLASSES, type FmnistSplit } from './fmnist.js';

export interface SceneOptions {
  size: number;
  minObjects: number;
  maxObjects: number;
  minSide: number;
  maxSide: number;
  /** Largest allowed IoU between two objects' boxes. */
  maxOverlap: number;
}

export const DEFAULT_SCENE: SceneOptions = { size: 128, minObjects: 0, maxObjects: 6, minSide: 12, maxSide: 96, maxOverlap: 0.2 };

export interface SceneObject {
  classId: number;
  /** Tight box in pixels: x1, y1 inclusive, x2, y2 exclusive. */
  x1: number; y1: number; x2: number; y2: number;
}

type Rand = () => number;

function hashSeed(seed: number, split: string, index: number): number {
  let h = 2166136261 ^ seed;
  for (const ch of `${split}:${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (Math.imul(h ^ (h >>> 13), 0x5bd1e995) ^ seed) >>> 0;
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Procedural clutter: a gradient, then a random mix of stripes, blobs, lines and noise. */
function paintBackground(rgb: Float32Array, S: number, r: Rand): void {
  const c0 = [r() * 255, r() * 255, r() * 255];
  const c1 = [r() * 255, r() * 255, r() * 255];
  const ang = r() * Math.PI * 2;
  const dx = Math.cos(ang), dy = Math.sin(ang);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = Math.min(1, Math.max(0, ((x - S / 2) * dx + (y - S / 2) * dy) / S + 0.5));
      const o = (y * S + x) * 3;
      for (let k = 0; k < 3; k++) rgb[o + k] = c0[k] * (1 - t) + c1[k] * t;
    }
  }
  if (r() < 0.5) {
    // Stripes / checker texture.
    const period = 4 + r() * 20, amp = 15 + r() * 50, a2 = r() * Math.PI, checker = r() < 0.3;
    const cx = Math.cos(a2), cy = Math.sin(a2);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let v = Math.sin(((x * cx + y * cy) / period) * Math.PI * 2);
        if (checker) v *= Math.sin(((-x * cy + y * cx) / period) * Math.PI * 2);
        const o = (y * S + x) * 3;
        for (let k = 0; k < 3; k++) rgb[o + k] += amp * v;
      }
    }
  }
  const blobs = Math.floor(r() * 4);
  for (let b = 0; b < blobs; b++) {
    const bx = r() * S, by = r() * S, rad = 5 + r() * 30, col = [r() * 255, r() * 255, r() * 255], a = 0.3 + r() * 0.5;
    for (let y = Math.max(0, Math.floor(by - rad)); y < Math.min(S, by + rad); y++) {
      for (let x = Math.max(0, Math.floor(bx - rad)); x < Math.min(S, bx + rad); x++) {
        const d = ((x - bx) ** 2 + (y - by) ** 2) / (rad * rad);
        if (d > 1) continue;
        const o = (y * S + x) * 3;
        for (let k = 0; k < 3; k++) rgb[o + k] = rgb[o + k] * (1 - a) + col[k] * a;
      }
    }
  }
  const lines = Math.floor(r() * 6);
  for (let l = 0; l < lines; l++) {
    const x0 = r() * S, y0 = r() * S, la = r() * Math.PI * 2, len = 10 + r() * S, col = [r() * 255, r() * 255, r() * 255];
    const width = r() < 0.7 ? 1 : 2;
    for (let t = 0; t < len; t += 0.5) {
      const px = Math.round(x0 + Math.cos(la) * t), py = Math.round(y0 + Math.sin(la) * t);
      for (let wy = 0; wy < width; wy++) {
        for (let wx = 0; wx < width; wx++) {
          const xx = px + wx, yy = py + wy;
          if (xx < 0 || yy < 0 || xx >= S || yy >= S) continue;
          const o = (yy * S + xx) * 3;
          for (let k = 0; k < 3; k++) rgb[o + k] = col[k];
        }
      }
    }
  }
  const noise = r() * 25;
  for (let i = 0; i < rgb.length; i++) rgb[i] += (r() - 0.5) * 2 * noise;
}

/** Tight box of an item's visible pixels in its 28×28 frame. */
function itemBounds(img: Uint8Array, off: number, rows: number, cols: number, thr: number): [number, number, number, number] | undefined {
  let x1 = cols, y1 = rows, x2 = -1, y2 = -1;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      if (img[off + y * cols + x] > thr) {
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
    }
  }
  return x2 < 0 ? undefined : [x1, y1, x2 + 1, y2 + 1];
}

function coverOfSmaller(a: SceneObject, b: SceneObject): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  return (iw * ih) / Math.min((a.x2 - a.x1) * (a.y2 - a.y1), (b.x2 - b.x1) * (b.y2 - b.y1));
}

/** Renders one scene: RGB bytes S×S×3 and its objects. */
export function renderScene(src: FmnistSplit, pool: Int32Array, seed: number, split: string, index: number, o: SceneOptions = DEFAULT_SCENE): { rgb: Uint8Array; objects: SceneObject[] } {
  const r = mulberry32(hashSeed(seed, split, index));
  const S = o.size;
  const acc = new Float32Array(S * S * 3);
  paintBackground(acc, S, r);
  const n = o.minObjects + Math.floor(r() * (o.maxObjects - o.minObjects + 1));
  const objects: SceneObject[] = [];
  const THR = 20;
  for (let k = 0; k < n; k++) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const item = pool[Math.floor(r() * pool.length)];
      const off = item * src.rows * src.cols;
      const b = itemBounds(src.images, off, src.rows, src.cols, THR);
      if (!b) break;
      const [bx1, by1, bx2, by2] = b;
      const bw = bx2 - bx1, bh = by2 - by1;
      // Log-uniform longest side, so small, medium and large objects are all common.
      const side = Math.exp(Math.log(o.minSide) + r() * (Math.log(o.maxSide) - Math.log(o.minSide)));
      const scale = side / Math.max(bw, bh);
      const w = Math.max(2, Math.round(bw * scale)), h = Math.max(2, Math.round(bh * scale));
      if (w > S || h > S) continue;
      const x = Math.floor(r() * (S - w + 1)), y = Math.floor(r() * (S - h + 1));
      const cand: SceneObject = { classId: src.labels[item], x1: x, y1: y, x2: x + w, y2: y + h };
      // Limited overlap: neither IoU nor the share of the smaller box that is covered may be large, so a
      // small item never hides inside a big one.
      if (objects.some((q) => iouXyxy(q.x1, q.y1, q.x2, q.y2, cand.x1, cand.y1, cand.x2, cand.y2) > o.maxOverlap || coverOfSmaller(q, cand) > 0.3)) continue;
      // Colour and contrast jitter; the item's grey level shades the colour and is its alpha.
      const col = [r() * 255, r() * 255, r() * 255];
      const contrast = 0.6 + r() * 0.8;
      const invert = r() < 0.2;
      let tx1 = S, ty1 = S, tx2 = -1, ty2 = -1;
      for (let yy = 0; yy < h; yy++) {
        for (let xx = 0; xx < w; xx++) {
          // Bilinear sample of the item's crop.
          const sx = bx1 + ((xx + 0.5) / w) * bw - 0.5, sy = by1 + ((yy + 0.5) / h) * bh - 0.5;
          const x0 = Math.max(0, Math.min(src.cols - 1, Math.floor(sx))), y0 = Math.max(0, Math.min(src.rows - 1, Math.floor(sy)));
          const x1 = Math.min(src.cols - 1, x0 + 1), y1 = Math.min(src.rows - 1, y0 + 1);
          const fx = Math.min(1, Math.max(0, sx - x0)), fy = Math.min(1, Math.max(0, sy - y0));
          const p = (q: number, qq: number): number => src.images[off + qq * src.cols + q];
          const v = (p(x0, y0) * (1 - fx) + p(x1, y0) * fx) * (1 - fy) + (p(x0, y1) * (1 - fx) + p(x1, y1) * fx) * fy;
          if (v <= THR) continue;
          const a = Math.min(1, (v / 255) * 1.6);
          const shade = invert ? 1.2 - v / 255 : 0.3 + (0.7 * v) / 255;
          const oo = ((y + yy) * S + (x + xx)) * 3;
          for (let c = 0; c < 3; c++) acc[oo + c] = acc[oo + c] * (1 - a) + clamp255(col[c] * shade * contrast + (1 - contrast) * 128) * a;
          if (x + xx < tx1) tx1 = x + xx;
          if (x + xx > tx2) tx2 = x + xx;
          if (y + yy < ty1) ty1 = y + yy;
          if (y + yy > ty2) ty2 = y + yy;
        }
      }
      if (tx2 < 0) break;
      objects.push({ classId: cand.classId, x1: tx1, y1: ty1, x2: tx2 + 1, y2: ty2 + 1 });
      break;
    }
  }
  const rgb = new Uint8Array(S * S * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(clamp255(acc[i]));
  return { rgb, objects };
}

/** YOLO label lines: class cx cy w h, normalized, fixed precision so files are stable. */
export function labelLines(objects: SceneObject[], S: number): string {
  return objects
    .map((b) => `${b.classId} ${((b.x1 + b.x2) / 2 / S).toFixed(6)} ${((b.y1 + b.y2) / 2 / S).toFixed(6)} ${((b.x2 - b.x1) / S).toFixed(6)} ${((b.y2 - b.y1) / S).toFixed(6)}`)
    .map((l) => `${l}\n`)
    .join('');
}

export interface ScenesPlan {
  seed: number;
  size: number;
  counts: { train: number; val: number; test: number };
}

/**
 * Writes images/{split}/NNNNNN.png, labels/{split}/NNNNNN.txt, classes.txt and data.yaml. Train objects come
 * from Fashion-MNIST train; val and test from disjoint halves of Fashion-MNIST test (unseen instances).
 */
export async function writeScenes(train: FmnistSplit, test: FmnistSplit, out: string, plan: ScenesPlan, onImage?: () => void): Promise<void> {
  const half = Math.floor(test.count / 2);
  const pools: Record<'train' | 'val' | 'test', { src: FmnistSplit; pool: Int32Array }> = {
    train: { src: train, pool: Int32Array.from({ length: train.count }, (_, i) => i) },
    val: { src: test, pool: Int32Array.from({ length: half }, (_, i) => i) },
    test: { src: test, pool: Int32Array.from({ length: test.count - half }, (_, i) => half + i) },
  };
  const opts = { ...DEFAULT_SCENE, size: plan.size, maxSide: Math.min(DEFAULT_SCENE.maxSide, Math.round(plan.size * 0.75)) };
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'classes.txt'), FMNIST_CLASSES.map((c) => `${c}\n`).join(''));
  await writeFile(join(out, 'data.yaml'), [`# fmnist-scenes, seed ${plan.seed}, ${plan.size}x${plan.size}`, 'path: .', 'train: images/train', 'val: images/val', 'test: images/test', `nc: ${FMNIST_CLASSES.length}`, `names: [${FMNIST_CLASSES.map((c) => `'${c}'`).join(', ')}]`, ''].join('\n'));
  for (const split of ['train', 'val', 'test'] as const) {
    const n = plan.counts[split];
    await mkdir(join(out, 'images', split), { recursive: true });
    await mkdir(join(out, 'labels', split), { recursive: true });
    const { src, pool } = pools[split];
    for (let i = 0; i < n; i++) {
      const { rgb, objects } = renderScene(src, pool, plan.seed, split, i, opts);
      const name = String(i).padStart(6, '0');
      const png = await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: plan.size, height: plan.size, channels: 3 } })
        .png({ compressionLevel: 6, adaptiveFiltering: false })
        .toBuffer();
      await writeFile(join(out, 'images', split, `${name}.png`), png);
      await writeFile(join(out, 'labels', split, `${name}.txt`), labelLines(objects, plan.size));
      onImage?.();
    }
  }
}
