// One stage of NanoDet-g's CSP backbone, made trainable (fine-tuning for kestrel's heads). A stage is
//
//   entry = leaky(conv3×3 stride 2 (x))                       c channels
//   r = entry; per block: a = leaky(conv(r)) (c → c/2), b = leaky(conv(a)), r = concat(b, a)
//   out = concat(leaky(conv(r)) (c → c), entry)               2c channels, the 'backbone' tap
//
// The frozen network still runs up to `entry` (which is what gets cached); everything after it is rebuilt
// here as layers of kestrel's own detector, starting from NanoDet's weights, so it trains with the heads
// and is saved in the detector's own weights.
import { tf } from '../../runtime/backend.js';
import { FastConv2D } from '../backbone/fast-conv.js';
import type { GraphNode } from './graph.js';

type Sym = tf.SymbolicTensor;

export interface CspStageSpec {
  stride: number;
  /** Channels of the stage's entry convolution (its output has twice as many). */
  channels: number;
  blocks: number;
  /** LeakyRelu slope. */
  alpha: number;
}

/** The convolutions of a stage after its entry, in the order `cspStageTail` creates them. */
export const cspConvNames = (s: CspStageSpec, prefix: string): string[] =>
  [...Array.from({ length: s.blocks }, (_, b) => [`${prefix}_b${b}a`, `${prefix}_b${b}b`]).flat(), `${prefix}_out`];

/** entry [batch, h, w, c] → the stage's output [batch, h, w, 2c], as trainable layers. */
export function cspStageTail(entry: Sym, s: CspStageSpec, prefix: string): Sym {
  const names = cspConvNames(s, prefix);
  let k = 0;
  const conv = (x: Sym, filters: number, inputGradient: boolean): Sym => {
    const name = names[k++];
    const y = new FastConv2D({ filters, kernelSize: 3, name, inputGradient }).apply(x) as Sym;
    return tf.layers.leakyReLU({ alpha: s.alpha, name: `${name}_leaky` }).apply(y) as Sym;
  };
  let r = entry;
  for (let b = 0; b < s.blocks; b++) {
    // The entry is frozen (cached), so the first convolution needs no input gradient.
    const a = conv(r, s.channels / 2, b > 0);
    const bb = conv(a, s.channels / 2, true);
    r = tf.layers.concatenate({ name: `${prefix}_b${b}_cat` }).apply([bb, a]) as Sym;
  }
  const out = conv(r, s.channels, true);
  return tf.layers.concatenate({ name: `${prefix}_cat` }).apply([out, entry]) as Sym;
}

/** A stage found in the graph: its spec, the node whose value is its entry, and its weights in layer order. */
export interface CspStageInGraph {
  spec: CspStageSpec;
  entry: string;
  weights: { kernel: tf.Tensor4D; bias: tf.Tensor1D }[];
}

const bare = (s: string): string => s.replace(/^\^/, '').replace(/:\d+$/, '');

/**
 * Reads the stage whose output is node `stageOut` (a 'backbone' tap) back from the graph, checking that it
 * has exactly the shape above; anything else is refused rather than guessed at.
 */
