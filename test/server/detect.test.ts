import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { initBackend } from '../../src/runtime/backend.js';
import { FakeDetector, FakeRegistry } from './fake-detector.js';
import { buildDetectApp } from './detect-app.js';
import { imagePart, multipart, near, photo, RED, WHITE } from './detect-fixtures.js';

interface Det { label: string; classId: number; score: number; box: { x: number; y: number; width: number; height: number } }
interface Result { model: string; head: string; image: { width: number; height: number }; detections: Det[]; timings: Record<string, number> }

let app: FastifyInstance;
let fake: FakeDetector;
let jpeg: Buffer;
const TOL = 18; // 1.5 model-input pixels (1920 / 160 = 12 original pixels each) // 1.5 model-input pixels

before(async () => {
  await initBackend();
  fake = new FakeDetector({ name: 'fake', width: 160, height: 128 });
  const other = new FakeDetector({ name: 'tall', width: 96, height: 160, heads: ['ssd'], isDefault: false });
  app = await buildDetectApp({ registry: new FakeRegistry([fake, other]) });
  jpeg = await photo(1920, 1080, [WHITE, RED]);
});
after(() => app.close());

function check(r: Result): void {
  assert.equal(r.model, 'fake');
  assert.equal(r.head, 'yolo');
  assert.deepEqual(r.image, { width: 1920, height: 1080 });
  // NMS removed each near-duplicate and the 0.25 default threshold the weak boxes: one per object.
  assert.deepEqual(r.detections.map((d) => d.label), ['white', 'red']);
  assert.ok(near(r.detections[0].box, WHITE, TOL), JSON.stringify(r.detections[0].box));
  assert.ok(near(r.detections[1].box, RED, TOL), JSON.stringify(r.detections[1].box));
  assert.equal(r.detections[0].score, 0.9);
  assert.equal(r.detections[1].classId, 1);
  for (const k of ['decodeMs', 'inferenceMs', 'postprocessMs']) assert.ok(typeof r.timings[k] === 'number' && r.timings[k] >= 0, k);
}

test('a 1920×1080 JPEG sent as multipart, raw body and base64 JSON gives the same detections', async () => {
  const mp = multipart([imagePart(jpeg)]);
  const a = await app.inject({ method: 'POST', url: '/v1/detect', ...mp });
  const b = await app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } });
  const c = await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: jpeg.toString('base64') } });
  const d = await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: 'data:image/jpeg;base64,' + jpeg.toString('base64') } });
  // Some form clients send the image as a base64 text field rather than a file part.
  const e = await app.inject({ method: 'POST', url: '/v1/detect', ...multipart([{ name: 'image', data: jpeg.toString('base64') }]) });
  const f = await app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'application/octet-stream' } });
  for (const r of [a, b, c, d, e, f]) assert.equal(r.statusCode, 200, r.body);
  const [ra, ...rest] = [a, b, c, d, e, f].map((r) => r.json() as Result);
  check(ra);
  for (const r of rest) assert.deepEqual(r.detections, ra.detections);
});

test('options work from the query string and from form fields', async () => {
  const q = async (qs: string) => (await app.inject({ method: 'POST', url: `/v1/detect?${qs}`, payload: jpeg, headers: { 'content-type': 'image/jpeg' } })).json() as Result;
  assert.deepEqual((await q('scoreThreshold=0.85')).detections.map((d) => d.label), ['white']);
  assert.deepEqual((await q('nms=none')).detections.map((d) => d.score), [0.9, 0.8, 0.6, 0.5]);
  // Soft-NMS keeps the near-duplicate (IoU ≈ 0.97 with the best box) but decays its 0.6 score.
  const soft = (await q('nms=soft-gaussian&scoreThreshold=0.05')).detections.filter((d) => d.label === 'white');
  assert.ok(soft.length >= 2, JSON.stringify(soft));
  assert.equal(soft[0].score, 0.9);
  assert.ok(soft[1].score < 0.5 && soft[1].score > 0.05, `decayed duplicate ${soft[1].score}`);
  assert.deepEqual((await q('nms=soft-gaussian&scoreThreshold=0.3')).detections.map((d) => d.label), ['white', 'red']);
  assert.deepEqual((await q('classes=red')).detections.map((d) => d.label), ['red']);
  assert.deepEqual((await q('classes=red,white&maxDetections=1')).detections.map((d) => d.label), ['white']);
  assert.deepEqual((await q('classes=red&classes=white')).detections.length, 2);
  const ssd = await q('head=ssd');
  assert.equal(ssd.head, 'ssd');
  assert.equal(fake.calls.at(-1)?.head, 'ssd');
  const tall = await q('model=tall');
  assert.equal(tall.model, 'tall');
  assert.equal(tall.head, 'ssd');
  check({ ...tall, model: 'fake', head: 'yolo', detections: tall.detections }); // letterboxed the other way, same boxes
  // Form fields, numbers as text, override nothing they do not name.
  const mp = multipart([{ name: 'scoreThreshold', data: '0.85' }, imagePart(jpeg), { name: 'classes', data: 'white' }]);
  const f = (await app.inject({ method: 'POST', url: '/v1/detect', ...mp })).json() as Result;
  assert.deepEqual(f.detections.map((d) => d.label), ['white']);
  // JSON members are options too.
  const j = (await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: jpeg.toString('base64'), classes: ['red'], iouThreshold: 0.3 } })).json() as Result;
  assert.deepEqual(j.detections.map((d) => d.label), ['red']);
});

