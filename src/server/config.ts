// Service settings come from the environment only, validated once at start-up so that a typo in a
// deployment fails loudly, naming the variable, instead of serving with a silent default.
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BACKEND_CHOICES } from '../runtime/backend.js';
import { packageRoot } from '../package-root.js';

export { packageRoot };

const intFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Every variable the service reads, with its default; README's table lists the same. */
export const envSchema = z.object({
  PORT: intFrom(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KESTREL_BACKEND: z.enum(BACKEND_CHOICES).default('auto'),
  KESTREL_MODELS_DIR: z.string().min(1).optional(),
  KESTREL_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  KESTREL_BODY_LIMIT: intFrom(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
  KESTREL_SHUTDOWN_TIMEOUT_MS: intFrom(0, 10 * 60 * 1000).default(10_000),
  KESTREL_REQUEST_TIMEOUT_MS: intFrom(0, 10 * 60 * 1000).default(60_000),
  KESTREL_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []))
    .pipe(z.array(z.union([z.literal('*'), z.url({ message: 'must be a comma-separated list of origins (https://host[:port]) or *' })]))),
  KESTREL_HEADERS_TIMEOUT_MS: intFrom(0, 10 * 60 * 1000).default(30_000),
  KESTREL_KEEPALIVE_TIMEOUT_MS: intFrom(0, 10 * 60 * 1000).default(72_000),
  KESTREL_MAX_CONNECTIONS: intFrom(0, 1_000_000).default(1024),
  KESTREL_RATE_LIMIT: intFrom(0, 1_000_000_000).default(0),
  KESTREL_RATE_LIMIT_WINDOW_MS: intFrom(1, 24 * 60 * 60 * 1000).default(60_000),
  KESTREL_INFERENCE_TIMEOUT_MS: intFrom(0, 10 * 60 * 1000).default(30_000),
  KESTREL_WORKERS: intFrom(0, 256).optional(),
  KESTREL_BATCH_MAX: intFrom(1, 256).default(8),
  KESTREL_BATCH_WAIT_MS: intFrom(0, 1000).default(2),
  KESTREL_DETECT_SIZE: intFrom(32, 2048).optional(),
  KESTREL_MAX_IMAGE_BYTES: intFrom(1, Number.MAX_SAFE_INTEGER).optional(),
  KESTREL_MAX_IMAGE_PIXELS: intFrom(1, Number.MAX_SAFE_INTEGER).default(40_000_000),
  KESTREL_MAX_BATCH: intFrom(1, Number.MAX_SAFE_INTEGER).default(16),
  KESTREL_MAX_BATCH_BYTES: intFrom(1, Number.MAX_SAFE_INTEGER).default(64 * 1024 * 1024),
  KESTREL_INFERENCE_CONCURRENCY: intFrom(1, Number.MAX_SAFE_INTEGER).default(1),
  KESTREL_INFERENCE_QUEUE: intFrom(0, Number.MAX_SAFE_INTEGER).default(64),
  KESTREL_TRUST_PROXY: bool.default(false),
  KESTREL_DOCS: bool.default(true),
  KESTREL_UI: bool.default(true),
});

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  backend: z.infer<typeof envSchema>['KESTREL_BACKEND'];
  modelsDir: string;
  apiKey?: string;
  bodyLimit: number;
  shutdownTimeoutMs: number;
  requestTimeoutMs: number;
  /** Time allowed to receive the request headers (slow-loris guard); 0 = Node's default. */
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Open sockets at once; further connections are closed at once; 0 = no limit. */
  maxConnections: number;
  /** Requests per window per client IP; 0 = off. */
  rateLimit: number;
  rateLimitWindowMs: number;
  /** Longest a detect job may wait plus run; 0 = no deadline. */
  inferenceTimeoutMs: number;
  /** Detection worker threads, each with its own tfjs backend and models; 0 = forward passes on the main thread. */
  workers: number;
  /** Most images one micro-batched forward pass takes. */
  batchMax: number;
  /** How long a job may wait for others to share its forward pass; 0 (or batchMax 1) turns batching off. */
  batchWaitMs: number;
  /** Speed mode: the input side for detectors that list it among their sizes (e.g. 320 fast, 512 thorough); unset = each model's own. */
  detectSize?: number;
  /** Largest image body in bytes (raw body or one multipart file); bodyLimit when absent. */
  maxImageBytes?: number;
  /** Largest image in pixels (width × height), checked from the header before decoding. */
  maxImagePixels: number;
  /** Most images in one /v1/detect/batch request. */
  maxBatch: number;
  /** Most image bytes in one batch request, all parts together. */
  maxBatchBytes: number;
  /** Forward passes running at once on the in-process engine. */
  inferenceConcurrency: number;
  /** Detect jobs allowed to wait for a forward pass; more are refused with 503. */
  inferenceQueue: number;
  corsOrigins: string[];
  trustProxy: boolean;
  docs: boolean;
  /** Serve the try-it page at `/` (static files; it calls the public API like any other client). */
  ui: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the settings from an environment (process.env by default); throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.keys(envSchema.shape).flatMap((k) => (env[k] !== undefined && env[k] !== '' ? [[k, env[k]]] : [])));
  const r = envSchema.safeParse(present);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => {
        const variable = String(i.path[0] ?? '?');
        const given = present[variable];
        // The key itself is never echoed: it is a secret.
        const shown = variable === 'KESTREL_API_KEY' || given === undefined ? '' : ` (got ${JSON.stringify(given)})`;
        return { variable, message: `${i.message}${shown}` };
      }),
    );
  }
  const e = r.data;
  // Node refuses this pair at server creation; here it would silently make the request bound win.
  if (e.KESTREL_REQUEST_TIMEOUT_MS > 0 && e.KESTREL_HEADERS_TIMEOUT_MS > e.KESTREL_REQUEST_TIMEOUT_MS) {
    throw new ConfigError([{ variable: 'KESTREL_HEADERS_TIMEOUT_MS', message: `must not exceed KESTREL_REQUEST_TIMEOUT_MS (${e.KESTREL_REQUEST_TIMEOUT_MS})` }]);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    backend: e.KESTREL_BACKEND,
    modelsDir: resolve(e.KESTREL_MODELS_DIR ?? resolve(packageRoot(), 'models')),
    apiKey: e.KESTREL_API_KEY,
    bodyLimit: e.KESTREL_BODY_LIMIT,
    shutdownTimeoutMs: e.KESTREL_SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: e.KESTREL_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: e.KESTREL_HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KESTREL_KEEPALIVE_TIMEOUT_MS,
    maxConnections: e.KESTREL_MAX_CONNECTIONS,
    rateLimit: e.KESTREL_RATE_LIMIT,
    rateLimitWindowMs: e.KESTREL_RATE_LIMIT_WINDOW_MS,
    inferenceTimeoutMs: e.KESTREL_INFERENCE_TIMEOUT_MS,
    workers: e.KESTREL_WORKERS ?? availableParallelism(),
    batchMax: e.KESTREL_BATCH_MAX,
    batchWaitMs: e.KESTREL_BATCH_WAIT_MS,
    detectSize: e.KESTREL_DETECT_SIZE,
    maxImageBytes: e.KESTREL_MAX_IMAGE_BYTES,
    maxImagePixels: e.KESTREL_MAX_IMAGE_PIXELS,
    maxBatch: e.KESTREL_MAX_BATCH,
    maxBatchBytes: e.KESTREL_MAX_BATCH_BYTES,
    inferenceConcurrency: e.KESTREL_INFERENCE_CONCURRENCY,
    inferenceQueue: e.KESTREL_INFERENCE_QUEUE,
    corsOrigins: e.KESTREL_CORS_ORIGINS,
    trustProxy: e.KESTREL_TRUST_PROXY,
    docs: e.KESTREL_DOCS,
    ui: e.KESTREL_UI,
  };
}

/**
 * Settings for tests and library use: defaults, overridden field by field. Unlike a deployment, they
 * run forward passes on the calling thread (workers: 0) unless asked, so an embedding app or a test
 * starts no threads it did not ask for.
 */
export function defaultConfig(over: Partial<Config> = {}): Config {
  return { ...loadConfig({}), workers: 0, ...over };
}
