// Renders every error as RFC 9457 application/problem+json: our ProblemError, Fastify's own errors
// (bad JSON, body too large, unsupported media type), zod validation failures with the offending
// fields, and unknown routes. Clients never see stack traces, file paths or internal messages.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** ProblemError slugs become URNs, so a `type` is a stable identifier rather than a link that may rot. */
export function problemType(slug: string | undefined): string {
  if (!slug) return 'about:blank';
  return /^[a-z][a-z0-9+.-]*:/i.test(slug) ? slug : `urn:kestrel:problem:${slug}`;
}

export const validationIssueSchema = z.object({
  field: z.string().describe('Where the bad value is: body, querystring, params or headers, then a JSON pointer.'),
  message: z.string(),
  code: z.string().optional(),
});

export const problemSchema = z
  .looseObject({
    type: z.string().describe('A URI naming the kind of problem; about:blank when only the status matters.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional().describe('The request path.'),
    requestId: z.string().optional().describe('Quote this when reporting a problem; it is in the server logs.'),
    errors: z.array(validationIssueSchema).optional().describe('For validation problems: each offending field.'),
  })
  .describe('RFC 9457 problem details (application/problem+json).')
  .meta({ id: 'Problem' });

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: z.infer<typeof validationIssueSchema>[];
  [extension: string]: unknown;
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function titleOf(status: number): string {
  return STATUS_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

// Fastify error codes whose message is written for clients and reveals nothing internal.
const SAFE_FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid-json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-content-length',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported-media-type',
  FST_ERR_VALIDATION: 'validation',
  FST_ERR_NOT_FOUND: 'not-found',
  FST_ERR_BAD_URL: 'bad-url',
  FST_ERR_ASYNC_CONSTRAINT: 'bad-request',
};

export function sendProblem(request: FastifyRequest, reply: FastifyReply, p: ProblemBody, headers?: Record<string, string>) {
  if (headers) reply.headers(headers);
  const body = { ...p, instance: request.url.split('?')[0], requestId: String(request.id) };
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

interface ValidationLike {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function fieldsOf(err: FastifyError & { validationContext?: string }): z.infer<typeof validationIssueSchema>[] {
  const where = err.validationContext ?? 'body';
  return ((err.validation ?? []) as ValidationLike[]).map((v) => {
    // ajv reports a missing property on its parent; name the property itself.
    const missing = typeof v.params?.missingProperty === 'string' ? `/${v.params.missingProperty}` : '';
    return { field: `${where}${v.instancePath ?? ''}${missing}`, message: v.message ?? 'invalid', code: v.keyword };
  });
}

/** Installs the error and not-found handlers on the root instance (they then apply to every plugin). */
export function installProblemHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      type: problemType('not-found'),
      title: 'Not Found',
      status: 404,
      detail: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(
        request,
        reply,
        { ...error.extensions, type: problemType(error.type), title: error.title, status: error.status, detail: error.detail },
        error.headers,
      );
    }
    if (hasZodFastifySchemaValidationErrors(error) || (error.validation && error.validation.length > 0)) {
      const errors = fieldsOf(error);
      return sendProblem(request, reply, {
        type: problemType('validation'),
        title: 'Invalid request',
        status: 400,
        detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors,
      });
    }
    if (isResponseSerializationError(error as unknown as object) && 'method' in error) {
      request.log.error({ err: error }, 'response did not match its schema');
      return sendProblem(request, reply, { type: 'about:blank', title: titleOf(500), status: 500, detail: 'the server produced an invalid response' });
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const slug = error.code ? SAFE_FASTIFY_CODES[error.code] : undefined;
    if (status >= 500) {
      // The client gets only the request id; the log gets everything.
      request.log.error({ err: error }, 'request failed');
      return sendProblem(request, reply, { type: 'about:blank', title: titleOf(status), status, detail: 'an unexpected error occurred; quote the requestId when reporting it' });
    }
    // A 4xx from Fastify or a plugin was raised on purpose about the request, so its message is for the client.
    return sendProblem(request, reply, { type: problemType(slug), title: titleOf(status), status, detail: error.message || undefined });
  });
}
