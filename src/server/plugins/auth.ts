// Optional bearer-token protection for the native API. Health, metrics and docs stay open so
// orchestrators and scrapers need no secret.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError } from '../errors.js';

/**
 * Compares secrets in constant time. Hashing first gives equal-length inputs, so neither the
 * content nor the length of the expected key leaks through timing.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export type AuthPreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** A preHandler requiring `Authorization: Bearer <key>`; with no key configured it lets everything through. */
export function requireApiKey(apiKey: string | undefined): AuthPreHandler {
  return async (request) => {
    if (apiKey === undefined) return;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!m) {
      throw new ProblemError({
        status: 401,
        title: 'Unauthorized',
        type: 'unauthorized',
        detail: 'send the API key as Authorization: Bearer <key>',
        headers: { 'WWW-Authenticate': 'Bearer realm="kestrel"' },
      });
    }
    if (!sameSecret(m[1], apiKey)) {
      throw new ProblemError({
        status: 401,
        title: 'Unauthorized',
        type: 'unauthorized',
        detail: 'the API key is not valid',
        headers: { 'WWW-Authenticate': 'Bearer realm="kestrel", error="invalid_token"' },
      });
    }
  };
}

/** The OpenAPI security requirement for routes behind requireApiKey. */
export const BEARER_SECURITY = [{ bearerAuth: [] as string[] }];
