// Kestrel's forward pass over NanoDet's graph: the same nodes and weights, run channels-last.
//
// The shipped graph came from ONNX, so it is written channels-first and wraps each of its 34 convolutions
// in transposes (83 in all), with explicit Pad nodes and separate bias adds and activations. Here each
// value carries the permutation from its logical (graph) axes to the physical layout it is stored in, so
// a Transpose only relabels axes; Pad → Conv2D → bias Add → LeakyRelu runs as one fused convolution with
// explicit padding; and the two shape-pinned ops (ResizeBilinear's size, the output Reshape) are computed
// from the actual input, so any batch and any input side that is a multiple of 32 runs.
import { tf } from '../../runtime/backend.js';
import type { GraphNode } from './graph.js';

type Perm = number[];
/** A tensor and where each logical axis lives in it: logical axis i is physical axis perm[i]. */
interface Value {
  t: tf.Tensor;
  perm: Perm;
}

/**
 * The values of one pass by name. The reference pass records which names each step reads and writes; later
 * passes use that to free each tensor right after its last reader, as the graph executor does, so the
 * allocator reuses memory that is still in cache instead of holding every activation of the network.
 */
class Env extends Map<string, Value> {
  reads?: Set<string>;
  writes?: Set<string>;
  private readonly refs = new Map<tf.Tensor, number>();

  override get(name: string): Value | undefined {
    this.reads?.add(name);
    return super.get(name);
  }

  override set(name: string, v: Value): this {
    this.writes?.add(name);
    this.refs.set(v.t, (this.refs.get(v.t) ?? 0) + 1);
    return super.set(name, v);
  }

  /** Forgets a value; its tensor is disposed once no live value shares it (relabelled views do). */
  release(name: string, keep: tf.Tensor): void {
    const v = super.get(name);
    if (!v) return;
    super.delete(name);
    const left = (this.refs.get(v.t) ?? 1) - 1;
    if (left > 0) this.refs.set(v.t, left);
    else {
      this.refs.delete(v.t);
      if (v.t !== keep) v.t.dispose();
    }
  }
}
type Step = (env: Env) => void;

const IDENTITY4 = [0, 1, 2, 3];

function inverse(p: Perm): Perm {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
}

function isIdentity(p: Perm): boolean {
  return p.every((v, i) => v === i);
}

/** The physical tensor rearranged so that logical axis i sits at physical axis want[i]. */
function arrange(v: Value, want: Perm): tf.Tensor {
  const inv = inverse(want);
  const q = inv.map((logical) => v.perm[logical]);
  return isIdentity(q) ? v.t : tf.transpose(v.t, q);
}

/** Node input "name:1" → [name, 1]; control inputs ("^name") are not data. */
function parseInput(s: string): [string, number] {
  const m = /^(.*?)(?::(\d+))?$/.exec(s)!;
  return [m[1], m[2] ? Number(m[2]) : 0];
}

const key = (name: string, port = 0): string => (port === 0 ? name : `${name}:${port}`);

export interface NanoDetOutputs {
  /** Per level, in stride order 8, 16, 32…: [batch, positions, classes] and [batch, positions, 4 × bins]. */
  scores: tf.Tensor3D[];
  bins: tf.Tensor3D[];
}

export class NanoDetNetwork {
  private readonly steps: Step[] = [];
  /** After step i, the names no later step reads (from the reference pass). */
  private deaths?: string[][];
  private readonly inputName: string;
  private readonly outputNodes: string[];
  private readonly tapped: boolean;
  /** ResizeBilinear node → integer scale factor, measured once at the graph's own input size. */
  private readonly resizeScale = new Map<string, [number, number]>();

