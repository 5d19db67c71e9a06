// What is loaded, for clients choosing a model and for humans checking a deployment.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MODEL_KINDS } from '../../runtime/manifest.js';
import type { LoadedModel, ModelRegistry } from '../../runtime/models.js';
import type { ModelMetrics } from '../../runtime/registry.js';
import { ProblemError } from '../errors.js';
import { problemSchema } from '../plugins/problem.js';

export const modelSummarySchema = z.object({
  name: z.string(),
  kind: z.enum(MODEL_KINDS),
  version: z.string(),
  description: z.string().optional(),
  default: z.boolean().describe('Whether requests that name no model of this kind get this one.'),
  heads: z.array(z.string()).optional().describe('Detector heads; the first is used when a request names none.'),
  regionClassifier: z
    .boolean()
    .optional()
    .describe("Detectors: whether a second-stage classifier re-reads each box's pixels and mixes its class probabilities with the head's."),
  labels: z.array(z.string()).optional(),
  sizes: z
    .array(z.number().int())
    .optional()
    .describe('Detectors with speed modes: the square input sides a request may choose with `size` (smaller is faster).'),
  input: z.object({
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    channels: z.number().int().optional(),
    window: z.number().int().optional(),
    horizon: z.number().int().optional(),
    vocabulary: z.string().optional(),
  }),
});

export const modelDetailSchema = modelSummarySchema.extend({
  training: z
    .object({ data: z.unknown().optional(), split: z.unknown().optional(), seed: z.unknown().optional(), command: z.unknown().optional() })
    .optional()
    .describe("How the model was trained, from its metrics.json."),
  figures: z.record(z.string(), z.unknown()).optional().describe("Measured quality and speed, from its metrics.json."),
});

const failureSchema = z.object({ name: z.string(), error: z.string() });

const listSchema = z.object({
  models: z.array(modelSummarySchema),
  failures: z.array(failureSchema).describe('Model folders that could not be loaded; the service runs without them.'),
});

/** Strips directories from error messages: clients learn what is wrong, not where files live. */
export function publicError(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?[\\/](?:[^\s'"`,;:()[\]]+[\\/])+/g, '');
}

export function summarize(registry: ModelRegistry, m: LoadedModel): z.infer<typeof modelSummarySchema> {
  const mf = m.manifest;
  const heads = m.kind === 'detector' ? [...m.heads] : mf.heads;
  const labels = m.kind === 'detector' ? [...m.labels] : mf.labels;
  return {
    name: mf.name,
    kind: mf.kind,
    version: mf.version,
    description: mf.description,
    default: registry.defaultOf(mf.kind)?.manifest.name === mf.name,
    heads,
    ...(m.kind === 'detector' ? { regionClassifier: m.hasRegionClassifier ?? false } : {}),
    labels,
    ...(m.kind === 'detector' && m.inputSizes && m.inputSizes.length > 0 ? { sizes: [...m.inputSizes] } : {}),
    input: mf.input,
  };
}

type WithMetrics = ModelRegistry & { metricsOf?(name: string): Promise<ModelMetrics | undefined> };

const modelsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/models',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['models'],
        summary: 'List loaded models',
        security: app.securityRequirement,
        response: { 200: listSchema, 401: problemSchema },
      },
    },
    async () => {
      const registry = app.registry;
      return {
        models: registry.list().map((m) => summarize(registry, m)),
        failures: registry.failures.map((f) => ({ name: f.name, error: publicError(f.error) })),
      };
    },
  );

  app.get(
    '/v1/models/:name',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['models'],
        summary: 'One model: kind, heads, labels, input, training provenance and measured figures',
        security: app.securityRequirement,
        params: z.object({ name: z.string().min(1).max(64) }),
        response: { 200: modelDetailSchema, 401: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const registry = app.registry as WithMetrics;
      const m = registry.get(request.params.name);
      if (!m) {
        const known = registry.list().map((x) => x.manifest.name);
        throw new ProblemError({
          status: 404,
          title: 'Model not found',
          type: 'model-not-found',
          detail: `no model named "${request.params.name}" is loaded`,
          extensions: { known },
        });
      }
      const metrics = await registry.metricsOf?.(m.manifest.name);
      const training = metrics ? { data: metrics.data, split: metrics.split, seed: metrics.seed, command: metrics.command } : undefined;
      return { ...summarize(registry, m), training, figures: metrics?.figures };
    },
  );
};

export default modelsRoutes;
