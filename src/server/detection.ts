// The detection pipeline shared by the native and DeepStack routes: resolve model and head, decode
// each image to the model input, one forward pass for the batch, thresholds + NMS, boxes back to
// the caller's pixels. Route files only parse requests and shape answers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DetectorModel, InputPixels, ModelRegistry } from '../runtime/models.js';
import type { Candidates } from '../vision/candidates.js';
import { DEFAULT_DECODE_LIMITS, decodeToInput, undoLetterbox, type DecodedImage, type DecodeLimits } from '../vision/image.js';
import { ProblemError } from './errors.js';
import type { InferenceEngine } from './inference.js';
import { postprocessCandidates, POSTPROCESS_METHODS } from '../vision/nms.js';
import { toProblem } from './detect-errors.js';

// Routes import the whole pipeline, error mapping included, from this one module.
export { imageProblem, toProblem } from './detect-errors.js';

export interface DetectLimits extends DecodeLimits {
  /** Largest image body in bytes (raw body or one multipart file; base64 JSON may be 4/3 of it). */
  maxImageBytes: number;
  /** Most images in one /v1/detect/batch request. */
  maxBatch: number;
  /** Most image bytes in one batch request, all parts together (base64 JSON may be 4/3 of it). */
  maxBatchBytes: number;
}

export const DEFAULT_DETECT_LIMITS: DetectLimits = {
  ...DEFAULT_DECODE_LIMITS,
  maxImageBytes: 20 * 1024 * 1024,
  maxBatch: 16,
  maxBatchBytes: 64 * 1024 * 1024,
};

// Query strings and form fields arrive as text; JSON bodies may carry numbers. Both parse here.
const num = (lo: number, hi: number) => z.coerce.number().finite().min(lo).max(hi);
const classesField = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0));

export const detectOptionsSchema = z.object({
  model: z.string().min(1).max(64).optional().describe('Model name; the default detector when absent.'),
  head: z.string().min(1).max(64).optional().describe("Detector head; the model's default when absent."),
  scoreThreshold: num(0, 1).optional().describe("Drop candidates scoring below this; the model's default when absent."),
  iouThreshold: num(0, 1).optional().describe("Overlap above which NMS suppresses (hard) or decays (soft-linear) a box; the head's tuned value, else 0.45, when absent."),
  maxDetections: z.coerce.number().int().min(1).max(1000).default(100).describe('Most detections returned per image.'),
  nms: z.enum(POSTPROCESS_METHODS).default('hard').describe('Non-maximum suppression: hard, soft-linear, soft-gaussian or none.'),
  classes: classesField.optional().describe('Labels to keep (comma-separated or repeated); all when absent.'),
  size: z.coerce
    .number()
    .int()
    .min(32)
    .max(2048)
    .optional()
    .describe("Square input side the network runs at (speed mode: smaller is faster, larger finds smaller objects); one of the model's `sizes` (GET /v1/models/{name}). The deployment's KESTREL_DETECT_SIZE, else the model's default, when absent."),
  regionClassifier: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((v) => v === true || v === 'true')
    .optional()
    .describe("Name each box with the model's second-stage region classifier (slower, more accurate classes); the model's setting when absent. 400 for a model without one."),
});
export type DetectOptions = z.output<typeof detectOptionsSchema>;

/**
 * Validates the query string merged with form fields or JSON members (those win), answering 400 with
 * each offending option in `errors[]` as the app reports validation failures: `field` is where the
 * value came from (querystring or body) and the option name.
 */
export function parseDetectOptions(query: Record<string, unknown>, body: Record<string, unknown> = {}): DetectOptions {
  const r = detectOptionsSchema.safeParse({ ...query, ...body });
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => {
    const name = String(i.path[0] ?? '');
    const where = name in body ? 'body' : 'querystring';
    return { field: `${where}/${i.path.join('/')}`, message: i.message, code: i.code };
  });
  throw new ProblemError({
    status: 400,
    title: 'Invalid option',
    type: 'validation',
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    extensions: { errors },
  });
}

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

export function resolveDetector(registry: ModelRegistry, name: string | undefined): DetectorModel {
  if (name === undefined) {
    const m = registry.defaultOf('detector');
    if (!m) throw new ProblemError({ status: 404, title: 'No detector model', type: 'model-not-found', detail: 'no detector model is loaded' });
    return m;
  }
  const m = registry.get(name);
  if (!m || m.kind !== 'detector') {
    const known = registry.list().filter((x) => x.kind === 'detector').map((x) => x.manifest.name);
    throw new ProblemError({
      status: 404,
      title: 'Unknown model',
      type: 'model-not-found',
      detail: `no detector model named "${name}" (loaded: ${known.join(', ') || 'none'})`,
    });
  }
  return m;
}

