// Conv2DBackpropInput for wasm: dcols = dy · Wᵀ as one untransposed GEMM, then col2im.
//
// The stock wasm kernel is a scalar loop (≈1.3 s for the reference net's three inner layers).
// Stride 1: dx is a 'full' convolution of dy with the filter rotated 180° and its channel axes
// swapped, which XNNPACK's forward convolution runs at inference speed. Other strides: one GEMM
// on XNNPACK with the huge dimension (batch·outH·outW) as its row count, then a col2im scatter
// adding contiguous runs of kW·inC values per filter row.
import { tf } from '../backend.js';
import { geometryOf, type Im2colGeometry } from './conv2d-backprop-filter.js';
import { f32, reshapeInfo, wasmMatMul, type WasmBackend } from './wasm-heap.js';
import { transpose2d } from './transpose.js';

type TensorInfo = tf.TensorInfo;

let strategy: 'auto' | 'gemm' = 'auto';

/** 'gemm' forces the GEMM + col2im path for every stride (tests and measurements). */
export function setConvBackpropInputStrategy(s: 'auto' | 'gemm'): void {
  strategy = s;
}

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
  const pi = convInfo.padInfo;
  const full = [g.kH - 1 - pi.top, g.kH - 1 - pi.bottom, g.kW - 1 - pi.left, g.kW - 1 - pi.right];
  if (strategy === 'auto' && g.strideH === 1 && g.strideW === 1 && full.every((p) => p >= 0)) {
    return viaConvolution(backend, dy, filter, g, convInfo.outChannels, full);
  }
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

type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

/** w'[kH−1−ky, kW−1−kx, o, c] = w[ky, kx, c, o]. */
export function rotateFilter(w: Float32Array, kH: number, kW: number, inC: number, outC: number, out: Float32Array): void {
  for (let ky = 0; ky < kH; ky++) {
    for (let kx = 0; kx < kW; kx++) {
      const src = (ky * kW + kx) * inC * outC;
      const dst = ((kH - 1 - ky) * kW + (kW - 1 - kx)) * outC * inC;
      for (let c = 0; c < inC; c++) for (let o = 0; o < outC; o++) out[dst + o * inC + c] = w[src + c * outC + o];
    }
  }
}

function viaConvolution(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, g: Im2colGeometry, outC: number, full: number[]): TensorInfo {
  const conv = tf.getKernel('Conv2D', 'wasm');
  if (!conv) throw new Error('wasm Conv2D kernel is not registered');
  const wr = backend.makeOutput([g.kH, g.kW, outC, g.inC], 'float32');
  rotateFilter(f32(backend, filter), g.kH, g.kW, g.inC, outC, f32(backend, wr));
  const dx = (conv.kernelFunc as unknown as KernelFn)({
    inputs: { x: dy, filter: wr },
    backend,
    attrs: {
      strides: 1,
      dilations: 1,
      pad: [
        [0, 0],
        [full[0], full[1]],
        [full[2], full[3]],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  });
  backend.disposeData(wr.dataId);
  return dx;
}
