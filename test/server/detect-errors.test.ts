import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { FakeDetector, FakeRegistry } from './fake-detector.js';
import { buildDetectApp } from './detect-app.js';
import { imagePart, multipart, photo } from './detect-fixtures.js';

let app: FastifyInstance;
let jpeg: Buffer;
let png: Buffer;
let bomb: Buffer;
const MAX_BYTES = 300_000;

/** A PNG whose header claims width × height but which carries almost no data. */
function pngBomb(width: number, height: number): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    td.copy(out, 4);
    out.writeUInt32BE(crc(td), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(4096))), chunk('IEND', Buffer.alloc(0))]);
}

before(async () => {
  await initBackend();
  app = await buildDetectApp({ registry: new FakeRegistry([new FakeDetector()]), limits: { maxImageBytes: MAX_BYTES, maxPixels: 30_000_000, maxBatch: 4, maxBatchBytes: 500_000 } });
  jpeg = await photo(640, 480, [{ x: 100, y: 100, w: 200, h: 100, colour: '#ffffff' }]);
  png = await photo(320, 240, [{ x: 10, y: 10, w: 50, h: 50, colour: '#ff0000' }], 'png');
  bomb = pngBomb(30000, 30000);
});
after(() => app.close());

const raw = (payload: Buffer | string, type = 'image/jpeg', url = '/v1/detect') => app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });

function problem(r: LightMyRequestResponse, status: number, re?: RegExp): void {
  assert.equal(r.statusCode, status, `${status} expected, got ${r.statusCode}: ${r.body}`);
  assert.match(String(r.headers['content-type']), /application\/problem\+json/);
  const body = r.json() as { status: number; title: string; detail?: string };
  assert.equal(body.status, status);
  if (re) assert.match(`${body.title} ${body.detail ?? ''} ${JSON.stringify(body)}`, re);
}

test('unknown model or head is 404', async () => {
  problem(await raw(jpeg, 'image/jpeg', '/v1/detect?model=nope'), 404, /nope/);
  problem(await raw(jpeg, 'image/jpeg', '/v1/detect?head=rcnn'), 404, /rcnn.*yolo, ssd/);
  const empty = await buildDetectApp({ registry: new FakeRegistry([]) });
  problem(await empty.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }), 404, /no detector/);
  await empty.close();
});

test('out-of-range or malformed options are 400 and name the option', async () => {
  for (const [qs, name] of [
    ['scoreThreshold=2', 'scoreThreshold'],
    ['scoreThreshold=abc', 'scoreThreshold'],
    ['iouThreshold=-0.1', 'iouThreshold'],
    ['maxDetections=0', 'maxDetections'],
    ['maxDetections=1.5', 'maxDetections'],
    ['nms=fast', 'nms'],
    ['render=gif', 'render'],
    ['classes=cat', 'classes'],
  ]) {
    problem(await raw(jpeg, 'image/jpeg', `/v1/detect?${qs}`), 400, new RegExp(name));
  }
  // The same checks apply to form fields and JSON members.
  const form = await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([imagePart(jpeg), { name: 'iouThreshold', data: '7' }]) });
  problem(form, 400, /iouThreshold/);
  assert.equal((form.json() as { errors: { field: string }[] }).errors[0].field, 'body/iouThreshold');
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: jpeg.toString('base64'), maxDetections: 'many' } }), 400, /maxDetections/);
});

test('no image is 400; more than one image on /v1/detect is 400', async () => {
  problem(await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([{ name: 'scoreThreshold', data: '0.5' }]) }), 400, /no image/i);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: { scoreThreshold: 0.5 } }), 400, /no image/i);
  problem(await app.inject({ method: 'POST', url: '/v1/detect' }), 400, /no image/i);
  problem(await raw(Buffer.alloc(0)), 400, /empty|no image/i);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: '' } }), 400);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([imagePart(jpeg), imagePart(jpeg)]) }), 400, /batch/);
});

test('unsupported content types and formats are 415', async () => {
  problem(await raw('hello', 'text/plain'), 415);
  problem(await raw('<svg xmlns="http://www.w3.org/2000/svg"><image href="http://example.com/x.png"/></svg>', 'image/svg+xml'), 415);
  problem(await raw(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'), 'application/octet-stream'), 415, /not a supported image format/);
  problem(await raw(png, 'image/jpeg'), 415, /declared image\/jpeg but the bytes are png/);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([imagePart(Buffer.from('%PDF-1.4 not an image'), 'a.pdf', 'application/pdf')]) }), 415);
  problem(await raw(jpeg, 'image/jpeg', '/v1/detect/batch'), 415);
});