  constructor(
    nodes: readonly GraphNode[],
    weights: Record<string, tf.Tensor[]>,
    private readonly classes: number,
    private readonly binsPerBox: number,
    /** The graph's own input side: its pinned resize sizes are read as scale factors at this side. */
    referenceSide: number,
    /**
     * Feature taps instead of the detections: node names whose values `features` returns channels-last.
     * Only the nodes they depend on are planned, so a tap below the head skips the head's work.
     */
    taps?: readonly string[],
  ) {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const consumers = new Map<string, GraphNode[]>();
    for (const n of nodes) for (const i of n.input ?? []) {
      const [src] = parseInput(i);
      consumers.set(src, [...(consumers.get(src) ?? []), n]);
    }
    const placeholder = nodes.find((n) => n.op === 'Placeholder');
    if (!placeholder) throw new Error('nanodet: the graph has no input');
    this.inputName = placeholder.name;
    const graphOutputs = nodes.filter((n) => n.op === 'Identity' && !consumers.has(n.name));
    if (graphOutputs.length !== 6) throw new Error(`nanodet: expected 6 graph outputs, found ${graphOutputs.length}`);
    this.tapped = taps !== undefined;
    const outputsOf = taps ? taps.map((t) => byName.get(t) ?? fail(`nanodet: no node ${t} to tap`)) : graphOutputs;

    const constant = (name: string): tf.Tensor => {
      const w = weights[name]?.[0];
      if (!w) throw new Error(`nanodet: no weight for ${name}`);
      return w;
    };
    const ints = (name: string): number[] => Array.from(constant(name).dataSync());
    const only = (name: string): GraphNode | undefined => {
      const c = consumers.get(name) ?? [];
      return c.length === 1 ? c[0] : undefined;
    };
    const isConst = (name: string): boolean => byName.get(parseInput(name)[0])?.op === 'Const';

    // Nodes folded into a fused convolution are computed by it; nothing else reads them.
    const folded = new Set<string>();
    const planned = new Set<string>();
    const order: GraphNode[] = [];
    const visit = (name: string): void => {
      if (planned.has(name)) return;
      planned.add(name);
      const n = byName.get(name);
      if (!n) throw new Error(`nanodet: unknown node ${name}`);
      if (n.op === 'Const' || n.op === 'Placeholder') return;
      // Shape operands of Reshape and ResizeBilinear are recomputed from the input; the rest are data.
      const data = n.op === 'Reshape' || n.op === 'ResizeBilinear' ? [n.input![0]] : (n.input ?? []);
      for (const i of data) if (!i.startsWith('^')) visit(parseInput(i)[0]);
      order.push(n);
    };
    for (const o of outputsOf) visit(o.name);

    // Pads and transposes that feed a convolution become its explicit padding: decided before any step is
    // planned, since they come before their convolution in topological order.
    for (const n of order) {
      const fold = n.op === 'Conv2D' ? padBeforeConv(n, byName, only, ints) : undefined;
      if (fold) folded.add(fold.transpose.name).add(fold.padNode.name);
    }
    for (const n of order) {
      const ins = (n.input ?? []).filter((i) => !i.startsWith('^'));
      if (folded.has(n.name)) continue;
      switch (n.op) {
        case 'Conv2D': {
          this.planConv(n, ins, byName, only, constant, ints, folded);
          break;
        }
        case 'Transpose': {
          const p = ints(ins[1]);
          const src = ins[0];
          this.steps.push((env) => {
            const v = get(env, src);
            env.set(n.name, { t: v.t, perm: p.map((a) => v.perm[a]) });
          });
          break;
        }
        case 'Pad':
        case 'PadV2': {
          const pads = ints(ins[1]);
          const value = n.op === 'PadV2' ? constant(ins[2]).dataSync()[0] : 0;
          const src = ins[0];
          this.steps.push((env) => {
            const v = get(env, src);
            const phys: [number, number][] = v.perm.map(() => [0, 0]);
            v.perm.forEach((p, i) => (phys[p] = [pads[2 * i], pads[2 * i + 1]]));
            env.set(n.name, { t: tf.pad(v.t, phys, value), perm: v.perm });
          });
          break;
        }
        case 'LeakyRelu': {
          const alpha = n.attr?.['alpha']?.f ?? 0.2;
          const src = ins[0];
          this.steps.push((env) => {
            const v = get(env, src);
            env.set(n.name, { t: tf.leakyRelu(v.t, alpha), perm: v.perm });
          });
          break;
        }
        case 'Sigmoid': {
          const src = ins[0];
          this.steps.push((env) => {
            const v = get(env, src);
            env.set(n.name, { t: tf.sigmoid(v.t), perm: v.perm });
          });
          break;
        }
        case 'Identity': {
          const src = ins[0];
          this.steps.push((env) => env.set(n.name, get(env, src)));
          break;
        }
        case 'Add':
        case 'AddV2': {
          if (ins.some(isConst)) throw new Error(`nanodet: unfused bias add ${n.name}`);
          const [a, b] = ins;
          this.steps.push((env) => {
            const va = get(env, a);
            env.set(n.name, { t: tf.add(va.t, arrange(get(env, b), va.perm)), perm: va.perm });
          });
          break;
        }
        case 'ConcatV2': {
          const axis = ints(ins[ins.length - 1])[0];
          const parts = ins.slice(0, -1);
          this.steps.push((env) => {
            const first = get(env, parts[0]);
            const ax = first.perm[axis < 0 ? axis + first.perm.length : axis];
            const ts = parts.map((p) => arrange(get(env, p), first.perm));
            env.set(n.name, { t: tf.concat(ts, ax), perm: first.perm });
          });
          break;
        }
        case 'SplitV': {
          const sizes = ints(ins[1]);
          const axis = ints(ins[2])[0];
          const src = ins[0];
          this.steps.push((env) => {
            const v = get(env, src);
            const ax = v.perm[axis < 0 ? axis + v.perm.length : axis];
            const total = v.t.shape[ax];
            const known = sizes.filter((s) => s >= 0).reduce((s, x) => s + x, 0);
            const parts = tf.split(v.t, sizes.map((s) => (s < 0 ? total - known : s)), ax);
            parts.forEach((t, i) => env.set(key(n.name, i), { t, perm: v.perm }));
          });
          break;
        }
        case 'MaxPool': {
          const ksize = (n.attr?.['ksize']?.list?.i ?? []).map(Number);
          const strides = (n.attr?.['strides']?.list?.i ?? []).map(Number);
          const src = ins[0];
          this.steps.push((env) => {
            const x = arrange(get(env, src), IDENTITY4) as tf.Tensor4D;
            env.set(n.name, { t: tf.maxPool(x, [ksize[1], ksize[2]], [strides[1], strides[2]], 'valid'), perm: IDENTITY4 });
          });
          break;
        }
        case 'ResizeBilinear': {
          const size = ints(ins[1]);
          const src = ins[0];
          const halfPixel = n.attr?.['half_pixel_centers']?.b ?? false;
          const alignCorners = n.attr?.['align_corners']?.b ?? false;
          this.steps.push((env) => {
            const x = arrange(get(env, src), IDENTITY4) as tf.Tensor4D;
            let s = this.resizeScale.get(n.name);
            if (!s) {
              // Only the constructor's reference pass gets here.
              s = [size[0] / x.shape[1], size[1] / x.shape[2]];
              this.resizeScale.set(n.name, s);
            }
            const out: [number, number] = [Math.round(x.shape[1] * s[0]), Math.round(x.shape[2] * s[1])];
            env.set(n.name, { t: tf.image.resizeBilinear(x, out, alignCorners, halfPixel), perm: IDENTITY4 });
          });
          break;
        }
        case 'Reshape': {
          // The only reshapes flatten a head's [N, C, H, W] map to [N, C, H·W]; written for any H, W.
          const src = ins[0];
          this.steps.push((env) => {
            const v = get(env, src);
            if (v.perm.length !== 4) throw new Error(`nanodet: ${n.name} reshapes a rank-${v.perm.length} value`);
            const x = arrange(v, [0, 3, 1, 2]);
            const [nb, h, w, c] = x.shape;
            env.set(n.name, { t: tf.reshape(x, [nb, h * w, c]), perm: [0, 2, 1] });
          });
          break;
        }
        default:
          throw new Error(`nanodet: op ${n.op} (${n.name}) is not supported by kestrel's forward pass`);
      }
    }
    this.outputNodes = outputsOf.map((o) => o.name);
    // One pass at the graph's own size turns each pinned resize into a scale factor.
    const probe = tf.zeros([1, referenceSide, referenceSide, 3]) as tf.Tensor4D;
    tf.dispose([probe, ...this.pass(probe)]);
  }