export function readCspStage(nodes: readonly GraphNode[], weight: (name: string) => tf.Tensor | undefined, stageOut: string, stride: number): CspStageInGraph {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const node = (name: string): GraphNode => byName.get(bare(name)) ?? fail(`no node ${name}`);
  const through = (name: string, ops: string[]): GraphNode => {
    let n = node(name);
    while (ops.includes(n.op)) n = node(n.input![0]);
    return n;
  };
  const dataInputs = (n: GraphNode): string[] => (n.input ?? []).filter((i) => !i.startsWith('^'));
  // A convolution unit: LeakyRelu ← Transpose ← bias Add ← Conv2D ← Transpose ← Pad ← its input.
  const unit = (leakyName: string): { conv: GraphNode; input: string; alpha: number; stride: number; kernel: tf.Tensor4D; bias: tf.Tensor1D } => {
    const leaky = through(leakyName, ['Transpose']);
    if (leaky.op !== 'LeakyRelu') fail(`${leaky.name} is ${leaky.op}, not LeakyRelu`);
    const add = through(leaky.input![0], ['Transpose']);
    if (add.op !== 'Add' && add.op !== 'BiasAdd') fail(`${add.name} is ${add.op}, not a bias add`);
    const conv = node(add.input![0]);
    if (conv.op !== 'Conv2D') fail(`${conv.name} is ${conv.op}, not Conv2D`);
    const kernel = weight(bare(conv.input![1])) as tf.Tensor4D | undefined;
    const bias = weight(bare(add.input![1])) as tf.Tensor1D | undefined;
    if (!kernel || !bias || kernel.shape[0] !== 3 || kernel.shape[1] !== 3) fail(`${conv.name} is not a 3×3 convolution with a bias`);
    const input = through(conv.input![0], ['Transpose', 'Pad']).name;
    const strides = (conv.attr?.['strides']?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    return { conv, input, alpha: leaky.attr?.['alpha']?.f ?? 0.2, stride: strides[1], kernel: kernel!, bias: bias! };
  };
  const concatOf = (name: string): [string, string] => {
    const n = node(name);
    if (n.op !== 'ConcatV2') fail(`${n.name} is ${n.op}, not a concatenation`);
    const ins = dataInputs(n);
    const axis = weight(bare(ins[2]))?.dataSync()[0];
    if (ins.length !== 3 || axis !== 1) fail(`${n.name} does not join two values along the channels`);
    return [ins[0], ins[1]];
  };
  const fail = (why: string): never => {
    throw new Error(`nanodet: the stride-${stride} stage is not a CSP stage kestrel can fine-tune (${why})`);
  };

  const [outName, entryName] = concatOf(stageOut);
  const entryUnit = unit(entryName);
  if (entryUnit.stride !== 2) fail('its second half is not the stride-2 entry');
  const entry = through(entryName, ['Transpose']).name;
  const outUnit = unit(outName);
  // Walk back from the output convolution through the blocks to the entry.
  const blocks: [ReturnType<typeof unit>, ReturnType<typeof unit>][] = [];
  let at = outUnit.input;
  while (at !== entry) {
    const [bName, aName] = concatOf(at);
    const a = unit(aName), b = unit(bName);
    if (through(b.input, ['Transpose']).name !== through(aName, ['Transpose']).name) fail(`${b.conv.name} does not read ${a.conv.name}`);
    blocks.unshift([a, b]);
    at = a.input;
    if (blocks.length > 8) fail('more than 8 blocks');
  }
  const c = entryUnit.kernel.shape[3];
  const spec: CspStageSpec = { stride, channels: c, blocks: blocks.length, alpha: entryUnit.alpha };
  const units = [...blocks.flat(), outUnit];
  // The layer shapes cspStageTail builds must be the graph's.
  const want = [...blocks.flatMap(() => [[c, c / 2], [c / 2, c / 2]]), [c, c]];
  units.forEach((u, i) => {
    if (u.stride !== 1 || u.kernel.shape[2] !== want[i][0] || u.kernel.shape[3] !== want[i][1] || u.alpha !== spec.alpha) fail(`${u.conv.name} has shape ${u.kernel.shape.join('×')}`);
  });
  return { spec, entry, weights: units.map((u) => ({ kernel: u.kernel, bias: u.bias })) };
}

/** Copies a stage's graph weights into the detector's layers for it (a fresh run's starting point). */
export function loadCspWeights(model: tf.LayersModel, stage: CspStageInGraph, prefix: string): void {
  cspConvNames(stage.spec, prefix).forEach((name, i) => model.getLayer(name).setWeights([stage.weights[i].kernel, stage.weights[i].bias]));
}
