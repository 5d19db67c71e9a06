// UnsortedSegmentSum for wasm: the gradient of gather (embedding lookups) is built on it.
import { tf } from '../backend.js';
import { f32, i32, type WasmBackend } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;

export function unsortedSegmentSumWasm(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: WasmBackend;
  attrs: { numSegments: number };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum (wasm): float32 only, got ${x.dtype}`);
  const idRank = segmentIds.shape.length;
  for (let i = 0; i < idRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} is not a prefix of x shape ${x.shape}`);
    }
  }
  const inner = x.shape.slice(idRank).reduce((p, d) => p * d, 1);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idRank)], 'float32');
  const o = f32(backend, out);
  o.fill(0);
  const xv = f32(backend, x);
  const ids = i32(backend, segmentIds);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    // Like TensorFlow, ids outside [0, numSegments) contribute nothing.
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xv[src + j];
  }
  return out;
}
