// Builds the real service (buildApp, its error handling, auth and routes) around fake models for the
// detection tests. Limits and engine settings travel in the configuration, as loadConfig builds them
// from the environment.
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

export async function buildDetectApp(o: TestAppOptions): Promise<FastifyInstance> {
  const config = defaultConfig({
    apiKey: o.apiKey,
    ...(o.limits?.maxImageBytes !== undefined && { maxImageBytes: o.limits.maxImageBytes }),
    ...(o.limits?.maxPixels !== undefined && { maxImagePixels: o.limits.maxPixels }),
    ...(o.limits?.maxBatch !== undefined && { maxBatch: o.limits.maxBatch }),
    ...(o.limits?.maxBatchBytes !== undefined && { maxBatchBytes: o.limits.maxBatchBytes }),
    ...(o.engine?.concurrency !== undefined && { inferenceConcurrency: o.engine.concurrency }),
    ...(o.engine?.maxQueue !== undefined && { inferenceQueue: o.engine.maxQueue }),
  });
  return buildApp({ config, registry: o.registry, logger: false });
}
