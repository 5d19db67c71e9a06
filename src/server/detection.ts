// The detection pipeline shared by the native and DeepStack routes: admission, decode of each image to
// the model input, one forward pass for the batch, thresholds + NMS, boxes back to the caller's pixels.
// What a request asks for is checked first (detect-request.ts); route files only parse and answer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InputPixels, ModelRegistry } from '../runtime/models.js';
import type { Candidates } from '../vision/candidates.js';
import { decodeToInput, undoLetterbox, type DecodedImage } from '../vision/image.js';
import { ProblemError } from './errors.js';
import type { InferenceEngine } from './inference.js';
import { postprocessCandidates } from '../vision/nms.js';
import { toProblem } from './detect-errors.js';

// Routes import the whole pipeline, error mapping included, from this one module.
export { imageProblem, toProblem } from './detect-errors.js';
export {
  chooseInputSize,
  DEFAULT_DETECT_LIMITS,
  DEFAULT_IOU_THRESHOLD,
  detectOptionsSchema,
  parseDetectOptions,
  prepare,
  resolveClasses,
  resolveDetector,
  resolveHead,
  type DetectContext,
  type DetectLimits,
  type DetectOptions,
  type PreparedRequest,
} from './detect-request.js';
import type { DetectContext, PreparedRequest } from './detect-request.js';

export interface Detection {
  label: string;
  classId: number;
  score: number;
  box: { x: number; y: number; width: number; height: number };
}

export interface DetectResult {
  model: string;
  head: string;
  image: { width: number; height: number };
  detections: Detection[];
  timings: { decodeMs: number; inferenceMs: number; postprocessMs: number };
}

const ms = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;
const r2 = (v: number): number => Math.round(v * 100) / 100;

/**
 * Runs the pipeline on several images with one forward pass. An image that fails to decode gets a
 * ProblemError in its slot; the others still run. Engine failures (overload) fail the whole call.
 */
/**
 * How long a refused detection request waits for its 503. Clients that retry at once (load generators,
 * naive scripts) would otherwise make refusals the event loop's whole job; held this long, each connection
 * is refused at most a few times a second. While it waits its body is not read, so TCP holds the upload
 * back at no cost; once the 503 is sent Node discards the rest and keeps the connection.
 */
export const REFUSAL_DELAY_MS = 500;

/**
 * onRequest hook of the detection routes: while the engine could not take another job, answer 503 before
 * the body is parsed (no buffering, no multipart parsing, no decode), after REFUSAL_DELAY_MS.
 */
export function refuseWhileFull(engine: InferenceEngine, delayMs = REFUSAL_DELAY_MS): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async () => {
    try {
      engine.assertAccepting();
    } catch (err) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      throw toProblem(err);
    }
  };
}

export async function detectMany(
  ctx: DetectContext,
  prep: PreparedRequest,
  images: readonly Uint8Array[],
  signal?: AbortSignal,
): Promise<(DetectResult | ProblemError)[]> {
  // A place in the inference queue first: when the engine is full the answer is a 503 that cost no decode,
  // so clients retrying against an overloaded server cannot turn refusals into a decoding loop.
  const release = ctx.engine.reserve();
  try {
    return await decodeAndDetect(ctx, prep, images, release, signal);
  } finally {
    release();
  }
}

/** The pipeline proper; `queued` gives the reserved place back in the same tick as the job is queued. */
async function decodeAndDetect(
  ctx: DetectContext,
  prep: PreparedRequest,
  images: readonly Uint8Array[],
  queued: () => void,
  signal?: AbortSignal,
): Promise<(DetectResult | ProblemError)[]> {
  const { model, head, keep, options, inputSize } = prep;
  const decoded: (DecodedImage | ProblemError)[] = [];
  const decodeMs: number[] = [];
  for (const img of images) {
    // Sequential on purpose: sharp already uses its own thread pool per image, and decoding one at a time
    // bounds the memory of a batch to one full-resolution image at a time.
    const t0 = performance.now();
    try {
      decoded.push(await decodeToInput(img, inputSize, ctx.limits, model.letterboxAlign ?? 'center', model.letterboxFill, model.inputResize));
    } catch (err) {
      decoded.push(toProblem(err));
    }
    decodeMs.push(ms(t0));
  }
  const good = decoded.filter((d): d is DecodedImage => !(d instanceof ProblemError));
  let cands: Candidates[] = [];
  let inferenceMs = 0;
  if (good.length > 0) {
    const plane = inputSize.width * inputSize.height * 3;
    let pixels: InputPixels;
    if (good.length === 1) pixels = good[0].pixels;
    else {
      // One model decodes every image of a request the same way, so the first one's type is all of theirs.
      const all = good[0].pixels instanceof Float32Array ? new Float32Array(plane * good.length) : new Uint8Array(plane * good.length);
      good.forEach((d, i) => all.set(d.pixels, i * plane));
      pixels = all;
    }
    const t0 = performance.now();
    queued();
    cands = await ctx.engine.detect({ model, head, pixels, batch: good.length, inputSize, scoreThreshold: prep.scoreThreshold, regionClassifier: prep.regionClassifier, signal });
    inferenceMs = ms(t0);
  }
  const out: (DetectResult | ProblemError)[] = [];
  let gi = 0;
  decoded.forEach((d, i) => {
    if (d instanceof ProblemError) {
      out.push(d);
      return;
    }
    const c = cands[gi++];
    const t0 = performance.now();
    const kept = postprocessCandidates(c, {
      scoreThreshold: prep.scoreThreshold,
      iouThreshold: prep.iouThreshold,
      maxDetections: options.maxDetections,
      method: options.nms,
      keepClasses: keep,
    });
    const boxes = undoLetterbox(kept.boxes, d.letterbox);
    const detections: Detection[] = [];
    for (let k = 0; k < kept.scores.length; k++) {
      const x1 = boxes[4 * k];
      const y1 = boxes[4 * k + 1];
      const x2 = boxes[4 * k + 2];
      const y2 = boxes[4 * k + 3];
      // A box wholly in the padding collapses to nothing once clipped; it describes no pixel of the image.
      if (!(x2 > x1 && y2 > y1)) continue;
      const cls = kept.classes[k];
      detections.push({
        label: model.labels[cls] ?? String(cls),
        classId: cls,
        score: Math.round(kept.scores[k] * 10000) / 10000,
        box: { x: r2(x1), y: r2(y1), width: r2(x2 - x1), height: r2(y2 - y1) },
      });
    }
    out.push({
      model: model.manifest.name,
      head,
      image: { width: d.letterbox.srcWidth, height: d.letterbox.srcHeight },
      detections,
      timings: { decodeMs: decodeMs[i], inferenceMs, postprocessMs: ms(t0) },
    });
  });
  return out;
}

export async function detectOne(ctx: DetectContext, prep: PreparedRequest, image: Uint8Array, signal?: AbortSignal): Promise<DetectResult> {
  const [r] = await detectMany(ctx, prep, [image], signal);
  if (r instanceof ProblemError) throw r;
  return r;
}

/** The registry given to a route plugin, else the app's `registry` decoration. */
export function registryOf(app: FastifyInstance, opts: { registry?: ModelRegistry }): ModelRegistry {
  const r = opts.registry ?? (app as unknown as { registry?: ModelRegistry }).registry;
  if (!r) throw new Error('detect routes need a ModelRegistry: pass opts.registry or decorate app.registry');
  return r;
}

/**
 * Aborts when the client disconnects before its answer was sent, so queued inference for it is
 * dropped. The response's close is the signal: the request stream also closes, normally, once its
 * body has been read.
 */
export function requestSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

