// GET /v1/info: which backend and versions a deployment runs, what it serves, and for how long.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { backendInfo } from '../../runtime/backend.js';
import { MODEL_KINDS } from '../../runtime/manifest.js';
import { problemSchema } from '../plugins/problem.js';
import { packageVersion } from '../version.js';

const infoSchema = z.object({
  service: z.literal('kestrel'),
  version: z.string(),
  backend: z.object({
    name: z.string().nullable().describe('tensorflow (tfjs-node), wasm or cpu; null before initialisation.'),
    skipped: z.array(z.object({ name: z.string(), reason: z.string() })).describe('Backends tried first and why they were not used.'),
  }),
  versions: z.record(z.string(), z.string()),
  models: z.array(z.object({ name: z.string(), kind: z.enum(MODEL_KINDS), version: z.string(), default: z.boolean() })),
  failedModels: z.array(z.string()),
  uptimeSeconds: z.number(),
  startedAt: z.string(),
});

const startedAt = new Date();

const infoRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/info',
    {
      preHandler: app.authenticate,
      schema: { tags: ['service'], summary: 'Backend, versions, models and uptime', security: app.securityRequirement, response: { 200: infoSchema, 401: problemSchema } },
    },
    async () => {
      const b = backendInfo();
      const registry = app.registry;
      return {
        service: 'kestrel' as const,
        version: packageVersion(),
        backend: { name: b?.name ?? null, skipped: b?.skipped ?? [] },
        versions: { kestrel: packageVersion(), fastify: app.version, ...(b?.versions ?? { node: process.versions.node }) },
        models: registry.list().map((m) => ({
          name: m.manifest.name,
          kind: m.manifest.kind,
          version: m.manifest.version,
          default: registry.defaultOf(m.manifest.kind)?.manifest.name === m.manifest.name,
        })),
        failedModels: registry.failures.map((f) => f.name),
        uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
        startedAt: startedAt.toISOString(),
      };
    },
  );
};

export default infoRoutes;
