// BatchMatMul for wasm that always lands on XNNPACK's GEMM.
//
// The stock wasm kernel takes XNNPACK's path only for a single untransposed product; with
// transposeA/transposeB or a batch it falls back to a scalar loop (0.4–1.3 GFLOP/s against ~18
// measured here). Every matMul gradient is transposed, so we transpose operands explicitly
// (a cache-blocked JS copy, O(size) against the GEMM's O(M·N·K)) and fold or split batches into
// plain 2-D products, then call the stock kernel.
import { tf } from '../backend.js';
import { f32, reshapeInfo, type WasmBackend } from './wasm-heap.js';
import { transpose2d } from './transpose.js';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

let stock: KernelFn | undefined;

export function setStockBatchMatMul(fn: KernelFn): void {
  stock = fn;
}

function plain(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  if (!stock) throw new Error('stock wasm BatchMatMul kernel not captured');
  return stock({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
}

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

/** A [rows, cols] matrix stored at `offset` (elements) of `src`, copied and optionally transposed into a new tensor. */
function matrix(backend: WasmBackend, src: TensorInfo, offset: number, rows: number, cols: number, transpose: boolean): TensorInfo {
  const out = backend.makeOutput(transpose ? [cols, rows] : [rows, cols], 'float32');
  const s = f32(backend, src);
  const o = f32(backend, out);
  if (transpose) transpose2d(s, rows, cols, o, offset, 0);
  else o.set(s.subarray(offset, offset + rows * cols));
  return out;
}

export function batchMatMulWasm(args: {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: WasmBackend;
  attrs: { transposeA: boolean; transposeB: boolean };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs;
  const aR = a.shape.length;
  const bR = b.shape.length;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  if (!stock) throw new Error('stock wasm BatchMatMul kernel not captured');
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (batchA !== batchB && batchA !== 1 && batchB !== 1)) {
    return stock(args as never);
  }
  if (!transposeA && !transposeB && batchA === 1 && batchB === 1) return stock(args as never);

  // Logical [M, K] · [K, N] per batch element; stored shapes may be transposed.
  const aRows = a.shape[aR - 2];
  const aCols = a.shape[aR - 1];
  const bRows = b.shape[bR - 2];
  const bCols = b.shape[bR - 1];
  const M = transposeA ? aCols : aRows;
  const K = transposeA ? aRows : aCols;
  const N = transposeB ? bRows : bCols;
  if ((transposeB ? bCols : bRows) !== K) {
    throw new Error(`Error in matMul: inner shapes (${K}) and (${transposeB ? bCols : bRows}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), M, N];

  // A shared right operand: fold A's batch into its rows and run one GEMM.
  if (batchB === 1 && !transposeA) {
    const a2 = reshapeInfo(backend, a, [batchA * M, K]);
    const b2 = transposeB ? matrix(backend, b, 0, bRows, bCols, true) : reshapeInfo(backend, b, [K, N]);
    const out = plain(backend, a2, b2);
    backend.disposeData(a2.dataId);
    backend.disposeData(b2.dataId);
    return { dataId: out.dataId, shape: outShape, dtype: 'float32' };
  }

  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput(outShape, 'float32');
  const sharedB = batchB === 1 ? matrix(backend, b, 0, bRows, bCols, transposeB) : undefined;
  for (let i = 0; i < batch; i++) {
    const ai = matrix(backend, a, (batchA === 1 ? 0 : i) * aRows * aCols, aRows, aCols, transposeA);
    const bi = sharedB ?? matrix(backend, b, i * bRows * bCols, bRows, bCols, transposeB);
    const ci = plain(backend, ai, bi);
    f32(backend, out).set(f32(backend, ci), i * M * N);
    backend.disposeData(ci.dataId);
    backend.disposeData(ai.dataId);
    if (bi !== sharedB) backend.disposeData(bi.dataId);
  }
  if (sharedB) backend.disposeData(sharedB.dataId);
  return out;
}
