// Conv2DBackpropInput for wasm: dcols = dy · Wᵀ as one untransposed GEMM, then col2im.
//
// The stock wasm kernel is a scalar loop (≈1.3 s for the reference net's three inner layers);
// the GEMM runs on XNNPACK with the huge dimension (batch·outH·outW) as its row count, and the
// col2im scatter adds contiguous runs of kW·inC values per filter row.
import { tf } from '../backend.js';
import { geometryOf, type Im2colGeometry } from './conv2d_backprop_filter.js';
import { f32, reshapeInfo, wasmMatMul, type WasmBackend } from './wasm_heap.js';
import { transpose2d } from './transpose.js';

type TensorInfo = tf.TensorInfo;

/** dx[b, iy, ix, c] += dcols[(b·outH + oy)·outW + ox, (ky·kW + kx)·inC + c] for every tap inside the image. */
export function col2im(dcols: Float32Array, g: Im2colGeometry, dx: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const K = kH * kW * inC;
  dx.fill(0);
  let m = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, m++) {
        const ix0 = ox * strideW - padLeft;
        // kx range with 0 <= ix0 + kx·dW < inW
        const kxLo = Math.max(0, Math.ceil(-ix0 / dilationW));
        const kxHi = Math.min(kW, Math.ceil((inW - ix0) / dilationW));
        if (kxLo >= kxHi) continue;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * strideH + ky * dilationH - padTop;
          if (iy < 0 || iy >= inH) continue;
          let src = m * K + (ky * kW + kxLo) * inC;
          const rowBase = (b * inH + iy) * inW;
          if (dilationW === 1) {
            // The taps kxLo..kxHi-1 cover one contiguous run of input pixels.
            let dst = (rowBase + ix0 + kxLo) * inC;
            const end = src + (kxHi - kxLo) * inC;
            while (src < end) dx[dst++] += dcols[src++];
          } else {
            for (let kx = kxLo; kx < kxHi; kx++) {
              let dst = (rowBase + ix0 + kx * dilationW) * inC;
              for (let c = 0; c < inC; c++) dx[dst++] += dcols[src++];
            }
          }
        }
      }
    }
  }
}

export function conv2DBackpropInputWasm(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmBackend;
  attrs: {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput (wasm): only NHWC is supported');
  const convInfo = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const g = geometryOf(convInfo);
  const M = g.batch * g.outH * g.outW;
  const K = g.kH * g.kW * g.inC;
  const outC = convInfo.outChannels;
  // The filter [kH, kW, inC, outC] is a row-major [K, outC] matrix; the GEMM wants its transpose.
  const wT = backend.makeOutput([outC, K], 'float32');
  transpose2d(f32(backend, filter), K, outC, f32(backend, wT));
  const dy2 = reshapeInfo(backend, dy, [M, outC]);
  const dcols = wasmMatMul(backend, dy2, wT);
  backend.disposeData(dy2.dataId);
  backend.disposeData(wT.dataId);
  const dx = backend.makeOutput([...attrs.inputShape], 'float32');
  col2im(f32(backend, dcols), g, f32(backend, dx));
  backend.disposeData(dcols.dataId);
  return dx;
}
