// Depthwise-conv gradients for wasm (the backend has the forward op only). Depthwise work is
// small next to the dense convolutions around it, so direct loops over the heap are enough.
import { tf } from '../backend.js';
import { f32, type WasmBackend } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function info(xShape: number[], filterShape: number[], a: DepthwiseAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
    'channelsLast',
  );
}

/**
 * Visits every (output pixel, filter tap) pair whose input pixel is inside the image, passing
 * the flat offsets of the input pixel, output pixel and filter tap (channel 0 of each).
 */
function forEachTap(ci: tf.backend_util.Conv2DInfo, visit: (xOff: number, yOff: number, wOff: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = ci;
  const mult = outChannels / inChannels;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ky = 0; ky < filterHeight; ky++) {
        const iy = oy * ci.strideHeight + ky * ci.dilationHeight - ci.padInfo.top;
        if (iy < 0 || iy >= inHeight) continue;
        for (let ox = 0; ox < outWidth; ox++) {
          const yOff = ((b * outHeight + oy) * outWidth + ox) * outChannels;
          for (let kx = 0; kx < filterWidth; kx++) {
            const ix = ox * ci.strideWidth + kx * ci.dilationWidth - ci.padInfo.left;
            if (ix < 0 || ix >= inWidth) continue;
            visit(((b * inHeight + iy) * inWidth + ix) * inChannels, yOff, (ky * filterWidth + kx) * inChannels * mult);
          }
        }
      }
    }
  }
}

export function depthwiseBackpropFilterWasm(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  attrs: DepthwiseAttrs & { filterShape: [number, number, number, number] };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const ci = info(inputs.x.shape, attrs.filterShape, attrs);
  const C = ci.inChannels;
  const mult = ci.outChannels / C;
  const acc = new Float64Array(attrs.filterShape.reduce((p, d) => p * d, 1));
  const out = backend.makeOutput([...attrs.filterShape], 'float32');
  const x = f32(backend, inputs.x);
  const dy = f32(backend, inputs.dy);
  forEachTap(ci, (xOff, yOff, wOff) => {
    for (let c = 0; c < C; c++) {
      const xv = x[xOff + c];
      for (let q = 0; q < mult; q++) acc[wOff + c * mult + q] += xv * dy[yOff + c * mult + q];
    }
  });
  f32(backend, out).set(acc);
  return out;
}

export function depthwiseBackpropInputWasm(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmBackend;
  attrs: DepthwiseAttrs & { inputShape: [number, number, number, number] };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const ci = info(attrs.inputShape, inputs.filter.shape, attrs);
  const C = ci.inChannels;
  const mult = ci.outChannels / C;
  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const dx = f32(backend, out);
  dx.fill(0);
  const dy = f32(backend, inputs.dy);
  const w = f32(backend, inputs.filter);
  forEachTap(ci, (xOff, yOff, wOff) => {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let q = 0; q < mult; q++) s += dy[yOff + c * mult + q] * w[wOff + c * mult + q];
      dx[xOff + c] += s;
    }
  });
  return out;
}
