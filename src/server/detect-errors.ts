// How detection failures become the problems the API documents: image errors by their code, a full
// queue as 503 with Retry-After, a client that went away as 499. Anything else is a bug and is rethrown.
import { ImageError } from '../vision/image.js';
import { ProblemError } from './errors.js';
import { EngineOverloadedError, JobAbortedError } from './inference.js';

/** ImageError → the HTTP problem the API documents. */
export function imageProblem(err: ImageError): ProblemError {
  switch (err.code) {
    case 'empty':
      return new ProblemError({ status: 400, title: 'Empty image', type: 'no-image', detail: err.message });
    case 'unsupported':
      return new ProblemError({ status: 415, title: 'Unsupported image format', type: 'unsupported-image', detail: err.message });
    case 'too-many-pixels':
      return new ProblemError({ status: 413, title: 'Image has too many pixels', type: 'image-too-large', detail: err.message });
    case 'undecodable':
      return new ProblemError({ status: 422, title: 'Undecodable image', type: 'undecodable-image', detail: err.message });
  }
}

export function toProblem(err: unknown): ProblemError {
  if (err instanceof ProblemError) return err;
  if (err instanceof ImageError) return imageProblem(err);
  if (err instanceof EngineOverloadedError) {
    return new ProblemError({
      status: 503,
      title: 'Overloaded',
      type: 'overloaded',
      detail: err.message,
      headers: { 'Retry-After': String(err.retryAfterSeconds) },
    });
  }
  if (err instanceof JobAbortedError) return new ProblemError({ status: 499, title: 'Client closed request', detail: err.message });
  throw err;
}
