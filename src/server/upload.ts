// Getting image bytes and option fields out of a request, whichever way the client sent them:
// multipart form (field `image`), a raw body with an image content type, or JSON with base64.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IMAGE_CONTENT_TYPES, sniffFormat } from '../vision/image.js';
import { ProblemError } from './errors.js';

export const RAW_CONTENT_TYPES = [...Object.keys(IMAGE_CONTENT_TYPES), 'application/octet-stream'];

export interface UploadLimits {
  maxImageBytes: number;
  /** Most `image` parts accepted. */
  maxFiles: number;
  /** Most image bytes in the whole request; maxImageBytes when absent. */
  maxTotalBytes?: number;
}

/** One received image, or the problem that stopped it (kept in place so a batch can answer per image). */
export type ReceivedImage = { ok: true; data: Uint8Array } | { ok: false; problem: ProblemError };

export interface Upload {
  images: ReceivedImage[];
  /** Non-file form fields or JSON members other than the image(s); repeated names become arrays. */
  fields: Record<string, unknown>;
}

const MAX_FIELDS = 32;
const MAX_FIELD_BYTES = 64 * 1024;

/**
 * Registers the raw-image body parsers in the calling plugin's scope. Multipart is registered too
 * unless an outer scope already did. Bytes are only collected here; the size limit is checked in
 * readUpload so the answer can name it.
 */
export async function registerUploadParsers(app: FastifyInstance, maxImageBytes: number): Promise<void> {
  const fresh = RAW_CONTENT_TYPES.filter((t) => !app.hasContentTypeParser(t));
  if (fresh.length) {
    app.addContentTypeParser(fresh, { parseAs: 'buffer', bodyLimit: maxImageBytes }, (_req, body, done) => done(null, body));
  }
  if (!app.hasContentTypeParser('multipart/form-data')) {
    const multipart = (await import('@fastify/multipart')).default;
    await app.register(multipart, { limits: { fileSize: maxImageBytes } });
  }
}