  private planConv(
    n: GraphNode,
    ins: string[],
    byName: Map<string, GraphNode>,
    only: (name: string) => GraphNode | undefined,
    constant: (name: string) => tf.Tensor,
    ints: (name: string) => number[],
    folded: Set<string>,
  ): void {
    if ((n.attr?.['padding']?.s ?? '') !== btoa('VALID')) throw new Error(`nanodet: ${n.name} is not VALID-padded`);
    const strides = (n.attr?.['strides']?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    const dil = (n.attr?.['dilations']?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    if (dil.some((d) => d !== 1)) throw new Error(`nanodet: ${n.name} is dilated`);
    const filter = constant(ins[1]) as tf.Tensor4D;
    // Input side: Pad (channels-first) → Transpose to channels-last → Conv2D becomes explicit padding.
    let src = ins[0];
    let pad: Pad4 | 0 = 0;
    const fold = padBeforeConv(n, byName, only, ints);
    if (fold) {
      pad = fold.pad;
      const inner = fold.padNode.input![0];
      const perm = fold.perm;
      src = `${n.name}/kestrel-input`;
      // The pad's input is read in the conv's logical layout: the transpose's permutation applied to it.
      this.steps.push((env) => {
        const v = get(env, inner);
        env.set(src, { t: v.t, perm: perm.map((a) => v.perm[a]) });
      });
    }
    // Output side: bias Add, then optionally Transpose → LeakyRelu.
    let out = n.name;
    let bias: tf.Tensor | undefined;
    let activation: 'linear' | 'leakyrelu' = 'linear';
    let alpha = 0;
    let outPerm: Perm = IDENTITY4;
    const add = only(n.name);
    if (add && (add.op === 'Add' || add.op === 'BiasAdd') && byName.get(parseInput(add.input![1])[0])?.op === 'Const') {
      bias = constant(add.input![1]);
      folded.add(add.name);
      out = add.name;
      const t2 = only(add.name);
      const act = t2?.op === 'Transpose' ? only(t2.name) : undefined;
      if (t2 && act?.op === 'LeakyRelu') {
        activation = 'leakyrelu';
        alpha = act.attr?.['alpha']?.f ?? 0.2;
        outPerm = ints(t2.input![1]);
        folded.add(t2.name).add(act.name);
        out = act.name;
      }
    }
    const input = src;
    const stride: [number, number] = [strides[1], strides[2]];
    // tfjs turns explicit padding into a separate pad op per convolution; at stride 1 a symmetric k//2 pad
    // is exactly 'same', which the kernel pads itself.
    const [kh, kw] = filter.shape;
    const same = pad !== 0 && stride[0] === 1 && stride[1] === 1 && kh % 2 === 1 && kw % 2 === 1 &&
      pad[1][0] === (kh - 1) / 2 && pad[1][1] === (kh - 1) / 2 && pad[2][0] === (kw - 1) / 2 && pad[2][1] === (kw - 1) / 2;
    const padding = same ? 'same' : pad;
    this.steps.push((env) => {
      const x = arrange(get(env, input), IDENTITY4) as tf.Tensor4D;
      const y = tf.fused.conv2d({ x, filter, strides: stride, pad: padding, bias, activation, leakyreluAlpha: alpha });
      env.set(out, { t: y, perm: outPerm });
    });
  }

  /** Runs every step once, recording what each reads and writes, and from that when each value dies. */
  private plan(env: Env): void {
    const lastRead = new Map<string, number>();
    const written: string[][] = [];
    this.steps.forEach((s, i) => {
      env.reads = new Set();
      env.writes = new Set();
      s(env);
      for (const r of env.reads) lastRead.set(r, i);
      written.push([...env.writes]);
    });
    env.reads = undefined;
    env.writes = undefined;
    const outputs = new Set(this.outputNodes);
    const deaths: string[][] = this.steps.map(() => []);
    written.forEach((names, i) => {
      for (const n of names) if (!outputs.has(n)) deaths[lastRead.get(n) ?? i].push(n);
    });
    // The input is the caller's: it is never disposed, only forgotten after its last reader.
    deaths[lastRead.get(this.inputName) ?? 0].push(this.inputName);
    this.deaths = deaths;
  }

  /**
   * x: float32 [batch, side, side, 3], already normalised the way the network was trained. Returns each
   * level's scores and bins, ordered by stride (largest map first).
   */
  run(x: tf.Tensor4D): NanoDetOutputs {
    if (this.tapped) throw new Error('nanodet: this network was built for feature taps; call features()');
    return tf.tidy(() => {
      const outs = this.pass(x) as tf.Tensor3D[];
      const scores = outs.filter((t) => t.shape[2] === this.classes).sort((a, b) => b.shape[1] - a.shape[1]);
      const bins = outs.filter((t) => t.shape[2] === this.binsPerBox).sort((a, b) => b.shape[1] - a.shape[1]);
      if (scores.length !== 3 || bins.length !== 3) throw new Error('nanodet: outputs do not match 3 levels of scores and bins');
      return { scores, bins };
    });
  }

  /** The tapped values for x (normalised as for `run`), each channels-last [batch, h, w, channels]. */
  features(x: tf.Tensor4D): tf.Tensor4D[] {
    if (!this.tapped) throw new Error('nanodet: this network was built without feature taps');
    return this.pass(x) as tf.Tensor4D[];
  }

  /** One pass: the output nodes' values, rank-3 outputs as [batch, positions, depth], rank-4 ones channels-last. */
  private pass(x: tf.Tensor4D): tf.Tensor[] {
    return tf.tidy(() => {
      const env = new Env();
      env.set(this.inputName, { t: x, perm: [0, 3, 1, 2] });
      if (this.deaths) {
        const deaths = this.deaths;
        this.steps.forEach((s, i) => {
          s(env);
          for (const name of deaths[i]) env.release(name, x);
        });
      } else this.plan(env);
      return this.outputNodes.map((o) => {
        const v = get(env, o);
        return arrange(v, v.perm.length === 4 ? [0, 3, 1, 2] : [0, 1, 2]);
      });
    });
  }
}

function fail(message: string): never {
  throw new Error(message);
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Conv2D ← Transpose ← Pad, each read only by the next, padding only the spatial axes: the explicit padding
 * (in the convolution's channels-last axes) that replaces both, and the transpose's permutation.
 */
function padBeforeConv(
  n: GraphNode,
  byName: Map<string, GraphNode>,
  only: (name: string) => GraphNode | undefined,
  ints: (name: string) => number[],
): { transpose: GraphNode; padNode: GraphNode; perm: Perm; pad: Pad4 } | undefined {
  const transpose = byName.get(parseInput(n.input![0])[0]);
  if (transpose?.op !== 'Transpose' || only(transpose.name) !== n) return undefined;
  const padNode = byName.get(parseInput(transpose.input![0])[0]);
  if (padNode?.op !== 'Pad' || only(padNode.name) !== transpose) return undefined;
  const perm = ints(transpose.input![1]);
  const pads = ints(padNode.input![1]);
  const at = (convAxis: number): [number, number] => [pads[2 * perm[convAxis]], pads[2 * perm[convAxis] + 1]];
  if (at(0)[0] + at(0)[1] + at(3)[0] + at(3)[1] !== 0) return undefined;
  return { transpose, padNode, perm, pad: [[0, 0], at(1), at(2), [0, 0]] };
}

function get(env: Env, name: string): Value {
  const [n, port] = parseInput(name);
  const v = env.get(key(n, port));
  if (!v) throw new Error(`nanodet: ${name} was not computed`);
  return v;
}
