// Which anchor point NanoDet's GFL head was trained with, measured without ground truth: a network trained
// with horizontal-flip augmentation should find mirrored boxes in a mirrored photo. With the anchor at
// (x + offset)·stride, a wrong offset shifts every box of the mirrored photo, mapped back, by 2·Δoffset·stride.
// Prints, per offset, the mean signed x-shift of matched boxes (pixels of the photo) and their mean IoU.
import { readFileSync, existsSync } from 'node:fs';
import sharp from 'sharp';
import { initBackend } from '../src/runtime/backend.js';
import { loadRegistry } from '../src/runtime/registry.js';
import type { DetectorModel } from '../src/runtime/models.js';
import { decodeToInput, undoLetterbox } from '../src/vision/image.js';
import { postprocessCandidates } from '../src/vision/nms.js';
import { iou } from '../src/vision/boxes.js';
import { NanoDetDetector } from '../src/vision/nanodet/model.js';

const PHOTOS = [
  '/usr/lib/python3/dist-packages/skimage/data/astronaut.png',
  '/usr/lib/python3/dist-packages/skimage/data/chelsea.png',
  '/usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png',
  '/usr/lib/python3/dist-packages/skimage/data/horse.png',
  '/usr/share/doc/opencv-doc/examples/data/messi5.jpg',
  '/usr/share/doc/opencv-doc/examples/data/basketball1.png',
  'test/fixtures/camera.jpg',
].filter((f) => existsSync(f));

await initBackend('wasm');
const registry = await loadRegistry('models');
const model = registry.get('coco') as DetectorModel & NanoDetDetector;
const cfg = (model as unknown as { cfg: { centerOffset: number } }).cfg;

async function boxes(img: Buffer, width: number): Promise<{ b: number[]; c: number }[]> {
  const d = await decodeToInput(img, model.inputSize, undefined, 'center', model.letterboxFill);
  const [cand] = await model.predict(d.pixels, 1, 'gfl', { scoreThreshold: 0.05 });
  const k = postprocessCandidates(cand, { scoreThreshold: 0.35, iouThreshold: 0.6, maxDetections: 100, method: 'hard' });
  const xy = undoLetterbox(k.boxes, d.letterbox);
  void width;
  return Array.from(k.classes, (c, i) => ({ c, b: Array.from(xy.subarray(4 * i, 4 * i + 4)) }));
}

for (const offset of [0, 0.25, 0.5]) {
  cfg.centerOffset = offset;
  const shifts: number[] = [];
  const ious: number[] = [];
  for (const f of PHOTOS) {
    const img = readFileSync(f);
    const { width } = await sharp(img).metadata();
    const mirrored = await sharp(img).flop().png().toBuffer();
    const a = await boxes(img, width!);
    const m = (await boxes(mirrored, width!)).map((x) => ({ c: x.c, b: [width! - x.b[2], x.b[1], width! - x.b[0], x.b[3]] }));
    for (const p of a) {
      let best: { b: number[] } | undefined;
      let bestIou = 0.5;
      for (const q of m) {
        if (q.c !== p.c) continue;
        const v = iou(Float32Array.from(p.b), Float32Array.from(q.b));
        if (v > bestIou) [best, bestIou] = [q, v];
      }
      if (!best) continue;
      shifts.push((best.b[0] + best.b[2]) / 2 - (p.b[0] + p.b[2]) / 2);
      ious.push(bestIou);
    }
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  console.log(JSON.stringify({ centerOffset: offset, photos: PHOTOS.length, matched: shifts.length, meanShiftPx: +mean(shifts).toFixed(2), meanAbsShiftPx: +mean(shifts.map(Math.abs)).toFixed(2), meanIou: +mean(ious).toFixed(4) }));
}
