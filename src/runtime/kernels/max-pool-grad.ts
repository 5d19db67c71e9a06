// MaxPoolGrad for wasm: route each dy to the first maximum of its window (the cpu backend's rule),
// in one pass over the input. The stock wasm kernel takes ~250 ms on the reference net.
import { tf } from '../backend.js';
import { f32, type WasmBackend } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;

export function maxPoolGradWasm(args: {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  backend: WasmBackend;
  attrs: {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  const ci = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = ci;
  const padTop = ci.padInfo.top;
  const padLeft = ci.padInfo.left;
  const out = backend.makeOutput([...input.shape], 'float32');
  const dx = f32(backend, out);
  dx.fill(0);
  const x = f32(backend, input);
  const g = f32(backend, dy);
  // Input-pixel offsets of the current window (at most kH·kW of them).
  const win = new Int32Array(filterHeight * filterWidth);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = Math.max(0, oy * strideHeight - padTop);
      const y1 = Math.min(inHeight, oy * strideHeight - padTop + filterHeight);
      for (let ox = 0; ox < outWidth; ox++, o += C) {
        const x0 = Math.max(0, ox * strideWidth - padLeft);
        const x1 = Math.min(inWidth, ox * strideWidth - padLeft + filterWidth);
        let n = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) win[n++] = ((b * inHeight + iy) * inWidth + ix) * C;
        if (n === 0) continue;
        if (n === 4) {
          // The common 2×2 window, unrolled (same first-maximum order as the general loop).
          const w0 = win[0];
          const w1 = win[1];
          const w2 = win[2];
          const w3 = win[3];
          for (let c = 0; c < C; c++) {
            let at = w0 + c;
            let best = x[at];
            let v = x[w1 + c];
            if (v > best) {
              best = v;
              at = w1 + c;
            }
            v = x[w2 + c];
            if (v > best) {
              best = v;
              at = w2 + c;
            }
            v = x[w3 + c];
            if (v > best) at = w3 + c;
            dx[at] += g[o + c];
          }
          continue;
        }
        for (let c = 0; c < C; c++) {
          let at = win[0] + c;
          let best = x[at];
          for (let k = 1; k < n; k++) {
            const v = x[win[k] + c];
            if (v > best) {
              best = v;
              at = win[k] + c;
            }
          }
          dx[at] += g[o + c];
        }
      }
    }
  }
  return out;
}
