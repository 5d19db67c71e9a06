// Runs one head of a detector over a dataset split and measures it with the shared post-processing and
// evaluator: accuracy (VOC mAP@0.5, COCO AP@[.5:.95], COCO AP by size) and speed (median milliseconds per
// image of predict at batch 1, head decoding included, NMS excluded).
import type { DetectorModel } from '../../runtime/models.js';
import type { Candidates } from '../candidates.js';
import { readYoloSplit } from '../datasets/yolo-layout.js';
import { postprocess } from '../nms.js';
import { evaluateDetections, type DetectionBox, type GroundTruthBox } from '../eval/index.js';
import { loadSplit } from './data.js';

export interface EvalResult {
  head: string;
  images: number;
  mAP50: number;
  mAP: number;
  apSmall: number;
  apMedium: number;
  apLarge: number;
  msPerImage: number;
  scoreThreshold: number;
  iouThreshold: number;
  /** Candidates for every class above the score threshold per box (the SSD/YOLO papers' protocol), not only the best. */
  multiLabel: boolean;
  /** Whether the model's region classifier named the boxes (false when it has none or it was not used). */
  regionClassifier: boolean;
  /** VOC all-point AP at IoU 0.5 of each class, by label: where the mean comes from. */
  perClassAp50: Record<string, number>;
  /**
   * Ground-truth boxes per COCO area range (< 32², 32²–96², ≥ 96²) in each image's own pixels, so an empty
   * range reads correctly. Boxes are scored in those pixels too: IoU does not change, but the size ranges
   * then mean the same for models of any input size.
   */
  counts: { small: number; medium: number; large: number };
}

export async function evaluateHead(model: DetectorModel, dataDir: string, split: string, head: string, o: { limit?: number; scoreThreshold?: number; iouThreshold?: number; classAgnostic?: boolean; multiLabel?: boolean; regionClassifier?: boolean; regionWeight?: number; windowVoteIou?: number; onImage?: () => void } = {}): Promise<EvalResult> {
  const ds = await readYoloSplit(dataDir, split, { limit: o.limit });
  const S = model.inputSize.width;
  if (model.inputSize.height !== S) throw new Error('eval expects a square model input');
  const data = await loadSplit(ds, S);
  const scoreThreshold = o.scoreThreshold ?? 0.01;
  const iouThreshold = o.iouThreshold ?? 0.5;
  const per = S * S * 3;
  const multiLabel = o.multiLabel ?? false;
  const rc = { regionClassifier: o.regionClassifier, regionWeight: o.regionWeight, windowVoteIou: o.windowVoteIou };
  const predict = (p: Uint8Array): Promise<Candidates[]> => model.predict(p, 1, head, { scoreThreshold, multiLabel, ...rc });
  // Warm-up: the first call allocates and is not representative.
  await predict(data.pixels.subarray(0, per));
  const times: number[] = [];
  const dets: DetectionBox[] = [];
  const gts: GroundTruthBox[] = [];
  const counts = { small: 0, medium: 0, large: 0 };
  for (let i = 0; i < data.count; i++) {
    const image = String(i);
    const t0 = performance.now();
    const [raw] = await predict(data.pixels.subarray(i * per, (i + 1) * per));
    times.push(performance.now() - t0);
    // Class-agnostic: every box is one class "object" for NMS and matching, which separates finding and
    // boxing the objects from naming them.
    const c = o.classAgnostic ? { ...raw, classes: new Int32Array(raw.classes.length) } : raw;
    const nameOf = (k: number): string => (o.classAgnostic ? 'object' : model.labels[k]);
    const sel = postprocess(c, { scoreThreshold, iouThreshold, maxDetections: 100, method: 'hard' });
    const [sx, sy] = [data.sourceSizes[i][0] / S, data.sourceSizes[i][1] / S];
    const inSource = (b: Float32Array, k: number): [number, number, number, number] => [b[4 * k] * sx, b[4 * k + 1] * sy, b[4 * k + 2] * sx, b[4 * k + 3] * sy];
    sel.indices.forEach((k, j) => {
      dets.push({ image, label: nameOf(c.classes[k]), score: sel.scores[j], box: inSource(c.boxes, k) });
    });
    const g = data.gts[i];
    for (let j = 0; j < g.classes.length; j++) {
      const box = inSource(g.boxes, j);
      const area = (box[2] - box[0]) * (box[3] - box[1]);
      if (area < 32 ** 2) counts.small++;
      else if (area < 96 ** 2) counts.medium++;
      else counts.large++;
      gts.push({ image, label: nameOf(g.classes[j]), box });
    }
    o.onImage?.();
  }
  times.sort((a, b) => a - b);
  const ev = evaluateDetections(gts, dets, { iouThreshold: 0.5, coco: true, pixelAreas: true });
  const coco = ev.coco;
  return {
    head,
    images: data.count,
    mAP50: ev.mAP,
    mAP: coco?.ap ?? NaN,
    apSmall: coco?.apSmall ?? NaN,
    apMedium: coco?.apMedium ?? NaN,
    apLarge: coco?.apLarge ?? NaN,
    msPerImage: times[Math.floor(times.length / 2)],
    scoreThreshold,
    iouThreshold,
    multiLabel,
    regionClassifier: (model.hasRegionClassifier ?? false) && (o.regionClassifier ?? model.regionClassifierByDefault ?? false),
    perClassAp50: Object.fromEntries(ev.classes.map((c) => [c, ev.perClass[c].ap])),
    counts,
  };
}
