// Builds the real service (buildApp, its error handling, auth and routes) around fake models for the
// detection tests. Limits and engine settings travel as the environment variables the service reads.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import type { DetectLimits } from '../../src/server/detection.js';
import type { InProcessEngineOptions } from '../../src/server/inference.js';
import type { ModelRegistry } from '../../src/runtime/models.js';

export interface TestAppOptions {
  registry: ModelRegistry;
  engine?: InProcessEngineOptions;
  limits?: Partial<DetectLimits>;
  apiKey?: string;
}

const ENV: Record<string, (o: TestAppOptions) => number | undefined> = {
  KESTREL_MAX_IMAGE_BYTES: (o) => o.limits?.maxImageBytes,
  KESTREL_MAX_IMAGE_PIXELS: (o) => o.limits?.maxPixels,
  KESTREL_MAX_BATCH: (o) => o.limits?.maxBatch,
  KESTREL_MAX_BATCH_BYTES: (o) => o.limits?.maxBatchBytes,
  KESTREL_INFERENCE_CONCURRENCY: (o) => o.engine?.concurrency,
  KESTREL_INFERENCE_QUEUE: (o) => o.engine?.maxQueue,
};

export async function buildDetectApp(o: TestAppOptions): Promise<FastifyInstance> {
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  try {
    for (const [k, get] of Object.entries(ENV)) {
      const v = get(o);
      if (v === undefined) delete process.env[k];
      else process.env[k] = String(v);
    }
    return await buildApp({ config: defaultConfig({ apiKey: o.apiKey }), registry: o.registry, logger: false });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
