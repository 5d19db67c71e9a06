// A 'same'-padded convolution layer whose input gradient is computed by a forward convolution (flipped,
// transposed kernel over the — for stride 2, zero-dilated — output gradient). The wasm backend's own
// Conv2DBackpropInput is a naive loop roughly ten times slower than its XNNPACK forward convolution and was
// over half of a training step; the maths is the textbook identity, so results match tf.conv2d's gradient.
import { tf } from '../../runtime/backend.js';

type Pad = [[number, number], [number, number], [number, number], [number, number]];

/** TensorFlow 'same' padding before the input (top/left) for one axis. */
function padBefore(size: number, k: number, s: number): number {
  const out = Math.ceil(size / s);
  return Math.floor(Math.max((out - 1) * s + k - size, 0) / 2);
}

function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inShape: [number, number, number, number], stride: number): tf.Tensor4D {
  const [, H, W] = inShape;
  const [kh, kw] = w.shape;
  // Flip spatially and swap in/out channels: the adjoint of the correlation.
  const wt = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  let u = dy;
  if (stride > 1) {
    // Put each gradient value where its window started: insert stride−1 zeros between rows and columns.
    const [b, ho, wo, c] = dy.shape;
    const z = tf.zerosLike(dy);
    const rows = tf.stack([dy, ...Array.from({ length: stride - 1 }, () => z)], 2).reshape([b, ho * stride, wo, c]);
    const zr = tf.zerosLike(rows);
    u = tf.stack([rows, ...Array.from({ length: stride - 1 }, () => zr)], 3).reshape([b, ho * stride, wo * stride, c]) as tf.Tensor4D;
  }
  const pt = padBefore(H, kh, stride), pl = padBefore(W, kw, stride);
  // dx[j] = Σ_k u[j + p − k]·w[k]: pad so that a 'valid' correlation with the flipped kernel yields H×W.
  const uh = u.shape[1], uw = u.shape[2];
  const top = kh - 1 - pt, left = kw - 1 - pl;
  const bottom = H + kh - 1 - uh - top, right = W + kw - 1 - uw - left;
  const padded = tf.pad(u, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]] as Pad) as tf.Tensor4D;
  const cropped = bottom < 0 || right < 0 ? padded.slice([0, 0, 0, 0], [-1, H + kh - 1, W + kw - 1, -1]) : padded;
  return tf.conv2d(cropped as tf.Tensor4D, wt, 1, 'valid');
}

/**
 * conv2d(x, w, stride, 'same') with the fast input gradient; the filter gradient uses the backend's kernel.
 * Without `inputGradient` (x is a frozen backbone's output), the input gradient is zeros: a custom gradient
 * computes every input's gradient whether or not anything reads it.
 */
export function fastConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, inputGradient = true): tf.Tensor4D {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as tf.Tensor4D, ww = args[1] as tf.Tensor4D, save = args[2] as tf.GradSaveFunc;
    save([xx, ww]);
    return {
      value: tf.conv2d(xx, ww, stride, 'same'),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        const dx = inputGradient ? inputGrad(g, sw, sx.shape, stride) : tf.zerosLike(sx);
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: sx, dy: g }, { strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', filterShape: sw.shape }) as tf.Tensor4D;
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

interface FastConvArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  useBias?: boolean;
  kernelInitializer?: 'heNormal' | 'glorotUniform' | { stddev: number };
  name?: string;
  /** False where the layer reads frozen features: nothing trainable lies below it. */
  inputGradient?: boolean;
}

/** Conv2D layer ('same' padding, square kernel) training through fastConv2d; saved and loaded like any layer. */
export class FastConv2D extends tf.layers.Layer {
  static readonly className = 'KestrelFastConv2D';
  private readonly filters: number;
  private readonly kernelSize: number;
  private readonly strides: number;
  private readonly useBias: boolean;
  private readonly init: FastConvArgs['kernelInitializer'];
  private readonly inputGradient: boolean;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: FastConvArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.useBias = args.useBias ?? true;
    this.init = args.kernelInitializer ?? 'glorotUniform';
    this.inputGradient = args.inputGradient ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = shape[shape.length - 1] as number;
    const init = typeof this.init === 'object'
      ? tf.initializers.randomNormal({ stddev: this.init.stddev })
      : this.init === 'heNormal' ? tf.initializers.heNormal({}) : tf.initializers.glorotUniform({});
    this.kernel = this.addWeight('kernel', [this.kernelSize, this.kernelSize, cin, this.filters], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const o = (v: number | null): number | null => (v === null ? null : Math.ceil(v / this.strides));
    return [s[0], o(s[1]), o(s[2]), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const k = this.kernel!.read() as tf.Tensor4D;
      let y: tf.Tensor = fastConv2d(x, k, this.strides, this.inputGradient);
      if (this.bias) y = tf.add(y, this.bias.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const init = typeof this.init === 'object' ? { stddev: this.init.stddev } : this.init;
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, useBias: this.useBias, kernelInitializer: init ?? 'glorotUniform', ...(this.inputGradient ? {} : { inputGradient: false }) };
  }
}

tf.serialization.registerClass(FastConv2D);
