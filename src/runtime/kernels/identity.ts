// Identity for wasm shares the input's data (reference count), as the cpu backend does, instead
// of copying it. tfjs clones every tensor a custom gradient saves and every gradient it passes
// through unchanged; on wasm each clone was a full heap copy (the fused LSTM saves ~23 MB per
// step, batch-norm nets clone 16×128×128×C activations several times per step). Tensors are
// immutable, so sharing is safe.
import { tf } from '../backend.js';
import type { WasmBackend } from './wasm_heap.js';

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
