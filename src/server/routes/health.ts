// Liveness and readiness for orchestrators. /healthz only says the process answers; /readyz says
// whether it should receive traffic, and when not, why.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readiness } from '../readiness.js';

const healthSchema = z.object({ status: z.literal('ok') });

const readySchema = z.object({
  ready: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() })),
  reasons: z.array(z.string()).describe('Why the service is not ready; empty when it is.'),
});

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness: the process is up and answering', response: { 200: healthSchema } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: backend up and every default model loaded',
        description: 'Answers 503 with the reasons while the service should not receive traffic (no models, a default model failed, draining).',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const r = readiness(app);
      return reply.code(r.ready ? 200 : 503).send(r);
    },
  );
};

export default healthRoutes;
