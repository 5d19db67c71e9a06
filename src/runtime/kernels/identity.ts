// Identity for wasm shares the input's data (reference count), as the cpu backend does, instead
// of copying it. tfjs clones every tensor a custom gradient saves and every gradient it passes
// through unchanged; on wasm each clone was a full heap copy (the fused LSTM saves ~23 MB per
// step, batch-norm nets clone 16×128×128×C activations several times per step). Tensors are
// immutable, so sharing is safe.
import { tf } from '../backend.js';
import type { WasmBackend } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

let stock: KernelFn | undefined;

export function setStockIdentity(fn: KernelFn): void {
  stock = fn;
}

export function identityWasm(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: Record<string, unknown> }): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') {
    if (!stock) throw new Error('stock wasm Identity kernel not captured');
    return stock(args as never);
  }
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let stockCast: KernelFn | undefined;

export function setStockCast(fn: KernelFn): void {
  stockCast = fn;
}

/**
 * Cast to the dtype a tensor already has (ReLU's gradient does one per layer) shares the data.
 * Cast to bool tests x ≠ 0 (the stock kernel truncates, so 0.5 became false; cpu gives true).
 */
export function castWasm(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { dtype: tf.DataType } }): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === args.attrs.dtype && x.dtype !== 'string') {
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  if (args.attrs.dtype === 'bool' && x.dtype !== 'string') {
    const out = args.backend.makeOutput(x.shape, 'bool');
    const src = args.backend.typedArrayFromHeap(x);
    const dst = args.backend.typedArrayFromHeap(out);
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  if (!stockCast) throw new Error('stock wasm Cast kernel not captured');
  return stockCast(args as never);
}
