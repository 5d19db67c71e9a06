// From the network's raw outputs (already read back to the CPU) to per-image candidates, per head.
import { mergeCandidates, type Candidates } from '../candidates.js';
import type { DetectorConfig, HeadName } from './config.js';
import { decodeYolo } from '../heads/yolo/decode.js';
import { decodeSsd } from '../heads/ssd/decode.js';
import { decodeWindows } from '../heads/sliding-window/windows.js';

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