test('bodies over the limit are 413, decompression bombs are 413 before decoding', async () => {
  const big = Buffer.concat([jpeg, Buffer.alloc(MAX_BYTES)]);
  problem(await raw(big), 413, new RegExp(String(MAX_BYTES)));
  problem(await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([imagePart(big)]) }), 413);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: big.toString('base64') } }), 413);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([{ name: 'image', data: big.toString('base64') }]) }), 413);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([imagePart(jpeg), { name: 'model', data: 'm'.repeat(100_000) }]) }), 413, /model/);
  const t0 = performance.now();
  problem(await raw(bomb, 'image/png'), 413, /30000×30000/);
  assert.ok(performance.now() - t0 < 2000, 'the bomb is refused from its header, not decoded');
  problem(await app.inject({ method: 'POST', url: '/v1/detect/batch', ...multipart(Array.from({ length: 5 }, () => imagePart(jpeg))) }), 413);
  // Each part within the per-image limit, together over the batch limit.
  const part = Buffer.concat([jpeg, Buffer.alloc(250_000 - jpeg.length)]);
  problem(await app.inject({ method: 'POST', url: '/v1/detect/batch', ...multipart([imagePart(part), imagePart(part), imagePart(part)]) }), 413, /500000/);
  problem(await app.inject({ method: 'POST', url: '/v1/detect/batch', payload: { images: [part, part, part].map((b) => b.toString('base64')) } }), 413);
});

test('undecodable or truncated images are 422 with a useful detail', async () => {
  problem(await raw(jpeg.subarray(0, jpeg.length >> 1)), 422, /jpeg/);
  problem(await raw(png.subarray(0, 100), 'image/png'), 422, /png/);
  problem(await raw(Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(64, 1)]), 'image/gif'), 422, /gif/);
});

test('malformed multipart and base64 are 400', async () => {
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: 'garbage', headers: { 'content-type': 'multipart/form-data' } }), 400);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: 'this is *not* base64!' } }), 400, /base64/);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: 12345 } }), 400);
  problem(await app.inject({ method: 'POST', url: '/v1/detect', payload: '{"image": ', headers: { 'content-type': 'application/json' } }), 400);
});

test('100 mixed good and bad requests leave the live tensor count unchanged', async () => {
  const gif = await sharp(png).gif().toBuffer();
  assert.ok(gif.length < MAX_BYTES);
  const kinds: (() => Promise<LightMyRequestResponse>)[] = [
    () => raw(jpeg),
    () => app.inject({ method: 'POST', url: '/v1/detect', ...multipart([imagePart(png, 'a.png', 'image/png')]) }),
    () => app.inject({ method: 'POST', url: '/v1/detect?nms=soft-linear', payload: { image: jpeg.toString('base64') } }),
    () => raw(gif, 'image/gif', '/v1/detect?render=png'),
    () => app.inject({ method: 'POST', url: '/v1/detect/batch', ...multipart([imagePart(jpeg), imagePart(jpeg.subarray(0, 999))]) }),
    () => raw(jpeg.subarray(0, 2000)),
    () => raw(bomb, 'image/png'),
    () => raw(jpeg, 'image/jpeg', '/v1/detect?scoreThreshold=9'),
    () => raw('nope', 'text/plain'),
    () => raw(jpeg, 'image/jpeg', '/v1/detect?model=missing'),
  ];
  // Warm-up: backends allocate lazily on first use.
  await kinds[0]();
  const before = tf.memory().numTensors;
  const statuses = new Map<number, number>();
  for (let i = 0; i < 100; i++) {
    const r = await kinds[i % kinds.length]();
    statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
    assert.ok(r.statusCode < 500, `request ${i} answered ${r.statusCode}: ${r.body.slice(0, 200)}`);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(statuses.get(200), 50, JSON.stringify([...statuses]));
  assert.equal((statuses.get(400) ?? 0) + (statuses.get(404) ?? 0) + (statuses.get(413) ?? 0) + (statuses.get(415) ?? 0) + (statuses.get(422) ?? 0), 50);
});
