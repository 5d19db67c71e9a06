// MaxPoolGrad for wasm: route each dy to the first maximum of its window (the cpu backend's rule),
// in one pass over the input. The stock wasm kernel takes ~250 ms on the reference net.
import { tf } from '../backend.js';
import { f32, type WasmBackend } from './wasm_heap.js';

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
  const best = new Float32Array(C);
  const bestAt = new Int32Array(C);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = Math.max(0, oy * strideHeight - padTop);
      const y1 = Math.min(inHeight, oy * strideHeight - padTop + filterHeight);
      for (let ox = 0; ox < outWidth; ox++, o += C) {
        const x0 = Math.max(0, ox * strideWidth - padLeft);
        const x1 = Math.min(inWidth, ox * strideWidth - padLeft + filterWidth);
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const p = ((b * inHeight + iy) * inWidth + ix) * C;
            for (let c = 0; c < C; c++) {
              const v = x[p + c];
              if (v > best[c]) {
                best[c] = v;
                bestAt[c] = p + c;
              }
            }
          }
        }
        for (let c = 0; c < C; c++) if (bestAt[c] >= 0) dx[bestAt[c]] += g[o + c];
      }
    }
  }
  return out;
}
