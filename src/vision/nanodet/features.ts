// NanoDet-g's pretrained layers as a frozen backbone for kestrel's own heads (transfer learning): the COCO
// model's values just before its detection head, per level, channels-last.
//
// Three taps are offered. 'pan' is the PAN neck's output, the features every level's head reads; 'tower' is one
// step later, after the head's own 3×3 convolution, i.e. the input of NanoDet's final 1×1 classifier;
// 'backbone' is one step earlier, the backbone's stage outputs before the neck's 1×1 lateral convolutions
// squeeze them to 128 channels (128, 256 and 512 channels here). They are found by walking back from those
// classifiers, so no graph node name is written down here.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tf } from '../../runtime/backend.js';
import { manifestSchema } from '../../runtime/manifest.js';
import { packageRoot } from '../../package-root.js';
import type { GraphNode } from './graph.js';
import { readGraphArtifacts, openGraphModel } from './graph.js';
import { nanodetConfigSchema, type NanoDetConfig } from './loader.js';
import { COCO_LABELS } from './labels.js';
import { nanodetInput } from './model.js';
import { NanoDetNetwork } from './network.js';
import { readCspStage, type CspStageInGraph } from './csp-stage.js';

export const FEATURE_TAPS = ['backbone', 'pan', 'tower'] as const;
export type FeatureTap = (typeof FEATURE_TAPS)[number];

const source = (n: GraphNode, byName: Map<string, GraphNode>): GraphNode | undefined => byName.get((n.input?.[0] ?? '').replace(/:\d+$/, ''));

/**
 * Per level, the node whose value the tap returns. The head's classifiers are the 1×1 convolutions with
 * one output per class and box bin; behind each sits the tower's LeakyRelu (relabelled by transposes), and
 * behind the tower's convolution its padded input, the PAN output.
 */
export function findTaps(nodes: readonly GraphNode[], filterShape: (name: string) => number[] | undefined, outputsPerCell: number, tap: FeatureTap): string[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const skip = (n: GraphNode | undefined, ops: string[]): GraphNode | undefined => {
    let cur = n;
    while (cur && ops.includes(cur.op)) cur = source(cur, byName);
    return cur;
  };
  const classifiers = nodes.filter((n) => {
    const shape = n.op === 'Conv2D' ? filterShape(n.input?.[1] ?? '') : undefined;
    return shape !== undefined && shape[0] === 1 && shape[1] === 1 && shape[3] === outputsPerCell;
  });
  if (classifiers.length !== 3) throw new Error(`nanodet: expected 3 head classifiers, found ${classifiers.length}`);
  return classifiers.map((c) => {
    const act = skip(source(c, byName), ['Transpose']);
    if (act?.op !== 'LeakyRelu') throw new Error(`nanodet: ${c.name} does not read a LeakyRelu`);
    if (tap === 'tower') return act.name;
    const conv = skip(source(act, byName), ['Transpose', 'Add', 'BiasAdd']);
    if (conv?.op !== 'Conv2D') throw new Error(`nanodet: no tower convolution behind ${act.name}`);
    const pan = skip(source(conv, byName), ['Transpose', 'Pad']);
    if (!pan) throw new Error(`nanodet: no input behind ${conv.name}`);
    if (tap === 'pan') return pan.name;
    const lateral = lateralConv(pan, byName);
    const stage = skip(source(lateral, byName), ['Transpose', 'Pad']);
    if (!stage) throw new Error(`nanodet: no input behind ${lateral.name}`);
    return stage.name;
  });
}

/**
 * The neck's own 1×1 convolution on this level's backbone output: the one convolution reached from the PAN
 * output through sums and transposes alone, since the other levels' contributions arrive through resizes.
 */
function lateralConv(pan: GraphNode, byName: Map<string, GraphNode>): GraphNode {
  const found: GraphNode[] = [];
  const seen = new Set<string>();
  const walk = (n: GraphNode | undefined): void => {
    if (!n || seen.has(n.name)) return;
    seen.add(n.name);
    if (n.op === 'Conv2D') found.push(n);
    else if (['Add', 'AddV2', 'BiasAdd', 'Transpose'].includes(n.op)) for (const i of n.input ?? []) walk(byName.get(i.replace(/:\d+$/, '')));
  };
  walk(pan);
  if (found.length !== 1) throw new Error(`nanodet: expected one lateral convolution behind ${pan.name}, found ${found.length}`);
  return found[0];
}