test('EXIF orientation is honoured end to end: size and boxes are upright', async () => {
  // Stored landscape with orientation 6: upright it is 1080×1920 and the white rect moves accordingly.
  const stored = await photo(1920, 1080, [WHITE], 'png');
  const rotated = await sharp(stored).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer();
  const r = (await app.inject({ method: 'POST', url: '/v1/detect', payload: rotated, headers: { 'content-type': 'image/jpeg' } })).json() as Result;
  assert.deepEqual(r.image, { width: 1080, height: 1920 });
  const upright = { x: 1080 - (WHITE.y + WHITE.h), y: WHITE.x, w: WHITE.h, h: WHITE.w };
  assert.equal(r.detections.length, 1);
  assert.ok(near(r.detections[0].box, upright, 1.5 * (1920 / 128)), JSON.stringify(r.detections[0].box));
});

test('render=jpeg and render=png answer the annotated photograph, decodable by sharp', async () => {
  for (const fmt of ['jpeg', 'png'] as const) {
    const r = await app.inject({ method: 'POST', url: `/v1/detect?render=${fmt}`, payload: jpeg, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], `image/${fmt}`);
    assert.equal(r.headers['kestrel-detections'], '2');
    const meta = await sharp(r.rawPayload).metadata();
    assert.equal(meta.format, fmt);
    assert.deepEqual([meta.width, meta.height], [1920, 1080]);
    // Pixels on the white box's left edge now carry palette colour 0 (red-ish), not white.
    const { data } = await sharp(r.rawPayload).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const row = Array.from({ length: 2 * TOL + 1 }, (_, k) => 3 * ((WHITE.y + 150) * 1920 + WHITE.x - TOL + k));
    assert.ok(row.some((i) => data[i] > 150 && data[i + 1] < 100 && data[i + 2] < 120), 'a box edge crosses the row near the white rect');
    const far = 3 * (50 * 1920 + 1800);
    assert.ok(data[far] < 140, 'away from boxes the photo is unchanged');
  }
});

test('render=blur hides the detected regions and leaves the rest of the photo alone', async () => {
  // A white "face" with a dark bar across it: the detector finds the white extent, the blur must smear the bar.
  const bar = { x: WHITE.x + 50, y: WHITE.y + 130, w: WHITE.w - 100, h: 40, colour: '#000000' };
  const jpeg = await photo(1920, 1080, [WHITE, bar, RED]);
  const r = await app.inject({ method: 'POST', url: '/v1/detect?render=blur&classes=white&blurMode=gaussian&blurStrength=60&blurGrow=0.15', payload: jpeg, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.headers['content-type'], 'image/jpeg');
  assert.equal(r.headers['kestrel-detections'], '1');
  const before = await sharp(jpeg).raw().toBuffer();
  const { data, info } = await sharp(r.rawPayload).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [1920, 1080]);
  // Mean absolute change inside the white box's edge band versus far away from it.
  const change = (x0: number, y0: number, w: number, h: number) => {
    let s = 0;
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) s += Math.abs(data[3 * (y * 1920 + x)] - before[3 * (y * 1920 + x)]);
    return s / (w * h);
  };
  const inside = change(bar.x, bar.y - 20, bar.w, bar.h + 40);
  const far = change(1700, 50, 40, 40);
  // blurGrow (default 0.15) reaches past the box: just outside the white rect's left edge changed too.
  const margin = change(WHITE.x - 40, WHITE.y + 100, 30, 100);
  assert.ok(inside > 5 * Math.max(far, 1), `inside ${inside} vs far ${far}`);
  assert.ok(margin > 3 * Math.max(far, 1), `margin ${margin} vs far ${far}`);
  const bad = await app.inject({ method: 'POST', url: '/v1/detect?render=blur&blurStrength=500', payload: jpeg, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.body, /blurStrength/);
});

test('batch: several image parts in order, a bad one gets an error in place, one forward pass', async () => {
  const small = await photo(640, 480, [{ x: 10, y: 10, w: 200, h: 100, colour: '#00ff00' }]);
  const calls = fake.calls.length;
  const mp = multipart([imagePart(jpeg), imagePart(jpeg.subarray(0, 5000)), { name: 'scoreThreshold', data: '0.3' }, imagePart(small, 'b.jpg'), imagePart(Buffer.from('not an image'), 'x.txt', 'text/plain')]);
  const r = await app.inject({ method: 'POST', url: '/v1/detect/batch', ...mp });
  assert.equal(r.statusCode, 200, r.body);
  const { results } = r.json() as { results: (Result | { error: { status: number; detail: string } })[] };
  assert.equal(results.length, 4);
  check(results[0] as Result);
  assert.equal((results[1] as { error: { status: number } }).error.status, 422);
  const third = results[2] as Result;
  assert.deepEqual(third.image, { width: 640, height: 480 });
  assert.deepEqual(third.detections.map((d) => d.label), ['green']);
  assert.equal((results[3] as { error: { status: number } }).error.status, 415);
  assert.deepEqual(fake.calls.slice(calls), [{ batch: 2, head: 'yolo' }]);
  // JSON batch.
  const j = await app.inject({ method: 'POST', url: '/v1/detect/batch', payload: { images: [small.toString('base64'), '%%%'] } });
  const jr = j.json() as { results: (Result | { error: { status: number } })[] };
  assert.deepEqual((jr.results[0] as Result).detections.map((d) => d.label), ['green']);
  assert.equal((jr.results[1] as { error: { status: number } }).error.status, 400);
});
