// Request options → the shared post-processing library (src/vision/nms.ts): class filter, score
// threshold, per-class NMS of the chosen kind, top-k. Returns the kept candidates themselves,
// highest (decayed) score first, so the caller maps boxes without going through indices.
import { pick, type Candidates } from '../vision/candidates.js';
import { POSTPROCESS_METHODS, postprocess as select, type PostprocessMethod } from '../vision/nms.js';

export const NMS_MODES = POSTPROCESS_METHODS as readonly [PostprocessMethod, ...PostprocessMethod[]];
export type NmsMode = PostprocessMethod;

export interface PostprocessOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  nms: NmsMode;
  /** Class ids to keep; all when undefined. */
  keep?: ReadonlySet<number>;
  /** Gaussian soft-NMS width (the library's TensorFlow convention). */
  sigma?: number;
}

export function postprocess(c: Candidates, o: PostprocessOptions): Candidates {
  const { indices, scores } = select(c, {
    scoreThreshold: o.scoreThreshold,
    iouThreshold: o.iouThreshold,
    maxDetections: o.maxDetections,
    method: o.nms,
    sigma: o.sigma,
    keepClasses: o.keep,
  });
  // The selection's scores, not the candidates' own: Soft-NMS decays them.
  const { boxes, classes } = pick(c, indices);
  return { boxes, scores, classes };
}