function tooLarge(limit: number, what: string): ProblemError {
  return new ProblemError({
    status: 413,
    title: 'Image too large',
    type: 'body-too-large',
    detail: `${what} exceeds the limit of ${limit} bytes`,
    extensions: { limitBytes: limit },
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict base64 (standard or URL alphabet, optional data: URL prefix); Buffer.from alone accepts garbage. */
export function decodeBase64Image(s: string, field: string, maxBytes: number): Uint8Array {
  let t = s;
  const comma = t.startsWith('data:') ? t.indexOf(',') : -1;
  let declared: string | undefined;
  if (comma >= 0) {
    if (!/;base64$/i.test(t.slice(0, comma))) throw badBase64(field, 'the data: URL is not base64-encoded');
    declared = t.slice(5, comma).split(';')[0];
    t = t.slice(comma + 1);
  }
  t = t.replace(/\s+/g, '');
  if (t.length === 0) throw new ProblemError({ status: 400, title: 'No image', type: 'no-image', detail: `${field} is empty` });
  const url = !BASE64.test(t);
  if (url && !BASE64URL.test(t)) throw badBase64(field, 'it contains characters outside the base64 alphabet');
  if (t.length % 4 === 1) throw badBase64(field, 'its length is not a valid base64 length');
  // Checked before decoding so a huge string is refused without allocating its bytes.
  if (Math.floor((t.length * 3) / 4) - (t.endsWith('==') ? 2 : t.endsWith('=') ? 1 : 0) > maxBytes) throw tooLarge(maxBytes, `${field} (decoded)`);
  const data = new Uint8Array(Buffer.from(t, url ? 'base64url' : 'base64'));
  const mismatch = declaredTypeMismatch(declared, data, `${field} (data: URL)`);
  if (mismatch) throw mismatch;
  return data;
}

function badBase64(field: string, why: string): ProblemError {
  return new ProblemError({ status: 400, title: 'Invalid base64', type: 'invalid-base64', detail: `${field} is not valid base64: ${why}` });
}

/**
 * The bytes decide what an image is; a declared image type (a raw body's Content-Type, a multipart part's
 * Content-Type, a data: URL's media type) that names a different known format is refused rather than
 * guessed at, the same way on every path. Undeclared, generic (application/octet-stream) or unknown
 * declared types are left to the sniffer, and bytes that are no known image fail later at decoding.
 */
export function declaredTypeMismatch(declaredType: string | undefined, data: Uint8Array, where: string): ProblemError | undefined {
  const declared = (declaredType ?? '').split(';')[0].trim().toLowerCase();
  const expected = IMAGE_CONTENT_TYPES[declared];
  const actual = sniffFormat(data);
  if (!expected || !actual || expected === actual) return undefined;
  return new ProblemError({
    status: 415,
    title: 'Content type does not match the image',
    type: 'unsupported-image',
    detail: `${where} declared ${declared} but the bytes are ${actual}`,
    extensions: { declared, actual },
  });
}

function addField(fields: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__' || name === 'constructor' || name === 'prototype') return;
  const prev = fields[name];
  if (prev === undefined) fields[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else fields[name] = [prev, value];
}

/** A multipart stream failure: limit errors keep their 413, a malformed body (no boundary, cut short) is a 400. */
function multipartProblem(err: unknown): ProblemError {
  if (err instanceof ProblemError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.statusCode === 413) return new ProblemError({ status: 413, title: 'Request too large', type: 'body-too-large', detail: `multipart body: ${msg}` });
  if (e?.statusCode === 406) return new ProblemError({ status: 415, title: 'Unsupported content type', type: 'unsupported-media-type', detail: msg });
  return new ProblemError({ status: 400, title: 'Malformed multipart body', type: 'malformed-body', detail: msg });
}

/** What the readers below collect: images in request order, option fields, and the running byte total. */
interface Collected {
  fields: Record<string, unknown>;
  images: ReceivedImage[];
  /** Adds an image's bytes to the request's total; throws once the total passes the limit. */
  count(n: number): void;
}

/**
 * Reads the request's image(s) and fields. imageFields names the JSON members holding base64 images
 * (`image`, and `images` for batch). A problem that concerns one image stays in its slot; a problem
 * with the request as a whole is thrown.
 */
export async function readUpload(req: FastifyRequest, limits: UploadLimits, opts: { batch: boolean }): Promise<Upload> {
  const maxTotal = limits.maxTotalBytes ?? limits.maxImageBytes;
  let total = 0;
  const got: Collected = {
    fields: Object.create(null) as Record<string, unknown>,
    images: [],
    // Each image counts towards the request's total, so many parts at the per-image limit cannot add up.
    count(n) {
      total += n;
      if (total > maxTotal) throw tooLarge(maxTotal, 'the images in this request together');
    },
  };
  if (req.isMultipart()) await readMultipart(req, limits, got);
  else if (Buffer.isBuffer(req.body)) readRawBody(req, req.body, limits, got);
  else if (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)) readJsonBody(req.body as Record<string, unknown>, limits, opts, got);
  else if (typeof req.body === 'string') {
    // Fastify parses text/plain itself; it is not a way to send an image.
    throw new ProblemError({
      status: 415,
      title: 'Unsupported content type',
      type: 'unsupported-media-type',
      detail: `${String(req.headers['content-type']).split(';')[0]} is not accepted; send multipart/form-data, application/json or an image content type`,
    });
  } else if (req.body !== undefined && req.body !== null) {
    throw new ProblemError({ status: 400, title: 'Invalid request body', type: 'no-image', detail: 'expected a JSON object with "image"' });
  }
  return { images: got.images, fields: got.fields };
}

async function readMultipart(req: FastifyRequest, limits: UploadLimits, { fields, images, count }: Collected): Promise<void> {
  try {
    // busboy has one size for every text field; it must admit a base64 image, so option fields are
    // held to MAX_FIELD_BYTES here instead, failing the form at the first oversized one.
    const base64Limit = Math.ceil((limits.maxImageBytes * 4) / 3) + 4;
    const partOpts = {
      limits: { fileSize: limits.maxImageBytes, files: limits.maxFiles, fields: MAX_FIELDS, fieldSize: base64Limit, parts: limits.maxFiles + MAX_FIELDS },
      // Oversized files are reported per image (truncated flag) rather than failing the whole form.
      // The plugin reads this per call although its typings only list it among the plugin options.
      throwFileSizeLimit: false,
    };
    const parts = req.parts(partOpts as Parameters<FastifyRequest['parts']>[0]);
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'image') {
          part.file.resume(); // drain parts we do not use so the stream moves on
          continue;
        }
        const data = await part.toBuffer();
        count(data.length);
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const mismatch = part.file.truncated ? undefined : declaredTypeMismatch(part.mimetype, bytes, `image part "${part.filename ?? ''}"`);
        if (part.file.truncated) images.push({ ok: false, problem: tooLarge(limits.maxImageBytes, `image "${part.filename ?? ''}"`) });
        else if (mismatch) images.push({ ok: false, problem: mismatch });
        else images.push({ ok: true, data: bytes });
      } else {
        if (part.fieldname === 'image' && typeof part.value === 'string' && part.value.length > 0) {
          // Some clients post the image as a base64 text field.
          if (part.valueTruncated) {
            images.push({ ok: false, problem: tooLarge(limits.maxImageBytes, 'the base64 image field (decoded)') });
            continue;
          }
          count(Math.floor((part.value.length * 3) / 4));
          try {
            images.push({ ok: true, data: decodeBase64Image(part.value, 'image', limits.maxImageBytes) });
          } catch (err) {
            images.push({ ok: false, problem: err as ProblemError });
          }
          continue;
        }
        if (part.fieldnameTruncated || part.valueTruncated || (typeof part.value === 'string' && part.value.length > MAX_FIELD_BYTES)) {
          throw new ProblemError({ status: 413, title: 'Form field too large', type: 'body-too-large', detail: `form field "${part.fieldname}" exceeds ${MAX_FIELD_BYTES} bytes` });
        }
        addField(fields, part.fieldname, part.value);
      }
    }
  } catch (err) {
    throw multipartProblem(err);
  }
}