export function resolveHead(model: DetectorModel, head: string | undefined): string {
  if (head === undefined) return model.defaultHead;
  if (!model.heads.includes(head)) {
    throw new ProblemError({
      status: 404,
      title: 'Unknown head',
      type: 'head-not-found',
      detail: `model ${model.manifest.name} has no head "${head}" (heads: ${model.heads.join(', ')})`,
    });
  }
  return head;
}

/** Class ids to keep, or undefined for all; an unknown label is a 400 so typos do not silently empty answers. */
export function resolveClasses(model: DetectorModel, classes: readonly string[] | undefined): Set<number> | undefined {
  if (!classes || classes.length === 0) return undefined;
  const keep = new Set<number>();
  const unknown: string[] = [];
  for (const c of classes) {
    const i = model.labels.indexOf(c);
    if (i < 0) unknown.push(c);
    else keep.add(i);
  }
  if (unknown.length) {
    throw new ProblemError({
      status: 400,
      title: 'Invalid option',
      type: 'validation',
      detail: `classes: unknown label(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')} for model ${model.manifest.name}`,
      extensions: { errors: [{ field: 'classes', message: `unknown label(s): ${unknown.join(', ')}` }], labels: model.labels },
    });
  }
  return keep;
}

export interface DetectContext {
  registry: ModelRegistry;
  engine: InferenceEngine;
  limits: DetectLimits;
  /** The deployment's speed mode (KESTREL_DETECT_SIZE): used by models that list it among their sizes. */
  defaultSize?: number;
}

export interface PreparedRequest {
  model: DetectorModel;
  head: string;
  keep: Set<number> | undefined;
  options: DetectOptions;
  /** What images are letterboxed to: the head's own size when it has one, so the model resizes nothing. */
  inputSize: { width: number; height: number };
  scoreThreshold: number;
  iouThreshold: number;
  regionClassifier: boolean | undefined;
}

export const DEFAULT_IOU_THRESHOLD = 0.45;

/** Model, head and classes checked before any image is decoded, so a bad option costs nothing. */
export function prepare(ctx: DetectContext, options: DetectOptions): PreparedRequest {
  const model = resolveDetector(ctx.registry, options.model);
  const head = resolveHead(model, options.head);
  const keep = resolveClasses(model, options.classes);
  const inputSize = chooseInputSize(model, head, options.size, ctx.defaultSize);
  const scoreThreshold = options.scoreThreshold ?? model.defaultScoreThreshold;
  const iouThreshold = options.iouThreshold ?? model.defaultIouThreshold?.(head) ?? DEFAULT_IOU_THRESHOLD;
  if (options.regionClassifier === true && !model.hasRegionClassifier) {
    throw new ProblemError({
      status: 400,
      title: 'No region classifier',
      type: 'region-classifier-unavailable',
      detail: `model ${model.manifest.name} has no region classifier; omit regionClassifier or set it to false`,
    });
  }
  return { model, head, keep, options, inputSize, scoreThreshold, iouThreshold, regionClassifier: options.regionClassifier };
}

/**
 * The side images are letterboxed to: the request's size (which the model must list), else the deployment's
 * when the model lists it, else the head's or the model's own.
 */
export function chooseInputSize(model: DetectorModel, head: string, requested: number | undefined, deployment: number | undefined): { width: number; height: number } {
  const sizes = model.inputSizes ?? [];
  if (requested !== undefined) {
    if (!sizes.includes(requested)) {
      const detail = sizes.length
        ? `size: model ${model.manifest.name} runs at ${sizes.join(', ')} pixels, not ${requested}`
        : `size: model ${model.manifest.name} runs at one input size only; omit size`;
      throw new ProblemError({ status: 400, title: 'Invalid option', type: 'validation', detail, extensions: { errors: [{ field: 'size', message: detail }], sizes } });
    }
    return { width: requested, height: requested };
  }
  if (deployment !== undefined && sizes.includes(deployment)) return { width: deployment, height: deployment };
  return model.headInputSize?.(head) ?? model.inputSize;
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

