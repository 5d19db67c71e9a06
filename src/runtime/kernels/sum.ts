// Sum over leading axes for wasm (bias gradients: [N, H, W, C] → [C]). The stock kernel
// transposes the reduced axes innermost first, which costs ~30 ms on a 16×128×128×16 gradient;
// a column-sum pass over the untouched layout is a few ms.
import { tf } from '../backend.js';
import { f32, type WasmBackend } from './wasm_heap.js';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

let stock: KernelFn | undefined;

export function setStockSum(fn: KernelFn): void {
  stock = fn;
}

export function sumWasm(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { axis: number | number[]; keepDims: boolean } }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  if (!stock) throw new Error('stock wasm Sum kernel not captured');
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < rank && axes.every((ax, i) => ax === i);
  if (x.dtype !== 'float32' || !leading) return stock(args as never);
  const keptShape = x.shape.slice(axes.length);
  const inner = keptShape.reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, axes.length).reduce((p, d) => p * d, 1);
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...keptShape] : keptShape;
  const out = backend.makeOutput(outShape, 'float32');
  const acc = new Float64Array(inner);
  const xv = f32(backend, x);
  for (let r = 0, p = 0; r < outer; r++) for (let j = 0; j < inner; j++) acc[j] += xv[p++];
  f32(backend, out).set(acc);
  return out;
}
