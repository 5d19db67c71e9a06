// SSD decoding: default boxes (priors) moved by the predicted offsets, offsets scaled by the variances.
import type { Candidates } from '../../candidates.js';
import { chooseClasses, pushClassDistribution } from '../class-choice.js';

export interface SsdDecodeOptions {
  /** n×4 [cx, cy, w, h], normalized to the input size. */
  priors: Float32Array;
  /** Scale of the centre offsets and of the log-size offsets, e.g. [0.1, 0.2]. */
  variances: [number, number] | readonly [number, number];
  /** Columns of probs, including the background column when background is true. */
  numClasses: number;
  background: boolean;
  inputWidth: number;
  inputHeight: number;
  scoreThreshold: number;
  /** Every class above the threshold becomes a candidate, not only the prior's best (see class-choice.ts). */
  multiLabel?: boolean;
  /** Also return each candidate's class distribution (Candidates.classProbs). */
  withClassProbs?: boolean;
}

/** One candidate per prior (its best non-background class, or each one above the threshold with multiLabel); classes are numbered without the background. */
export function decodeSsd(loc: Float32Array, probs: Float32Array, spec: SsdDecodeOptions): Candidates {
  const n = spec.priors.length / 4;
  const C = spec.numClasses;
  if (loc.length !== n * 4) throw new Error(`decodeSsd: loc has ${loc.length} values, expected ${n}×4`);
  if (probs.length !== n * C) throw new Error(`decodeSsd: probs has ${probs.length} values, expected ${n}×${C}`);
  const first = spec.background ? 1 : 0;
  const [vc, vs] = spec.variances;
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  const dist: number[] = [];
  for (let i = 0; i < n; i++) {
    let chosen = 0;
    chooseClasses(probs, i, C, first, spec.scoreThreshold, spec.multiLabel ?? false, (c, p) => {
      scores.push(p);
      classes.push(c);
      chosen++;
    });
    if (chosen === 0) continue;
    if (spec.withClassProbs) for (let k = 0; k < chosen; k++) pushClassDistribution(probs, i, C, first, dist);
    const pcx = spec.priors[4 * i];
    const pcy = spec.priors[4 * i + 1];
    const pw = spec.priors[4 * i + 2];
    const ph = spec.priors[4 * i + 3];
    const cx = pcx + loc[4 * i] * vc * pw;
    const cy = pcy + loc[4 * i + 1] * vc * ph;
    const w = pw * Math.exp(loc[4 * i + 2] * vs);
    const h = ph * Math.exp(loc[4 * i + 3] * vs);
    for (let k = 0; k < chosen; k++) {
      boxes.push((cx - w / 2) * spec.inputWidth, (cy - h / 2) * spec.inputHeight, (cx + w / 2) * spec.inputWidth, (cy + h / 2) * spec.inputHeight);
    }
  }
  const out: Candidates = { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) };
  if (spec.withClassProbs) out.classProbs = Float32Array.from(dist);
  return out;
}
