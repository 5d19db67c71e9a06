// POST /v1/detect and /v1/detect/batch: the native detection API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ModelRegistry } from '../../runtime/models.js';
import { IMAGE_CONTENT_TYPES, probeImage } from '../../vision/image.js';
import { renderDetections } from '../../vision/render.js';
import { blurRegions, MAX_STRENGTH, MIN_STRENGTH } from '../../vision/faces/blur.js';
import {
  DEFAULT_DETECT_LIMITS,
  detectMany,
  refuseWhileFull,
  detectOptionsSchema,
  parseDetectOptions,
  prepare,
  toProblem,
  type DetectContext,
  type DetectLimits,
  type DetectResult,
  registryOf,
  requestSignal,
} from '../detection.js';
import { ProblemError } from '../errors.js';
import { problemSchema, problemType } from '../plugins/problem.js';
import { InProcessEngine, type InferenceEngine } from '../inference.js';
import { createEngine, type EngineChoice } from '../engine.js';
import { defaultConfig, type Config } from '../config.js';
import deepstackRoutes from './deepstack.js';
import { noImage, readUpload, registerUploadParsers, RAW_CONTENT_TYPES } from '../upload.js';

export type DetectRoutesOptions = {
  /** Defaults to the app's `registry` decoration, read per request so reloads are seen. */
  registry?: ModelRegistry;
  engine?: InferenceEngine;
  limits?: Partial<DetectLimits>;
  /** The deployment's speed mode (KESTREL_DETECT_SIZE). */
  defaultSize?: number;
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The engine running detection forward passes (its stats are for /metrics), set by detectionApi. */
    inference: InferenceEngine;
  }
}

export const RENDER_FORMATS = ['jpeg', 'png', 'blur'] as const;

const detectionSchema = z.object({
  label: z.string(),
  classId: z.number().int(),
  score: z.number(),
  box: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }).describe('Original-image pixels, top-left origin, EXIF orientation applied.'),
});

export const detectResultSchema = z.object({
  model: z.string(),
  head: z.string(),
  image: z.object({ width: z.number().int(), height: z.number().int() }).describe('Upright size of the image as sent.'),
  detections: z.array(detectionSchema),
  timings: z.object({ decodeMs: z.number(), inferenceMs: z.number(), postprocessMs: z.number() }),
});


const batchResultSchema = z.object({
  results: z.array(z.union([detectResultSchema, z.object({ error: problemSchema })])).describe('One entry per image part, in order.'),
});

const querySchema = detectOptionsSchema.extend({
  render: z
    .enum(RENDER_FORMATS)
    .optional()
    .describe('Answer with an image instead of JSON: jpeg or png draws the detections; blur hides them (meant for the faces model), in the format sent.'),
  blurMode: z.enum(['pixelate', 'gaussian']).default('pixelate').describe('With render=blur: how regions are hidden.'),
  blurStrength: z.coerce.number().finite().min(MIN_STRENGTH).max(MAX_STRENGTH).default(50).describe('With render=blur: 1..100, relative to each region size.'),
  blurGrow: z.coerce.number().finite().min(0).max(1).default(0.15).describe('With render=blur: widen each box by this fraction of its size on every side (face boxes stop at brow and chin).'),
});

// Documents the three request forms; the handler reads bodies itself (readUpload), so it is not used to validate.
const bodyDoc = z
  .union([
    z.object({ image: z.string().describe('Base64 image (a data: URL is accepted)') }).catchall(z.unknown()),
    z.string().meta({ format: 'binary' }).describe('Raw image bytes, or a multipart form with the file in field `image` and options as fields'),
  ])
  .describe('JSON {"image": base64, ...options}, multipart/form-data with field `image`, or a raw image body.');

const batchBodyDoc = z
  .union([
    z.object({ images: z.array(z.string()).describe('Base64 images') }).catchall(z.unknown()),
    z.string().meta({ format: 'binary' }).describe('multipart/form-data with several `image` file parts'),
  ])
  .describe('multipart/form-data with several `image` parts, or JSON {"images": [base64, ...]}');

const CONSUMES = ['multipart/form-data', 'application/json', ...RAW_CONTENT_TYPES];

/** Body validation is skipped: multipart bodies are streamed and raw bodies are bytes; readUpload checks them. */
const routeValidator = ((req: Parameters<typeof validatorCompiler>[0]) =>
  req.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(req)) as never;