/** Where a backbone named in a detector config lives: beside the detector's folder, else the package's models/. */
export function backboneDir(name: string, besideDir: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`backbone "${name}" must be a model folder name`);
  const candidates = [resolve(besideDir, '..', name), join(packageRoot(), 'models', name)];
  const dir = candidates.find((d) => existsSync(join(d, 'manifest.json')));
  if (!dir) throw new Error(`backbone model "${name}" not found (looked in ${candidates.join(', ')})`);
  return dir;
}

export class NanoDetFeatures {
  private constructor(
    private readonly network: NanoDetNetwork,
    private readonly cfg: NanoDetConfig,
    private readonly dispose_: () => void,
    /** Channels of each tapped map, in stride order (8, 16, 32). */
    readonly channels: readonly number[],
    /** The stages read at their entry (`tuned`), with NanoDet's weights for the layers that replace them. */
    readonly stages: readonly CspStageInGraph[],
  ) {}

  /** `tuned`: strides whose backbone stage the caller runs itself (csp-stage.ts); those maps are the stages' entries. */
  static async open(dir: string, tap: FeatureTap, tuned: readonly number[] = []): Promise<NanoDetFeatures> {
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    const cfg = nanodetConfigSchema.parse(manifest.config);
    const root = resolve(dir);
    const artifacts = await readGraphArtifacts(resolve(root, cfg.graph));
    const graph = await openGraphModel(artifacts);
    try {
      const classes = (manifest.labels ?? COCO_LABELS).length;
      const nodes = artifacts.topology.node;
      const bins = 4 * (cfg.regMax + 1);
      const taps = findTaps(nodes, (n) => graph.weights[n]?.[0]?.shape, classes + bins, tap);
      const build = (t: string[]): NanoDetNetwork => new NanoDetNetwork(nodes, graph.weights, classes, bins, cfg.graphSize, t);
      let network = build(taps);
      const probeSide = 64;
      // Each tap's [side, channels] on a small probe, in tap order (findTaps does not know the strides).
      const probe = (): [number, number][] => {
        const x = tf.zeros([1, probeSide, probeSide, 3]) as tf.Tensor4D;
        const out = network.features(x);
        const shapes = out.map((t): [number, number] => [t.shape[1], t.shape[3]]);
        tf.dispose([x, ...out]);
        return shapes;
      };
      const stages: CspStageInGraph[] = [];
      if (tuned.length > 0) {
        if (tap !== 'backbone') throw new Error(`backbone stages can be fine-tuned on the 'backbone' tap only, not '${tap}'`);
        const strides = probe().map(([h]) => probeSide / h);
        for (const s of tuned) {
          const i = strides.indexOf(s);
          if (i < 0) throw new Error(`no backbone stage at stride ${s} (have ${strides.join(', ')})`);
          const stage = readCspStage(nodes, (n) => graph.weights[n]?.[0], taps[i], s);
          taps[i] = stage.entry;
          stages.push(stage);
        }
        network = build(taps);
      }
      const channels = probe().sort((a, b) => b[0] - a[0]).map(([, c]) => c);
      return new NanoDetFeatures(network, cfg, () => graph.dispose(), channels, stages);
    } catch (err) {
      graph.dispose();
      throw err;
    }
  }

  /** RGB values [batch, side, side, 3] → the tapped maps in stride order (8, 16, 32). */
  extract(pixels: Uint8Array | Float32Array, batch: number, side: number): tf.Tensor4D[] {
    const x = nanodetInput(pixels, batch, side, this.cfg);
    try {
      return this.network.features(x).sort((a, b) => b.shape[1] - a.shape[1]);
    } finally {
      x.dispose();
    }
  }

  dispose(): void {
    this.dispose_();
  }
}
