// DeepStack-compatible routes, so existing clients (Home Assistant, Blue Iris, deepstack client
// libraries) work unchanged: multipart field `image`, optional `min_confidence` and `api_key`,
// answers {"success": true, "predictions": [...], "duration"} and errors {"success": false, "error"}.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ModelRegistry } from '../../runtime/models.js';
import {
  DEFAULT_DETECT_LIMITS,
  detectMany,
  refuseWhileFull,
  prepare,
  toProblem,
  type DetectContext,
  type DetectLimits,
  type DetectResult,
  registryOf,
  requestSignal,
} from '../detection.js';
import { ProblemError } from '../errors.js';
import { sameSecret } from '../plugins/auth.js';
import { InProcessEngine, type InferenceEngine } from '../inference.js';
import { noImage, readUpload, registerUploadParsers } from '../upload.js';

export type DeepStackRoutesOptions = {
  registry?: ModelRegistry;
  engine?: InferenceEngine;
  limits?: Partial<DetectLimits>;
  /** When set (KESTREL_API_KEY), every call must carry it in the `api_key` form field. */
  apiKey?: string;
  /** Model served by /v1/vision/face. */
  faceModel?: string;
  /** The deployment's speed mode (KESTREL_DETECT_SIZE). */
  defaultSize?: number;
};

/** DeepStack's own default for `min_confidence` on its object-detection routes; clients rely on it. */
export const DEEPSTACK_MIN_CONFIDENCE = 0.45;

const predictionSchema = z.object({
  label: z.string(),
  confidence: z.number(),
  x_min: z.number().int(),
  y_min: z.number().int(),
  x_max: z.number().int(),
  y_max: z.number().int(),
});
const faceSchema = predictionSchema.omit({ label: true });

const successSchema = z.object({ success: z.literal(true), predictions: z.array(predictionSchema), duration: z.number().int().describe('Milliseconds spent on the request') });
const faceSuccessSchema = z.object({ success: z.literal(true), predictions: z.array(faceSchema), duration: z.number().int() });
export const deepstackErrorSchema = z.object({ success: z.literal(false), error: z.string(), duration: z.number().int() });

const formDoc = z
  .object({
    image: z.string().meta({ format: 'binary' }).describe('The image file'),
    min_confidence: z.string().optional().describe("Lowest confidence returned, 0..1; 0.45 when absent on the detection routes (DeepStack's default), the face model's own threshold on /v1/vision/face"),
    api_key: z.string().optional().describe('Required when the server runs with KESTREL_API_KEY'),
  })
  .describe('multipart/form-data');

const errorResponses = { 400: deepstackErrorSchema, 401: deepstackErrorSchema, 404: deepstackErrorSchema, 413: deepstackErrorSchema, 415: deepstackErrorSchema, 422: deepstackErrorSchema, 503: deepstackErrorSchema };

const skipBody = ((req: Parameters<typeof validatorCompiler>[0]) =>
  req.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(req)) as never;

const minConfidence = z.coerce.number().finite().min(0).max(1);


/** When the request reached the routes, for the `duration` DeepStack answers carry, errors included. */
const START = Symbol('deepstackStart');
type Timed = FastifyRequest & { [START]?: number };

/** Every failure on these routes, Fastify's own included, answers in DeepStack's shape. */
function deepstackError(err: FastifyError | ProblemError, req: FastifyRequest, reply: FastifyReply) {
  let status = 500;
  let message = 'internal error';
  if (err instanceof ProblemError) {
    status = err.status;
    message = err.detail ?? err.title;
    if (err.headers) reply.headers(err.headers);
  } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    status = err.statusCode;
    message = err.message;
  } else {
    req.log.error({ err }, 'deepstack route failed');
  }
  const started = (req as Timed)[START];
  return reply.code(status).send({ success: false, error: message, duration: started ? Math.round(performance.now() - started) : 0 });
}

/** DeepStack answers integer pixels; rounding outward keeps the whole object inside the box. */
function toPrediction(d: DetectResult['detections'][number], img: DetectResult['image']) {
  return {
    label: d.label,
    confidence: d.score,
    x_min: Math.max(0, Math.floor(d.box.x)),
    y_min: Math.max(0, Math.floor(d.box.y)),
    x_max: Math.min(img.width, Math.ceil(d.box.x + d.box.width)),
    y_max: Math.min(img.height, Math.ceil(d.box.y + d.box.height)),
  };
}

interface DeepStackCall {
  ctx: DetectContext;
  apiKey: string | undefined;
  /** The model named by the route; the default detector when absent. */
  model?: string;
  /** min_confidence when the form gives none; the model's own threshold when absent. */
  defaultThreshold?: number;
  /** The message of a 404 when the model is not loaded. */
  notFound?: string;
}

