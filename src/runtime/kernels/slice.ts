// Slice, Unpack, SplitV and GatherV2 for wasm, reading the heap in place.
//
// The stock wasm Slice starts with backend.readSync(x), a copy of the WHOLE input, so unstacking
// a [64, 32, 1024] sequence costs 64 full copies (~300 ms); its Unpack and SplitV go through it.
// The stock GatherV2 is a per-element C loop (~95 ms for 2048 rows of 1024); rows are contiguous,
// so a gather is a series of subarray copies.
import { tf } from '../backend.js';
import type { WasmBackend } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo | TensorInfo[];
type Typed = Float32Array | Int32Array | Uint8Array;

const stock: Record<string, KernelFn> = {};

export function setStock(name: string): (fn: never) => void {
  return (fn: never) => {
    stock[name] = fn as KernelFn;
  };
}

const heap = (backend: WasmBackend, t: TensorInfo) => backend.typedArrayFromHeap(t) as Typed;

/** Copies x[begin : begin+size] (already parsed) into a new tensor. */
export function sliceHeap(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const n = size.reduce((p, d) => p * d, 1);
  if (n === 0) return out;
  const xv = heap(backend, x);
  const ov = heap(backend, out);
  const strides = tf.util.computeStrides(x.shape);
  const rank = x.shape.length;
  if (rank === 0) {
    ov[0] = xv[0];
    return out;
  }
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const off = tf.slice_util.computeFlatOffset(begin, strides);
    ov.set(xv.subarray(off, off + n));
    return out;
  }
  // Odometer over all but the last axis; the last axis is a contiguous run.
  const run = size[rank - 1];
  const idx = new Array<number>(Math.max(0, rank - 1)).fill(0);
  for (let o = 0; o < n; o += run) {
    let src = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) src += (begin[d] + idx[d]) * strides[d];
    ov.set(xv.subarray(src, src + run), o);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function sliceWasm(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { begin: number | number[]; size?: number | number[] } }): TensorInfo {
  const { inputs, backend, attrs } = args;
  if (inputs.x.dtype === 'string') return stock.Slice(args as never) as TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(inputs.x as tf.Tensor, attrs.begin, attrs.size);
  return sliceHeap(backend, inputs.x, begin, size);
}

export function unpackWasm(args: { inputs: { value: TensorInfo }; backend: WasmBackend; attrs: { axis: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.value;
  if (x.dtype === 'string') return stock.Unpack(args as never) as TensorInfo[];
  const rank = x.shape.length;
  const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
  const outShape = x.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = [...x.shape];
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < x.shape[axis]; i++) {
    begin[axis] = i;
    const s = sliceHeap(backend, x, begin, size);
    outs.push({ dataId: s.dataId, dtype: s.dtype, shape: outShape });
  }
  return outs;
}

export function splitVWasm(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { numOrSizeSplits: number | number[]; axis: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.x;
  if (x.dtype === 'string') return stock.SplitV(args as never) as TensorInfo[];
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const size = [...x.shape];
  return sizes.map((s) => {
    size[axis] = s;
    const out = sliceHeap(backend, x, [...begin], [...size]);
    begin[axis] += s;
    return out;
  });
}

export function gatherV2Wasm(args: { inputs: { x: TensorInfo; indices: TensorInfo }; backend: WasmBackend; attrs: { axis: number; batchDims: number } }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, indices } = inputs;
  if (x.dtype === 'string' || (attrs.batchDims ?? 0) !== 0) return stock.GatherV2(args as never) as TensorInfo;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const dim = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const idx = heap(backend, indices);
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= dim) throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${dim - 1}]`);
  }
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  const xv = heap(backend, x);
  const ov = heap(backend, out);
  const ids = heap(backend, indices);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    const base = a * dim * inner;
    for (let i = 0; i < ids.length; i++, o += inner) {
      const src = base + ids[i] * inner;
      if (inner === 1) ov[o] = xv[src];
      else ov.set(xv.subarray(src, src + inner), o);
    }
  }
  return out;
}