function readRawBody(req: FastifyRequest, body: Buffer, limits: UploadLimits, { images }: Collected): void {
  if (body.length > limits.maxImageBytes) throw tooLarge(limits.maxImageBytes, 'the request body');
  const mismatch = declaredTypeMismatch(req.headers['content-type'], body, 'the request body');
  if (mismatch) throw mismatch;
  images.push({ ok: true, data: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) });
}

function readJsonBody(body: Record<string, unknown>, limits: UploadLimits, opts: { batch: boolean }, { fields, images, count }: Collected): void {
  for (const [k, v] of Object.entries(body)) {
    if (k === 'image' || (opts.batch && k === 'images')) continue;
    addField(fields, k, v);
  }
  const list: unknown[] = [];
  if (body.image !== undefined) list.push(body.image);
  if (opts.batch && Array.isArray(body.images)) list.push(...body.images);
  else if (opts.batch && body.images !== undefined) throw new ProblemError({ status: 400, title: 'Invalid request', type: 'validation', detail: 'images must be an array of base64 strings' });
  if (list.length > limits.maxFiles) throw tooMany(limits.maxFiles);
  for (const v of list) {
    if (typeof v !== 'string') {
      images.push({ ok: false, problem: new ProblemError({ status: 400, title: 'Invalid image', type: 'invalid-base64', detail: 'image must be a base64 string' }) });
      continue;
    }
    let data: Uint8Array;
    try {
      data = decodeBase64Image(v, 'image', limits.maxImageBytes);
    } catch (err) {
      images.push({ ok: false, problem: err as ProblemError });
      continue;
    }
    count(data.length);
    images.push({ ok: true, data });
  }
}

function tooMany(max: number): ProblemError {
  return new ProblemError({ status: 413, title: 'Too many images', type: 'too-many-images', detail: `at most ${max} images per request` });
}

export function noImage(how: string): ProblemError {
  return new ProblemError({ status: 400, title: 'No image', type: 'no-image', detail: `no image in the request; ${how}` });
}
