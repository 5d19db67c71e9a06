// Kernels for fast training on the wasm backend, registered for wasm only: tfjs-node and cpu keep
// their own. initBackend('wasm') calls registerWasmKernels() before the backend starts, so every
// tfjs op (tf.layers included) picks them up; nothing else needs to change in model code.
//
// Missing on wasm (training failed without them):
//   Conv2DBackpropFilter       im2colᵀ (JS, straight into the heap) · dy as one XNNPACK GEMM
//   DepthwiseConv2dNative-     direct loops over the heap (dilation supported)
//     BackpropFilter/Input
//   UnsortedSegmentSum         the gradient of gather (embeddings)
// Stock wasm kernels replaced (each measured as a training hot spot; all delegate to the stock
// kernel for dtypes/cases they do not cover):
//   BatchMatMul          transposeA/B and batched products: explicit transposes, then XNNPACK GEMM
//                        (stock: scalar loop at 0.4–1.3 GFLOP/s; every matMul gradient is transposed)
//   Conv2DBackpropInput  stride 1: XNNPACK convolution with the rotated filter; else GEMM + col2im
//   MaxPoolGrad          one pass routing dy to each window's first maximum
//   Sum, Mean            leading-axes reductions (bias grads, batch-norm statistics) without transpose
//   Tile                 doubling copies (batch-norm gradients)
//   Slice, Unpack,       heap views instead of readSync copies of the whole input
//     SplitV, GatherV2
//   Identity, Cast       share the data (reference count) like the cpu backend, no heap copy
//                        (Cast only to the tensor's own dtype)
// KESTREL_WASM_KERNELS=missing registers only the first group (the "before" of bench:train).
import { tf } from '../backend.js';
import { batchMatMulWasm, setStockBatchMatMul } from './batch-mat-mul.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputWasm } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwise-backprop.js';
import { maxPoolGradWasm } from './max-pool-grad.js';
import { castWasm, identityWasm, setStockCast, setStockIdentity } from './identity.js';
import { gatherV2Wasm, setStock, sliceWasm, splitVWasm, unpackWasm } from './slice.js';
import { meanWasm, setStockMean, setStockSum, sumWasm } from './sum.js';
import { setStockTile, tileWasm } from './tile.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';

/** Kernels wasm does not have. */
const MISSING: [string, unknown][] = [
  ['Conv2DBackpropFilter', conv2DBackpropFilterWasm],
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilterWasm],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInputWasm],
  ['UnsortedSegmentSum', unsortedSegmentSumWasm],
];

/** Stock wasm kernels we replace; `keep` receives the stock function where ours delegates to it. */
const REPLACED: [string, unknown, ((fn: never) => void)?][] = [
  ['BatchMatMul', batchMatMulWasm, setStockBatchMatMul as (fn: never) => void],
  ['Conv2DBackpropInput', conv2DBackpropInputWasm],
  ['MaxPoolGrad', maxPoolGradWasm],
  ['Sum', sumWasm, setStockSum as (fn: never) => void],
  ['Mean', meanWasm, setStockMean as (fn: never) => void],
  ['Tile', tileWasm, setStockTile as (fn: never) => void],
  ['Slice', sliceWasm, setStock('Slice')],
  ['Unpack', unpackWasm, setStock('Unpack')],
  ['SplitV', splitVWasm, setStock('SplitV')],
  ['GatherV2', gatherV2Wasm, setStock('GatherV2')],
  ['Identity', identityWasm, setStockIdentity as (fn: never) => void],
  ['Cast', castWasm, setStockCast as (fn: never) => void],
];

const OURS = new Set<unknown>([...MISSING, ...REPLACED].map(([, fn]) => fn));

/**
 * Registers our wasm kernels (idempotent); returns the names registered by this call.
 * KESTREL_WASM_KERNELS=missing registers only the kernels wasm lacks and keeps every stock
 * kernel (the "before" configuration of bench:train).
 */
export function registerWasmKernels(): string[] {
  const added: string[] = [];
  const onlyMissing = process.env.KESTREL_WASM_KERNELS === 'missing';
  for (const [kernelName, fn] of MISSING) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as tf.KernelFunc });
    added.push(kernelName);
  }
  for (const [kernelName, fn, keep] of onlyMissing ? [] : REPLACED) {
    const stock = tf.getKernel(kernelName, 'wasm');
    if (stock && OURS.has(stock.kernelFunc)) continue;
    if (stock) {
      keep?.(stock.kernelFunc as never);
      tf.unregisterKernel(kernelName, 'wasm');
      // setupFunc (the stock kernel's cwrap binding) must still run when the backend starts.
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as tf.KernelFunc, setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc });
    } else {
      if (keep) throw new Error(`wasm kernel ${kernelName} not found: cannot wrap it`);
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as tf.KernelFunc });
    }
    added.push(kernelName);
  }
  return added;
}
