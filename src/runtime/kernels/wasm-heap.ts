// Direct access to the wasm backend's heap, so JS kernels read and write tensors without copies.
import { tf } from '../backend.js';

type TensorInfo = tf.TensorInfo;

/** The part of tfjs-backend-wasm's BackendWasm that our kernels use. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

// Views must be re-taken after any allocation: growing wasm memory detaches the old buffer.
export function f32(backend: WasmBackend, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

export function i32(backend: WasmBackend, info: TensorInfo): Int32Array {
  if (info.dtype !== 'int32') throw new Error(`expected an int32 tensor, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Int32Array;
}

/** Same data, another shape; the caller owns the returned reference. */
export function reshapeInfo(backend: WasmBackend, info: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(info.dataId);
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

/**
 * a[M,K] · b[K,N] through the wasm backend's own BatchMatMul kernel without transposes: the only
 * form that reaches XNNPACK's packed GEMM (everything else takes a scalar loop at ~1 GFLOP/s).
 */
export function wasmMatMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  const k = tf.getKernel('BatchMatMul', 'wasm');
  if (!k) throw new Error('wasm BatchMatMul kernel is not registered');
  const fn = k.kernelFunc as unknown as KernelFn;
  return fn({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
}
