// The kestrel detector's heads. Network, model, trainer and target encoder iterate this table, in this
// order (which is also the order of the network's outputs): a new head is a folder beside these and one
// line here, plus its config section in ../detector/config.ts.
import type { DetectorConfig } from '../detector/config.js';
import type { GroundTruth } from './box-math.js';
import type { BoundHead, DetectorHead, HeadOutput } from './head.js';
import { slidingWindowHead } from './sliding-window/head.js';
import { ssdHead } from './ssd/head.js';
import { yoloHead } from './yolo/head.js';

const TABLE = {
  yolo: yoloHead,
  ssd: ssdHead,
  'sliding-window': slidingWindowHead,
};

export type HeadName = keyof typeof TABLE;
export const HEAD_TABLE: Readonly<Record<HeadName, DetectorHead<unknown, unknown>>> = TABLE;
export const HEADS = Object.keys(TABLE) as HeadName[];

/** The head's own section of the detector config. */
function ownConfig(name: HeadName, cfg: DetectorConfig): unknown {
  return (cfg as unknown as Record<string, unknown>)[HEAD_TABLE[name].configKey];
}

export function headOutputs(name: HeadName, cfg: DetectorConfig): HeadOutput[] {
  return HEAD_TABLE[name].outputs(ownConfig(name, cfg), cfg);
}

export function bindHead(name: HeadName, cfg: DetectorConfig): BoundHead<unknown> {
  return HEAD_TABLE[name].bind(ownConfig(name, cfg), cfg);
}

/** The config with every head's section fitted to the training boxes where the head asks for it. */
export function fitHeadsToData(cfg: DetectorConfig, gts: readonly GroundTruth[], seed: number): { cfg: DetectorConfig; notes: string[] } {
  let out = cfg;
  const notes: string[] = [];
  for (const name of HEADS) {
    const head = HEAD_TABLE[name];
    if (!head.fitToData) continue;
    const fit = head.fitToData(ownConfig(name, out), gts, seed);
    out = { ...out, [head.configKey]: fit.own };
    notes.push(fit.note);
  }
  return { cfg: out, notes };
}
