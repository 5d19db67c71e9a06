// The app factory: everything about the HTTP service except listening. Tests drive it with inject().
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ModelRegistry } from '../runtime/models.js';
import { loadRegistry, type Registry } from '../runtime/registry.js';
import { defaultConfig, type Config } from './config.js';
import { ProblemError } from './errors.js';
import { BEARER_SECURITY, requireApiKey, type AuthPreHandler } from './plugins/auth.js';
import { installMetrics } from './plugins/metrics.js';
import { installProblemHandling } from './plugins/problem.js';
import uiPlugin from './plugins/ui.js';
import { packageVersion } from './version.js';
import healthRoutes from './routes/health.js';
import infoRoutes from './routes/info.js';
import modelsRoutes from './routes/models.js';
import { detectionApi, detectionApiOptions } from './routes/detect.js';
import sequenceRoutes from './routes/sequence.js';
import textRoutes from './routes/text.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The loaded models; route plugins read it per request. */
    registry: ModelRegistry;
    config: Config;
    /** preHandler enforcing KESTREL_API_KEY (a no-op when none is set): `{ preHandler: app.authenticate }`. */
    authenticate: AuthPreHandler;
    /** OpenAPI `security` for routes behind app.authenticate. */
    securityRequirement: { bearerAuth: string[] }[];
    /** True once shutdown began; /readyz then answers 503. */
    draining: boolean;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyPlugin = FastifyPluginAsync<any>;

/**
 * Route groups, registered in order. A new group is one line: its plugin and, if it takes any,
 * its options computed from the app (config, registry).
 */
export const ROUTES: { plugin: AnyPlugin; options?: (app: FastifyInstance) => Record<string, unknown> }[] = [
  { plugin: healthRoutes },
  { plugin: infoRoutes },
  { plugin: modelsRoutes },
  { plugin: detectionApi, options: detectionApiOptions },
  { plugin: sequenceRoutes },
  { plugin: textRoutes },
  { plugin: uiPlugin },
];

const RATE_LIMIT_EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

export interface BuildAppOptions {
  config?: Config;
  /** The models to serve; when absent they are loaded from config.modelsDir. */
  registry?: ModelRegistry;
  /** false silences logs (tests); an object adds pino options; a function builds on the defaults. */
  logger?: boolean | FastifyServerOptions['logger'];
  /** Extra plugins registered after ROUTES (tests, embedding). */
  plugins?: AnyPlugin[];
}

// Query parameters that can carry secrets (the DeepStack API sends api_key in the form or query).
const SECRET_QUERY = /([?&](?:api_key|apikey|key|token|access_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
}

// An inbound id is reused (so traces join across services) only if it cannot smuggle anything into logs.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function loggerOptions(config: Config): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level: config.logLevel,
    // Fastify's request serializer logs no headers or bodies; these paths guard against anyone adding them.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'headers.authorization', 'body', 'req.body', 'image', 'images'],
      censor: '[REDACTED]',
    },
    serializers: {
      req(req: { method: string; url: string; hostname?: string; ip?: string; id?: string }) {
        return { method: req.method, url: redactUrl(req.url), host: req.hostname, remoteAddress: req.ip };
      },
    },
  };
}

export async function buildApp(opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config = opts.config ?? defaultConfig();
  const logger = opts.logger === false ? false : opts.logger === undefined || opts.logger === true ? loggerOptions(config) : { ...loggerOptions(config), ...(opts.logger as object) };

  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimit,
    // Inference workers load and warm their models inside the detection plugin: seconds on a busy machine.
    pluginTimeout: 120_000,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Requests arriving during shutdown get 503 (installLifecycleHooks) while in-flight ones finish.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();

  // Slow senders and floods of sockets: Fastify has no options for these, the Node server does.
  if (config.headersTimeoutMs > 0) app.server.headersTimeout = config.headersTimeoutMs;
  if (config.maxConnections > 0) app.server.maxConnections = config.maxConnections;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandling(app);

  installLifecycleHooks(app);

  const registry = opts.registry ?? (await loadRegistryLogged(config, app));
  // Models this app loaded are its to free; an injected registry belongs to the caller.
  if (!opts.registry) app.addHook('onClose', async () => (registry as Registry).dispose());
  app.decorate('registry', registry);
  app.decorate('config', config);
  app.decorate('authenticate', requireApiKey(config.apiKey));
  app.decorate('securityRequirement', BEARER_SECURITY);
  app.decorate('draining', false);

  await registerProtections(app, config);
  await registerDocs(app, config);

  installMetrics(app);
  for (const r of ROUTES) await app.register(r.plugin, r.options?.(app) ?? {});
  for (const p of opts.plugins ?? []) await app.register(p);

  await app.ready();
  return app;
}