/** One DeepStack call: the form's `image`, `api_key` and `min_confidence`, then the shared pipeline. */
async function detectForm(req: FastifyRequest, reply: FastifyReply, call: DeepStackCall): Promise<{ result: DetectResult; duration: number }> {
  const t0 = performance.now();
  const { ctx, apiKey } = call;
  const upload = await readUpload(req, { maxImageBytes: ctx.limits.maxImageBytes, maxFiles: 1 }, { batch: false });
  if (apiKey !== undefined) {
    const given = typeof upload.fields.api_key === 'string' ? upload.fields.api_key : '';
    if (!sameSecret(given, apiKey)) throw new ProblemError({ status: 401, title: 'Unauthorized', detail: given ? 'invalid api_key' : 'api_key is required' });
  }
  let threshold = call.defaultThreshold;
  const mc = upload.fields.min_confidence;
  if (mc !== undefined && mc !== '') {
    const r = minConfidence.safeParse(mc);
    if (!r.success) throw new ProblemError({ status: 400, title: 'Invalid option', detail: 'min_confidence must be a number between 0 and 1' });
    threshold = r.data;
  }
  let prep;
  try {
    prep = prepare(ctx, { model: call.model, scoreThreshold: threshold, maxDetections: 100, nms: 'hard' });
  } catch (err) {
    if (call.notFound && err instanceof ProblemError && err.status === 404) throw new ProblemError({ status: 404, title: 'Not found', detail: call.notFound });
    throw err;
  }
  if (upload.images.length === 0) throw noImage('send the image as multipart form field `image`');
  const img = upload.images[0];
  if (!img.ok) throw img.problem;
  const [r] = await detectMany(ctx, prep, [img.data], requestSignal(reply)).catch((e) => {
    throw toProblem(e);
  });
  if (r instanceof ProblemError) throw r;
  return { result: r, duration: Math.round(performance.now() - t0) };
}

const deepstackRoutes: FastifyPluginAsyncZod<DeepStackRoutesOptions> = async (app, opts) => {
  const limits: DetectLimits = { ...DEFAULT_DETECT_LIMITS, ...opts.limits };
  const engine = opts.engine ?? new InProcessEngine();
  if (!opts.engine) app.addHook('onClose', () => engine.close());
  const faceModel = opts.faceModel ?? 'faces';
  const call = (c: Omit<DeepStackCall, 'ctx' | 'apiKey'>): DeepStackCall => ({
    ctx: { registry: registryOf(app, opts), engine, limits, defaultSize: opts.defaultSize },
    apiKey: opts.apiKey,
    ...c,
  });
  await registerUploadParsers(app, limits.maxImageBytes);
  app.setErrorHandler(deepstackError);
  app.addHook('onRequest', async (req) => {
    (req as Timed)[START] = performance.now();
  });
  app.addHook('onRequest', refuseWhileFull(engine));

  const common = { bodyLimit: limits.maxImageBytes + 64 * 1024, validatorCompiler: skipBody, config: { apiKeyIn: 'form' } } as const;
  const schema = (summary: string, response: z.ZodType) => ({ summary, tags: ['deepstack'], consumes: ['multipart/form-data'], body: formDoc, response: { 200: response, ...errorResponses } });

  app.post('/v1/vision/detection', { ...common, schema: schema('DeepStack-compatible object detection (default detector)', successSchema) }, async (req, reply) => {
    const { result, duration } = await detectForm(req, reply, call({ defaultThreshold: DEEPSTACK_MIN_CONFIDENCE }));
    return { success: true as const, predictions: result.detections.map((d) => toPrediction(d, result.image)), duration };
  });

  app.post(
    '/v1/vision/custom/:model',
    { ...common, schema: { ...schema('DeepStack-compatible detection with a named model', successSchema), params: z.object({ model: z.string().min(1).max(64) }) } },
    async (req, reply) => {
      const model = req.params.model;
      const { result, duration } = await detectForm(req, reply, call({ model, defaultThreshold: DEEPSTACK_MIN_CONFIDENCE, notFound: `custom model "${model}" is not loaded` }));
      return { success: true as const, predictions: result.detections.map((d) => toPrediction(d, result.image)), duration };
    },
  );

  app.post('/v1/vision/face', { ...common, schema: schema(`DeepStack-compatible face detection (model "${faceModel}")`, faceSuccessSchema) }, async (req, reply) => {
    const { result, duration } = await detectForm(req, reply, call({ model: faceModel, notFound: `face detection is not available: no model named "${faceModel}" is loaded` }));
    const predictions = result.detections.map((d) => {
      const { label: _label, ...rest } = toPrediction(d, result.image);
      return rest;
    });
    return { success: true as const, predictions, duration };
  });
};


export default deepstackRoutes;
