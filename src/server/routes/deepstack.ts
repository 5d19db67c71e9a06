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


const deepstackRoutes: FastifyPluginAsyncZod<DeepStackRoutesOptions> = async (app, opts) => {
  const limits: DetectLimits = { ...DEFAULT_DETECT_LIMITS, ...opts.limits };
  const engine = opts.engine ?? new InProcessEngine();
  if (!opts.engine) app.addHook('onClose', () => engine.close());
  const apiKey = opts.apiKey;
  const faceModel = opts.faceModel ?? 'faces';
  const ctx = (): DetectContext => ({ registry: registryOf(app, opts), engine, limits, defaultSize: opts.defaultSize });
  await registerUploadParsers(app, limits.maxImageBytes);
  app.addHook('onRequest', refuseWhileFull(engine));

  // Every failure on these routes, Fastify's own included, answers in DeepStack's shape.
  app.setErrorHandler((err: FastifyError | ProblemError, req, reply) => {
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
    const started = (req as unknown as { [START]?: number })[START];
    return reply.code(status).send({ success: false, error: message, duration: started ? Math.round(performance.now() - started) : 0 });
  });
  app.addHook('onRequest', async (req) => {
    (req as unknown as { [START]?: number })[START] = performance.now();
  });

  async function run(
    req: FastifyRequest,
    reply: FastifyReply,
    modelName: string | undefined,
    defaultThreshold: number | undefined,
    notFound?: string,
  ): Promise<{ result: DetectResult; duration: number }> {
    const t0 = performance.now();
    const upload = await readUpload(req, { maxImageBytes: limits.maxImageBytes, maxFiles: 1 }, { batch: false });
    if (apiKey !== undefined) {
      const given = typeof upload.fields.api_key === 'string' ? upload.fields.api_key : '';
      if (!sameSecret(given, apiKey)) throw new ProblemError({ status: 401, title: 'Unauthorized', detail: given ? 'invalid api_key' : 'api_key is required' });
    }
    let threshold = defaultThreshold;
    const mc = upload.fields.min_confidence;
    if (mc !== undefined && mc !== '') {
      const r = minConfidence.safeParse(mc);
      if (!r.success) throw new ProblemError({ status: 400, title: 'Invalid option', detail: 'min_confidence must be a number between 0 and 1' });
      threshold = r.data;
    }
    let prep;
    try {
      prep = prepare(ctx(), { model: modelName, scoreThreshold: threshold, maxDetections: 100, nms: 'hard' });
    } catch (err) {
      if (notFound && err instanceof ProblemError && err.status === 404) throw new ProblemError({ status: 404, title: 'Not found', detail: notFound });
      throw err;
    }
    if (upload.images.length === 0) throw noImage('send the image as multipart form field `image`');
    const img = upload.images[0];
    if (!img.ok) throw img.problem;
    const [r] = await detectMany(ctx(), prep, [img.data], requestSignal(reply)).catch((e) => {
      throw toProblem(e);
    });
    if (r instanceof ProblemError) throw r;
    return { result: r, duration: Math.round(performance.now() - t0) };
  }

  // DeepStack answers integer pixels; rounding outward keeps the whole object inside the box.
  const toPrediction = (d: DetectResult['detections'][number], img: DetectResult['image']) => ({
    label: d.label,
    confidence: d.score,
    x_min: Math.max(0, Math.floor(d.box.x)),
    y_min: Math.max(0, Math.floor(d.box.y)),
    x_max: Math.min(img.width, Math.ceil(d.box.x + d.box.width)),
    y_max: Math.min(img.height, Math.ceil(d.box.y + d.box.height)),
  });

  const common = { bodyLimit: limits.maxImageBytes + 64 * 1024, validatorCompiler: skipBody, config: { apiKeyIn: 'form' } } as const;

  app.post(
    '/v1/vision/detection',
    {
      ...common,
      schema: {
        summary: 'DeepStack-compatible object detection (default detector)',
        tags: ['deepstack'],
        consumes: ['multipart/form-data'],
        body: formDoc,
        response: { 200: successSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { result, duration } = await run(req, reply, undefined, DEEPSTACK_MIN_CONFIDENCE);
      return { success: true as const, predictions: result.detections.map((d) => toPrediction(d, result.image)), duration };
    },
  );

  app.post(
    '/v1/vision/custom/:model',
    {
      ...common,
      schema: {
        summary: 'DeepStack-compatible detection with a named model',
        tags: ['deepstack'],
        consumes: ['multipart/form-data'],
        params: z.object({ model: z.string().min(1).max(64) }),
        body: formDoc,
        response: { 200: successSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { result, duration } = await run(req, reply, req.params.model, DEEPSTACK_MIN_CONFIDENCE, `custom model "${req.params.model}" is not loaded`);
      return { success: true as const, predictions: result.detections.map((d) => toPrediction(d, result.image)), duration };
    },
  );

  app.post(
    '/v1/vision/face',
    {
      ...common,
      schema: {
        summary: `DeepStack-compatible face detection (model "${faceModel}")`,
        tags: ['deepstack'],
        consumes: ['multipart/form-data'],
        body: formDoc,
        response: { 200: faceSuccessSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { result, duration } = await run(req, reply, faceModel, undefined, `face detection is not available: no model named "${faceModel}" is loaded`);
      return {
        success: true as const,
        predictions: result.detections.map((d) => {
          const { label: _label, ...rest } = toPrediction(d, result.image);
          return rest;
        }),
        duration,
      };
    },
  );
};

const START = Symbol('deepstackStart');

export default deepstackRoutes;
