// Kernels for fast training on the wasm backend, registered for wasm only: tfjs-node and cpu keep
// their own. Some fill gaps (gradients wasm lacks); others replace stock wasm kernels whose slow
// paths dominate training time. See issue 4 and test/runtime/kernels/.
import { tf } from '../backend.js';
import { batchMatMulWasm, setStockBatchMatMul } from './batch_mat_mul.js';
import { conv2DBackpropFilterWasm } from './conv2d_backprop_filter.js';
import { conv2DBackpropInputWasm } from './conv2d_backprop_input.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwise_backprop.js';
import { maxPoolGradWasm } from './max_pool_grad.js';
import { gatherV2Wasm, setStock, sliceWasm, splitVWasm, unpackWasm } from './slice.js';
import { meanWasm, setStockMean, setStockSum, sumWasm } from './sum.js';
import { setStockTile, tileWasm } from './tile.js';
import { unsortedSegmentSumWasm } from './unsorted_segment_sum.js';

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
