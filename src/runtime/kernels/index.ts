// Gradient kernels that the wasm backend lacks, registered for wasm only: tfjs-node and cpu keep
// their own. See issue 4 (fast CPU training) and the tests in test/runtime/kernels/.
import { tf } from '../backend.js';
import { conv2DBackpropFilterWasm } from './conv2d_backprop_filter.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwise_backprop.js';
import { unsortedSegmentSumWasm } from './unsorted_segment_sum.js';

const KERNELS: [string, unknown][] = [
  ['Conv2DBackpropFilter', conv2DBackpropFilterWasm],
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilterWasm],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInputWasm],
  ['UnsortedSegmentSum', unsortedSegmentSumWasm],
];

/** Registers our wasm kernels (idempotent); returns the names registered by this call. */
export function registerWasmKernels(): string[] {
  const added: string[] = [];
  for (const [kernelName, fn] of KERNELS) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as tf.KernelFunc });
    added.push(kernelName);
  }
  return added;
}
