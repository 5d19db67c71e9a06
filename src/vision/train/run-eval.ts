// Runs one head of a detector over a dataset split and measures it: accuracy (mAP50, COCO mAP, AP by size)
// and speed (median milliseconds per image of predict, batch 1, decoding included, NMS excluded).
import type { DetectorModel, Candidates } from '../../runtime/models.js';
import { readYoloSplit } from '../datasets/yolo-layout.js';
import { loadSplit } from './data.js';
import { evaluateDetections, nmsPerClass, type DetectionMetrics } from './evaluate.js';

export interface EvalResult extends DetectionMetrics {
  head: string;
  images: number;
  msPerImage: number;
  scoreThreshold: number;
  iouThreshold: number;
}

export async function evaluateHead(model: DetectorModel, dataDir: string, split: string, head: string, o: { limit?: number; batch?: number; scoreThreshold?: number; iouThreshold?: number; onImage?: () => void } = {}): Promise<EvalResult> {
  const ds = await readYoloSplit(dataDir, split, { limit: o.limit });
  const S = model.inputSize.width;
  if (model.inputSize.height !== S) throw new Error('eval expects a square model input');
  const data = await loadSplit(ds, S);
  const scoreThreshold = o.scoreThreshold ?? 0.01;
  const iouThreshold = o.iouThreshold ?? 0.5;
  const times: number[] = [];
  const preds: Candidates[] = [];
  const per = S * S * 3;
  // The optional 4th argument (score threshold) is part of the shared interface once the faces branch's
  // PredictOptions lands; models that ignore it just return more candidates.
  const predict = model.predict.bind(model) as (p: Uint8Array, b: number, h: string, opts?: { scoreThreshold?: number }) => Promise<Candidates[]>;
  // Warm-up: the first call compiles/allocates and is not representative.
  await predict(data.pixels.subarray(0, per), 1, head, { scoreThreshold });
  for (let i = 0; i < data.count; i++) {
    const t0 = performance.now();
    const [c] = await predict(data.pixels.subarray(i * per, (i + 1) * per), 1, head, { scoreThreshold });
    times.push(performance.now() - t0);
    preds.push(nmsPerClass(c, iouThreshold, scoreThreshold, 100));
    o.onImage?.();
  }
  times.sort((a, b) => a - b);
  const metrics = evaluateDetections(preds, data.gts, model.labels.length);
  return { head, images: data.count, msPerImage: times[Math.floor(times.length / 2)], scoreThreshold, iouThreshold, ...metrics };
}
