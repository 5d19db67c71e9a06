// Builds the service for detection tests around fake models.
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ProblemError } from '../../src/server/errors.js';
import { detectionApi } from '../../src/server/routes/detect.js';
import type { DetectLimits } from '../../src/server/detection.js';
import type { InferenceEngine } from '../../src/server/inference.js';
import type { ModelRegistry } from '../../src/runtime/models.js';

export interface TestAppOptions {
  registry: ModelRegistry;
  engine?: InferenceEngine;
  limits?: Partial<DetectLimits>;
  apiKey?: string;
}

export async function buildDetectApp(o: TestAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Mirrors the app's problem+json rendering closely enough for these routes.
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ProblemError) {
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.status).type('application/problem+json').send({ type: err.type, title: err.title, status: err.status, detail: err.detail, ...err.extensions });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.code(400).type('application/problem+json').send({ title: 'Invalid request', status: 400, detail: err.message, errors: err.validation });
    }
    const e = err as { statusCode?: number; message: string };
    const status = e.statusCode && e.statusCode >= 400 ? e.statusCode : 500;
    return reply.code(status).type('application/problem+json').send({ title: status === 500 ? 'Internal error' : 'Error', status, detail: status === 500 ? undefined : e.message });
  });
  app.decorate('registry', o.registry);
  await app.register(detectionApi, { engine: o.engine, limits: o.limits, apiKey: o.apiKey });
  await app.ready();
  return app;
}
