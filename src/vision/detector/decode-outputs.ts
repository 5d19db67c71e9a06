// From the network's raw outputs (already read back to the CPU) to per-image candidates, per head.
import type { Candidates } from '../../runtime/models.js';
import type { DetectorConfig, HeadName } from './config.js';
import { decodeYolo } from '../heads/yolo/decode.js';
import { decodeSsd } from '../heads/ssd/decode.js';
import { decodeWindows } from '../heads/sliding-window/windows.js';

export function mergeCandidates(parts: Candidates[]): Candidates {
  const n = parts.reduce((a, p) => a + p.scores.length, 0);
  const out: Candidates = { boxes: new Float32Array(n * 4), scores: new Float32Array(n), classes: new Int32Array(n) };
  const withProbs = parts.length > 0 && parts.every((p) => p.classProbs);
  const K = withProbs ? Math.max(0, ...parts.map((p) => (p.scores.length ? (p.classProbs as Float32Array).length / p.scores.length : 0))) : 0;
  if (withProbs) out.classProbs = new Float32Array(n * K);
  let o = 0;
  for (const p of parts) {
    out.boxes.set(p.boxes, o * 4);
    out.scores.set(p.scores, o);
    out.classes.set(p.classes, o);
    if (out.classProbs && p.scores.length) out.classProbs.set(p.classProbs as Float32Array, o * K);
    o += p.scores.length;
  }
  return out;
}

/** Keeps the `k` best-scoring candidates: a cap on what NMS and evaluation must sort through. */
export function topK(c: Candidates, k: number): Candidates {
  if (c.scores.length <= k) return c;
  const idx = [...c.scores.keys()].sort((a, b) => c.scores[b] - c.scores[a]).slice(0, k);
  return pick(c, idx);
}

/** The candidates at `idx`, in that order. */
export function pick(c: Candidates, idx: ArrayLike<number>): Candidates {
  const list = Array.from(idx);
  const out: Candidates = {
    boxes: Float32Array.from(list.flatMap((i) => [c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3]])),
    scores: Float32Array.from(list, (i) => c.scores[i]),
    classes: Int32Array.from(list, (i) => c.classes[i]),
  };
  const probs = c.classProbs;
  if (probs) {
    const K = c.scores.length ? probs.length / c.scores.length : 0;
    out.classProbs = new Float32Array(list.length * K);
    list.forEach((i, j) => out.classProbs?.set(probs.subarray(i * K, (i + 1) * K), j * K));
  }
  return out;
}

/** YOLO: one raw array per scale, each the image's slice of that scale's NHWC output. */
export function decodeYoloImage(cfg: DetectorConfig, perScale: Float32Array[], scoreThreshold: number, multiLabel = false, withClassProbs = false): Candidates {
  return mergeCandidates(
    cfg.yolo.scales.map((s, i) => {
      const g = Math.ceil(cfg.inputSize / s.stride);
      return decodeYolo(perScale[i], { gridH: g, gridW: g, anchors: s.anchors, numClasses: cfg.numClasses, inputWidth: cfg.inputSize, inputHeight: cfg.inputSize, classActivation: 'softmax', scoreThreshold, multiLabel, withClassProbs });
    }),
  );
}

/** SSD: the image's [slots, 4 + K + 1] rows with the class part already softmaxed. */
export function decodeSsdImage(cfg: DetectorConfig, priors: Float32Array, rows: Float32Array, scoreThreshold: number, multiLabel = false, withClassProbs = false): Candidates {
  const n = priors.length / 4;
  const C = cfg.numClasses + 1;
  const D = 4 + C;
  const loc = new Float32Array(n * 4);
  const probs = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    loc.set(rows.subarray(i * D, i * D + 4), i * 4);
    probs.set(rows.subarray(i * D + 4, (i + 1) * D), i * C);
  }
  return decodeSsd(loc, probs, { priors, variances: cfg.ssd.variances, numClasses: C, background: true, inputWidth: cfg.inputSize, inputHeight: cfg.inputSize, scoreThreshold, multiLabel, withClassProbs });
}

export function decodeWindowImage(cfg: DetectorConfig, windows: Float32Array, probs: Float32Array, scoreThreshold: number, multiLabel = false, withClassProbs = false): Candidates {
  return decodeWindows(probs, windows, cfg.numClasses + 1, scoreThreshold, multiLabel, withClassProbs);
}

export type { HeadName };
