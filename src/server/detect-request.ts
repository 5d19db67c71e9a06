// What a detection request asks for, checked before any image is decoded: the limits, the options
// (query string, form fields or JSON members), and the model, head, classes and input size they resolve
// to. A bad option costs no decode.
import { z } from 'zod';
import type { DetectorModel, ModelRegistry } from '../runtime/models.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../vision/image.js';
import { POSTPROCESS_METHODS } from '../vision/nms.js';
import { ProblemError } from './errors.js';
import type { InferenceEngine } from './inference.js';

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
