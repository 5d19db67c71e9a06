// Cache-blocked 2-D transpose over Float32Arrays, for kernels that need a transposed operand on the heap.
const BLOCK = 32;

/** out[c·rows + r] = a[r·cols + c] for an a of shape [rows, cols]. */
export function transpose2d(a: Float32Array, rows: number, cols: number, out: Float32Array, aOffset = 0, outOffset = 0): void {
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = Math.min(cols, c0 + BLOCK);
      for (let r = r0; r < r1; r++) {
        let src = aOffset + r * cols + c0;
        let dst = outOffset + c0 * rows + r;
        for (let c = c0; c < c1; c++) {
          out[dst] = a[src++];
          dst += rows;
        }
      }
    }
  }
}
