// POST /v1/sequence/forecast: the next `horizon` values of a series from a loaded forecaster.
// Shape errors (non-numbers, NaN/Infinity, more than 10,000 values) fail schema validation; the
// model-dependent ones (shorter than the window, horizon beyond the model's maximum, missing date) are
// checked here against the chosen model. Both come back as 400 problem documents naming the field.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../errors.js';
import { problemSchema } from '../plugins/problem.js';
import type { ForecasterModel } from '../../runtime/models.js';
import { ForecastInputError, type ForecastOptions } from '../../sequence/forecaster.js';

export const MAX_SERIES = 10_000;

const finite = z.number({ error: 'each series value must be a finite number (NaN, Infinity and strings are not allowed)' }).finite();

export const forecastBody = z
  .object({
    model: z.string().min(1).max(64).optional().describe('forecaster name; the default forecaster when absent'),
    series: z
      .array(finite, { error: 'series must be an array of numbers' })
      .min(1, 'series must not be empty')
      .max(MAX_SERIES, `series may hold at most ${MAX_SERIES} values`)
      .describe("the history, oldest first; at least the model's window"),
    horizon: z.number({ error: 'horizon must be an integer' }).int('horizon must be an integer').min(1, 'horizon must be at least 1').describe("values to forecast, 1..the model's maximum"),
    end: z.string().max(32).optional().describe('date of the last value (YYYY-MM-DD daily, YYYY-MM monthly); required by models with calendar features'),
    intervals: z.boolean().default(false).describe('add prediction intervals from validation residuals'),
  })
  .strict();

export const forecastReply = z.object({
  model: z.string(),
  horizon: z.number().int(),
  forecast: z.array(z.number()),
  intervals: z
    .object({ level: z.number(), lower: z.array(z.number()), upper: z.array(z.number()) })
    .optional()
    .describe('central prediction interval per step, from validation residual quantiles'),
});

/** Models may take the date of the last value (calendar features); the registry contract has no slot for it. */
type DatedForecaster = ForecasterModel & {
  forecast(series: number[], horizon: number, opts?: ForecastOptions): ReturnType<ForecasterModel['forecast']>;
  readonly calendar?: string | null;
  readonly config?: { intervals?: { level: number } };
};

function bad(detail: string, field: string): ProblemError {
  return new ProblemError({ status: 400, title: 'Invalid forecast request', detail, type: 'invalid-request', extensions: { errors: [{ field: `body/${field}`, message: detail }] } });
}

export const sequenceRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/sequence/forecast',
    {
      preHandler: app.authenticate,
      schema: {
        summary: 'Forecast the next values of a series',
        tags: ['sequence'],
        security: app.securityRequirement,
        body: forecastBody,
        response: { 200: forecastReply, 400: problemSchema, 401: problemSchema, 404: problemSchema, 503: problemSchema },
      },
    },
    async (req) => {
      const { model: name, series, horizon, end, intervals } = req.body;
      const reg = app.registry;
      let model: ForecasterModel | undefined;
      if (name !== undefined) {
        const m = reg.get(name);
        if (!m || m.kind !== 'forecaster') {
          throw new ProblemError({ status: 404, title: 'Unknown model', detail: `no forecaster named "${name}" is loaded`, type: 'unknown-model' });
        }
        model = m;
      } else {
        model = reg.defaultOf('forecaster');
        if (!model) throw new ProblemError({ status: 503, title: 'No forecaster loaded', detail: 'the service has no forecaster model', type: 'no-model' });
      }
      if (series.length < model.window) throw bad(`series has ${series.length} values; model "${model.manifest.name}" needs at least its window of ${model.window}`, 'series');
      if (horizon > model.maxHorizon) throw bad(`horizon ${horizon} exceeds model "${model.manifest.name}"'s maximum of ${model.maxHorizon}`, 'horizon');
      const dated = model as DatedForecaster;
      if (end !== undefined && !dated.calendar) throw bad(`model "${model.manifest.name}" uses no calendar features; omit "end"`, 'end');
      let out: Awaited<ReturnType<ForecasterModel['forecast']>>;
      try {
        out = await dated.forecast(series, horizon, { end });
      } catch (err) {
        if (err instanceof ForecastInputError) throw bad(err.message, /"end"|calendar/.test(err.message) ? 'end' : 'series');
        throw err;
      }
      const reply: z.infer<typeof forecastReply> = { model: model.manifest.name, horizon, forecast: out.forecast };
      if (intervals) {
        const level = dated.config?.intervals?.level;
        if (!out.lower || !out.upper || level === undefined) throw bad(`model "${model.manifest.name}" has no prediction intervals`, 'intervals');
        reply.intervals = { level, lower: out.lower, upper: out.upper };
      }
      return reply;
    },
  );
};

export default sequenceRoutes;
