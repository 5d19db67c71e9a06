// RFC 9457 problem details. Routes throw ProblemError; the app's error handler renders every error,
// including Fastify's own and zod validation failures, as application/problem+json.
export interface ProblemInit {
  status: number;
  title: string;
  detail?: string;
  /** A short slug; rendered as the problem type URI. */
  type?: string;
  /** Extension members, e.g. `errors` for validation failures. */
  extensions?: Record<string, unknown>;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
}

export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly type?: string;
  readonly extensions?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  constructor(init: ProblemInit) {
    super(init.detail ?? init.title);
    this.name = 'ProblemError';
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.type = init.type;
    this.extensions = init.extensions;
    this.headers = init.headers;
  }
}
