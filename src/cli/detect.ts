// kestrel detect: runs a detector over image files and prints the detections in each image's own pixels.
import { parseArgs } from 'node:util';
import { openDetector } from './open-detector.js';
import { readFile } from 'node:fs/promises';
import { Registry } from '../runtime/registry.js';
import { DEFAULT_DECODE_LIMITS } from '../vision/image.js';
import { InProcessEngine } from '../server/inference.js';
import { detectOne, prepare, type DetectContext } from '../server/detection.js';
import { ProblemError } from '../server/errors.js';

export const HELP = `usage: kestrel detect IMAGE... --model NAME|DIR [--head H] [--score X] [--iou X] [--size N] [--json]

Runs each image through the same pipeline as POST /v1/detect (decoded and letterboxed as the model asks,
the head, per-class NMS) and prints the boxes in the image's own pixels.

  --model NAME|DIR   model folder name under --models-dir (default models/) or a path
  --head H           head to run (default: the model's default)
  --score X          minimum score (default: the model's default threshold)
  --iou X            NMS IoU threshold (default: the head's own, else 0.45)
  --size N           input side, for models with speed modes (coco: 320, 416, 512)
  --json             one JSON document: [{ image, width, height, detections: [{ label, classId, score, box }] }]
  --models-dir DIR   where model names are looked up (default models)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' }, head: { type: 'string' }, score: { type: 'string' }, iou: { type: 'string' }, size: { type: 'string' },
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
  const iouArg = unit(values.iou, 'iou');
  const sizeArg = values.size === undefined ? undefined : Number(values.size);
  if (sizeArg !== undefined && !Number.isInteger(sizeArg)) throw new Error(`--size must be a whole number, got "${values.size}"`);
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
  // The service's own pipeline (decode as the model asks, forward pass, NMS, boxes back to the image), so
  // the CLI answers exactly what POST /v1/detect answers for the same bytes.
  const registry = new Registry([{ model }]);
  const engine = new InProcessEngine();
  const ctx: DetectContext = { registry, engine, limits: { ...DEFAULT_DECODE_LIMITS, maxImageBytes: Infinity, maxBatch: 1, maxBatchBytes: Infinity } };
  const results = [];
  let failed = 0;
  for (const file of positionals) {
    try {
      const prep = prepare(ctx, {
        model: model.manifest.name,
        head,
        scoreThreshold: scoreArg,
        iouThreshold: iouArg,
        size: sizeArg,
        maxDetections: 100,
        nms: 'hard',
      });
      const r = await detectOne(ctx, prep, await readFile(file));
      const r1 = (v: number): number => Math.round(v * 10) / 10;
      const detections = r.detections.map((d) => ({
        label: d.label,
        classId: d.classId,
        score: Math.round(d.score * 1000) / 1000,
        box: [r1(d.box.x), r1(d.box.y), r1(d.box.x + d.box.width), r1(d.box.y + d.box.height)],
      }));
      const { width: w, height: h } = r.image;
      results.push({ image: file, width: w, height: h, head, detections });
      if (!values.json) {
        console.log(`${file} (${w}×${h}, ${head}): ${detections.length} detection(s)`);
        for (const d of detections) console.log(`  ${d.label.padEnd(12)} ${d.score.toFixed(3)}  [${d.box.join(', ')}]`);
      }
    } catch (err) {
      failed++;
      const msg = err instanceof ProblemError ? (err.detail ?? err.title) : err instanceof Error ? err.message : String(err);
      console.error(`${file}: ${msg}`);
    }
  }
  await engine.close();
  if (values.json) console.log(JSON.stringify(results));
  model.dispose();
  return failed ? 1 : 0;
}
