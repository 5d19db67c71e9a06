// kestrel detect: runs a detector over image files and prints the detections in each image's own pixels.
import { parseArgs } from 'node:util';
import { openDetector } from './open-detector.js';
import sharp from 'sharp';
import type { Candidates } from '../vision/candidates.js';
import { postprocess } from '../vision/nms.js';

export const HELP = `usage: kestrel detect IMAGE... --model NAME|DIR [--head H] [--score X] [--iou X] [--json]

Letterboxes each image to the model's input size (grey padding, aspect kept), runs the head, applies
per-class NMS and prints the boxes in the image's own pixels.

  --model NAME|DIR   model folder name under --models-dir (default models/) or a path
  --head H           head to run (default: the model's default)
  --score X          minimum score (default: the model's default threshold)
  --iou X            NMS IoU threshold (default 0.5)
  --json             one JSON document: [{ image, width, height, detections: [{ label, classId, score, box }] }]
  --models-dir DIR   where model names are looked up (default models)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' }, head: { type: 'string' }, score: { type: 'string' }, iou: { type: 'string' },
      json: { type: 'boolean' }, 'models-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model || positionals.length === 0) {
    console.error(`an image and --model are required\n\n${HELP}`);
    return 2;
  }
  const unit = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n >= 0 && n <= 1)) throw new Error(`--${name} must be between 0 and 1, got "${v}"`);
    return n;
  };
  const scoreArg = unit(values.score, 'score');
  const iou = unit(values.iou, 'iou') ?? 0.5;
  const opened = await openDetector(values.model, values['models-dir']);
  if ('error' in opened) {
    console.error(opened.error);
    return 2;
  }
  const { model } = opened;
  const head = values.head ?? model.defaultHead;
  if (!model.heads.includes(head)) {
    console.error(`unknown head "${head}" (this model has: ${model.heads.join(', ')})`);
    return 2;
  }
  const score = scoreArg ?? model.defaultScoreThreshold;
  const { width: W, height: H } = model.inputSize;
  const predict = model.predict.bind(model) as (p: Uint8Array, b: number, h: string, o?: { scoreThreshold?: number }) => Promise<Candidates[]>;
  const results = [];
  let failed = 0;
  for (const file of positionals) {
    try {
      const meta = await sharp(file).metadata();
      const w = meta.width ?? 0, h = meta.height ?? 0;
      if (!w || !h) throw new Error('not an image');
      const scale = Math.min(W / w, H / h);
      const nw = Math.max(1, Math.round(w * scale)), nh = Math.max(1, Math.round(h * scale));
      const left = Math.floor((W - nw) / 2), top = Math.floor((H - nh) / 2);
      const px = await sharp(file).removeAlpha().resize(nw, nh, { fit: 'fill' })
        .extend({ left, top, right: W - nw - left, bottom: H - nh - top, background: { r: 114, g: 114, b: 114 } })
        .raw().toBuffer();
      const [cand] = await predict(new Uint8Array(px.buffer, px.byteOffset, px.length), 1, head, { scoreThreshold: score });
      const sel = postprocess(cand, { scoreThreshold: score, iouThreshold: iou, maxDetections: 100, method: 'hard' });
      const kept = { boxes: cand.boxes, classes: cand.classes };
      const detections = [...sel.indices].map((i, j) => {
        const map = (v: number, off: number, max: number): number => Math.round(Math.min(max, Math.max(0, (v - off) / scale)) * 10) / 10;
        return {
          label: model.labels[kept.classes[i]] ?? String(kept.classes[i]),
          classId: kept.classes[i],
          score: Math.round(sel.scores[j] * 1000) / 1000,
          box: [map(kept.boxes[4 * i], left, w), map(kept.boxes[4 * i + 1], top, h), map(kept.boxes[4 * i + 2], left, w), map(kept.boxes[4 * i + 3], top, h)],
        };
      });
      results.push({ image: file, width: w, height: h, head, detections });
      if (!values.json) {
        console.log(`${file} (${w}×${h}, ${head}): ${detections.length} detection(s)`);
        for (const d of detections) console.log(`  ${d.label.padEnd(12)} ${d.score.toFixed(3)}  [${d.box.join(', ')}]`);
      }
    } catch (err) {
      failed++;
      console.error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (values.json) console.log(JSON.stringify(results));
  model.dispose();
  return failed ? 1 : 0;
}
