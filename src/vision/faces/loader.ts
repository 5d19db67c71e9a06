// Builds the 'faces' model from its folder: manifest config names each head's tfjs weights manifest.
import { resolve, sep } from 'node:path';
import { z } from 'zod';
import type { Manifest } from '../../runtime/manifest.js';
import type { ModelLoader } from '../../runtime/models.js';
import { INPUT_RESIZES } from '../image.js';
import { FaceDetector } from './model.js';
import type { FaceHead } from './head.js';
import { disposeWeightMap, loadWeightMap } from './weights.js';
import { tinyFaceParams } from './tiny-yolov2/params.js';
import { TinyFaceHead } from './tiny-yolov2/head.js';
import { ssdFaceParams } from './ssd-mobilenetv1/params.js';
import { SsdFaceHead } from './ssd-mobilenetv1/head.js';
import { SSD_FACE_INPUT } from './ssd-mobilenetv1/config.js';

const headConfig = z.object({
  /** tfjs weights manifest, relative to the model folder. */
  weights: z.string().min(1),
  inputSize: z.number().int().positive().optional(),
});

export const facesConfigSchema = z.object({
  architecture: z.literal('faceapi'),
  scoreThreshold: z.number().gt(0).lt(1).default(0.5),
  /** Where the picture sits in the letterbox; face-api's pipeline pads right and bottom only. */
  letterboxAlign: z.enum(['center', 'top-left']).default('top-left'),
  /** How images reach the input size; face-api's own way unless a deployment trades agreement for a cheaper decode. */
  inputResize: z.enum(INPUT_RESIZES).default('pad-square-bilinear'),
  heads: z
    .object({
      yolo: headConfig.extend({ inputSize: z.number().int().positive().multipleOf(32).default(416) }).optional(),
      ssd: headConfig.extend({ inputSize: z.literal(SSD_FACE_INPUT).default(SSD_FACE_INPUT) }).optional(),
    })
    .refine((h) => h.yolo || h.ssd, 'at least one head'),
});

export type FacesConfig = z.infer<typeof facesConfigSchema>;

function inside(dir: string, file: string): string {
  const root = resolve(dir);
  const p = resolve(root, file);
  if (!p.startsWith(root + sep)) throw new Error(`faces: ${file} is outside the model folder`);
  return p;
}

export const loadFaceDetector: ModelLoader = async (manifest: Manifest, dir: string) => {
  const cfg = facesConfigSchema.parse(manifest.config);
  if (manifest.labels && (manifest.labels.length !== 1 || manifest.labels[0] !== 'face')) {
    throw new Error(`faces: labels must be ["face"], got ${JSON.stringify(manifest.labels)}`);
  }
  for (const name of manifest.heads ?? []) {
    if (name !== 'yolo' && name !== 'ssd') throw new Error(`faces: unknown head "${name}"`);
    if (!cfg.heads[name]) throw new Error(`faces: head "${name}" has no config.heads.${name}`);
  }
  const heads = new Map<string, FaceHead>();
  try {
    if (cfg.heads.yolo) {
      const wm = await loadWeightMap(inside(dir, cfg.heads.yolo.weights));
      try {
        heads.set('yolo', new TinyFaceHead(tinyFaceParams(wm), cfg.heads.yolo.inputSize));
      } finally {
        disposeWeightMap(wm);
      }
    }
    if (cfg.heads.ssd) {
      const wm = await loadWeightMap(inside(dir, cfg.heads.ssd.weights));
      try {
        heads.set('ssd', new SsdFaceHead(ssdFaceParams(wm)));
      } finally {
        disposeWeightMap(wm);
      }
    }
    return new FaceDetector(manifest, heads, cfg.scoreThreshold, cfg.letterboxAlign, cfg.inputResize);
  } catch (err) {
    for (const h of heads.values()) h.dispose();
    throw err;
  }
};
