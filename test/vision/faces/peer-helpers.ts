// Shared by the peer-agreement test and bench/faces.ts: the photographs, face-api as the peer, and
// kestrel's pipeline for one image (predict → NMS → clip), all at one square input side.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tf } from '../../../src/runtime/backend.js';
import { manifestSchema } from '../../../src/runtime/manifest.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import { loaderFor } from '../../../src/runtime/loaders.js';
import { postprocess } from '../../../src/vision/nms.js';

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
