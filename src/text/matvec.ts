// Matrix-vector products for the one-character stepper. The matrices are fixed at load time, so they
// are laid out once (row-major, each row padded to a multiple of 16 floats) and, where WebAssembly
// SIMD is available, copied into a small wasm module's memory whose 128-bit gemv does the products.
// The plain-JS version is the fallback and the reference.
import { GEMV_WASM_BASE64 } from './simd/gemv-wasm.js';

export const PAD = 16;
export const padded = (n: number) => Math.ceil(n / PAD) * PAD;

export interface Matrix {
  rows: number;
  /** Logical columns; storage rows are padded(cols) long, the padding zero. */
  cols: number;
  data: Float32Array;
}

/** A dense matrix from a function of (row, col), padded for the kernels. */
export function matrix(rows: number, cols: number, at: (r: number, c: number) => number): Matrix {
  const stride = padded(cols);
  const data = new Float32Array(rows * stride);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * stride + c] = at(r, c);
  return { rows, cols, data };
}

export interface MatVec {
  readonly kind: 'wasm-simd' | 'js';
  /** out[0..rows) = M_i · x[0..cols) */
  run(i: number, x: Float32Array, out: Float32Array): void;
}

// Four accumulators break the add dependency chain, which is what bounds a scalar dot product.
function dot(w: Float32Array, off: number, x: Float32Array, n: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    a0 += w[off + i] * x[i];
    a1 += w[off + i + 1] * x[i + 1];
    a2 += w[off + i + 2] * x[i + 2];
    a3 += w[off + i + 3] * x[i + 3];
  }
  for (; i < n; i++) a0 += w[off + i] * x[i];
  return a0 + a1 + a2 + a3;
}

export function jsMatVec(mats: Matrix[]): MatVec {
  return {
    kind: 'js',
    run(i, x, out) {
      const m = mats[i];
      const stride = padded(m.cols);
      for (let r = 0; r < m.rows; r++) out[r] = dot(m.data, r * stride, x, m.cols);
    },
  };
}

// The project's TypeScript lib has no WebAssembly declarations; this is the little used here.
type WasmModule = object;
interface WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => WasmMemory;
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let wasmModule: WasmModule | null | undefined;

function gemvModule(): WasmModule | null {
  if (wasmModule !== undefined) return wasmModule;
  try {
    const bytes = Buffer.from(GEMV_WASM_BASE64, 'base64');
    wasmModule = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    wasmModule = null;
  }
  return wasmModule;
}

export function wasmMatVec(mats: Matrix[]): MatVec | null {
  const mod = gemvModule();
  if (!mod) return null;
  const maxCols = Math.max(...mats.map((m) => padded(m.cols)));
  const maxRows = Math.max(...mats.map((m) => m.rows));
  const floats = mats.reduce((s, m) => s + m.data.length, 0) + maxCols + padded(maxRows);
  const pages = Math.ceil((floats * 4) / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages });
  const gemv = (new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as { gemv: (w: number, x: number, out: number, rows: number, cols: number) => void }).gemv;
  const heap = new Float32Array(memory.buffer);
  const offsets: number[] = [];
  let o = 0;
  for (const m of mats) {
    offsets.push(o);
    heap.set(m.data, o);
    o += m.data.length;
  }
  const xOff = o;
  const outOff = o + maxCols;
  const xView = heap.subarray(xOff, xOff + maxCols);
  xView.fill(0);
  return {
    kind: 'wasm-simd',
    run(i, x, out) {
      const m = mats[i];
      // Columns past m.cols multiply zero padding in the matrix, so stale values there are harmless.
      xView.set(x.length > m.cols ? x.subarray(0, m.cols) : x);
      gemv(offsets[i] * 4, xOff * 4, outOff * 4, m.rows, padded(m.cols));
      out.set(heap.subarray(outOff, outOff + m.rows));
    },
  };
}

/** The fastest available implementation (bench/sample.ts measures the plain one by passing jsMatVec). */
export function matVec(mats: Matrix[]): MatVec {
  return wasmMatVec(mats) ?? jsMatVec(mats);
}
