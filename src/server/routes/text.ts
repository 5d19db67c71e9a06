// Text generation and scoring with the char-RNN models. Generation streams as server-sent events when
// the client asks for text/event-stream; a client that goes away stops the sampling.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CharRnnModel } from '../../runtime/models.js';
import { ProblemError } from '../errors.js';
import { problemSchema } from '../plugins/problem.js';

export const MAX_PROMPT = 1000;
export const MAX_LENGTH = 2000;
export const MAX_SCORE_TEXT = 20_000;

export const generateBodySchema = z.object({
  model: z.string().min(1).max(64).optional().describe('A loaded char-rnn model; the default char-rnn model when absent.'),
  prompt: z.string().max(MAX_PROMPT).default('').describe('Text that conditions the generation (not repeated in the output); may be empty.'),
  length: z.number().int().min(1).max(MAX_LENGTH).default(200).describe('Characters to generate.'),
  temperature: z.number().min(0).max(2).default(1).describe('Softmax temperature; 0 picks the most likely character (greedy).'),
  topK: z.number().int().min(1).optional().describe('Sample only among the k most likely characters.'),
  topP: z.number().gt(0).max(1).optional().describe('Sample only from the smallest set of characters whose probability reaches p (nucleus).'),
  seed: z.number().int().min(0).max(4294967295).optional().describe('The same seed, model and request give the same text.'),
});

export const generateResponseSchema = z.object({
  text: z.string(),
  model: z.string(),
  length: z.number().int().describe('Characters generated.'),
  finishReason: z.enum(['length', 'aborted']),
});

export const scoreBodySchema = z.object({
  model: z.string().min(1).max(64).optional(),
  text: z.string().min(1).max(MAX_SCORE_TEXT).describe('Every character is scored given the ones before it.'),
});

export const scoreResponseSchema = z.object({
  nats: z.number().describe('Mean negative log-likelihood per character, in nats.'),
  bitsPerChar: z.number(),
  perplexity: z.number(),
  model: z.string(),
});

function charRnn(app: FastifyInstance, name: string | undefined): CharRnnModel {
  const registry = app.registry;
  if (name === undefined) {
    const m = registry.defaultOf('char-rnn');
    if (!m) throw new ProblemError({ status: 404, title: 'Model not found', type: 'model-not-found', detail: 'no char-rnn model is loaded' });
    return m;
  }
  const m = registry.get(name);
  if (!m || m.kind !== 'char-rnn') {
    const known = registry
      .list()
      .filter((x) => x.kind === 'char-rnn')
      .map((x) => x.manifest.name);
    throw new ProblemError({
      status: 404,
      title: 'Model not found',
      type: 'model-not-found',
      detail: m ? `model "${name}" is a ${m.kind}, not a char-rnn` : `no char-rnn model named "${name}" is loaded`,
      extensions: { known },
    });
  }
  return m;
}

/** 400 naming every character the model cannot read. */
function checkVocabulary(model: CharRnnModel, field: string, text: string): void {
  const vocab = new Set(Array.from(model.vocabulary));
  const bad: string[] = [];
  for (const c of text) if (!vocab.has(c) && !bad.includes(c)) bad.push(c);
  if (bad.length === 0) return;
  throw new ProblemError({
    status: 400,
    title: 'Characters outside the vocabulary',
    type: 'out-of-vocabulary',
    detail: `${field} contains ${bad.length} character${bad.length > 1 ? 's' : ''} that model "${model.manifest.name}" does not know: ${bad.map((c) => JSON.stringify(c)).join(', ')}`,
    extensions: { field, characters: bad },
  });
}

function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.split(',').some((part) => part.trim().split(';')[0].trim().toLowerCase() === 'text/event-stream');
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const textRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/text/generate',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['text'],
        summary: 'Generate text with a char-RNN',
        description:
          'Samples `length` characters after `prompt`, stepping the recurrent state one character at a time. ' +
          'With `Accept: text/event-stream` the answer is a stream of server-sent events: `token` events ({"text": one character}) ' +
          'as characters are sampled, then one `done` event carrying the JSON response body. Closing the connection stops the sampling.',
        security: app.securityRequirement,
        body: generateBodySchema,
        response: { 200: generateResponseSchema, 400: problemSchema, 401: problemSchema, 404: problemSchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const model = charRnn(app, body.model);
      checkVocabulary(model, 'prompt', body.prompt);
      const abort = new AbortController();
      // The response's close fires when the client goes away before we finished (and harmlessly after).
      const onClose = () => {
        if (!reply.raw.writableEnded) abort.abort();
      };
      reply.raw.on('close', onClose);
      const opts = { prompt: body.prompt, length: body.length, temperature: body.temperature, topK: body.topK, topP: body.topP, seed: body.seed, signal: abort.signal };
      const name = model.manifest.name;
      if (!wantsEventStream(request)) {
        const r = await model.generate(opts);
        reply.raw.off('close', onClose);
        return { text: r.text, model: name, length: Array.from(r.text).length, finishReason: r.finishReason };
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': String(request.id),
      });
      try {
        const r = await model.generate({ ...opts, onToken: (ch) => res.write(sse('token', { text: ch })) });
        if (!abort.signal.aborted) res.write(sse('done', { text: r.text, model: name, length: Array.from(r.text).length, finishReason: r.finishReason }));
      } catch (err) {
        request.log.error({ err }, 'text generation failed mid-stream');
        if (!abort.signal.aborted) res.write(sse('error', { title: 'Internal Server Error', status: 500 }));
      } finally {
        res.off('close', onClose);
        res.end();
      }
      return reply;
    },
  );

  app.post(
    '/v1/text/score',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['text'],
        summary: 'How likely a text is under a char-RNN',
        description: 'Mean negative log-likelihood of each character given the ones before it, in nats and bits, and the perplexity.',
        security: app.securityRequirement,
        body: scoreBodySchema,
        response: { 200: scoreResponseSchema, 400: problemSchema, 401: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const model = charRnn(app, request.body.model);
      checkVocabulary(model, 'text', request.body.text);
      const r = await model.score(request.body.text);
      return { ...r, model: model.manifest.name };
    },
  );
};

export default textRoutes;
