// Sum and Mean over leading axes for wasm (bias gradients and batch-norm statistics: [N, H, W, C] → [C]). The stock kernel
// transposes the reduced axes innermost first, which costs ~30 ms on a 16×128×128×16 gradient;
// a column-sum pass over the untouched layout is a few ms.
import { tf } from '../backend.js';
import { f32, type WasmBackend } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

const stock: Record<'Sum' | 'Mean', KernelFn | undefined> = { Sum: undefined, Mean: undefined };

export function setStockSum(fn: KernelFn): void {
  stock.Sum = fn;
}

export function setStockMean(fn: KernelFn): void {
  stock.Mean = fn;
}

type ReduceArgs = { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { axis: number | number[]; keepDims: boolean } };

export function sumWasm(args: ReduceArgs): TensorInfo {
  return reduceLeading(args, 'Sum');
}

/** Mean over leading axes (batch-norm statistics and their gradients). */
export function meanWasm(args: ReduceArgs): TensorInfo {
  return reduceLeading(args, 'Mean');
}

function reduceLeading(args: ReduceArgs, op: 'Sum' | 'Mean'): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const fallback = stock[op];
  if (!fallback) throw new Error(`stock wasm ${op} kernel not captured`);
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < rank && axes.every((ax, i) => ax === i);
  if (x.dtype !== 'float32' || !leading) return fallback(args as never);
  const keptShape = x.shape.slice(axes.length);
  const inner = keptShape.reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, axes.length).reduce((p, d) => p * d, 1);
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...keptShape] : keptShape;
  const out = backend.makeOutput(outShape, 'float32');
  const acc = new Float64Array(inner);
  const xv = f32(backend, x);
  // Four rows per pass: a quarter of the accumulator loads and stores (2× faster measured).
  let r = 0;
  for (; r + 4 <= outer; r += 4) {
    const p = r * inner;
    for (let j = 0; j < inner; j++) acc[j] += xv[p + j] + xv[p + inner + j] + xv[p + 2 * inner + j] + xv[p + 3 * inner + j];
  }
  for (; r < outer; r++) {
    const p = r * inner;
    for (let j = 0; j < inner; j++) acc[j] += xv[p + j];
  }
  if (op === 'Mean') for (let j = 0; j < inner; j++) acc[j] /= outer;
  f32(backend, out).set(acc);
  return out;
}