const detectRoutes: FastifyPluginAsyncZod<DetectRoutesOptions> = async (app, opts) => {
  const limits: DetectLimits = { ...DEFAULT_DETECT_LIMITS, ...opts.limits };
  const engine = opts.engine ?? new InProcessEngine();
  if (!opts.engine) app.addHook('onClose', () => engine.close());
  const ctx = (): DetectContext => ({ registry: registryOf(app, opts), engine, limits, defaultSize: opts.defaultSize });
  await registerUploadParsers(app, limits.maxImageBytes);
  app.addHook('onRequest', refuseWhileFull(engine));
  // Checked on request, before any body is read, so an unauthorised client cannot make us buffer an upload.
  const auth = app.hasDecorator('authenticate') ? { onRequest: app.authenticate } : {};
  const security = app.hasDecorator('securityRequirement') ? { security: app.securityRequirement } : {};
  // base64 is 4/3 of the bytes; the slack covers option members.
  const jsonLimit = Math.ceil((limits.maxImageBytes * 4) / 3) + 64 * 1024;

  app.post(
    '/v1/detect',
    {
      ...auth,
      bodyLimit: jsonLimit,
      validatorCompiler: routeValidator,
      schema: {
        ...security,
        summary: 'Detect objects in one image',
        description:
          'Send the image as multipart/form-data (field `image`), as a raw body with an image content type ' +
          `(${Object.keys(IMAGE_CONTENT_TYPES).join(', ')}), or as JSON {"image": base64}. Options go in the query ` +
          'string or as form/JSON fields. Boxes are in the original image pixels, EXIF orientation applied.',
        tags: ['detection'],
        consumes: CONSUMES,
        querystring: querySchema,
        body: bodyDoc,
        response: {
          200: detectResultSchema.describe('Detections (or, with ?render=jpeg|png, the annotated image)'),
          400: problemSchema,
          401: problemSchema,
          404: problemSchema,
          413: problemSchema,
          415: problemSchema,
          422: problemSchema,
          503: problemSchema,
        },
      },
    },
    (req, reply) => detectImage(ctx(), req, reply, req.query),
  );

  app.post(
    '/v1/detect/batch',
    {
      ...auth,
      bodyLimit: Math.ceil((limits.maxBatchBytes * 4) / 3) + 64 * 1024,
      validatorCompiler: routeValidator,
      schema: {
        ...security,
        summary: 'Detect objects in several images',
        description:
          `Several \`image\` parts (at most ${limits.maxBatch}) run as one batch. Results come back in order; an image that ` +
          'cannot be used gets {"error": problem} in its place and the others still answer.',
        tags: ['detection'],
        consumes: ['multipart/form-data', 'application/json'],
        querystring: detectOptionsSchema,
        body: batchBodyDoc,
        response: { 200: batchResultSchema, 400: problemSchema, 401: problemSchema, 404: problemSchema, 413: problemSchema, 415: problemSchema, 503: problemSchema },
      },
    },
    (req, reply) => detectBatch(ctx(), req, reply, req.query),
  );
};

type DetectQuery = z.output<typeof querySchema>;

/** POST /v1/detect: one image, answered as JSON or, with ?render, as an image. */
async function detectImage(ctx: DetectContext, req: FastifyRequest, reply: FastifyReply, query: DetectQuery): Promise<DetectResult> {
  const { limits } = ctx;
  const upload = await readUpload(req, { maxImageBytes: limits.maxImageBytes, maxFiles: 2 }, { batch: false });
  const options = parseDetectOptions(stripRender(query), upload.fields);
  const prep = prepare(ctx, options);
  if (upload.images.length === 0) throw noImage('send multipart field `image`, a raw image body, or JSON {"image": base64}');
  if (upload.images.length > 1) throw new ProblemError({ status: 400, title: 'More than one image', type: 'too-many-images', detail: 'send one image here, or several to /v1/detect/batch' });
  const img = upload.images[0];
  if (!img.ok) throw img.problem;
  const [result] = await detectMany(ctx, prep, [img.data], requestSignal(reply)).catch((e) => {
    throw toProblem(e);
  });
  if (result instanceof ProblemError) throw result;
  if (!query.render) return result;
  return answerAsImage(reply, img.data, result, query, limits);
}

/** ?render=jpeg|png draws the boxes; ?render=blur blurs them (faces, plates) and answers the image. */
async function answerAsImage(reply: FastifyReply, image: Uint8Array, result: DetectResult, query: DetectQuery, limits: DetectLimits): Promise<DetectResult> {
  let data: Buffer;
  let type: string;
  if (query.render === 'blur') {
    data = await blurRegions(Buffer.from(image.buffer, image.byteOffset, image.byteLength), result.detections.map((d) => d.box), {
      mode: query.blurMode,
      strength: query.blurStrength,
      grow: query.blurGrow,
    });
    type = `image/${(await probeImage(data, limits)).format}`;
  } else {
    const out = await renderDetections(image, result.detections, { format: query.render as 'jpeg' | 'png', maxPixels: limits.maxPixels });
    data = out.data;
    type = out.contentType;
  }
  return reply
    .type(type)
    .header('Kestrel-Detections', String(result.detections.length))
    .header('Kestrel-Model', `${result.model}/${result.head}`)
    .send(data as unknown as DetectResult);
}

