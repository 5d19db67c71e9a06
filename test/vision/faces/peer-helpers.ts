// Shared by the peer-agreement test and bench/faces.ts: the photographs, face-api as the peer, and
// kestrel's pipeline for one image: predict → NMS → clip at one square input side, or the server's
// whole path from the encoded photo.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tf } from '../../../src/runtime/backend.js';
import { manifestSchema } from '../../../src/runtime/manifest.js';
import type { DetectorModel, ModelRegistry } from '../../../src/runtime/models.js';
import { loaderFor } from '../../../src/runtime/loaders.js';
import { postprocess } from '../../../src/vision/nms.js';
import { DEFAULT_DETECT_LIMITS, detectOne, parseDetectOptions, prepare } from '../../../src/server/detection.js';
import { InProcessEngine } from '../../../src/server/inference.js';

export const FIXTURES = new URL('../../fixtures/', import.meta.url);
export const MODEL_DIR = new URL('../../../models/faces/', import.meta.url).pathname;
export const PEER_WEIGHTS = new URL('../../../node_modules/@vladmandic/face-api/model/', import.meta.url).pathname;

export interface Face {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

export async function loadFacesModel(): Promise<DetectorModel> {
  const manifest = manifestSchema.parse(JSON.parse(await readFile(`${MODEL_DIR}manifest.json`, 'utf8')));
  const model = await (await loaderFor(manifest))(manifest, MODEL_DIR);
  if (model.kind !== 'detector') throw new Error('faces is not a detector');
  return model;
}

/**
 * Real photographs: skimage's astronaut (Eileen Collins, NASA, public domain) and camera (Lav
 * Varshney, CC0), and a 2×2 mosaic of both (plain and mirrored) for a picture with several faces.
 */
export async function photographs(): Promise<{ name: string; image: Buffer }[]> {
  const astronaut = await readFile(new URL('astronaut.jpg', FIXTURES));
  const camera = await readFile(new URL('camera.jpg', FIXTURES));
  const tile = (b: Buffer, flop: boolean): Promise<Buffer> => sharp(b).resize(256, 256).flop(flop).removeAlpha().toColourspace('srgb').png().toBuffer();
  const mosaic = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite([
      { input: await tile(astronaut, false), left: 0, top: 0 },
      { input: await tile(camera, false), left: 256, top: 0 },
      { input: await tile(camera, true), left: 0, top: 256 },
      { input: await tile(astronaut, true), left: 256, top: 256 },
    ])
    .png()
    .toBuffer();
  return [
    { name: 'astronaut', image: astronaut },
    { name: 'camera', image: camera },
    { name: 'mosaic', image: mosaic },
  ];
}

/** side × side × 3 RGB bytes (the photographs are square, so this is also the letterbox). */
export async function pixelsAt(image: Buffer, side: number): Promise<Uint8Array> {
  const buf = await sharp(image).resize(side, side, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A photograph for the served-path comparison; `absent` says why an optional one is missing here. */
export interface PhotoCase {
  name: string;
  image?: Buffer;
  absent?: string;
}

/** Debian's copies of well-known test photographs; optional, the tests skip what is not installed. */
export const SYSTEM_PHOTOS = {
  messi5: { path: '/usr/share/doc/opencv-doc/examples/data/messi5.jpg', pkg: 'opencv-doc' },
  basketball1: { path: '/usr/share/doc/opencv-doc/examples/data/basketball1.png', pkg: 'opencv-doc' },
  skimageAstronaut: { path: '/usr/lib/python3/dist-packages/skimage/data/astronaut.png', pkg: 'python3-skimage' },
} as const;

async function systemPhoto(key: keyof typeof SYSTEM_PHOTOS): Promise<Buffer | string> {
  const { path, pkg } = SYSTEM_PHOTOS[key];
  try {
    return await readFile(path);
  } catch {
    return `${path} is absent (Debian package ${pkg} not installed)`;
  }
}

/**
 * Photographs that are neither square nor at a network's side, so the decode step has to pad and resize:
 * wide and tall, up- and downscaled, a large JPEG, one stored sideways with an EXIF orientation. The first
 * four come from the repository's fixtures and are always there.
 */
export async function nonSquarePhotographs(): Promise<PhotoCase[]> {
  const astronaut = await readFile(new URL('astronaut.jpg', FIXTURES));
  const camera = await readFile(new URL('camera.jpg', FIXTURES));
  const astroWide = sharp(astronaut).extract({ left: 0, top: 0, width: 512, height: 320 });
  const cameraTall = sharp(camera).extract({ left: 80, top: 0, width: 352, height: 512 }).toColourspace('srgb');
  const cases: PhotoCase[] = [
    { name: 'astronaut 720×450', image: await astroWide.clone().resize(720, 450).png().toBuffer() },
    { name: 'camera 330×480', image: await cameraTall.clone().resize(330, 480).png().toBuffer() },
    { name: 'astronaut 2000×1250 JPEG', image: await astroWide.clone().resize(2000, 1250).jpeg({ quality: 90 }).toBuffer() },
    // Stored 640 wide and 440 high; upright (EXIF 6: turn clockwise) it is 440×640.
    { name: 'camera 440×640, EXIF 6', image: await sharp(await cameraTall.clone().resize(440, 640).png().toBuffer()).rotate(-90).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer() },
  ];
  for (const [name, key] of [
    ['messi5 548×342', 'messi5'],
    ['basketball1 640×480 grey', 'basketball1'],
  ] as const) {
    const got = await systemPhoto(key);
    cases.push(typeof got === 'string' ? { name, absent: got } : { name, image: got });
  }
  const sk = await systemPhoto('skimageAstronaut');
  cases.push(
    typeof sk === 'string'
      ? { name: 'skimage astronaut 1024×512', absent: sk }
      : { name: 'skimage astronaut 1024×512', image: await sharp(sk).extract({ left: 0, top: 0, width: 512, height: 256 }).resize(1024, 512).png().toBuffer() },
  );
  return cases;
}

type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');

/** face-api on the same tfjs instance (its node-wasm build requires the same @tensorflow/tfjs). */
export async function loadPeer(): Promise<FaceApi> {
  const faceapi = (await import('@vladmandic/face-api/dist/face-api.node-wasm.js')) as FaceApi;
  if (!faceapi.nets.tinyFaceDetector.isLoaded) await faceapi.nets.tinyFaceDetector.loadFromDisk(PEER_WEIGHTS);
  if (!faceapi.nets.ssdMobilenetv1.isLoaded) await faceapi.nets.ssdMobilenetv1.loadFromDisk(PEER_WEIGHTS);
  return faceapi;
}

/** face-api's own pipeline (network, decoding, NMS) on exactly these pixels. */
export async function peerFaces(faceapi: FaceApi, head: 'yolo' | 'ssd', pixels: Uint8Array, side: number, netSide: number, scoreThreshold: number): Promise<Face[]> {
  const t = tf.tensor4d(pixels, [1, side, side, 3], 'float32');
  try {
    const dets =
      head === 'yolo'
        ? await faceapi.nets.tinyFaceDetector.locateFaces(t as never, new faceapi.TinyFaceDetectorOptions({ inputSize: netSide, scoreThreshold }))
        : await faceapi.nets.ssdMobilenetv1.locateFaces(t as never, new faceapi.SsdMobilenetv1Options({ minConfidence: scoreThreshold }));
    return dets.map((d) => ({ x1: d.box.x, y1: d.box.y, x2: d.box.x + d.box.width, y2: d.box.y + d.box.height, score: d.score }));
  } finally {
    t.dispose();
  }
}

/**
 * face-api's own pipeline from the full-resolution upright picture, as a Node user feeds it: decoded bytes as a
 * tensor, which it pads to a square and resizes itself. Boxes in the picture's pixels, clipped to it as
 * kestrel clips its answers.
 */
export async function peerFacesOnPhoto(faceapi: FaceApi, head: 'yolo' | 'ssd', image: Buffer, netSide: number, scoreThreshold: number): Promise<Face[]> {
  const { data, info } = await sharp(image).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const t = tf.tensor3d(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), [info.height, info.width, 3], 'int32');
  try {
    const dets =
      head === 'yolo'
        ? await faceapi.nets.tinyFaceDetector.locateFaces(t as never, new faceapi.TinyFaceDetectorOptions({ inputSize: netSide, scoreThreshold }))
        : await faceapi.nets.ssdMobilenetv1.locateFaces(t as never, new faceapi.SsdMobilenetv1Options({ minConfidence: scoreThreshold }));
    const cx = (v: number): number => Math.min(info.width, Math.max(0, v));
    const cy = (v: number): number => Math.min(info.height, Math.max(0, v));
    return dets.map((d) => ({ x1: cx(d.box.x), y1: cy(d.box.y), x2: cx(d.box.x + d.box.width), y2: cy(d.box.y + d.box.height), score: d.score }));
  } finally {
    t.dispose();
  }
}

/**
 * kestrel as the server runs it: prepare, the decode step the model asks for, the engine, post-processing
 * and boxes back in the picture's pixels (detection.ts's detectOne, in-process engine).
 */
export async function servedFaces(model: DetectorModel, head: string, image: Buffer, scoreThreshold: number): Promise<Face[]> {
  const registry: ModelRegistry = {
    list: () => [model],
    get: (name) => (name === model.manifest.name ? model : undefined),
    defaultOf: ((kind: string) => (kind === 'detector' ? model : undefined)) as ModelRegistry['defaultOf'],
    failures: [],
  };
  const engine = new InProcessEngine();
  try {
    const ctx = { registry, engine, limits: DEFAULT_DETECT_LIMITS };
    const r = await detectOne(ctx, prepare(ctx, parseDetectOptions({ model: model.manifest.name, head, scoreThreshold })), image);
    return r.detections.map((d) => ({ x1: d.box.x, y1: d.box.y, x2: d.box.x + d.box.width, y2: d.box.y + d.box.height, score: d.score }));
  } finally {
    await engine.close();
  }
}

/**
 * kestrel: predict, then the shared post-processing (threshold, hard NMS at the head's IoU, top 100 as
 * face-api's SSD), boxes clipped to the input (face-api clips SSD boxes too).
 */
export async function kestrelFaces(model: DetectorModel, head: string, pixels: Uint8Array, side: number, scoreThreshold: number): Promise<Face[]> {
  const [cand] = await model.predict(pixels, 1, head, { scoreThreshold });
  const iou = model.defaultIouThreshold?.(head) ?? 0.5;
  const kept = postprocess(cand, { scoreThreshold, iouThreshold: iou, maxDetections: 100, method: 'hard' });
  const clip = (v: number): number => Math.min(side, Math.max(0, v));
  return Array.from(kept.indices, (i, k) => {
    const b = cand.boxes.subarray(4 * i, 4 * i + 4);
    return { x1: clip(b[0]), y1: clip(b[1]), x2: clip(b[2]), y2: clip(b[3]), score: kept.scores[k] };
  });
}

export function iou(a: Face, b: Face): number {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Pairs each of ours with the peer face it overlaps most (greedy, best pairs first). */
export function pairUp(ours: Face[], peer: Face[]): { ours: Face; peer: Face; iou: number }[] {
  const all: { i: number; j: number; v: number }[] = [];
  ours.forEach((a, i) => peer.forEach((b, j) => all.push({ i, j, v: iou(a, b) })));
  all.sort((p, q) => q.v - p.v);
  const usedI = new Set<number>();
  const usedJ = new Set<number>();
  const pairs: { ours: Face; peer: Face; iou: number }[] = [];
  for (const p of all) {
    if (usedI.has(p.i) || usedJ.has(p.j)) continue;
    usedI.add(p.i);
    usedJ.add(p.j);
    pairs.push({ ours: ours[p.i], peer: peer[p.j], iou: p.v });
  }
  return pairs;
}
