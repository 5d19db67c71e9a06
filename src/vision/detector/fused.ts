// Inference-only execution of a detector network with every convolution → batch norm → ReLU chain folded
// into one fused convolution (bias and ReLU applied inside the conv kernel). Through tf.layers, each such
// block is ~8 kernels (conv, the batch norm's small scale/shift ops and its two full-size passes, ReLU),
// and at batch 1 on wasm the per-kernel overhead cost about as much as the convolutions themselves.
// Folding is exact algebra: BN(conv(x, W)) = conv(x, W·s) + (β − μ·s) with s = γ / √(σ² + ε) per output
// channel; only float rounding differs. Layers that are not part of such a chain run as themselves.
import { tf } from '../../runtime/backend.js';

type Step =
  | { kind: 'conv'; input: number; output: number; filter: tf.Tensor4D; bias?: tf.Tensor1D; stride: number; relu: boolean }
  | { kind: 'layer'; layer: tf.layers.Layer; inputs: number[]; output: number };

interface GraphNode {
  inputTensors: tf.SymbolicTensor[];
}
interface GraphLayer {
  inboundNodes: GraphNode[];
}

const CONV = 'KestrelFastConv2D';
const BN = 'KestrelBatchNorm';
const RELU = 'ReLU';

export class FusedNetwork {
  private constructor(
    private readonly steps: Step[],
    private readonly inputId: number,
    private readonly outputIds: number[],
    private readonly owned: tf.Tensor[],
  ) {}

  /** Kernels per forward pass, for comparison with the layers model's. */
  get stepCount(): number {
    return this.steps.length;
  }

  /**
   * Compiles a single-input functional model. Returns undefined for a graph it does not understand
   * (a layer applied twice, several inputs), so callers keep the layers model then.
   */
  static compile(model: tf.LayersModel): FusedNetwork | undefined {
    if (model.inputs.length !== 1) return undefined;
    const layers = model.layers;
    const inputsOf = new Map<tf.layers.Layer, number[]>();
    for (const l of layers) {
      const nodes = (l as unknown as GraphLayer).inboundNodes;
      if (l.getClassName() === 'InputLayer') continue;
      if (nodes.length !== 1) return undefined;
      inputsOf.set(l, nodes[0].inputTensors.map((t) => t.id));
    }
    const outId = (l: tf.layers.Layer): number => (l.output as tf.SymbolicTensor).id;
    const outputIds = model.outputs.map((t) => t.id);
    // Who reads each tensor: a chain may be folded only when nothing else sees its intermediate values.
    const readers = new Map<number, tf.layers.Layer[]>();
    for (const [l, ins] of inputsOf) for (const id of ins) readers.set(id, [...(readers.get(id) ?? []), l]);
    const soleReader = (id: number, cls: string): tf.layers.Layer | undefined => {
      const r = readers.get(id) ?? [];
      return r.length === 1 && r[0].getClassName() === cls && !outputIds.includes(id) ? r[0] : undefined;
    };

    const steps: Step[] = [];
    const owned: tf.Tensor[] = [];
    const absorbed = new Set<tf.layers.Layer>();
    try {
      for (const l of layers) {
        if (l.getClassName() === 'InputLayer' || absorbed.has(l)) continue;
        const ins = inputsOf.get(l) as number[];
        if (l.getClassName() !== CONV) {
          steps.push({ kind: 'layer', layer: l, inputs: ins, output: outId(l) });
          continue;
        }
        const cfg = l.getConfig() as { strides?: number; useBias?: boolean };
        const [kernel, convBias] = l.getWeights() as [tf.Tensor4D, tf.Tensor1D | undefined];
        let output = outId(l);
        let filter: tf.Tensor4D;
        let bias: tf.Tensor1D | undefined;
        let relu = false;
        const bn = soleReader(output, BN);
        if (bn) {
          const [gamma, beta, mean, variance] = bn.getWeights();
          const eps = Number((bn.getConfig() as { epsilon?: number }).epsilon ?? 1e-3);
          [filter, bias] = tf.tidy(() => {
            const s = tf.div(gamma, tf.sqrt(tf.add(variance, eps)));
            const b = tf.sub(beta, tf.mul(mean, s));
            return [tf.mul(kernel, s) as tf.Tensor4D, (convBias ? tf.add(b, tf.mul(convBias, s)) : b) as tf.Tensor1D];
          });
          owned.push(filter, bias);
          absorbed.add(bn);
          output = outId(bn);
          const r = soleReader(output, RELU);
          if (r) {
            absorbed.add(r);
            output = outId(r);
            relu = true;
          }
        } else {
          filter = tf.clone(kernel);
          owned.push(filter);
          if (convBias) {
            bias = tf.clone(convBias);
            owned.push(bias);
          }
        }
        steps.push({ kind: 'conv', input: ins[0], output, filter, bias, stride: Number(cfg.strides ?? 1), relu });
      }
    } catch (err) {
      tf.dispose(owned);
      throw err;
    }
    return new FusedNetwork(steps, model.inputs[0].id, outputIds, owned);
  }

  /** The model's outputs for x, in model output order. Call inside tf.tidy: intermediates are left to it. */
  run(x: tf.Tensor): tf.Tensor[] {
    const values = new Map<number, tf.Tensor>([[this.inputId, x]]);
    const get = (id: number): tf.Tensor => {
      const t = values.get(id);
      if (!t) throw new Error(`fused network: tensor ${id} is used before it is computed`);
      return t;
    };
    for (const s of this.steps) {
      if (s.kind === 'conv') {
        values.set(s.output, tf.fused.conv2d({ x: get(s.input) as tf.Tensor4D, filter: s.filter, strides: s.stride, pad: 'same', bias: s.bias, activation: s.relu ? 'relu' : 'linear' }));
      } else {
        const ins = s.inputs.map(get);
        values.set(s.output, s.layer.apply(ins.length === 1 ? ins[0] : ins) as tf.Tensor);
      }
    }
    return this.outputIds.map(get);
  }

  dispose(): void {
    tf.dispose(this.owned);
  }
}