/** Request ids on every answer, and the drain: 503 problems and closed keep-alives once shutdown starts. */
function installLifecycleHooks(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // While draining, each finished response also ends its keep-alive connection; otherwise an idle
  // client socket would hold the server open until the shutdown bound.
  app.addHook('onSend', async (_request, reply) => {
    if (app.draining) reply.header('connection', 'close');
  });
  // Fastify's own closing 503 is plain JSON; this one is a problem document like every other error.
  app.addHook('onRequest', async (request) => {
    if (app.draining && !RATE_LIMIT_EXEMPT.has(request.url.split('?')[0])) {
      throw new ProblemError({ status: 503, title: 'Shutting down', type: 'shutting-down', detail: 'this instance is draining; retry on another', headers: { 'Retry-After': '1' } });
    }
  });
  app.addHook('preClose', async () => {
    app.draining = true;
  });
}

/** Security headers, CORS and per-client rate limiting, as configured. */
async function registerProtections(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(helmet, {
    global: true,
    // Swagger UI runs inline scripts; the JSON API gains nothing from a CSP.
    contentSecurityPolicy: false,
    // With CORS on, other origins may also embed responses (rendered images); otherwise same-origin only.
    crossOriginResourcePolicy: { policy: config.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
  });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: config.corsOrigins.includes('*') ? true : config.corsOrigins, exposedHeaders: ['x-request-id', 'retry-after'] });
  }

  if (config.rateLimit > 0) {
    await app.register(rateLimit, {
      max: config.rateLimit,
      timeWindow: config.rateLimitWindowMs,
      // Orchestrator probes and scrapers must never be throttled into looking dead.
      allowList: (req) => RATE_LIMIT_EXEMPT.has(req.url.split('?')[0]),
      // The plugin throws what this returns; as a ProblemError the app's handler renders problem+json.
      errorResponseBuilder: (_req, ctx) =>
        new ProblemError({
          status: 429,
          title: 'Too Many Requests',
          type: 'rate-limited',
          detail: `rate limit of ${ctx.max} requests per ${ctx.after} exceeded; retry later`,
          headers: { 'Retry-After': String(Math.max(1, Math.ceil(ctx.ttl / 1000))) },
        }),
    });
  }
}

/** The OpenAPI document (always at /openapi.json) and, unless turned off, Swagger UI at /docs. */
async function registerDocs(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kestrel',
        version: packageVersion(),
        description: 'Object detection (sliding-window, YOLO-style and SSD-style heads), character-level text generation and time-series forecasting over HTTP. Errors are RFC 9457 application/problem+json.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: [
        { name: 'health', description: 'Liveness and readiness' },
        { name: 'service', description: 'Deployment information' },
        { name: 'models', description: 'Loaded models' },
        { name: 'detection', description: 'Object detection: images in, boxes (or annotated images) out' },
        { name: 'deepstack', description: 'DeepStack-compatible detection routes for existing clients' },
        { name: 'text', description: 'Character-level text generation and scoring' },
        { name: 'sequence', description: 'Time-series forecasting' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Enforced only when the server runs with KESTREL_API_KEY set.' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => problemMediaType(jsonSchemaTransformObject(input) as OpenApiDoc),
  });
  if (config.docs) await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

type OpenApiDoc = { paths?: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>> };

/** Error responses are served as application/problem+json; say so in the document. */
function problemMediaType(doc: OpenApiDoc): OpenApiDoc {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        const json = res.content?.['application/json'] as { schema?: { $ref?: string } } | undefined;
        if (Number(status) >= 400 && json?.schema?.$ref === '#/components/schemas/Problem') {
          res.content = { 'application/problem+json': json };
        }
      }
    }
  }
  return doc;
}

async function loadRegistryLogged(config: Config, app: FastifyInstance): Promise<Registry> {
  const registry = await loadRegistry(config.modelsDir, {
    onModel: (e) => {
      if (e.ok) app.log.info({ model: e.name, ms: Math.round(e.ms) }, 'model loaded');
      else app.log.error({ model: e.name, dir: e.dir, error: e.error }, 'model skipped: it could not be loaded');
    },
  });
  if (registry.list().length === 0) app.log.warn({ modelsDir: config.modelsDir }, 'no models loaded; /readyz answers 503 until models are added and the service restarts');
  return registry;
}