/** POST /v1/detect/batch: several images in one forward pass; an unusable one gets its problem in place. */
async function detectBatch(ctx: DetectContext, req: FastifyRequest, reply: FastifyReply, query: z.output<typeof detectOptionsSchema>) {
  const { limits } = ctx;
  if (Buffer.isBuffer(req.body)) {
    throw new ProblemError({ status: 415, title: 'Unsupported content type', type: 'unsupported-media-type', detail: 'batch takes multipart/form-data with several `image` parts, or JSON {"images": [...]}' });
  }
  const upload = await readUpload(req, { maxImageBytes: limits.maxImageBytes, maxFiles: limits.maxBatch, maxTotalBytes: limits.maxBatchBytes }, { batch: true });
  const options = parseDetectOptions(query, upload.fields);
  const prep = prepare(ctx, options);
  if (upload.images.length === 0) throw noImage('send one or more multipart `image` parts');
  const good = upload.images.flatMap((im) => (im.ok ? [im.data] : []));
  const ran = good.length ? await detectMany(ctx, prep, good, requestSignal(reply)).catch((e) => { throw toProblem(e); }) : [];
  let k = 0;
  const results = upload.images.map((im) => {
    const r: DetectResult | ProblemError = im.ok ? ran[k++] : im.problem;
    return r instanceof ProblemError ? { error: problemBody(r) } : r;
  });
  return { results };
}

function stripRender(q: Record<string, unknown>): Record<string, unknown> {
  const { render: _render, blurMode: _m, blurStrength: _s, blurGrow: _g, ...rest } = q;
  return rest;
}

/** A problem as it appears inside a batch answer: the same members the app's error responses carry. */
export function problemBody(p: ProblemError): { type: string; title: string; status: number; detail?: string } & Record<string, unknown> {
  return { ...p.extensions, type: problemType(p.type), title: p.title, status: p.status, ...(p.detail ? { detail: p.detail } : {}) };
}

export default detectRoutes;

/** The engine settings a configuration asks for (workers > 0: a worker pool). */
export function engineChoiceOf(config: Config): EngineChoice {
  return {
    concurrency: config.inferenceConcurrency,
    maxQueue: config.inferenceQueue,
    timeoutMs: config.inferenceTimeoutMs,
    workers: config.workers,
    batchMax: config.batchMax,
    batchWaitMs: config.batchWaitMs,
    backend: config.backend,
  };
}

/** The detection limits a configuration asks for. */
export function detectLimitsOf(config: Config): DetectLimits {
  return {
    maxImageBytes: config.maxImageBytes ?? config.bodyLimit,
    maxPixels: config.maxImagePixels,
    maxBatch: config.maxBatch,
    maxBatchBytes: config.maxBatchBytes,
  };
}

/** detectionApi's options for the app, all from its configuration. */
export function detectionApiOptions(app: FastifyInstance): DetectionApiOptions {
  const config = app.hasDecorator('config') ? app.config : defaultConfig();
  return { apiKey: config.apiKey, defaultSize: config.detectSize, limits: detectLimitsOf(config), engineOptions: engineChoiceOf(config) };
}

export type DetectionApiOptions = DetectRoutesOptions & {
  /** DeepStack `api_key` (the configuration's KESTREL_API_KEY); none when absent. */
  apiKey?: string;
  /** Engine settings when no engine is given (workers > 0: a worker pool over the registry's detector folders). */
  engineOptions?: EngineChoice;
};

/**
 * The whole detection API (native and DeepStack routes) around one shared inference engine, so the
 * app registers it with one line: `await app.register(detectionApi, detectionApiOptions(app))`.
 */
export const detectionApi: FastifyPluginAsyncZod<DetectionApiOptions> = async (app, opts) => {
  const choice: EngineChoice = opts.engineOptions ?? engineChoiceOf(defaultConfig());
  const engine =
    opts.engine ??
    ((choice.workers ?? 0) > 0
      ? await createEngine(registryOf(app, opts), choice, app.log)
      : new InProcessEngine(choice));
  if (!opts.engine) app.log.info({ engine: engine.name, ...engine.stats() }, `detection engine: ${engine.name}`);
  if (!opts.engine) app.addHook('onClose', () => engine.close());
  app.decorate('inference', engine);
  const shared = { registry: opts.registry, engine, limits: opts.limits, defaultSize: opts.defaultSize };
  await app.register(detectRoutes, shared);
  await app.register(deepstackRoutes, { ...shared, apiKey: opts.apiKey });
};
// Like fastify-plugin: the `inference` decoration lands on the app itself; the two route plugins
// (and their body parsers) stay encapsulated beneath.
(detectionApi as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
